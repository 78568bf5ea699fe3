// The Train page's results: the round's per-step training loss (the run pages' line chart) and, per class, a
// histogram of predicted probabilities with one bar per series (labelled 1 and 0 on training and validation images,
// unlabelled) in each bin, each series scaled to its own total so a small validation set stays visible.
import { ScalarChart } from '../pages/chart.tsx';
import { SERIES, splitTotals, type ClassHistogram } from './probability-histograms.ts';

const W = 320;
const H = 140;
const PAD = { left: 8, right: 8, top: 8, bottom: 20 };
const COLOURS = {
  'training 1': '#1f5f9f',
  'training 0': '#9fc3e6',
  'validation 1': '#c46a00',
  'validation 0': '#f2c185',
  unlabelled: '#9aa5b1',
} as const;

export function LossChart(p: { round: number; losses: number[] | undefined }) {
  if (p.losses === undefined)
    return <p id="loss" class="note">Round {p.round} stored no per-step losses (it ran before rounds kept them).</p>;
  if (p.losses.length === 0)
    return <p id="loss" class="note">Round {p.round}'s head records no per-step losses (the logistic head is fitted by L-BFGS, not in steps).</p>;
  // JSON has no NaN: a diverged step comes back as null, which the chart counts as not finite.
  const points = p.losses.map((value, step) => ({ step: step + 1, value: value ?? Number.NaN }));
  return (
    <div id="loss">
      <ScalarChart tag={`round ${p.round}: training loss per step`} points={points} />
    </div>
  );
}

export function ProbabilityHistogram(p: { histogram: ClassHistogram }) {
  const { name, counts } = p.histogram;
  const bins = counts.unlabelled.length;
  const totals = Object.fromEntries(SERIES.map((s) => [s, counts[s].reduce((a, b) => a + b, 0)])) as Record<
    (typeof SERIES)[number],
    number
  >;
  const splits = splitTotals(p.histogram);
  const fractions = SERIES.flatMap((s) => counts[s].map((n) => (totals[s] > 0 ? n / totals[s] : 0)));
  const top = Math.max(...fractions, 1e-9);
  const binWidth = (W - PAD.left - PAD.right) / bins;
  const barWidth = binWidth / (SERIES.length + 1);
  const base = H - PAD.bottom;
  return (
    <figure
      class="histogram"
      data-class={name}
      data-training={String(splits.training)}
      data-validation={String(splits.validation)}
      data-unlabelled={String(splits.unlabelled)}
      data-positives={String(totals['training 1'] + totals['validation 1'])}
    >
      <figcaption>
        <strong>{name}</strong>{' '}
        <span class="muted">
          {SERIES.map((s) => `${s}: ${totals[s]}`).join(' · ')}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`predicted probability of ${name}`}>
        <line x1={PAD.left} y1={base} x2={W - PAD.right} y2={base} stroke="#d9dee3" />
        {SERIES.flatMap((s, k) =>
          counts[s].map((n, bin) => {
            const h = totals[s] > 0 ? (n / totals[s] / top) * (base - PAD.top) : 0;
            return (
              <rect
                class={s.replace(' ', '-')}
                data-bin={String(bin)}
                data-count={String(n)}
                x={(PAD.left + bin * binWidth + (k + 0.5) * barWidth).toFixed(1)}
                y={(base - h).toFixed(1)}
                width={barWidth.toFixed(1)}
                height={h.toFixed(1)}
                fill={COLOURS[s]}
              />
            );
          }),
        )}
        <text x={PAD.left} y={H - 6} font-size="10">0</text>
        <text x={W / 2} y={H - 6} text-anchor="middle" font-size="10">predicted probability</text>
        <text x={W - PAD.right} y={H - 6} text-anchor="end" font-size="10">1</text>
      </svg>
    </figure>
  );
}

export function HistogramLegend() {
  return (
    <p class="legend">
      {SERIES.map((s) => (
        <span>
          <svg width="10" height="10" aria-hidden="true">
            <rect width="10" height="10" fill={COLOURS[s]} />
          </svg>{' '}
          {s}{' '}
        </span>
      ))}
      <span class="muted">
        (per class: training 1 / 0 = labelled 1 / 0, not a validation image; validation 1 / 0 = labelled on a validation
        image; unlabelled = no label in that class; excluded images left out; each series' bars sum to 1)
      </span>
    </p>
  );
}
