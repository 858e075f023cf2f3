import { parseArgs } from 'node:util';
import { assignResource, listResources, usageByUpstreamKey } from '../ownership/resource-admin.js';
import { envKeyId, envKeySecrets } from '../upstream/key-pool.js';
import type { Command } from './command.js';
import { isoOrDash, print, table, UsageError } from './output.js';

export const resourceCommands: Command[] = [
  {
    name: 'resources assign',
    usage: 'resources assign <files/…|cachedContents/…|batches/…|interactions/…> --tenant <slug> --project <slug> [--upstream-key <id>] [--json]',
    run({ db, clock }, args) {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { tenant: { type: 'string' }, project: { type: 'string' }, 'upstream-key': { type: 'string' }, json: { type: 'boolean' } },
      });
      if (!positionals[0] || !values.tenant || !values.project) throw new UsageError('resources assign needs a resource name, --tenant and --project');
      const r = assignResource(db, clock, { name: positionals[0], tenant: values.tenant, project: values.project, upstreamKeyId: values['upstream-key'] ?? null });
      if (values.json) return print(JSON.stringify(r));
      print(`assigned ${r.name} to ${values.tenant}/${values.project}${r.upstreamKeyId ? ` on upstream key ${r.upstreamKeyId}` : ''}`);
    },
  },
  {
    name: 'resources list',
    usage: 'resources list [--project-id <id>] [--kind files|cachedContents|batches|interactions] [--json]',
    run({ db }, args) {
      const { values } = parseArgs({ args, options: { 'project-id': { type: 'string' }, kind: { type: 'string' }, json: { type: 'boolean' } } });
      const rows = listResources(db, { projectId: values['project-id'], kind: values.kind });
      if (values.json) return print(JSON.stringify(rows));
      print(table(['name', 'project', 'upstream key', 'source', 'created'], rows.map((r) => [r.name, r.projectId, r.upstreamKeyId ?? '-', r.source, isoOrDash(r.createdAt)])));
    },
  },
  {
    name: 'upstream-keys pool',
    usage: 'upstream-keys pool [--json]   the env pool: upstream keys (ids only) and their recorded usage',
    run({ db, config }, args) {
      const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
      const usage = usageByUpstreamKey(db);
      const configured = envKeySecrets(config).map(envKeyId);
      const ids = [...new Set([...configured, ...usage.map((u) => u.upstreamKeyId)])];
      const rows = ids.map((id) => {
        const u = usage.find((x) => x.upstreamKeyId === id);
        return { id, configured: configured.includes(id), requests: u?.requests ?? 0, totalTokens: u?.totalTokens ?? 0, lastUsedAt: u?.lastUsedAt ?? null };
      });
      if (values.json) return print(JSON.stringify(rows));
      print(table(['id', 'configured', 'requests', 'tokens', 'last used'], rows.map((r) => [r.id, r.configured ? 'yes' : 'no', String(r.requests), String(r.totalTokens), isoOrDash(r.lastUsedAt)])));
    },
  },
];
