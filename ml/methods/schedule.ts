/** lr * 0.5^(step / halfLife): `lr_decay` is a half-life in steps; 0 means constant. */
export function decayedLearningRate(base: number, halfLife: number, step: number): number {
  return halfLife > 0 ? base * Math.pow(0.5, step / halfLife) : base;
}
