import type { AccountsDeps, Operator } from '../accounts/context.js';
import type { Page } from '../db/pagination.js';
import { cliOperator, flags, idArg, limitArg, output } from './args.js';
import type { Command } from './command.js';
import { details, table, UsageError } from './output.js';

type Verb = 'disable' | 'enable' | 'revoke';

interface ListFlags {
  cursor?: string;
  limit: number;
  status?: string;
  label?: string;
  tenant?: string;
  project?: string;
}

/** What the generic commands need to know about one group of account objects (tenants, projects, keys, upstream keys). */
interface LifecycleGroup<V> {
  group: 'tenants' | 'projects' | 'keys' | 'upstream-keys';
  noun: string;
  /** Table columns for `list`. */
  columns: Array<[string, (v: V) => string]>;
  /** Parent filters `list` accepts. */
  parents: Array<'tenant' | 'project'>;
  list(deps: AccountsDeps, q: ListFlags): Promise<Page<V>>;
  get(deps: AccountsDeps, id: string): Promise<V>;
  remove(op: Operator, id: string): Promise<V>;
  actions: Partial<Record<Verb, (op: Operator, id: string) => Promise<V>>>;
  /** Why a verb of the grid does not apply to this group (tenants cannot be rotated…). */
  notApplicable?: Partial<Record<'revoke' | 'rotate', string>>;
}

const PAST: Record<Verb | 'delete', string> = { disable: 'disabled', enable: 'enabled', revoke: 'revoked', delete: 'deleted' };

/** list, get, delete and the status verbs, identical in shape for every group. */
export function lifecycleCommands<V extends { id: string; status: string }>(r: LifecycleGroup<V>): Command[] {
  const one = (verb: Verb | 'delete', fn: (op: Operator, id: string) => Promise<V>): Command => ({
    name: `${r.group} ${verb}`,
    usage: `${r.group} ${verb} <id> [--json]`,
    async run(ctx, args) {
      const { values, positionals } = flags(args, {});
      const v = await fn(cliOperator(ctx), idArg(positionals, this.usage));
      output(values.json, v, (x) => `${PAST[verb]} ${r.noun} ${x.id} (now ${x.status})`);
    },
  });
  const parentFlags = Object.fromEntries(r.parents.map((p) => [p, { type: 'string' as const }]));
  const commands: Command[] = [
    {
      name: `${r.group} list`,
      usage: `${r.group} list ${r.parents.map((p) => `[--${p} <id|slug>] `).join('')}[--status <s>] [--label k=v]... [--limit n] [--cursor c] [--json]`,
      async run(ctx, args) {
        const { values } = flags(args, {
          ...parentFlags, status: { type: 'string' }, label: { type: 'string', multiple: true }, limit: { type: 'string' }, cursor: { type: 'string' },
        });
        const v = values as { tenant?: string; project?: string; status?: string; label?: string[]; limit?: string; cursor?: string; json?: boolean };
        const limit = limitArg(v.limit);
        const page = await r.list(ctx, { limit, cursor: v.cursor, status: v.status, label: v.label?.join(','), tenant: v.tenant, project: v.project });
        output(v.json, page, (p) => {
          const body = table(r.columns.map(([h]) => h), p.data.map((x) => r.columns.map(([, f]) => f(x))));
          return p.nextCursor ? `${body}\n\nmore: --cursor ${p.nextCursor}` : body;
        });
      },
    },
    {
      name: `${r.group} get`,
      usage: `${r.group} get <id> [--json]`,
      async run(ctx, args) {
        const { values, positionals } = flags(args, {});
        output(values.json, await r.get(ctx, idArg(positionals, this.usage)), (x) => details(x as Record<string, unknown>));
      },
    },
    one('delete', r.remove),
    ...Object.entries(r.actions).map(([verb, fn]) => one(verb as Verb, fn as (op: Operator, id: string) => Promise<V>)),
  ];
  for (const [verb, why] of Object.entries(r.notApplicable ?? {})) {
    commands.push({ name: `${r.group} ${verb}`, usage: `${r.group} ${verb}  (not applicable: ${why})`, run: () => { throw new UsageError(why); } });
  }
  return commands;
}

/** `created tenant ten_… (acme)`-style one-liners for create/update. */
export const said = (what: string) => (v: { id: string; status: string }) => `${what} ${v.id} (${v.status})`;
