import { KeyCreate, KeyUpdate, type IssuedKey, type KeyView } from '../accounts/key-schemas.js';
import { createKey, deleteKey, getKey, listKeys, revokeKey, rotateKey, setKeyDisabled, updateKey } from '../accounts/keys.js';
import { projectRow } from '../accounts/projects.js';
import { tenantRow } from '../accounts/tenants.js';
import { ensureProject } from '../accounts/issue-key.js';
import type { Operator } from '../accounts/context.js';
import { transaction } from '../db/dialect.js';
import { cliOperator, durationArg, expiresArg, flags, idArg, labelsArg, output, validate } from './args.js';
import type { Command } from './command.js';
import { UsageError } from './output.js';
import { lifecycleCommands, said } from './lifecycle.js';

const scopeFlags = { model: { type: 'string', multiple: true }, endpoint: { type: 'string', multiple: true }, cidr: { type: 'string', multiple: true } } as const;

/** Scopes from --model/--endpoint/--cidr; undefined when none is given (keep / unrestricted). */
function scopesArg(v: { model?: string[]; endpoint?: string[]; cidr?: string[] }) {
  if (!v.model && !v.endpoint && !v.cidr) return undefined;
  return { models: v.model, endpoints: v.endpoint, cidrs: v.cidr };
}

/** The core's JSON shape ({id, key, prefix, tenant, project}) plus the key's full details. */
async function issuedJson(op: Operator, issued: IssuedKey) {
  const project = await projectRow(op, issued.key.projectId);
  return { ...issued.key, key: issued.secret, tenant: (await tenantRow(op, project.tenantId)).slug, project: project.slug };
}

const showSecret = (what: string) => (v: KeyView & { key: string }) =>
  `${what} ${v.id}${v.expiresAt ? ` (expires ${v.expiresAt})` : ''}\n\n  ${v.key}\n\nThis secret is shown once; store it now.`;

export const keyCommands: Command[] = [
  {
    name: 'keys create',
    usage: 'keys create (--project <prj_id> | --tenant <slug> --project <slug>) [--name <n>] [--label k=v]... [--model <glob>]... [--endpoint <family>]... [--cidr <net>]... [--expires-at 30d|<ISO>] [--json]',
    async run(ctx, args) {
      const { values } = flags(args, {
        tenant: { type: 'string' }, project: { type: 'string' }, name: { type: 'string' }, label: { type: 'string', multiple: true }, 'expires-at': { type: 'string' }, ...scopeFlags,
      });
      if (!values.project) throw new UsageError('keys create needs --project (an id, or a slug with --tenant)');
      const op = cliOperator(ctx);
      const draft = { name: values.name, labels: labelsArg(values.label), scopes: scopesArg(values), expiresAt: expiresArg(values['expires-at'], ctx.clock.now()) };
      validate(KeyCreate, { projectId: 'prj_x', ...draft });
      const issued = await transaction(ctx.db, async (db) => {
        const txOp = { ...op, db };
        // With --tenant, the tenant and project are found or created by slug (the one-step form).
        const projectId = values.tenant ? (await ensureProject(txOp, values.tenant, values.project!)).id : values.project!;
        return createKey(txOp, validate(KeyCreate, { projectId, ...draft }));
      });
      output(values.json, await issuedJson(op, issued), showSecret('created key'));
    },
  },
  {
    name: 'keys update',
    usage: 'keys update <id> [--name <n>] [--label k=v]... [--model <glob>]... [--endpoint <family>]... [--cidr <net>]... [--unscoped] [--expires-at 30d|<ISO>|never] [--json]',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { name: { type: 'string' }, label: { type: 'string', multiple: true }, 'expires-at': { type: 'string' }, unscoped: { type: 'boolean' }, ...scopeFlags });
      const scopes = values.unscoped ? {} : scopesArg(values);
      const patch = validate(KeyUpdate, { name: values.name, labels: labelsArg(values.label), scopes, expiresAt: expiresArg(values['expires-at'], ctx.clock.now()) });
      output(values.json, await updateKey(cliOperator(ctx), idArg(positionals, this.usage), patch), said('updated key'));
    },
  },
  {
    name: 'keys rotate',
    usage: 'keys rotate <id> [--overlap-seconds 86400|24h|30m|0] [--json]   (the old secret works for the overlap, default 24h)',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { 'overlap-seconds': { type: 'string' } });
      const id = idArg(positionals, this.usage);
      const op = cliOperator(ctx);
      const issued = await rotateKey(op, id, values['overlap-seconds'] === undefined ? undefined : durationArg(values['overlap-seconds']));
      const old = await getKey(op, id);
      output(values.json, { ...(await issuedJson(op, issued)), replaces: id }, (v) => `${showSecret('rotated to key')(v)}\nThe old key ${id} works until ${old.expiresAt}.`);
    },
  },
  ...lifecycleCommands({
    group: 'keys',
    noun: 'key',
    parents: ['tenant', 'project'],
    columns: [
      ['id', (k) => k.id], ['prefix', (k) => `${k.prefix}…`], ['project', (k) => k.projectId], ['name', (k) => k.name], ['status', (k) => k.status],
      ['expires', (k) => k.expiresAt ?? '-'], ['last used', (k) => k.lastUsedAt ?? '-'], ['scopes', (k) => JSON.stringify(k.scopes)],
    ],
    list: listKeys,
    get: getKey,
    remove: deleteKey,
    actions: { disable: (op, id) => setKeyDisabled(op, id, true), enable: (op, id) => setKeyDisabled(op, id, false), revoke: revokeKey },
  }),
];
