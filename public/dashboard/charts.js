// @ts-check
/** Chart.js rendering of one time series (groupBy = unit + a stack dimension). */

/** @type {any} */
const Chart = /** @type {any} */ (globalThis).Chart;
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = 'system-ui, sans-serif';

const PALETTE = ['#1a73e8', '#e8710a', '#188038', '#d93025', '#9334e6', '#12b5cb', '#f9ab00', '#e52592'];
const OTHER = '#9aa0a6';
/** More series than this are folded into "other" so 50 projects stay readable. */
const MAX_SERIES = 8;

/** @type {Map<string, any>} */
const charts = new Map();

/**
 * Every bucket in [from, to), so empty hours/days still show as gaps, keyed like the API's labels.
 * @param {'hour' | 'day' | 'month'} unit
 * @param {number} from
 * @param {number} to
 */
export function bucketKeys(unit, from, to) {
  const out = [];
  // A range may start mid-bucket (any minute): label from the start of the bucket holding it.
  const d0 = new Date(from);
  const start = unit === 'hour' ? from - (from % 3_600_000) : unit === 'day' ? from - (from % 86_400_000) : Date.UTC(d0.getUTCFullYear(), d0.getUTCMonth(), 1);
  for (let t = start; t < to; ) {
    const iso = new Date(t).toISOString();
    if (unit === 'hour') {
      out.push({ key: iso, label: `${iso.slice(5, 10)} ${iso.slice(11, 13)}h` });
      t += 3_600_000;
    } else if (unit === 'day') {
      out.push({ key: iso.slice(0, 10), label: iso.slice(5, 10) });
      t += 86_400_000;
    } else {
      out.push({ key: iso.slice(0, 7), label: iso.slice(0, 7) });
      const d = new Date(t);
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
  return out;
}

/**
 * @param {string} id canvas id
 * @param {any} config
 */
function draw(id, config) {
  charts.get(id)?.destroy();
  const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById(id));
  charts.set(id, new Chart(canvas, config));
}

const stacked = { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true } };

/**
 * @param {{ groups: Array<Record<string, any>>, unit: 'hour' | 'day' | 'month', from: number, to: number, seriesName: (g: Record<string, any>) => string }} s
 */
export function renderCharts({ groups, unit, from, to, seriesName }) {
  const buckets = bucketKeys(unit, from, to);
  const at = new Map(buckets.map((b, i) => [b.key, i]));
  const zeros = () => buckets.map(() => 0);
  /** @type {Map<string, { tokens: number[], cost: number[], total: number }>} */
  const series = new Map();
  const requests = zeros();
  const errors = zeros();
  for (const g of groups) {
    const i = at.get(g[unit]);
    if (i === undefined) continue;
    const name = seriesName(g);
    let s = series.get(name);
    if (!s) series.set(name, (s = { tokens: zeros(), cost: zeros(), total: 0 }));
    s.tokens[i] += g.totalTokens;
    s.cost[i] += g.estimatedCostUsd ?? 0;
    s.total += g.totalTokens + (g.estimatedCostUsd ?? 0);
    requests[i] += g.requests;
    errors[i] += g.errors;
  }
  const ranked = [...series.entries()].sort((a, b) => b[1].total - a[1].total);
  const shown = ranked.slice(0, MAX_SERIES);
  const rest = ranked.slice(MAX_SERIES);
  if (rest.length) {
    const other = { tokens: zeros(), cost: zeros(), total: 0 };
    for (const [, s] of rest) s.tokens.forEach((v, i) => ((other.tokens[i] += v), (other.cost[i] += s.cost[i])));
    shown.push([`other (${rest.length})`, other]);
  }
  const datasets = (/** @type {'tokens' | 'cost'} */ field) =>
    shown.map(([name, s], i) => ({ label: name, data: s[field], backgroundColor: i < MAX_SERIES ? PALETTE[i] : OTHER, stack: 'all' }));
  const labels = buckets.map((b) => b.label);

  draw('chart-tokens', { type: 'bar', data: { labels, datasets: datasets('tokens') }, options: { scales: stacked } });
  draw('chart-cost', {
    type: 'bar',
    data: { labels, datasets: datasets('cost') },
    options: { scales: stacked, plugins: { tooltip: { callbacks: { label: (/** @type {any} */ c) => `${c.dataset.label}: $${c.parsed.y.toFixed(4)}` } } } },
  });
  draw('chart-requests', {
    data: {
      labels,
      datasets: [
        { type: 'bar', label: 'requests', data: requests, backgroundColor: '#8ab4f8', yAxisID: 'y', order: 1 },
        { type: 'line', label: 'error rate %', data: requests.map((r, i) => (r ? (100 * errors[i]) / r : null)), borderColor: '#d93025', backgroundColor: '#d93025', yAxisID: 'y1', spanGaps: true, pointRadius: 2, order: 0 },
      ],
    },
    options: {
      scales: {
        x: { grid: { display: false } },
        y: { beginAtZero: true, position: 'left' },
        y1: { beginAtZero: true, position: 'right', suggestedMax: 10, grid: { drawOnChartArea: false }, ticks: { callback: (/** @type {number} */ v) => `${v}%` } },
      },
    },
  });
}
