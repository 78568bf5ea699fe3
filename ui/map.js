// The labeler's map page: every image as a point (regl-scatterplot), coloured by a class's label, its predicted
// probability or its uncertainty; a thumbnail on hover; a shift-drag lasso whose selection is saved for the grid and
// can be labelled at once. Long tasks ({start, duration} in ms) are recorded in window.patchworkLongTasks, and the
// one-time cost of creating the WebGL context and the start of the data load in window.patchworkMapTimes.
import createPubSub from './pub-sub-es.js';
import { fetchPoints, labelKeys, saveSelection, SCHEMES, thumbUrl, toPoints, undoBatch } from './map-data.js';

const longTasks = [];
window.patchworkLongTasks = longTasks;
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push({ start: Math.round(e.startTime), duration: Math.round(e.duration) });
  }).observe({ type: 'longtask', buffered: true });
} catch {
  // no longtask timing in this browser: nothing to record
}

// regl-scatterplot's UMD build reads the createPubSub and createREGL globals.
window.createPubSub = createPubSub;
const loadScript = (src) =>
  new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
await loadScript('/projects/_static/regl.min.js');
await loadScript('/projects/_static/regl-scatterplot.min.js');
const createScatterplot = window.createScatterplot.default;

const $ = (id) => document.getElementById(id);
const base = document.body.dataset.base;
const canvas = $('map');
const status = (text) => ($('status').textContent = text);

// The WebGL context and the scatterplot's shaders in separate tasks, so the page paints between them (in software GL
// the context alone can take a few hundred ms).
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
await nextFrame();
const times = (window.patchworkMapTimes = { glInit: performance.now(), dataStart: 0 });
const renderer = window.createScatterplot.createRenderer();
times.glInit = Math.round(performance.now() - times.glInit);
await nextFrame();
const scatterplot = createScatterplot({
  renderer,
  canvas,
  width: 'auto',
  height: 'auto',
  pointSize: 4,
  pointSizeSelected: 2,
  // Its worker comes from a blob: URL, which the page's CSP refuses.
  spatialIndexUseWorker: false,
});
let cols;
let selected = [];

function colour() {
  const scheme = SCHEMES[$('color-by').value];
  scatterplot.set({ colorBy: scheme.colorBy, pointColor: scheme.pointColor });
  const legend = $('legend');
  legend.replaceChildren(
    ...scheme.legend.map(([c, text]) => {
      const item = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.className = 'swatch';
      swatch.style.backgroundColor = c;
      item.append(swatch, ` ${text} `);
      return item;
    }),
  );
}

async function load() {
  times.dataStart ||= Math.round(performance.now());
  cols = await fetchPoints(base, $('map-class').value);
  const keep = selected;
  await scatterplot.draw(toPoints(cols), { zDataType: 'categorical', wDataType: 'continuous' });
  colour();
  if (keep.length) scatterplot.select(keep, { preventEvent: true });
  document.body.dataset.points = String(cols.keys.length);
  document.body.dataset.ready = 'yes';
}

async function select(points) {
  selected = points;
  $('selection-count').textContent = String(points.length);
  document.body.dataset.saved = '';
  try {
    const { count } = await saveSelection(base, points.map((i) => cols.keys[i]));
    document.body.dataset.saved = String(count);
  } catch (error) {
    status(`the selection was not saved: ${error.message}`);
  }
}

async function labelSelection(value) {
  if (!selected.length) return status('lasso some points first (shift-drag)');
  const className = $('map-class').value;
  try {
    const { written, historyIds } = await labelKeys(base, selected.map((i) => cols.keys[i]), className, value);
    lastBatch = historyIds;
    $('undo-batch').disabled = false;
    status(`labelled ${written} images ${value === '1' ? 'yes' : 'no'} for ${className}`);
    await load();
  } catch (error) {
    status(`not labelled: ${error.message}`);
  }
}

let lastBatch = [];
async function undoLastBatch() {
  try {
    const { undone } = await undoBatch(base, lastBatch);
    lastBatch = [];
    $('undo-batch').disabled = true;
    status(`undid the labelling of ${undone} images`);
    await load();
  } catch (error) {
    status(`not undone: ${error.message}`);
  }
}

const hover = $('hover');
let mouse = { x: 0, y: 0 };
canvas.addEventListener('mousemove', (e) => (mouse = { x: e.clientX, y: e.clientY }));
scatterplot.subscribe('pointOver', (i) => {
  hover.querySelector('img').src = thumbUrl(base, cols.keys[i]);
  hover.querySelector('figcaption').textContent = cols.keys[i];
  hover.style.left = `${mouse.x + 12}px`;
  hover.style.top = `${mouse.y + 12}px`;
  hover.hidden = false;
});
scatterplot.subscribe('pointOut', () => (hover.hidden = true));
scatterplot.subscribe('select', ({ points }) => void select(points));
scatterplot.subscribe('deselect', () => void select([]));

$('color-by').addEventListener('change', colour);
$('map-class').addEventListener('change', () => void load());
$('label-yes').addEventListener('click', () => void labelSelection('1'));
$('label-no').addEventListener('click', () => void labelSelection('0'));
$('undo-batch').addEventListener('click', () => void undoLastBatch());

// For tests and scripts: where a point is drawn, in CSS pixels of the page.
window.patchworkMap = {
  screen(i) {
    const [x, y] = scatterplot.getScreenPosition(i);
    const r = canvas.getBoundingClientRect();
    return [r.left + x, r.top + y];
  },
  keys: () => cols.keys,
};

load().catch((error) => status(`the map could not load: ${error.message}`));
