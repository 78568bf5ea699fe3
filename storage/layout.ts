// Where each kind of output lives in the store, relative to its root (a folder or s3://bucket/prefix). Keys depend only
// on the run or the model, so a retry on any worker finds what an earlier attempt wrote. Workflows import this file:
// it must stay free of I/O and Node imports.

const padded = (value: number, width: number) => String(value).padStart(width, '0');

/** Everything one workflow run writes. */
export const runDir = (runId: string) => `runs/${runId}`;

// Ingest: a JSON-lines manifest in parts, and an index naming the parts.
export const manifestDir = (runId: string) => `${runDir(runId)}/manifest`;
export const manifestPartKey = (runId: string, part: number) => `${manifestDir(runId)}/part-${padded(part, 6)}.jsonl`;
export const manifestIndexKey = (runId: string) => `${manifestDir(runId)}/index.json`;

// Pretraining: the run's spec and file lists, checkpoints (ml/checkpoint.ts lays out the folders and LATEST under the
// prefix), DeepCluster's pseudo-labels per refit, and the exported feature extractor.
export const specKey = (runId: string) => `${runDir(runId)}/spec.json`;
export const filesKey = (runId: string) => `${runDir(runId)}/files.txt`;
export const testFilesKey = (runId: string) => `${runDir(runId)}/test-files.txt`;
export const checkpointPrefix = (runId: string) => `${runDir(runId)}/ckpt`;
export const pseudoLabelsKey = (runId: string, epoch: number) => `${runDir(runId)}/pseudo/epoch-${padded(epoch, 5)}.json`;
export const modelDir = (runId: string) => `${runDir(runId)}/model`;
export const modelKey = (runId: string) => `${modelDir(runId)}/model.json`;
/** The exported model's weights file, as model.json's weightsManifest names it (relative to modelDir). */
export const MODEL_WEIGHTS_FILE = 'weights.bin';
export const modelWeightsKey = (runId: string) => `${modelDir(runId)}/${MODEL_WEIGHTS_FILE}`;
/** A copy of the user's model the run's extractor starts from, so every worker loads the same one. */
export const initialModelKey = (runId: string) => `${runDir(runId)}/initial-model/model.json`;
export const initialModelWeightsKey = (runId: string) => `${runDir(runId)}/initial-model/weights.bin`;
/** The method's other trained networks next to the extractor (DeepCluster's full model, the Context Encoder's parts). */
export const methodModelKey = (runId: string, name: string) => `${modelDir(runId)}/${name}.model.json`;
export const methodModelWeightsKey = (runId: string, name: string) => `${modelDir(runId)}/${name}.weights.bin`;

// Embedding runs: the keys listed from the source, and those still to embed.
export const sourceKeysKey = (runId: string) => `${runDir(runId)}/embed/source-keys.txt`;
export const pendingKey = (runId: string) => `${runDir(runId)}/embed/pending.txt`;

// Embeddings, by model: part-NNNNN.f32 rows with part-NNNNN.keys.json, and the model's description.
/** The store prefix of a model's embeddings. */
export const embeddingsPrefix = (modelHash: string) => `embeddings/${modelHash}`;
export const partName = (part: number) => `part-${padded(part, 5)}`;
export const partVectorsKey = (modelHash: string, part: number) => `${embeddingsPrefix(modelHash)}/${partName(part)}.f32`;
export const partKeysKey = (modelHash: string, part: number) => `${embeddingsPrefix(modelHash)}/${partName(part)}.keys.json`;
/** Matches a part's keys file under embeddingsPrefix and captures its number. */
export const PART_KEYS_FILE = /(?:^|\/)part-(\d+)\.keys\.json$/;
export const modelInfoKey = (modelHash: string) => `${embeddingsPrefix(modelHash)}/model.json`;

// Labeling rounds: each round's inputs and outputs, and the loop's latest queue.
export const roundDir = (runId: string, round: number) => `${runDir(runId)}/rounds/${padded(round, 5)}`;
/** The label export the round trains on, as the label store wrote it. */
export const roundLabelsKey = (runId: string, round: number) => `${roundDir(runId, round)}/labels.csv`;
/** The classes (not retired) the round trains and predicts, read with its labels. */
export const roundClassesKey = (runId: string, round: number) => `${roundDir(runId, round)}/classes.json`;
export const roundHeadKey = (runId: string, round: number) => `${roundDir(runId, round)}/head.json`;
/** The head's training loss at each step of the round's fit (empty for the logistic head). */
export const roundLossesKey = (runId: string, round: number) => `${roundDir(runId, round)}/losses.json`;
/** What else the round's results depend on (model hash, head options, seed, ordering), so it can be replayed. */
export const roundRecipeKey = (runId: string, round: number) => `${roundDir(runId, round)}/recipe.json`;
export const roundProbsKey = (runId: string, round: number) => `${roundDir(runId, round)}/probs.f32`;
/** The rows of probs.f32: image keys and classes. */
export const roundKeysKey = (runId: string, round: number) => `${roundDir(runId, round)}/keys.json`;
export const queueKey = (runId: string, round: number) => `${roundDir(runId, round)}/queue.json`;
export const latestQueueKey = (runId: string) => `${runDir(runId)}/queue.json`;
