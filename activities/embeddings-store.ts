// Kept for callers outside activities/ that still import the embeddings' keys and reader from here.
export { listParts, readEmbeddings, readPartKeys, type EmbeddingTable, type PartKeys } from '../storage/embeddings.ts';
export { partKeysKey, partVectorsKey, sourceKeysKey } from '../storage/layout.ts';
