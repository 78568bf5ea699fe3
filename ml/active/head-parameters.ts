// Trainable parameter counts of a round's head, for the labeler's Model panel; no tfjs here.
import type { HeadOptions } from './head-options.ts';

export interface HeadInputShape {
  /** Feature length per image (h * w * c for feature maps). */
  dim: number;
  /** [h, w, c] when the embeddings are feature maps. */
  mapShape?: [number, number, number];
  classes: number;
}

function outputParameters(inputs: number, classes: number, output: HeadOptions['output']): number {
  return output === 'cosine' ? inputs * 2 * classes + 2 * classes : inputs * classes + classes;
}

export function headParameterCount(options: HeadOptions, input: HeadInputShape): number {
  const kind = options.kind ?? 'logistic';
  const { classes } = input;
  // Vector heads given feature maps train on their average pooling: one value per channel.
  const dim = input.mapShape ? input.mapShape[2] : input.dim;
  switch (kind) {
    case 'logistic':
      return dim * classes + classes;
    case 'linear':
      return outputParameters(dim, classes, options.output);
    case 'mlp': {
      const hidden = options.hidden ?? 256;
      return dim * hidden + hidden + outputParameters(hidden, classes, options.output);
    }
    case 'pool':
    case 'convnet':
      return mapHeadParameters(kind, options, input);
  }
}

/** The pool or convnet head on feature maps: convolutions ('same' padding, bias each), then the output model. */
function mapHeadParameters(kind: 'pool' | 'convnet', options: HeadOptions, input: HeadInputShape): number {
  if (!input.mapShape)
    throw new Error(
      `a ${kind} head needs feature maps [h, w, c], but these embeddings are vectors of ${input.dim}; embed with --feature-maps or import a rank-4 .npy`,
    );
  let inputs = input.mapShape[2];
  let count = 0;
  if (kind === 'convnet') {
    const k = options.kernel ?? 1;
    const filters = options.filters ?? 256;
    for (let layer = 0; layer < (options.layers ?? 1); layer++) {
      count += options.separable ? k * k * inputs + inputs * filters + filters : k * k * inputs * filters + filters;
      inputs = filters;
    }
  }
  return count + outputParameters(inputs, input.classes, options.output);
}
