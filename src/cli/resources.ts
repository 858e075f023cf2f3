import { assignResource, listResources, usageByUpstreamKey } from '../ownership/resource-admin.js';
import { wholeList } from '../db/pagination.js';
import { envKeyId, envKeySecrets } from '../upstream/key-pool.js';
import { cliOperator, flags, output } from './args.js';
import type { Command } from './command.js';
import { table, UsageError } from './output.js';

export const resourceCommands: Command[] = [
  {
    name: 'resources assign',
    usage: 'resources assign <files/…|cachedContents/…|batches/…|interactions/…> (--project-id <prj_id> | --tenant <slug> --project <slug>) [--upstream-key-id <id>] [--json]',
    async run(ctx, args) {
      const { values, positionals } = flags(args, { tenant: { type: 'string' }, project: { type: 'string' }, 'project-id': { type: 'string' }, 'upstream-key-id': { type: 'string' } });
      if (!positionals[0] || !(values['project-id'] || (values.tenant && values.project))) throw new UsageError('resources assign needs a resource name and --project-id, or --tenant and --project');
      const r = await assignResource(cliOperator(ctx), {
        name: positionals[0], projectId: values['project-id'], tenant: values.tenant, project: values.project, upstreamKeyId: values['upstream-key-id'] ?? null,
      });
      output(values.json, r, (v) => `assigned ${v.name} to project ${v.projectId}${v.upstreamKeyId ? ` on upstream key ${v.upstreamKeyId}` : ''}`);
    },
  },
  {
    name: 'resources list',
    usage: 'resources list [--tenant <id|slug>] [--project <id|slug>] [--kind files|cachedContents|batches|interactions] [--limit n] [--cursor c] [--json]',
    async run(ctx, args) {
      const { values } = flags(args, { tenant: { type: 'string' }, project: { type: 'string' }, kind: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } });
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError('--limit must be 1–200');
      const page = await listResources(ctx, { tenant: values.tenant, project: values.project, kind: values.kind, cursor: values.cursor, limit });
      output(values.json, page, (p) => {
        const body = table(['name', 'project', 'upstream key', 'source', 'created'], p.data.map((r) => [r.name, r.projectId, r.upstreamKeyId ?? '-', r.source, r.createdAt]));
        return p.nextCursor ? `${body}\n\nmore: --cursor ${p.nextCursor}` : body;
      });
    },
  },
  {
    name: 'upstream-keys pool',
    usage: 'upstream-keys pool [--json]   the env pool: upstream keys (ids only) and their recorded usage',
    async run({ db, config }, args) {
      const { values } = flags(args, {});
      const usage = await usageByUpstreamKey(db);
      const configured = envKeySecrets(config).map(envKeyId);
      const ids = [...new Set([...configured, ...usage.map((u) => u.upstreamKeyId)])];
      const rows = ids.map((id) => {
        const u = usage.find((x) => x.upstreamKeyId === id);
        return { id, configured: configured.includes(id), requests: u?.requests ?? 0, totalTokens: u?.totalTokens ?? 0, lastUsedAt: u?.lastUsedAt ?? null };
      });
      output(values.json, wholeList(rows), (p) =>
        table(['id', 'configured', 'requests', 'tokens', 'last used'], p.data.map((r) => [r.id, r.configured ? 'yes' : 'no', String(r.requests), String(r.totalTokens), r.lastUsedAt ?? '-'])),
      );
    },
  },
];
