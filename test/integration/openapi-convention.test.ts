import { getRefId } from '@asteasolutions/zod-to-openapi';
import { z } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../src/admin/app.js';
import { auditCommands } from '../../src/cli/audit.js';
import { keyCommands } from '../../src/cli/keys.js';
import { limitCommands } from '../../src/cli/limits.js';
import { projectCommands } from '../../src/cli/projects.js';
import { resourceCommands } from '../../src/cli/resources.js';
import { tenantCommands } from '../../src/cli/tenants.js';
import { upstreamKeyCommands } from '../../src/cli/upstream-keys.js';
import { usageCommands } from '../../src/cli/usage.js';
import { createSelfServiceApp } from '../../src/self-service/app.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

/**
 * The one API convention of the admin (/admin/v1) and self-service (/gateway/v1) surfaces, checked on
 * the OpenAPI documents they serve: camelCase names, unique schema names, consistent tags, every list
 * in the `{ data, nextCursor }` envelope. Google's data plane is not part of either document.
 */

type Schema = Record<string, any>;
type Doc = { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> }; tags?: { name: string }[] };

const CAMEL = /^[a-z][a-zA-Z0-9]*$/;
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

function resolve(doc: Doc, s: Schema | undefined): Schema | undefined {
  if (!s?.$ref) return s;
  return resolve(doc, doc.components?.schemas?.[String(s.$ref).replace('#/components/schemas/', '')]);
}

/** Every property name of every schema in `s`, with where it was found. */
function propertyNames(s: unknown, where: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (!s || typeof s !== 'object') return out;
  if (Array.isArray(s)) {
    s.forEach((v, i) => propertyNames(v, `${where}[${i}]`, out));
    return out;
  }
  const o = s as Schema;
  if (o.properties && typeof o.properties === 'object') for (const k of Object.keys(o.properties)) out.push([k, where]);
  for (const [k, v] of Object.entries(o)) if (k !== 'example' && k !== 'examples' && k !== 'default') propertyNames(v, `${where}.${k}`, out);
  return out;
}

/** Every property named like a moment (`createdAt`, `coolingUntil`, `resetsAt`), with its schema. */
function timeProperties(s: unknown, out: Array<[string, Schema]> = []): Array<[string, Schema]> {
  if (!s || typeof s !== 'object') return out;
  if (Array.isArray(s)) {
    for (const v of s) timeProperties(v, out);
    return out;
  }
  const o = s as Schema;
  if (o.properties && typeof o.properties === 'object') for (const [k, v] of Object.entries(o.properties as Record<string, Schema>)) if (/(At|Until)$/.test(k)) out.push([k, v]);
  for (const v of Object.values(o)) timeProperties(v, out);
  return out;
}

function operations(doc: Doc) {
  return Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })));
}

/** Types a schema can take (a 3.1 type list, anyOf with null, or a nullable $ref). */
function types(doc: Doc, s: Schema | undefined): string[] {
  const r = resolve(doc, s);
  if (!r) return [];
  if (Array.isArray(r.type)) return r.type;
  if (r.type) return [r.type];
  const alts = (r.anyOf ?? r.oneOf ?? []) as Schema[];
  return alts.flatMap((a) => types(doc, a));
}

const isEnvelope = (doc: Doc, s: Schema) =>
  Object.keys(s.properties ?? {}).sort().join() === 'data,nextCursor' &&
  types(doc, s.properties.data).includes('array') &&
  types(doc, s.properties.nextCursor).sort().join() === 'null,string' &&
  [...(s.required ?? [])].sort().join() === 'data,nextCursor';

/**
 * A list answer: a bare array, an answer of an operation that pages (`cursor`/`limit`), or an
 * object that only wraps arrays (and perhaps a cursor), such as `{ resources: [...] }`.
 */
function looksLikeList(doc: Doc, op: any, s: Schema): boolean {
  if (types(doc, s).includes('array')) return true;
  const params = ((op.parameters ?? []) as { name: string; in: string }[]).filter((p) => p.in === 'query').map((p) => p.name);
  if (params.includes('cursor') || params.includes('limit')) return true;
  const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
  const arrays = props.filter(([, p]) => types(doc, p).includes('array'));
  return arrays.length > 0 && props.every(([k, p]) => types(doc, p).includes('array') || /cursor/i.test(k));
}

/** Flags about the command line itself, with no API field to match. */
const CLI_ONLY_FLAGS = new Set(['json', 'csv', 'secret-file', 'clear', 'unscoped', 'no-attach']);
const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/** Every named (`.openapi('Name')`) zod schema reachable from `root`, by name; wrappers count as what they wrap. */
function namedSchemas(root: unknown, out = new Map<string, Set<object>>(), seen = new Set<unknown>()): Map<string, Set<object>> {
  if (!root || typeof root !== 'object' || seen.has(root)) return out;
  seen.add(root);
  if (Array.isArray(root)) {
    for (const v of root) namedSchemas(v, out, seen);
    return out;
  }
  const zod = (root as { _zod?: { def: { type: string } } })._zod;
  // Checks carry `_zod` too; only schemas (which have .meta) can be named.
  if (zod && typeof (root as { meta?: unknown }).meta === 'function') {
    const name = getRefId(root as never);
    if (name && !WRAPPERS.has(zod.def.type)) (out.get(name) ?? out.set(name, new Set()).get(name)!).add(root);
    namedSchemas(zod.def, out, seen);
    return out;
  }
  if (zod) return out;
  if (Object.getPrototypeOf(root) !== Object.prototype) return out;
  for (const v of Object.values(root)) namedSchemas(v, out, seen);
  return out;
}

/** Two instances that render to the same JSON Schema are one schema (e.g. a refined copy); different ones are a clash. */
function shapeOf(s: object): string {
  try {
    return JSON.stringify(z.toJSONSchema(s as z.ZodType, { unrepresentable: 'any', io: 'input' }));
  } catch (err) {
    return `unrenderable: ${(err as Error).message}`;
  }
}

describe('the admin and self-service APIs follow one convention', () => {
  let h: Harness;
  let docs: Record<'admin' | 'selfService', Doc>;
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const read = async (path: string) => {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status, path).toBe(200);
      return (await res.json()) as Doc;
    };
    docs = { admin: await read('/admin/v1/openapi.json'), selfService: await read('/gateway/v1/openapi.json') };
  });
  afterAll(async () => h.close());

  it('documents every routed /admin/v1 and /gateway/v1 operation', () => {
    const routed = h.gateway.app.routes
      .filter((r) => /^\/(admin|gateway)\/v1\//.test(r.path) && r.method !== 'ALL' && !r.path.endsWith('/openapi.json'))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    const documented = Object.values(docs).flatMap((d) => operations(d).map((o) => `${o.method} ${o.path}`));
    expect(new Set(documented)).toEqual(new Set(routed));
    expect(routed).toEqual(expect.arrayContaining(['get /gateway/v1/quota', 'get /gateway/v1/usage', 'get /admin/v1/resources', 'get /admin/v1/upstream-key-pool']));
  });

  it('names every property and parameter in camelCase, and sends every time (…At, …Until) as an ISO 8601 string', () => {
    const bad: string[] = [];
    for (const [name, doc] of Object.entries(docs)) {
      for (const [prop, where] of propertyNames(doc, name)) if (!CAMEL.test(prop)) bad.push(`${prop} (${where})`);
      for (const [prop, s] of timeProperties(doc)) {
        if (types(doc, s).filter((t) => t !== 'null').join() !== 'string') bad.push(`${prop} is ${JSON.stringify(types(doc, s))}, not an ISO 8601 string`);
      }
      for (const { path, method, op } of operations(doc)) {
        for (const p of (op.parameters ?? []) as { name: string }[]) if (!CAMEL.test(p.name)) bad.push(`parameter ${p.name} of ${method} ${path}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('gives every answer a JSON schema and every operation one declared tag', () => {
    const problems: string[] = [];
    for (const doc of Object.values(docs)) {
      const declared = new Set((doc.tags ?? []).map((t) => t.name));
      const used = new Set<string>();
      for (const { path, method, op } of operations(doc)) {
        const ok = Object.entries(op.responses ?? {}).find(([code]) => /^2/.test(code))?.[1] as any;
        if (!ok?.content?.['application/json']?.schema) problems.push(`${method} ${path}: no JSON schema for its answer`);
        if (op.tags?.length !== 1 || !declared.has(op.tags[0])) problems.push(`${method} ${path}: tags ${JSON.stringify(op.tags)} are not one declared tag`);
        for (const t of op.tags ?? []) used.add(t);
      }
      for (const t of declared) if (!used.has(t)) problems.push(`tag ${t} is declared but unused`);
    }
    expect(problems).toEqual([]);
  });

  it('answers every list with { data, nextCursor }', () => {
    const bare: string[] = [];
    let lists = 0;
    for (const doc of Object.values(docs)) {
      for (const { path, method, op } of operations(doc)) {
        if (method !== 'get') continue;
        const s = resolve(doc, op.responses?.['200']?.content?.['application/json']?.schema);
        if (!s || !looksLikeList(doc, op, s)) continue;
        lists++;
        if (!isEnvelope(doc, s)) bare.push(`${method} ${path}: ${JSON.stringify(Object.keys(s.properties ?? {}))}`);
      }
    }
    expect(bare).toEqual([]);
    expect(lists).toBeGreaterThanOrEqual(8);
  });

  it('names every CLI flag after an API field or parameter (kebab case; a repeated flag after its plural field)', () => {
    const names = new Set<string>();
    for (const doc of Object.values(docs)) {
      for (const [prop] of propertyNames(doc, '')) names.add(kebab(prop));
      for (const { op } of operations(doc)) for (const p of (op.parameters ?? []) as { name: string }[]) names.add(kebab(p.name));
    }
    const commands = [tenantCommands, projectCommands, keyCommands, upstreamKeyCommands, limitCommands, auditCommands, resourceCommands, usageCommands].flat();
    const flags = new Set(commands.flatMap((c) => [...c.usage.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!)));
    expect(flags.size).toBeGreaterThan(25);
    const unmatched = [...flags].filter((f) => !CLI_ONLY_FLAGS.has(f) && !names.has(f) && !names.has(`${f}s`));
    expect(unmatched).toEqual([]);
  });

  it('never gives two different schemas the same name', () => {
    const named = new Map<string, Set<object>>();
    for (const app of [createAdminApp(h.gateway.deps), createSelfServiceApp(h.gateway.deps)]) {
      for (const [name, set] of namedSchemas(app.openAPIRegistry.definitions)) for (const s of set) (named.get(name) ?? named.set(name, new Set()).get(name)!).add(s);
    }
    expect(named.size).toBeGreaterThan(10);
    const clashes = [...named].filter(([, set]) => new Set([...set].map(shapeOf)).size > 1).map(([name]) => name);
    expect(clashes).toEqual([]);
  });
});
