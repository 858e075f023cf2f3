// @ts-check
import { createApi, download, session, Unauthorized } from './api.js';
import { renderCharts } from './charts.js';
import { renderModalities } from './modality.js';
import { quotaUtilisation } from './quota.js';
import { DIMS, renderTable } from './table.js';

const DAY = 86_400_000;
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** What is on screen; every control edits this and calls load(). */
const view = {
  /** @type {string} UTC minute (YYYY-MM-DDTHH:MM), inclusive */ from: '',
  /** @type {string} UTC minute (YYYY-MM-DDTHH:MM), exclusive */ to: '',
  /** @type {'project' | 'model'} */ stack: 'project',
  /** @type {'project' | 'key' | 'model'} */ dim: 'project',
  /** @type {{ id: string, label: string } | null} */ project: null,
};
let seq = 0;

const isoDate = (/** @type {number} */ ms) => new Date(ms).toISOString().slice(0, 10);
/** The value a datetime-local input holds, read as UTC. */
const isoMinute = (/** @type {number} */ ms) => new Date(ms).toISOString().slice(0, 16);
const MINUTE = 60_000;

/** Day presets cover whole UTC days up to the end of today, so day buckets are complete. */
function setRange(/** @type {number} */ days) {
  const today = Date.parse(`${isoDate(Date.now())}T00:00:00Z`);
  view.from = isoMinute(today - (days - 1) * DAY);
  view.to = isoMinute(today + DAY);
}

/** Minute presets ("the last 90 minutes") end at the next whole minute. */
function setRecent(/** @type {number} */ minutes) {
  const to = Math.ceil((Date.now() + 1) / MINUTE) * MINUTE;
  view.from = isoMinute(to - minutes * MINUTE);
  view.to = isoMinute(to);
}

/** The API window for the view: any UTC minutes, `to` exclusive; the chart unit follows the span. */
function window_() {
  const from = Date.parse(`${view.from}:00Z`);
  const to = Date.parse(`${view.to}:00Z`);
  const days = (to - from) / DAY;
  /** @type {'hour' | 'day' | 'month'} */
  const unit = days <= 2 ? 'hour' : days <= 120 ? 'day' : 'month';
  return { from, to, unit, params: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), project: view.project?.id ?? '' } };
}

const seriesName = (/** @type {any} */ g) => (view.stack === 'project' ? DIMS.project.label(g) : DIMS.model.label(g));
const seriesGroupBy = () => (view.stack === 'project' ? 'tenant,project' : 'model');
const tableGroupBy = () => (view.dim === 'project' ? 'tenant,project' : view.dim);

async function load() {
  const token = session.get();
  if (!token) return showSignIn();
  const api = createApi(token);
  const mine = ++seq;
  const dash = $('dash');
  const w = window_();
  dash.dataset.state = 'loading';
  $('status').textContent = 'Loading…';
  $('status').className = '';
  syncControls();
  try {
    const [series, top, unpricedModels, modalities, unpricedRecent] = await Promise.all([
      api.usage({ ...w.params, groupBy: `${w.unit},${seriesGroupBy()}` }),
      api.usage({ ...w.params, groupBy: tableGroupBy() }),
      api.unpricedModels(),
      api.usage({ ...w.params, groupBy: 'modality' }),
      api.unpricedRecent(),
    ]);
    if (mine !== seq) return;
    renderCharts({ groups: series.groups, unit: w.unit, from: w.from, to: w.to, seriesName });
    const quota = await quotaUtilisation(token, view.dim);
    renderTable($('top'), { dim: view.dim, groups: top.groups, quota, onDrill: view.dim === 'project' ? drill : undefined });
    renderKpis(top.totals);
    renderModalities($('modalities'), modalities.groups);
    const unpriced = unpricedModels.data.map((/** @type {any} */ m) => `${m.model ?? '(unknown)'} (${m.requests})`);
    renderUnpricedBanner(unpricedRecent.data);
    $('unpriced').textContent = unpriced.length ? `Models without a price (their cost is not included): ${unpriced.join(', ')}` : '';
    $('status').textContent = `${isoMinute(Date.parse(top.from)).replace('T', ' ')} → ${isoMinute(Date.parse(top.to)).replace('T', ' ')} UTC, by ${w.unit}`;
    dash.dataset.state = 'ready';
  } catch (err) {
    if (mine !== seq) return;
    if (err instanceof Unauthorized) return showSignIn(err.message);
    $('status').textContent = /** @type {Error} */ (err).message;
    $('status').className = 'error';
    dash.dataset.state = 'error';
  }
}

/** A warning while models used in the last 30 days have no price: their cost is missing from every estimate. */
function renderUnpricedBanner(/** @type {any[]} */ models) {
  const banner = $('unpriced-banner');
  banner.hidden = models.length === 0;
  banner.dataset.models = models.map((m) => m.model).join(',');
  banner.textContent = models.length
    ? `Warning: ${models.length} model${models.length === 1 ? '' : 's'} used in the last 30 days ${models.length === 1 ? 'has' : 'have'} no price, so ${models.length === 1 ? 'its' : 'their'} cost is left out of every estimate: ` +
      `${models.map((m) => `${m.model} (${m.requests} requests)`).join(', ')}. Add ${models.length === 1 ? 'it' : 'them'} to PRICES_FILE; \`gemini-gateway prices check\` lists them.`
    : '';
}

function renderKpis(/** @type {any} */ t) {
  const nf = new Intl.NumberFormat('en-US');
  const kpis = [
    ['requests', nf.format(t.requests), 'requests'],
    ['errors', t.requests ? `${((100 * t.errors) / t.requests).toFixed(1)}%` : '–', 'error rate'],
    ['totalTokens', nf.format(t.totalTokens), 'tokens'],
    ['estimatedCostUsd', t.estimatedCostUsd === null ? 'unpriced' : `$${t.estimatedCostUsd.toFixed(2)}`, 'estimated cost'],
    ['latencyMsP95', t.latencyMsP95 === null ? '–' : `${nf.format(t.latencyMsP95)} ms`, 'latency p95 (approx.)'],
  ];
  $('kpis').innerHTML = kpis.map(([field, v, label]) => `<div class="kpi" data-field="${field}"><b></b><span>${label}</span></div>`).join('');
  $('kpis').querySelectorAll('b').forEach((/** @type {HTMLElement} */ b, /** @type {number} */ i) => (b.textContent = kpis[i][1]));
}

function drill(/** @type {any} */ g) {
  view.project = { id: g.projectId, label: DIMS.project.label(g) };
  view.stack = 'model';
  view.dim = 'key';
  load();
}

function syncControls() {
  $('from').value = view.from;
  $('to').value = view.to;
  $('stack').value = view.stack;
  $('stack').disabled = Boolean(view.project);
  for (const b of $('tabs').querySelectorAll('button')) {
    b.classList.toggle('active', b.dataset.dim === view.dim);
    b.hidden = Boolean(view.project) && b.dataset.dim === 'project';
  }
  const crumbs = $('crumbs');
  crumbs.replaceChildren();
  if (view.project) {
    const all = Object.assign(document.createElement('a'), { textContent: 'All projects', id: 'crumb-all' });
    all.addEventListener('click', () => Object.assign(view, { project: null, dim: 'project', stack: 'project' }) && load());
    crumbs.append(all, ` › ${view.project.label}`);
  } else crumbs.append('All projects');
}

function showSignIn(message = '') {
  session.clear();
  $('dash').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
}

async function signIn(/** @type {SubmitEvent} */ e) {
  e.preventDefault();
  const token = $('token').value.trim();
  try {
    await createApi(token).prices();
  } catch (err) {
    return showSignIn(/** @type {Error} */ (err).message);
  }
  session.set(token);
  $('token').value = '';
  showDashboard();
}

function showDashboard() {
  $('signin').hidden = true;
  $('dash').hidden = false;
  $('signout').hidden = false;
  load();
}

async function downloadCsv() {
  const w = window_();
  const csv = await createApi(session.get() ?? '').csv({ ...w.params, groupBy: `${w.unit},${seriesGroupBy()}` });
  download(csv, `usage-${view.project ? `${view.project.label.replace('/', '-')}-` : ''}${view.from}-${view.to}.csv`.replace(/:/g, ''));
}

setRange(30);
$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', () => showSignIn());
$('from').addEventListener('change', (/** @type {any} */ e) => e.target.value && ((view.from = e.target.value), load()));
$('to').addEventListener('change', (/** @type {any} */ e) => e.target.value && ((view.to = e.target.value), load()));
$('stack').addEventListener('change', (/** @type {any} */ e) => ((view.stack = e.target.value), load()));
$('csv').addEventListener('click', () => downloadCsv().catch((err) => ($('status').textContent = err.message)));
for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.presets button'))) {
  b.addEventListener('click', () => (b.dataset.minutes ? setRecent(Number(b.dataset.minutes)) : setRange(Number(b.dataset.days)), load()));
}
for (const b of $('tabs').querySelectorAll('button')) b.addEventListener('click', () => ((view.dim = b.dataset.dim), load()));
if (session.get()) showDashboard();
else showSignIn();
