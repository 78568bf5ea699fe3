// Kept for callers that still import the CLI's Temporal client from here; it lives in cli/temporal-client.ts.
export { connectClient } from '../cli/temporal-client.ts';
