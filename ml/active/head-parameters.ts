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
  const { dim, classes } = input;
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
      throw new Error(`a ${kind} head needs feature maps; parameter count not available yet`);
  }
}
