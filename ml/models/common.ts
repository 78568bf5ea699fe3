/** Keras BatchNormalization defaults, which the original uses everywhere ("BN"). */
export const BN_MOMENTUM = 0.99;
export const BN_EPSILON = 1e-3;

export function checkChannels(where: string, channels: unknown): number {
  if (typeof channels !== 'number' || !Number.isInteger(channels) || channels < 1) {
    throw new TypeError(`${where}: channels must be a positive integer, got ${String(channels)}`);
  }
  return channels;
}
