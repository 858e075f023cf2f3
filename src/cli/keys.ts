import { parseArgs } from 'node:util';
import { createKeyFor, listKeys, revokeKey } from '../auth/key-store.js';
import type { Command } from './command.js';
import { iso, print, table, UsageError } from './output.js';

export const keyCommands: Command[] = [
  {
    name: 'keys create',
    usage: 'keys create --tenant <slug> --project <slug> [--name <label>] [--json]',
    run({ db, clock }, args) {
      const { values } = parseArgs({ args, options: { tenant: { type: 'string' }, project: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } } });
      if (!values.tenant || !values.project) throw new UsageError('keys create needs --tenant and --project');
      const created = createKeyFor(db, clock, { tenant: values.tenant, project: values.project, name: values.name });
      if (values.json) return print(JSON.stringify(created));
      print(`created key ${created.id} for ${created.tenant}/${created.project}\n\n  ${created.key}\n\nThis secret is shown once; store it now.`);
    },
  },
  {
    name: 'keys list',
    usage: 'keys list [--json]',
    run({ db }, args) {
      const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
      const rows = listKeys(db);
      if (values.json) return print(JSON.stringify(rows));
      print(table(['id', 'prefix', 'tenant', 'project', 'name', 'status', 'last used'], rows.map((r) => [
        r.id, `${r.prefix}…`, r.tenant, r.project, r.name, r.revokedAt ? 'revoked' : 'active', iso(r.lastUsedAt),
      ])));
    },
  },
  {
    name: 'keys revoke',
    usage: 'keys revoke <id>',
    run({ db, clock }, args) {
      const { positionals } = parseArgs({ args, allowPositionals: true });
      if (!positionals[0]) throw new UsageError('keys revoke needs a key id');
      revokeKey(db, clock, positionals[0]);
      print(`revoked ${positionals[0]}`);
    },
  },
];
