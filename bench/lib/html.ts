// The self-contained HTML report: a summary table, and per side latency over time and a latency histogram, as inline SVG.

import type { HistogramBin, SecondSample } from './load-protocol.js';
import type { Options } from './options.js';
import { benchJson, cacheText, summaryTable, targetLabel, type SideRun } from './report.js';

const W = 760;
const H = 240;
const PAD = { left: 56, right: 16, top: 16, bottom: 36 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** About five round tick values from 0 to at least `max`. */
function ticks(max: number): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
}

interface Line {
  readonly name: string;
  readonly color: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

function lineChart(lines: readonly Line[], xLabel: string, yLabel: string): string {
  const xs = lines.flatMap((l) => l.points.map((p) => p[0]));
  const ys = lines.flatMap((l) => l.points.map((p) => p[1]));
  const xTicks = ticks(Math.max(1, ...xs));
  const yTicks = ticks(Math.max(0, ...ys));
  const xMax = xTicks[xTicks.length - 1] as number;
  const yMax = yTicks[yTicks.length - 1] as number;
  const x = (v: number) => PAD.left + (v / xMax) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  const grid = [
    ...yTicks.map((t) => `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${PAD.left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`),
    ...xTicks.map((t) => `<text x="${x(t)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`),
  ];
  const paths = lines.map(
    (l) => `<polyline fill="none" stroke="${l.color}" stroke-width="1.8" points="${l.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`,
  );
  const legend = lines.map((l, i) => `<rect x="${PAD.left + 10 + i * 90}" y="${PAD.top}" width="12" height="3" fill="${l.color}"/><text x="${PAD.left + 26 + i * 90}" y="${PAD.top + 5}">${esc(l.name)}</text>`);
  return svg([...grid, ...paths, ...legend, axes(xLabel, yLabel)]);
}

function histogramChart(bins: readonly HistogramBin[]): string {
  // Trim empty bins at both ends so the bars use the width.
  const first = bins.findIndex((b) => b.count > 0);
  const last = bins.length - 1 - [...bins].reverse().findIndex((b) => b.count > 0);
  if (first < 0) return svg([axes('latency, ms (log scale)', 'answers')]);
  const shown = bins.slice(Math.max(0, first), last + 1);
  const yTicks = ticks(Math.max(...shown.map((b) => b.count)));
  const yMax = yTicks[yTicks.length - 1] as number;
  const bw = (W - PAD.left - PAD.right) / shown.length;
  const y = (v: number) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  const parts = yTicks.map((t) => `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${PAD.left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  shown.forEach((b, i) => {
    const x0 = PAD.left + i * bw;
    parts.push(`<rect x="${(x0 + 1).toFixed(1)}" y="${y(b.count).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${(H - PAD.bottom - y(b.count)).toFixed(1)}" fill="#4a7bd0"><title>≤ ${fmt(b.upToMs)} ms: ${b.count}</title></rect>`);
    // Label every few bars with the bin's upper edge.
    if (i % Math.max(1, Math.round(shown.length / 8)) === 0) parts.push(`<text x="${x0 + bw}" y="${H - PAD.bottom + 16}" text-anchor="middle">${Number.isFinite(b.upToMs) ? fmt(b.upToMs) : '∞'}</text>`);
  });
  parts.push(axes('latency, ms (upper edge of each bin, log scale)', 'answers'));
  return svg(parts);
}

const axes = (xLabel: string, yLabel: string) =>
  `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" class="axis"/>` +
  `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" class="axis"/>` +
  `<text x="${(W + PAD.left) / 2}" y="${H - 4}" text-anchor="middle" class="label">${esc(xLabel)}</text>` +
  `<text x="14" y="${(H - PAD.bottom) / 2}" text-anchor="middle" class="label" transform="rotate(-90 14 ${(H - PAD.bottom) / 2})">${esc(yLabel)}</text>`;

const svg = (parts: readonly string[]) => `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;

/** Latency per request kind (create, pay, read, each read query), when there is more than one. */
function kindTable(run: SideRun): string {
  const kinds = Object.entries(run.load.byKind);
  if (kinds.length < 2) return '';
  const rows = kinds.map(([kind, l]) => `<tr><td>${esc(kind)}</td><td>${l.count}</td><td>${l.p50Ms}</td><td>${l.p95Ms}</td><td>${l.p99Ms}</td><td>${l.maxMs}</td></tr>`);
  return `<h3>Latency per request kind</h3><table><tr><th>kind</th><th>answers</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>${rows.join('')}</table>`;
}

function sideSection(run: SideRun, showCache: boolean): string {
  const series: readonly SecondSample[] = run.load.series;
  const latency = lineChart(
    [
      { name: 'p50', color: '#2a9d5c', points: series.map((s) => [s.second + 1, s.p50Ms]) },
      { name: 'p99', color: '#d0513a', points: series.map((s) => [s.second + 1, s.p99Ms]) },
    ],
    'seconds into the load',
    'latency, ms',
  );
  const throughput = lineChart(
    [
      { name: 'answers/s', color: '#4a7bd0', points: series.map((s) => [s.second + 1, s.count]) },
      { name: 'paid/s', color: '#9b59b6', points: series.map((s) => [s.second + 1, s.paid]) },
    ],
    'seconds into the load',
    'per second',
  );
  return `<section><h2>${esc(run.side)}</h2>
${showCache ? `<p>Cache hit rate: ${esc(cacheText(run))}</p>` : ''}${kindTable(run)}
<h3>Latency over time (per-second p50 and p99)</h3>${latency}
<h3>Throughput over time</h3>${throughput}
<h3>Latency histogram</h3>${histogramChart(run.load.histogram)}</section>`;
}

export function htmlReport(runs: readonly SideRun[], options: Options): string {
  const json = benchJson(runs, options);
  const title = targetLabel(options);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bench: ${esc(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 820px; }
pre { background: #f5f5f5; padding: 10px; overflow-x: auto; font-size: 12px; }
svg text { font-size: 11px; fill: #444; } svg .label { font-size: 12px; fill: #222; }
svg .grid { stroke: #e4e4e4; } svg .axis { stroke: #888; }
h3 { margin-bottom: 4px; font-size: 14px; }
table { border-collapse: collapse; font-size: 12px; } td, th { padding: 2px 10px; text-align: right; } td:first-child, th:first-child { text-align: left; }
</style></head><body>
<h1>${esc(title)}</h1>
<p>${options.connections} connections${options.rate ? `, paced at ${options.rate} requests/s` : ''}, profile ${options.profile}, ${options.durationS} s;
${options.users} users, ${options.products} products${options.scenario === 'flash-sale' ? `, stock ${options.stock}` : ''}${
  options.scenario === 'mix' || options.scenario === 'read-heavy' ? `, ${options.readOrders} paid orders and issued coupons for the reads` : ''
}.
Invariants: <strong>${json.invariantsOk ? 'ok' : 'NOT ok'}</strong>. Generated ${new Date().toISOString()}.</p>
<pre>${esc(summaryTable(runs, options))}</pre>
${Object.entries(json.ratios)
  .map(([b, r]) => `<p>engine ÷ ${b}: throughput ×${r.throughput}, p99 ×${r.p99}</p>`)
  .join('\n')}
${runs.map((run) => sideSection(run, options.scenario === 'mix' || options.scenario === 'read-heavy' || run.cache !== undefined)).join('\n')}
<details><summary>JSON</summary><pre>${esc(JSON.stringify(json, null, 2))}</pre></details>
</body></html>
`;
}
