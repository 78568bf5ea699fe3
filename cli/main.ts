import { Command, InvalidArgumentError } from 'commander';
import { upCommand, downCommand, statusCommand } from './commands/services.ts';
import { ingestCommand } from './commands/ingest.ts';
import { pretrainCommand } from './commands/pretrain.ts';
import { embedCommand } from './commands/embed.ts';
import { controlCommand, runsCommand, setLearningRateCommand } from './commands/runs.ts';
import { tensorboardCommand } from './commands/tensorboard.ts';
import { labelCommand, retrainCommand } from './commands/label.ts';
import { labelsExportCommand, labelsImportCommand } from './commands/labels-csv.ts';
import { errorMessage } from './errors.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${value} is not a positive integer`);
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new InvalidArgumentError(`${value} is not a TCP port`);
  return n;
}

const program = new Command('patchwork')
  .description('Durable, resumable machine learning for sorting images')
  .showHelpAfterError();

program
  .command('up')
  .description('start Temporal, S3 (MinIO), the tracker and one worker per task queue on this machine')
  .option('--temporal-port <port>', 'Temporal gRPC port', port, 7233)
  .option('--temporal-ui-port <port>', 'Temporal web UI port', port, 8233)
  .option('--s3-port <port>', 'MinIO S3 API port', port, 9000)
  .option('--s3-console-port <port>', 'MinIO console port', port, 9001)
  .option('--tracker-port <port>', 'tracker HTTP port', port, 8787)
  .option('--tensorboard-port <port>', 'TensorBoard port', port, 6006)
  .option('--no-s3', 'do not start the embedded S3 server')
  .option('--no-tensorboard', 'do not start TensorBoard')
  .action(upCommand);

program.command('down').description('stop everything `patchwork up` started').action(downCommand);
program.command('status').description('show what is running and whether it answers').action(statusCommand);

program
  .command('ingest')
  .description('check every image under a folder or s3://bucket/prefix and write a manifest')
  .argument('[source]', 'a folder or s3://bucket/prefix')
  .option('--wait <workflowId>', 'reattach to an ingest that is already running')
  .option('--id <workflowId>', 'workflow id for a new ingest (default: ingest-<time>)')
  .option('--chunk-size <n>', 'files per inspection activity', positiveInt, 500)
  .option('--max-pixels <n>', 'reject images with more pixels than this', positiveInt)
  .option('--json', 'print the summary as JSON')
  .action(ingestCommand);

program
  .command('tensorboard')
  .description("start TensorBoard on the tracker's log dir (<PATCHWORK_HOME>/tensorboard)")
  .option('--port <port>', 'TensorBoard HTTP port', port, 6006)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--no-load-fast', 'use the Python loader instead of the Rust data server')
  .action(tensorboardCommand);

program
  .command('pretrain')
  .description('pretrain a feature extractor without labels: deepcluster, iic or context-encoder')
  .argument('[method]', 'deepcluster | iic | context-encoder')
  .option('--images <location>', 'a folder or s3://bucket/prefix of images')
  .option('--config <file.json>', 'input, augment and method options (see README)')
  .option('--labels <labels.csv>', 'filepath,label CSV for downstream monitoring every epoch')
  .option('--test-images <location>', 'a folder or s3://bucket/prefix of test images: out-of-sample loss every epoch')
  .option('--init-model <path>', 'start the feature extractor from a tfjs model.json (path or URL) or a Keras .h5 file')
  .option('--no-embed', 'do not embed the training images with the exported model after training')
  .option('--epochs <n>', 'epochs to train', positiveInt, 10)
  .option('--seed <n>', 'seed for every random stream', positiveInt, 1)
  .option('--steps-per-activity <n>', 'steps per training activity, each ending with a checkpoint (default: about 30 s of training per activity)', positiveInt)
  .option('--seconds-per-activity <s>', 'without --steps-per-activity: seconds of training per activity (default 30)', positiveInt)
  .option('--id <runId>', 'workflow id (default: <method>-<time>)')
  .option('--wait <runId>', 'reattach to a running pretraining run')
  .action(pretrainCommand);

program
  .command('embed')
  .description('features for every image of a source with a frozen extractor, stored by model hash; new images only')
  .argument('<source>', 'a folder or s3://bucket/prefix')
  .option('--run <runId>', "a pretraining run's exported model")
  .option('--model <path>', "a tfjs model.json (path or URL) instead")
  .option('--projector-limit <n>', 'images shown in the TensorBoard projector (0: none)', (v) => Number(v), 2000)
  .option('--projector-pooling <max|avg>', "pooling of the projector's points (the stored embeddings are avg)", 'max')
  .option('--id <workflowId>', 'workflow id (default: embed-<time>)')
  .option('--feature-maps', "store the extractor's last feature map unpooled (for --head pool or convnet)")
  .option('--max-map-values <n>', 'with --feature-maps: largest h x w x c per image (default 32768)', positiveInt)
  .action(embedCommand)
  .command('import')
  .description('pre-extracted features from a .npy file (rank 2: vectors, rank 4: feature maps), stored as embeddings')
  .argument('<file.npy>', 'little-endian float32 or float64, C order')
  .requiredOption('--keys <keys.txt>', 'one image key per line (relative to the images root), in row order')
  .option('--name <name>', 'the folder under embeddings/ and the model hash to label with (default: npy-<sha256 of the file>)')
  .option('--images <location>', 'where the images are (recorded with the parts)')
  .action(async (file, options) => (await import('./commands/embed-import.ts')).embedImportCommand(file, options));

const label = program
  .command('label')
  .description(
    "set a labeling project up (images, classes), embed its images and start or attach to its active-learning loop",
  )
  .argument('<project>', 'project id (a-z 0-9 - _)')
  .option('--images <location>', 'a folder or s3://bucket/prefix of the images to label')
  .option('--run <runId>', "a pretraining run's exported model as the feature extractor")
  .option('--model <path>', 'a tfjs model.json (path or URL) or a Keras .h5 file instead')
  .option('--classes <names>', 'classes to add, separated by commas (more can be added in the labeler)')
  .option('--every <n>', 'new labels that start a round without `patchwork retrain` (default 20)', positiveInt)
  .option('--queue-size <n>', 'images in each published queue (default 100)', positiveInt)
  .option('--sort <order>', "queue ordering: 'diverse (badge)' (default), 'rare first', 'balanced uncertainty', ...")
  .option('--embeddings <hash>', 'train on embeddings already in the store (e.g. from `patchwork embed import`) instead of embedding')
  .option('--feature-maps', 'embed unpooled feature maps, for the pool and convnet heads')
  .option('--status', "print the loop's rounds, labels and queue instead")
  .action(labelCommand);
withHeadFlags(label);
label
  .command('diff')
  .description('what changed between two rounds: labels added, per-class AUC, queue turnover, biggest probability moves')
  .argument('<project>')
  .requiredOption('--rounds <a b...>', 'two round numbers')
  .option('--json', 'print the diff as JSON')
  .option('--workflow <id>', "the loop's workflow id, if not label-<project>")
  .action(async (project, options) => (await import('./commands/label-rounds.ts')).labelDiffCommand(project, options));
label
  .command('replay')
  .description("compute a round again from its stored inputs and check that head, predictions and queue are the same bytes")
  .argument('<project>')
  .requiredOption('--round <n>', 'the round to replay')
  .option('--workflow <id>', "the loop's workflow id, if not label-<project>")
  .action(async (project, options) => (await import('./commands/label-rounds.ts')).labelReplayCommand(project, options));
const labels = program
  .command('labels')
  .description("a labeling project's labels as CSV in the original's layout (filepath, exclude, validation, classes)");
labels
  .command('export')
  .description('write the labels to a CSV file (- for standard output)')
  .argument('<project>')
  .argument('<file>')
  .action(labelsExportCommand);
labels
  .command('import')
  .description('set labels from a CSV file; missing images and classes are added, every change is in the history')
  .argument('<project>')
  .argument('<file>')
  .action(labelsImportCommand);
program
  .command('augplot')
  .description('draw what an augmentation config does to your images as a PNG grid')
  .requiredOption('--config <file.json>', 'a pretraining config (its "augment" and "input") or the augment settings alone')
  .requiredOption('--images <location>', 'one image file (4 x 4 grid), or a folder or s3://bucket/prefix (5 random images)')
  .option('--out <file.png>', 'where to write the PNG', 'augplot.png')
  .option('--seed <n>', 'random seed for the picks and augmentations', (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${v} is not a whole number >= 0`);
    return n;
  }, 0)
  // Loaded on use: it pulls in the image pipeline, which other commands do not need at start.
  .action(async (options) => (await import('./commands/augplot.ts')).augplotCommand(options));
withHeadFlags(
  program
    .command('retrain')
    .description("start a round of a project's active-learning loop now; with --head, that head from now on")
    .argument('<project>')
    .option('--fit-only', 'fit and store the head only: keep the published predictions and queue'),
).action(retrainCommand);

program
  .command('runs')
  .description('list runs with their status')
  .option('--limit <n>', 'at most this many', positiveInt, 50)
  .action(runsCommand);
for (const action of ['pause', 'resume', 'stop'] as const) {
  program
    .command(action)
    .description(`${action} a pretraining run (takes effect at its next checkpoint)`)
    .argument('<runId>')
    .action((runId: string) => controlCommand(action, runId));
}
program
  .command('set-lr')
  .description("change a pretraining run's learning rate from its next training activity")
  .argument('<runId>')
  .argument('<learningRate>')
  .action(setLearningRateCommand);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`patchwork: ${errorMessage(error)}`);
  process.exitCode = 1;
}

/** The flags of a round's head, shared by `label` and `retrain`. */
function withHeadFlags(command: Command): Command {
  return command
    .option('--head <kind>', "the round's head: logistic (default), linear, mlp, pool or convnet (the original's fine-tuning heads)")
    .option('--hidden <n>', 'mlp head: hidden units (default 256)', positiveInt)
    .option('--head-epochs <n>', 'linear/mlp heads: epochs per round (default 10)', positiveInt)
    .option('--entropy-weight <w>', 'linear/mlp heads: weight of the entropy term on unlabelled images (default 0)', Number)
    .option('--label-smoothing <eps>', 'linear/mlp heads: label smoothing in [0, 1) (default 0)', Number)
    .option('--head-output <output>', 'linear/mlp heads: sigmoid (default) or cosine, the original\'s output models')
    .option('--pooling <max|avg>', 'pool/convnet heads: global pooling (default max)')
    .option('--layers <n>', 'convnet head: convolution layers (default 1)', positiveInt)
    .option('--filters <n>', 'convnet head: filters per layer (default 256)', positiveInt)
    .option('--kernel <1|3>', 'convnet head: kernel size (default 1)', positiveInt)
    .option('--separable', 'convnet head: depthwise-separable convolutions')
    .option('--spatial-dropout <rate>', 'convnet head: spatial dropout before each convolution, 0 to 0.95 (default 0)', Number);
}
