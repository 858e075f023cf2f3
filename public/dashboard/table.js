// @ts-check
/** The top projects / keys / models table. Cells carry their raw numbers in data-value. */

const nf = new Intl.NumberFormat('en-US');
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });

/** @type {Record<string, { id: (g: any) => string, label: (g: any) => string }>} */
export const DIMS = {
  project: { id: (g) => g.projectId, label: (g) => `${g.tenant ?? '?'}/${g.project ?? g.projectId}` },
  key: { id: (g) => g.keyId, label: (g) => `${g.keyPrefix ?? g.keyId}…` },
  model: { id: (g) => g.model ?? '', label: (g) => g.model ?? '(unknown)' },
};

/**
 * @param {HTMLTableElement} table
 * @param {{ dim: 'project' | 'key' | 'model', groups: Array<Record<string, any>>, quota: Map<string, number>, onDrill?: (g: any) => void }} v
 */
export function renderTable(table, { dim, groups, quota, onDrill }) {
  const d = DIMS[dim];
  const head = ['name', 'Requests', 'Errors', 'Tokens', 'Est. cost', 'Latency p50 / p95', quota.size ? 'Quota' : ''];
  table.tHead.innerHTML = `<tr>${head.map((h, i) => `<th>${i === 0 ? dim : h}</th>`).join('')}</tr>`;
  const rows = [...groups].sort((a, b) => (b.estimatedCostUsd ?? -1) - (a.estimatedCostUsd ?? -1) || b.totalTokens - a.totalTokens);
  const body = table.tBodies[0];
  body.replaceChildren(
    ...rows.map((g) => {
      const tr = document.createElement('tr');
      tr.dataset.id = d.id(g);
      const cell = (/** @type {string} */ field, /** @type {unknown} */ value, /** @type {string} */ text) => {
        const td = document.createElement('td');
        td.dataset.field = field;
        td.dataset.value = value === null ? '' : String(value);
        td.textContent = text;
        return td;
      };
      const rate = g.requests ? ` (${((100 * g.errors) / g.requests).toFixed(1)}%)` : '';
      const q = quota.get(d.id(g));
      const bar = document.createElement('td');
      if (q !== undefined) {
        bar.dataset.field = 'quota';
        bar.dataset.value = String(q);
        bar.innerHTML = `<span class="bar${q > 1 ? ' over' : ''}" title="${(q * 100).toFixed(0)}% of its tightest limit"><i style="width:${Math.min(100, q * 100)}%"></i></span>`;
      }
      tr.append(
        cell('name', d.id(g), d.label(g)),
        cell('requests', g.requests, nf.format(g.requests)),
        cell('errors', g.errors, `${nf.format(g.errors)}${rate}`),
        cell('totalTokens', g.totalTokens, nf.format(g.totalTokens)),
        cell('estimatedCostUsd', g.estimatedCostUsd, g.estimatedCostUsd === null ? 'unpriced' : usd.format(g.estimatedCostUsd)),
        cell('latency', g.latencyMsP50, g.latencyMsP50 === null ? '–' : `${nf.format(g.latencyMsP50)} / ${nf.format(g.latencyMsP95)} ms`),
        bar,
      );
      if (onDrill) {
        tr.classList.add('drill');
        tr.title = 'Drill down';
        tr.addEventListener('click', () => onDrill(g));
      }
      return tr;
    }),
  );
}
