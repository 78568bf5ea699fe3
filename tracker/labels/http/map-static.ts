// The map page's scripts, served under /projects/_static/ with the labeler's own: ui/map.js (an ES module) imports
// pub-sub-es (ESM only) and sets the createPubSub global that regl-scatterplot's UMD build expects, then loads the UMD
// builds of regl (the createREGL global) and regl-scatterplot from here, so no build step and no inline script.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const js = 'text/javascript';
const fromPackage = (type: string, path: string) => ({ type, body: readFileSync(require.resolve(path), 'utf8') });
const fromUi = (type: string, file: string) => ({
  type,
  body: readFileSync(new URL(`../../../ui/${file}`, import.meta.url), 'utf8'),
});

export function mapStaticFiles(): Record<string, { type: string; body: string }> {
  return {
    'map.js': fromUi(js, 'map.js'),
    'map-data.js': fromUi(js, 'map-data.js'),
    'map.css': fromUi('text/css', 'map.css'),
    'pub-sub-es.js': fromPackage(js, 'pub-sub-es'),
    'regl.min.js': fromPackage(js, 'regl/dist/regl.min.js'),
    'regl-scatterplot.min.js': fromPackage(js, 'regl-scatterplot/dist/regl-scatterplot.min.js'),
  };
}
