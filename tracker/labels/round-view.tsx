// The round page: what changed between a labeling round and an earlier one (the browser side of `patchwork label diff`).
import type { RoundDiff } from '../../ml/active/round-diff.ts';

const percent = (value: number) => (Number.isNaN(value) ? 'n/a' : `${(100 * value).toFixed(1)} %`);

export function RoundPage(p: { project: string; title: string; diff: RoundDiff }) {
  const b = `/projects/${encodeURIComponent(p.project)}`;
  const { diff } = p;
  const added = Object.values(diff.labelsAdded).reduce((x, y) => x + y, 0);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{`round ${diff.to} · ${p.title}`}</title>
        <link rel="stylesheet" href="/projects/_static/labeler.css" />
      </head>
      <body>
        <header>
          <h1>
            {p.title}: round {diff.to} against round {diff.from}
          </h1>
          <a href={`${b}/label`}>labeler</a> · <a href={`${b}/map`}>map</a>
        </header>
        <main>
          <p id="labels-added">
            labels added: {added} ({diff.labelChanges.length - added} changed or cleared)
          </p>
          <table id="classes">
            <thead>
              <tr>
                <th>class</th>
                <th>labels added</th>
                <th>AUC round {diff.from}</th>
                <th>AUC round {diff.to}</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(diff.labelsAdded).map(([name, count]) => (
                <tr>
                  <td>{name}</td>
                  <td>{count}</td>
                  <td>{percent(diff.auc[name]!.from)}</td>
                  <td>{percent(diff.auc[name]!.to)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="note">Both rounds' predictions are scored on round {diff.to}'s labels.</p>
          <p id="queue">
            queue: {diff.queue.size} images, {diff.queue.new} new, {diff.queue.kept} also in round {diff.from}'s queue
          </p>
          <h2>Biggest probability moves</h2>
          <table id="moves">
            <tbody>
              {diff.biggestMoves.map((m) => (
                <tr>
                  <td>{m.key}</td>
                  <td>{m.className}</td>
                  <td>
                    {m.from.toFixed(3)} → {m.to.toFixed(3)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </main>
      </body>
    </html>
  );
}
