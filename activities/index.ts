export { createIngestActivities, type IngestActivities, type IngestDependencies } from './ingest.ts';
export { createPretrainActivities, type PretrainActivities, type PretrainDependencies } from './pretrain.ts';
export { createEmbedActivities } from './embed.ts';
export { createActiveLearningActivities } from './active-learning.ts';
