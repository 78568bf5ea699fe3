// The map page's data: the points endpoint's columns as regl-scatterplot points, the colour schemes, and the label
// store requests the page makes (same origin; writes carry HX-Request, which the session cookie needs).

/** The points endpoint's binary columns (tracker/labels/map-binary.ts). */
export function decodeColumns(buffer) {
  const view = new DataView(buffer);
  const n = view.getUint32(0, true);
  const h = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, h)));
  const start = 8 + Math.ceil(h / 4) * 4;
  const text = new TextDecoder().decode(new Uint8Array(buffer, start + 13 * n));
  return {
    ...header,
    x: new Float32Array(buffer, start, n),
    y: new Float32Array(buffer, start + 4 * n, n),
    p: new Float32Array(buffer, start + 8 * n, n),
    label: new Int8Array(buffer, start + 12 * n, n),
    keys: n === 0 ? [] : text.split('\n'),
  };
}

/** z: the label as a category (0 unknown, 1 no, 2 yes); w: the prediction in [0, 1] (0.5 where there is none). */
export function toPoints(cols) {
  const n = cols.keys.length;
  const z = new Float32Array(n);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    z[i] = cols.label[i] + 1;
    w[i] = cols.p[i] < 0 ? 0.5 : cols.p[i];
  }
  return { x: cols.x, y: cols.y, z, w };
}

const ramp = (stops, n = 32) =>
  Array.from({ length: n }, (_, i) => {
    const t = (i / (n - 1)) * (stops.length - 1);
    const j = Math.min(Math.floor(t), stops.length - 2);
    const f = t - j;
    const mix = (a, b) => Math.round(a + (b - a) * f);
    const [a, b] = [stops[j], stops[j + 1]];
    return `#${[0, 1, 2].map((k) => mix(a[k], b[k]).toString(16).padStart(2, '0')).join('')}`;
  });

/** Uncertainty 1 - 2|p - 0.5| is a function of p, so it is coloured by p through a ramp that peaks at 0.5. */
export const SCHEMES = {
  label: {
    colorBy: 'valueA',
    pointColor: ['#b8b8b8', '#2166ac', '#d6604d'],
    legend: [
      ['#b8b8b8', 'unknown'],
      ['#2166ac', 'no'],
      ['#d6604d', 'yes'],
    ],
  },
  p: {
    colorBy: 'valueB',
    pointColor: ramp([
      [33, 102, 172],
      [220, 220, 220],
      [214, 96, 77],
    ]),
    legend: [
      ['#2166ac', 'p = 0'],
      ['#dcdcdc', 'p = 0.5 or no prediction'],
      ['#d6604d', 'p = 1'],
    ],
  },
  uncertainty: {
    colorBy: 'valueB',
    pointColor: ramp([
      [200, 200, 200],
      [120, 40, 160],
      [200, 200, 200],
    ]),
    legend: [
      ['#c8c8c8', 'certain (p near 0 or 1)'],
      ['#7828a0', 'uncertain (p near 0.5, or no prediction)'],
    ],
  },
};

async function answer(response) {
  if (response.ok) return response.json();
  let message = `${response.status}`;
  try {
    message = (await response.json()).error ?? message;
  } catch {
    // not JSON: the status says enough
  }
  throw new Error(message);
}

export async function fetchPoints(base, className) {
  const url = `${base}/map/points?format=bin${className ? `&class=${encodeURIComponent(className)}` : ''}`;
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) await answer(response);
  return decodeColumns(await response.arrayBuffer());
}

const post = (url, body) =>
  fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'hx-request': 'true' },
    body: JSON.stringify(body),
  }).then(answer);

export const saveSelection = (base, keys) => post(`${base}/map/selection`, { keys });
export const labelKeys = (base, keys, className, value) => post(`${base}/map/labels`, { keys, class: className, value });
export const undoBatch = (base, historyIds) => post(`${base}/map/labels/undo`, { historyIds });

export const thumbUrl = (base, key) => `${base}/images/${key.split('/').map(encodeURIComponent).join('/')}?size=128`;
