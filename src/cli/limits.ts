import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { LIMIT_NAMES, ruleScope, type LimitName, type LimitRule } from '../quota/policy.js';
import { readLimits, resolveProjectRef, writeLimits } from '../quota/policy-store.js';
import { createQuotas } from '../quota/quotas.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { Command } from './command.js';
import { print, table, UsageError } from './output.js';

/** CLI flag → limit; `none` removes a limit from the rule. */
const FLAGS: Record<string, LimitName> = {
  rpm: 'requests_per_minute',
  tpm: 'tokens_per_minute',
  tpd: 'tokens_per_day',
  tpmonth: 'tokens_per_month',
  concurrency: 'max_concurrent',
};

const SET_OPTIONS = {
  key: { type: 'string' },
  model: { type: 'string' },
  'hard-cap': { type: 'string' },
  clear: { type: 'boolean' },
  json: { type: 'boolean' },
  ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' }])),
} as const;

function amount(flag: string, v: string): number | undefined {
  if (v === 'none') return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} takes a whole number or "none" (got "${v}")`);
  return Number(v);
}

export const limitCommands: Command[] = [
  {
    name: 'limits get',
    usage: 'limits get <project-id|tenant/project> [--json]   show limits and persisted usage',
    run({ db, clock }, args) {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
      if (!positionals[0]) throw new UsageError('limits get needs a project (id or tenant/project)');
      const projectId = resolveProjectRef(db, positionals[0]);
      const stored = readLimits(db, projectId);
      // Usage as flushed to SQLite; a running gateway may hold a few more milliseconds of it in memory.
      const status = createQuotas({ db, clock, log: createLogger('silent') }).status(projectId, null, clock.now());
      if (values.json) return print(JSON.stringify({ ...stored, status }));
      const rows = status.limits.map((l) => [
        l.policy, l.scope === 'project' ? 'project' : `${l.scope} ${l.key_id ?? l.model}`, l.limit, String(l.value), String(l.used), String(l.remaining), l.resets_at ?? '-',
      ]);
      print(`project ${projectId}  hard cap: ${stored.hard_cap ? 'on' : 'off'}  updated: ${stored.updated_at ?? 'never'}`);
      print(rows.length ? table(['policy', 'scope', 'limit', 'value', 'used', 'remaining', 'resets at'], rows) : 'no limits');
    },
  },
  {
    name: 'limits set',
    usage: `limits set <project> [--key <key-id> | --model <model>] [--rpm N] [--tpm N] [--tpd N] [--tpmonth N] [--concurrency N] [--hard-cap on|off] [--clear] [--json]`,
    run({ db, clock }, args) {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: SET_OPTIONS });
      if (!positionals[0]) throw new UsageError('limits set needs a project (id or tenant/project)');
      if (values.key && values.model) throw new UsageError('narrow a rule to --key or --model, not both');
      // IMMEDIATE: two concurrent `limits set` runs must not both read the old policy and lose a rule.
      const stored = db.transaction(() => update(db, clock, positionals[0]!, values), { behavior: 'immediate' });
      if (values.json) return print(JSON.stringify(stored));
      print(`limits of ${stored.project_id} updated at ${stored.updated_at}: ${stored.limits.length} rule(s), hard cap ${stored.hard_cap ? 'on' : 'off'}`);
    },
  },
];

type SetValues = { key?: string; model?: string; 'hard-cap'?: string; clear?: boolean } & Record<string, string | boolean | undefined>;

/** Merges the flags into the rule for one scope (project, --key or --model) and stores the policy. */
function update(db: Db, clock: Clock, ref: string, values: SetValues) {
  const projectId = resolveProjectRef(db, ref);
  const current = readLimits(db, projectId);
  const scope = { key_id: values.key, model: values.model?.replace(/^models\//, '') };
  const others = current.limits.filter((r) => ruleScope(r) !== ruleScope(scope));
  const rule: LimitRule = { ...(current.limits.find((r) => ruleScope(r) === ruleScope(scope)) ?? {}), ...stripUndefined(scope) };
  for (const [flag, name] of Object.entries(FLAGS)) {
    const v = values[flag];
    if (typeof v === 'string') rule[name] = amount(flag, v);
  }
  const keep = !values.clear && LIMIT_NAMES.some((n) => rule[n] !== undefined);
  let hardCap = current.hard_cap;
  if (values['hard-cap'] !== undefined) {
    if (!['on', 'off'].includes(values['hard-cap'])) throw new UsageError('--hard-cap takes on or off');
    hardCap = values['hard-cap'] === 'on';
  }
  return writeLimits(db, clock, projectId, { hard_cap: hardCap, limits: keep ? [...others, stripUndefined(rule)] : others });
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
