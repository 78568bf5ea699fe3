// The scale benchmark's table: objects/s and peak RSS per phase and fraction, how both moved from the smallest to the
// largest source, and a linear extrapolation of time and memory to larger sources.
import type { PhaseResult } from './scale-child.ts';

export interface Measured {
  fraction: string;
  result: PhaseResult;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const pct = (from: number, to: number) => `${to >= from ? '+' : ''}${((100 * (to - from)) / from).toFixed(1)} %`;

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Least-squares line through (x, y) points: y = a + b x. */
function line(points: Array<[number, number]>): { a: number; b: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const b = sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  return { a: my - b * mx, b };
}

export function scaleReport(measured: Measured[], fractions: string[], extrapolateTo: number[]): string {
  const out: string[] = [];
  const phases = [...new Set(measured.map((m) => m.result.phase))];
  const header = ['phase', ...fractions.flatMap((f) => [`${f} objects/s`, `${f} peak RSS`]), 'objects/s change', 'peak RSS change', 'live JS heap after'];
  out.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`);
  for (const phase of phases) {
    const row = fractions.map((f) => measured.find((m) => m.fraction === f && m.result.phase === phase)?.result);
    const cells = row.flatMap((r) => (r ? [`${(r.objects / r.seconds).toFixed(0)} (${r.objects})`, mib(r.peakRss)] : ['-', '-']));
    const [first, last] = [row[0], row.at(-1)];
    const change =
      first && last
        ? [pct(first.objects / first.seconds, last.objects / last.seconds), pct(first.peakRss, last.peakRss), row.map((r) => (r ? mib(r.liveHeap) : '-')).join(' / ')]
        : ['-', '-', '-'];
    out.push(`| ${[phase, ...cells, ...change].join(' | ')} |`);
  }
  out.push(
    '',
    `Linear extrapolation: time on a least-squares line over the ${fractions.length} sizes; peak RSS from the largest size`,
    'along the least-squares slope, taken as 0 when it comes out negative (noise: memory does not shrink with the source).',
    '',
  );
  const targets = extrapolateTo.map((n) => (n >= 1e6 ? `${n / 1e6} M` : String(n)));
  const head = ['phase', ...targets.flatMap((t) => [`time at ${t}`, `peak RSS at ${t}`]), 'RSS per extra 1 M objects'];
  out.push(`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`);
  for (const phase of phases) {
    const runs = measured.filter((m) => m.result.phase === phase).map((m) => m.result);
    const time = line(runs.map((r) => [r.objects, r.seconds]));
    const slope = Math.max(0, line(runs.map((r) => [r.objects, r.peakRss])).b);
    const largest = runs.reduce((a, b) => (b.objects > a.objects ? b : a));
    const rssAt = (n: number) => largest.peakRss + slope * (n - largest.objects);
    const cells = extrapolateTo.flatMap((n) => [duration(time.a + time.b * n), mib(rssAt(n))]);
    out.push(`| ${[phase, ...cells, mib(slope * 1e6)].join(' | ')} |`);
  }
  return out.join('\n');
}
