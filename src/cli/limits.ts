import type { Operator } from '../accounts/context.js';
import { transaction } from '../db/dialect.js';
import { createLogger } from '../logger.js';
import { LIMIT_NAMES, ruleScope, type LimitName, type LimitRule } from '../quota/policy.js';
import { readLimits, writeLimits, type StoredLimits } from '../quota/policy-store.js';
import { createQuotas } from '../quota/quotas.js';
import { cliOperator, flags, output, projectIdArg } from './args.js';
import type { CliContext, Command } from './command.js';
import { table, UsageError } from './output.js';

/** CLI flag → limit: the API's field name in kebab case (`--tokens-per-day` ↔ `tokensPerDay`); `none` removes the limit from the rule. */
const FLAGS = Object.fromEntries(LIMIT_NAMES.map((n) => [n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), n])) as Record<string, LimitName>;
const PROJECT = '(--project <prj_id> | --tenant <slug> --project <slug>)';
const PROJECT_FLAGS = { project: { type: 'string' }, tenant: { type: 'string' } } as const;
const SET_FLAGS = {
  ...PROJECT_FLAGS,
  'key-id': { type: 'string' },
  model: { type: 'string' },
  'hard-cap': { type: 'string' },
  clear: { type: 'boolean' },
  ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' }])),
} as const;

async function projectOf(ctx: CliContext, values: { project?: string; tenant?: string }, usage: string): Promise<string> {
  const id = await projectIdArg(ctx, values);
  if (!id) throw new UsageError(`usage: ${usage}`);
  return id;
}

function amount(flag: string, v: string): number | undefined {
  if (v === 'none') return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} takes a whole number or "none" (got "${v}")`);
  return Number(v);
}

export const limitCommands: Command[] = [
  {
    name: 'limits get',
    usage: `limits get ${PROJECT} [--json]   (usage as flushed to the database)`,
    async run(ctx, args) {
      const { values } = flags(args, PROJECT_FLAGS);
      const projectId = await projectOf(ctx, values, this.usage);
      const policy = await readLimits(ctx, projectId);
      const status = (await createQuotas({ db: ctx.db, clock: ctx.clock, log: createLogger('silent') })).status(projectId, null, ctx.clock.now());
      output(values.json, { ...policy, status }, (v) => {
        const rows = v.status.limits.map((l) => [
          l.policy, l.scope === 'project' ? 'project' : `${l.scope} ${l.keyId ?? l.model}`, l.limit, String(l.value), String(l.used), String(l.remaining), l.resetsAt ?? '-',
        ]);
        const head = `project ${projectId}  hard cap: ${v.hardCap ? 'on' : 'off'}  updated: ${v.updatedAt ?? 'never'}`;
        return `${head}\n${rows.length ? table(['policy', 'scope', 'limit', 'value', 'used', 'remaining', 'resets at'], rows) : 'no limits'}`;
      });
    },
  },
  {
    name: 'limits set',
    usage: `limits set ${PROJECT} [--key-id <key_id> | --model <model>] ${Object.keys(FLAGS).map((f) => `[--${f} N]`).join(' ')} [--hard-cap on|off] [--clear] [--json]   (N or none)`,
    async run(ctx, args) {
      const { values } = flags(args, SET_FLAGS);
      if (values['key-id'] && values.model) throw new UsageError('narrow a rule to --key-id or --model, not both');
      const projectId = await projectOf(ctx, values, this.usage);
      const op = cliOperator(ctx);
      // One transaction (IMMEDIATE on SQLite): two concurrent `limits set` runs must not both read the old policy and lose a rule.
      const saved = await transaction(ctx.db, (db) => update({ ...op, db }, projectId, values));
      output(values.json, saved, (v) => `limits of ${v.projectId} updated: ${v.limits.length} rule(s), hard cap ${v.hardCap ? 'on' : 'off'}`);
    },
  },
];

type SetValues = { 'key-id'?: string; model?: string; 'hard-cap'?: string; clear?: boolean } & Record<string, string | boolean | undefined>;

/** Merges the flags into the rule for one scope (project, --key-id or --model) and stores the policy. */
async function update(op: Operator, projectId: string, values: SetValues): Promise<StoredLimits> {
  const current = await readLimits(op, projectId);
  const scope = stripUndefined({ keyId: values['key-id'], model: values.model?.replace(/^models\//, '') });
  const others = current.limits.filter((r) => ruleScope(r) !== ruleScope(scope));
  const rule: LimitRule = { ...(current.limits.find((r) => ruleScope(r) === ruleScope(scope)) ?? {}), ...scope };
  for (const [flag, name] of Object.entries(FLAGS)) {
    const v = values[flag];
    if (typeof v === 'string') rule[name] = amount(flag, v);
  }
  const keep = !values.clear && LIMIT_NAMES.some((n) => rule[n] !== undefined);
  let hardCap = current.hardCap;
  if (values['hard-cap'] !== undefined) {
    if (values['hard-cap'] !== 'on' && values['hard-cap'] !== 'off') throw new UsageError('--hard-cap takes on or off');
    hardCap = values['hard-cap'] === 'on';
  }
  return writeLimits(op, projectId, { hardCap, limits: keep ? [...others, stripUndefined(rule)] : others });
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
