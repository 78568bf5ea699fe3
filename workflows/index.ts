export { ingestWorkflow } from './ingest.ts';
export { pretrainWorkflow } from './pretrain.ts';
