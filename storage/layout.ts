// Where each kind of output lives in the store, relative to its root (a folder or s3://bucket/prefix).

/** The store prefix of a model's embeddings. */
export const embeddingsPrefix = (modelHash: string) => `embeddings/${modelHash}`;
