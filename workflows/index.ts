export { ingestWorkflow } from './ingest.ts';
export { pretrainWorkflow } from './pretrain.ts';
export { embedWorkflow } from './embed.ts';
export { activeLearningWorkflow } from './active-learning.ts';
