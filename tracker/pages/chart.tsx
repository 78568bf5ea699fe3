// A small server-rendered SVG line chart of one scalar series. NaN and infinities cannot be drawn; they are counted
// under the chart. Long series are thinned to at most `maxPoints` (keeping the last point).
import type { ScalarPoint } from '../runs/read.ts';

const W = 320;
const H = 150;
const PAD = { left: 48, right: 8, top: 8, bottom: 20 };

function thin(points: ScalarPoint[], maxPoints: number): ScalarPoint[] {
  if (points.length <= maxPoints) return points;
  const stride = points.length / maxPoints;
  const out = Array.from({ length: maxPoints - 1 }, (_, i) => points[Math.floor(i * stride)]);
  out.push(points[points.length - 1]);
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(4));

export function ScalarChart(props: { tag: string; points: ScalarPoint[]; maxPoints?: number }) {
  const finite = props.points.filter((p) => Number.isFinite(p.value));
  const nonFinite = props.points.length - finite.length;
  const shown = thin(finite, props.maxPoints ?? 400);
  const last = props.points.at(-1);
  let body = <text x={W / 2} y={H / 2} text-anchor="middle" class="muted">no finite values</text>;
  if (shown.length > 0) {
    const steps = shown.map((p) => p.step);
    const values = shown.map((p) => p.value);
    const [x0, x1] = [Math.min(...steps), Math.max(...steps)];
    let [y0, y1] = [Math.min(...values), Math.max(...values)];
    if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
    const x = (s: number) => PAD.left + ((s - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
    const y = (v: number) => H - PAD.bottom - ((v - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
    const line = shown.map((p) => `${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
    body = (
      <g>
        <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} stroke="#d9dee3" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} stroke="#d9dee3" />
        <text x={PAD.left - 4} y={PAD.top + 8} text-anchor="end" font-size="10">{fmt(y1)}</text>
        <text x={PAD.left - 4} y={H - PAD.bottom} text-anchor="end" font-size="10">{fmt(y0)}</text>
        <text x={PAD.left} y={H - 6} font-size="10">{x0}</text>
        <text x={W - PAD.right} y={H - 6} text-anchor="end" font-size="10">{x1}</text>
        <polyline points={line} fill="none" stroke="#2f6fb3" stroke-width="1.5" />
      </g>
    );
  }
  return (
    <figure class="chart" data-tag={props.tag} data-points={String(props.points.length)} data-last-step={String(last?.step ?? '')}>
      <figcaption>
        <strong>{props.tag}</strong>{' '}
        <span class="muted">
          {last ? `step ${last.step}: ${fmt(last.value)}` : 'no values'}
          {nonFinite > 0 ? ` (${nonFinite} NaN/Inf not drawn)` : ''}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`${props.tag} by step`}>
        {body}
      </svg>
    </figure>
  );
}
