import { listAudit } from '../audit/audit-log.js';
import { flags, limitArg, output } from './args.js';
import type { Command } from './command.js';
import { table } from './output.js';

export const auditCommands: Command[] = [
  {
    name: 'audit list',
    usage: 'audit list [--actor <a>] [--action <a>] [--target-type <t>] [--target-id <id>] [--limit n] [--cursor c] [--json]',
    async run(ctx, args) {
      const { values } = flags(args, { actor: { type: 'string' }, action: { type: 'string' }, 'target-type': { type: 'string' }, 'target-id': { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } });
      const page = await listAudit(ctx.db, { actor: values.actor, action: values.action, targetType: values['target-type'], targetId: values['target-id'], cursor: values.cursor, limit: limitArg(values.limit) });
      output(values.json, page, (p) => table(['at', 'actor', 'action', 'target'], p.data.map((e) => [e.at, e.actor, e.action, `${e.target.type} ${e.target.id}`])));
    },
  },
];
