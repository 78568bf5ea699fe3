// Global pooling of flat feature-map rows [n, h * w * c] (channels last) to vectors [n, c], on the host: what vector
// heads and the labeler's map see of embeddings stored as feature maps.
export function averagePoolMaps(features: Float32Array, mapShape: [number, number, number]): Float32Array {
  return poolMaps(features, mapShape, 'avg');
}

export function poolMaps(features: Float32Array, mapShape: [number, number, number], pooling: 'max' | 'avg'): Float32Array {
  const [h, w, c] = mapShape;
  const cells = h * w;
  const size = cells * c;
  const n = features.length / size;
  if (!Number.isInteger(n))
    throw new Error(`poolMaps: ${features.length} values are not rows of feature maps [${h}, ${w}, ${c}]`);
  const out = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * c, (i + 1) * c);
    const base = i * size;
    if (pooling === 'max') row.set(features.subarray(base, base + c));
    for (let cell = pooling === 'max' ? 1 : 0; cell < cells; cell++) {
      const at = base + cell * c;
      for (let j = 0; j < c; j++) row[j] = pooling === 'max' ? Math.max(row[j]!, features[at + j]!) : row[j]! + features[at + j]!;
    }
    if (pooling === 'avg') for (let j = 0; j < c; j++) row[j]! /= cells;
  }
  return out;
}
