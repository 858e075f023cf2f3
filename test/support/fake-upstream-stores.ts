// fileSearchStores (with documents) and tunedModels on the fake upstream: create, get, list, delete.
import { googleError, parseJsonBody, sendJson, type RouteContext } from './fake-upstream-http.js';

interface Collections {
  fileSearchStores: Map<string, Record<string, unknown>>;
  tunedModels: Map<string, Record<string, unknown>>;
}
const byState = new WeakMap<RouteContext['state'], Collections>();
const of = (ctx: RouteContext): Collections => {
  let c = byState.get(ctx.state);
  if (!c) byState.set(ctx.state, (c = { fileSearchStores: new Map(), tunedModels: new Map() }));
  return c;
};

/** Returns false when the path is not a fileSearchStores/ or tunedModels/ route. */
export function handleStoreRoutes(ctx: RouteContext): boolean {
  const { method, rest } = ctx;
  const m = /^(fileSearchStores|tunedModels)(?:\/([^/:]+)(\/documents)?)?$/.exec(rest);
  if (!m) return false;
  const kind = m[1] as keyof Collections;
  const items = of(ctx)[kind];
  if (!m[2]) {
    if (method === 'GET') {
      sendJson(ctx, 200, { [kind]: [...items.values()] });
      return true;
    }
    if (method !== 'POST') return false;
    const body = parseJsonBody(ctx) ?? {};
    const id = ctx.state.nextId(kind === 'tunedModels' ? 'tm' : 'fss');
    const name = `${kind}/${id}`;
    const item = { name, displayName: body.displayName ?? id, createTime: new Date().toISOString() };
    items.set(name, item);
    // Google answers tunedModels.create with the tuning Operation, fileSearchStores.create with the store.
    if (kind === 'tunedModels') sendJson(ctx, 200, { name: `${name}/operations/${ctx.state.nextId('op')}`, metadata: { tunedModel: name } });
    else sendJson(ctx, 200, item);
    return true;
  }
  const name = `${kind}/${decodeURIComponent(m[2])}`;
  const item = items.get(name);
  if (!item) {
    googleError(ctx, 404, 'Requested entity was not found.');
    return true;
  }
  if (m[3] && method === 'GET') sendJson(ctx, 200, { documents: [{ name: `${name}/documents/doc1`, displayName: 'doc1' }] });
  else if (method === 'GET') sendJson(ctx, 200, item);
  else if (method === 'DELETE') {
    items.delete(name);
    sendJson(ctx, 200, {});
  } else return false;
  return true;
}
