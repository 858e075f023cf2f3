// @ts-check
/** The "tokens by modality" table: one row per modality from /admin/v1/usage?groupBy=modality. */
export function renderModalities(/** @type {HTMLTableElement} */ table, /** @type {any[]} */ groups) {
  const nf = new Intl.NumberFormat('en-US');
  table.tHead?.replaceChildren(row('th', ['Modality', 'Input tokens', 'of which cached', 'Output tokens']));
  const body = table.tBodies[0];
  body.replaceChildren(...groups.map((g) => {
    const tr = row('td', [g.modality, nf.format(g.inputTokens), nf.format(g.cachedTokens), nf.format(g.outputTokens)]);
    tr.dataset.modality = g.modality;
    return tr;
  }));
  if (groups.length === 0) body.replaceChildren(row('td', ['No tokens in this range', '', '', '']));
}

function row(/** @type {'th' | 'td'} */ tag, /** @type {string[]} */ cells) {
  const tr = document.createElement('tr');
  for (const text of cells) tr.append(Object.assign(document.createElement(tag), { textContent: text }));
  return tr;
}
