// The map page (GET /projects/:p/map): the canvas regl-scatterplot draws on, the colour and class choices, the hover
// thumbnail and the lasso selection's actions. ui/map.js does the drawing; data-* attributes tell it where to fetch.
import type { ClassInfo } from './store.ts';
import type { MapInfo } from './map-store.ts';

export interface MapPageProps {
  project: string;
  title: string;
  labeler?: string;
  classes: ClassInfo[];
  info: MapInfo;
}

export function MapPage(p: MapPageProps) {
  const b = `/projects/${encodeURIComponent(p.project)}`;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{`map · ${p.title}`}</title>
        <link rel="stylesheet" href="/projects/_static/labeler.css" />
        <link rel="stylesheet" href="/projects/_static/map.css" />
        <script type="module" src="/projects/_static/map.js"></script>
      </head>
      <body data-base={b} data-labeler={p.labeler ?? ''}>
        <header>
          <h1>{p.title}</h1>
          <a href={`${b}/label`}>labeler</a>{' '}
          <span class="note">
            {p.info.count} images, {p.info.method} of model {p.info.modelHash}
          </span>
          <form id="map-controls">
            <label>
              Colour by{' '}
              <select id="color-by">
                <option value="label">label</option>
                <option value="p">predicted probability</option>
                <option value="uncertainty">uncertainty</option>
              </select>
            </label>{' '}
            <label>
              class{' '}
              <select id="map-class">
                {p.classes.map((c) => (
                  <option value={c.name}>{c.name}</option>
                ))}
              </select>
            </label>
          </form>
          <div id="selection">
            <span id="selection-count">0</span> selected (shift-drag to lasso){' '}
            <a id="open-grid" href={`${b}/label?subset=map+selection&sort=random`}>
              open in the grid
            </a>{' '}
            <button id="label-yes" type="button" disabled={!p.labeler}>
              label selection yes
            </button>{' '}
            <button id="label-no" type="button" disabled={!p.labeler}>
              label selection no
            </button>{' '}
            <button id="undo-batch" type="button" disabled>
              undo that labelling
            </button>
          </div>
          <div id="status" class="note"></div>
        </header>
        <main id="map-wrap">
          <canvas id="map"></canvas>
          <div id="legend"></div>
          <figure id="hover" hidden>
            <img alt="" />
            <figcaption></figcaption>
          </figure>
        </main>
      </body>
    </html>
  );
}
