export { ingestWorkflow } from './ingest.ts';
