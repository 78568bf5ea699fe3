/**
 * The label table as ml/active sees it: plain typed arrays, no storage or SQL. labels[i*k + c] is -1 (unknown), 0 or 1,
 * as the original's stratified_sample maps None to -1.
 */
export interface LabelTable {
  n: number;
  /** Class names, in column order. */
  classes: string[];
  labels: Int8Array;
  exclude: Uint8Array;
  validation: Uint8Array;
}

export function checkTable(t: LabelTable): void {
  const k = t.classes.length;
  if (t.labels.length !== t.n * k)
    throw new Error(`LabelTable: labels has ${t.labels.length} values, expected n*k = ${t.n * k}`);
  if (t.exclude.length !== t.n || t.validation.length !== t.n)
    throw new Error('LabelTable: exclude and validation need n values');
}

export function emptyTable(n: number, classes: string[]): LabelTable {
  return {
    n,
    classes,
    labels: new Int8Array(n * classes.length).fill(-1),
    exclude: new Uint8Array(n),
    validation: new Uint8Array(n),
  };
}
