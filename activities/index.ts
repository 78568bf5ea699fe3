export { createIngestActivities, type IngestActivities, type IngestDependencies } from './ingest.ts';
