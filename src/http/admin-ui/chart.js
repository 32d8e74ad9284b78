// A small line chart of the last minutes, drawn as SVG.

const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 220;
const HEIGHT = 48;

const svg = (tag, attributes) => {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
};

/** `points` are [time, value] pairs, oldest first; the scale starts at 0 and fits the highest value. */
export function sparkline(points, label) {
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'sparkline', role: 'img', 'aria-label': label });
  if (points.length < 2) return chart;
  const [first] = points[0];
  const span = Math.max(1, points[points.length - 1][0] - first);
  const top = Math.max(...points.map(([, v]) => v)) || 1;
  const xy = points.map(([t, v]) => `${(((t - first) / span) * WIDTH).toFixed(1)},${(HEIGHT - 2 - (v / top) * (HEIGHT - 4)).toFixed(1)}`);
  chart.append(svg('polyline', { points: `0,${HEIGHT} ${xy.join(' ')} ${WIDTH},${HEIGHT}`, class: 'area' }));
  chart.append(svg('polyline', { points: xy.join(' '), class: 'line' }));
  return chart;
}
