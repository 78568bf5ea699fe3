// The Train page (/projects/<id>/train): the original's Model panel (the head, its options and its parameter count)
// and Train panel (training options, update predictions, Train), the loop's state, and the last round's results.
// The form's values are the loop's current head settings, read back from the workflow's status query.
import type { ActiveLearningStatus, HeadOptions } from '../../contracts/active-learning.ts';
import { HEAD_KINDS, HEAD_OUTPUTS, HEAD_POOLINGS } from '../../ml/active/head-options.ts';
import type { ClassHistogram } from './probability-histograms.ts';
import { HistogramLegend, LossChart, ProbabilityHistogram } from './train-charts.tsx';

const base = (project: string) => `/projects/${encodeURIComponent(project)}`;

export interface TrainResults {
  /** The loop's last round (undefined before the first). */
  round?: number;
  losses?: number[];
  /** The round whose queue (and predictions) the label store holds last. */
  predictionsRound?: number;
  /** Undefined while the label store holds no predictions. */
  histograms?: ClassHistogram[];
}

function NumberField(p: { name: keyof HeadOptions; label: string; head: HeadOptions; placeholder: string; step?: string }) {
  const value = p.head[p.name];
  return (
    <label>
      {p.label}{' '}
      <input
        type="number"
        name={p.name}
        step={p.step ?? '1'}
        min="0"
        placeholder={p.placeholder}
        value={value === undefined ? '' : String(value)}
      />
    </label>
  );
}

/** A select of `options`: values, or [value, shown text] pairs. */
function Choice(p: { name: string; label: string; options: readonly (string | [string, string])[]; value?: string; blank?: string }) {
  return (
    <label>
      {p.label}{' '}
      <select name={p.name}>
        {p.blank !== undefined && <option value="">{p.blank}</option>}
        {p.options.map((o) => {
          const [value, text] = typeof o === 'string' ? [o, o] : o;
          return (
            <option value={value} selected={value === p.value}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
}

const YES_NO: [string, string][] = [['1', 'yes'], ['0', 'no']];

/** The page's own layout: panels of labelled fields, results beside them. No quotes or angle brackets (escaped). */
const STYLE = `
main { flex-wrap: wrap; }
#train-form { flex: 1 1 36rem; max-width: 48rem; }
fieldset { margin: 0 0 1rem 0; }
fieldset label { display: inline-block; margin: 0.25rem 1.2rem 0.25rem 0; }
fieldset input[type=number] { width: 6rem; }
#results { flex: 1 1 30rem; }
#histograms { display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; }
figure { margin: 0 0 0.8rem 0; }
.legend svg { vertical-align: middle; }
`;

function ModelPanel(p: { project: string; head: HeadOptions }) {
  const h = p.head;
  return (
    <fieldset id="model">
      <legend>Model</legend>
      <Choice name="kind" label="head" options={HEAD_KINDS} value={h.kind ?? 'logistic'} />
      <NumberField name="hidden" label="hidden units (mlp)" head={h} placeholder="256" />
      <Choice name="output" label="output" options={HEAD_OUTPUTS} value={h.output} blank="sigmoid (default)" />
      <Choice name="pooling" label="pooling (pool, convnet)" options={HEAD_POOLINGS} value={h.pooling} blank="max (default)" />
      <NumberField name="layers" label="layers (convnet)" head={h} placeholder="1" />
      <NumberField name="filters" label="filters (convnet)" head={h} placeholder="32" />
      <Choice name="kernel" label="kernel (convnet)" options={['1', '3']} value={h.kernel === undefined ? undefined : String(h.kernel)} blank="1 (default)" />
      <Choice name="separable" label="separable (convnet)" options={YES_NO} value={h.separable === undefined ? undefined : h.separable ? '1' : '0'} blank="no (default)" />
      <NumberField name="spatialDropout" label="spatial dropout (convnet)" head={h} placeholder="0" step="any" />
      <NumberField name="learningRate" label="learning rate" head={h} placeholder="0.001" step="any" />
      <NumberField name="weightDecay" label="weight decay" head={h} placeholder="0" step="any" />
      <NumberField name="entropyWeight" label="entropy weight" head={h} placeholder="0" step="any" />
      <NumberField name="labelSmoothing" label="label smoothing" head={h} placeholder="0" step="any" />
      <p>
        <ParameterSource project={p.project} />
      </p>
    </fieldset>
  );
}

function TrainPanel(p: { head: HeadOptions }) {
  const h = p.head;
  return (
    <fieldset id="train">
      <legend>Train</legend>
      <NumberField name="batchSize" label="batch size" head={h} placeholder="16" />
      <NumberField name="samplesPerEpoch" label="samples per epoch" head={h} placeholder="1000" />
      <NumberField name="epochs" label="epochs" head={h} placeholder="10" />
      <Choice name="updatePredictions" label="update predictions" options={YES_NO} value="1" />
      <button id="train-button" type="submit">
        Train
      </button>
      <span id="train-status" class="note"></span>
    </fieldset>
  );
}

/**
 * Asks for the head's parameter count once loaded and whenever the form changes, a newer change replacing a request
 * still in flight. It is never swapped itself, so no change is missed while an answer replaces the count.
 */
function ParameterSource(p: { project: string }) {
  return (
    <span
      id="parameter-source"
      hx-get={`${base(p.project)}/train/parameters`}
      hx-include="#train-form"
      hx-target="#parameters"
      hx-sync="this:replace"
      hx-trigger="load, change from:#train-form"
      hx-swap="outerHTML"
    >
      <Parameters classes={0} note="counting parameters…" initial />
    </span>
  );
}

/** The head's parameter count for the form's options (data-count is absent until the first answer). */
export function Parameters(p: { count?: number; note?: string; dim?: number; classes: number; initial?: boolean }) {
  return (
    <output id="parameters" {...(p.initial ? {} : { 'data-count': p.count === undefined ? '' : String(p.count) })}>
      {p.count !== undefined
        ? `${p.count.toLocaleString('en')} trainable parameters (${p.dim} features, ${p.classes} classes)`
        : p.note}
    </output>
  );
}

const phaseText = (s: ActiveLearningStatus | undefined, note: string | undefined) =>
  s ? `loop: ${s.phase}, rounds: ${s.rounds}${s.lastError ? `; last error: ${s.lastError}` : ''}` : (note ?? 'loop: unknown');

/** Polls the loop; the answer carries the results out of band when a round has finished since. */
export function TrainWatch(p: { project: string; status?: ActiveLearningStatus; note?: string }) {
  const rounds = p.status?.rounds ?? -1;
  return (
    <p
      id="train-watch"
      data-phase={p.status?.phase ?? ''}
      data-rounds={String(rounds)}
      hx-get={`${base(p.project)}/train/watch?rounds=${rounds}`}
      hx-trigger="every 2s"
      hx-swap="outerHTML"
    >
      {phaseText(p.status, p.note)}
    </p>
  );
}

export function Results(p: { results: TrainResults; oob?: boolean }) {
  const r = p.results;
  return (
    <section id="results" data-round={String(r.round ?? '')} {...(p.oob ? { 'hx-swap-oob': 'true' } : {})}>
      <h2>Last round</h2>
      {r.round === undefined ? <p id="loss" class="note">No round yet.</p> : <LossChart round={r.round} losses={r.losses} />}
      <h2>Predicted probabilities</h2>
      {r.histograms === undefined ? (
        <p class="note">No predictions published yet.</p>
      ) : (
        <>
          <p class="note">
            {r.predictionsRound === undefined ? 'Published predictions.' : `Predictions published by round ${r.predictionsRound}.`}
          </p>
          <HistogramLegend />
          <div id="histograms">
            {r.histograms.map((h) => (
              <ProbabilityHistogram histogram={h} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

export function TrainPage(p: {
  project: string;
  title: string;
  status?: ActiveLearningStatus;
  note?: string;
  results: TrainResults;
}) {
  const b = base(p.project);
  const head = p.status?.head ?? {};
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{`train · ${p.title}`}</title>
        <link rel="stylesheet" href="/projects/_static/labeler.css" />
        <script src="/projects/_static/htmx.min.js"></script>
        <script src="/projects/_static/train.js"></script>
        <style>{STYLE}</style>
      </head>
      <body>
        <header>
          <h1>{p.title}: model and training</h1>
          <a href={`${b}/label`}>labeler</a> · <a href={`${b}/map`}>map</a>
          <TrainWatch project={p.project} status={p.status} note={p.note} />
        </header>
        <main>
          <form id="train-form" hx-post={`${b}/train`} hx-target="#train-status" hx-swap="outerHTML">
            <ModelPanel project={p.project} head={head} />
            <TrainPanel head={head} />
          </form>
          <Results results={p.results} />
        </main>
      </body>
    </html>
  );
}
