// A simulated labeler: writes labels through the tracker's HTTP API, retrying each write until the tracker
// acknowledges it, and remembers every acknowledged write so the end of the chaos run can look each one up.
import type { Random } from './random.ts';

export interface AckedWrite {
  key: string;
  className: string;
  value: '0' | '1';
  historyId: number;
}

export interface LabelerTotals {
  acked: AckedWrite[];
  /** Attempts that got no 2xx (tracker down or restarting); the write was then retried. */
  failedAttempts: number;
}

interface Target {
  trackerUrl: string;
  token: string;
  project: string;
  keys: string[];
  classes: string[];
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function writeOnce(target: Target, key: string, className: string, value: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${target.trackerUrl}/projects/${target.project}/labels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key, class: className, value }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
      await response.arrayBuffer();
      return undefined;
    }
    return ((await response.json()) as { historyId: number }).historyId;
  } catch {
    return undefined;
  }
}

/** Labels until `until()` says stop, one write every `paceMs`; a write that fails is retried before the next one. */
export async function runLabeler(target: Target, random: Random, until: () => boolean, paceMs: number): Promise<LabelerTotals> {
  const totals: LabelerTotals = { acked: [], failedAttempts: 0 };
  // Every cell once in a seeded order first, so the labeling loop sees new labels (and starts rounds), then overwrites.
  const fresh = random.shuffle(target.keys.flatMap((key) => target.classes.map((className) => [key, className] as const)));
  while (!until()) {
    const [key, className] = fresh.pop() ?? [random.pick(target.keys), random.pick(target.classes)];
    const value = random.next() < 0.5 ? '0' : '1';
    // The same write again until it is acknowledged: a write applied whose answer was lost then shows up as one more
    // history row with the same value, which the check allows; the cell's final value is still the last acked one.
    for (;;) {
      const historyId = await writeOnce(target, key, className, value);
      if (historyId !== undefined) {
        totals.acked.push({ key, className, value, historyId });
        break;
      }
      totals.failedAttempts += 1;
      await pause(500);
    }
    await pause(paceMs);
  }
  return totals;
}

async function getJson<T>(url: string, token: string): Promise<T> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface HistoryRow {
  id: number;
  imageKey: string;
  field: string;
  className: string | null;
  newValue: 0 | 1 | null;
}

/**
 * Every acknowledged write must be in the history (same id, cell and value), and each cell's value in the export
 * must be the last acknowledged write to it. Returns one line per loss.
 */
export async function checkLabels(target: Target, acked: AckedWrite[]): Promise<string[]> {
  const lost: string[] = [];
  const { history } = await getJson<{ history: HistoryRow[] }>(`${target.trackerUrl}/projects/${target.project}/history?limit=10000`, target.token);
  const byId = new Map(history.map((row) => [row.id, row]));
  if (acked.length > 10_000) lost.push(`${acked.length} writes: more than the history route returns; check with a shorter run`);
  for (const write of acked) {
    const row = byId.get(write.historyId);
    if (!row || row.imageKey !== write.key || row.className !== write.className || String(row.newValue) !== write.value) {
      lost.push(`history ${write.historyId} (${write.key} ${write.className}=${write.value}): ${row ? JSON.stringify(row) : 'missing'}`);
    }
  }
  const response = await fetch(`${target.trackerUrl}/projects/${target.project}/export.csv`, {
    headers: { authorization: `Bearer ${target.token}` },
    signal: AbortSignal.timeout(30_000),
  });
  const [header, ...rows] = (await response.text()).trim().split('\n');
  const columns = header!.split(',');
  const cells = new Map<string, string>();
  for (const row of rows) {
    const values = row.split(',');
    for (const className of target.classes) cells.set(`${values[0]} ${className}`, values[columns.indexOf(className)] ?? '');
  }
  const last = new Map<string, string>();
  for (const write of acked) last.set(`${write.key} ${write.className}`, write.value);
  for (const [cell, value] of last) {
    if (cells.get(cell) !== value) lost.push(`cell ${cell}: exported ${JSON.stringify(cells.get(cell))}, last acknowledged ${value}`);
  }
  return lost;
}
