import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import type { Operator } from '../accounts/context.js';
import { tenantRow } from '../accounts/tenants.js';
import { projectBySlug } from '../accounts/projects.js';
import { createSecretBox } from '../crypto/secret-box.js';
import { userInfo } from 'node:os';
import type { CliContext } from './command.js';
import { print, UsageError } from './output.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict flag parsing (unknown flags are errors) with --json always available. */
export function flags<O extends Options>(args: string[], options: O) {
  return parseArgs({ args, options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
}

/** The one positional id a command needs, or a usage error naming the command. */
export function idArg(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError(`usage: ${usage}`);
  return positionals[0]!;
}

/** Validates with the admin API's own schema, reporting the first problem on one line. */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new UsageError(`${i.path.join('.') || 'input'}: ${i.message}`);
}

/** `--label team=ml --label env=prod` → { team: 'ml', env: 'prod' }; undefined when no --label. */
export function labelsArg(list: string[] | undefined): Record<string, string> | undefined {
  if (!list) return undefined;
  return Object.fromEntries(
    list.map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 1) throw new UsageError(`--label wants key=value (got "${kv}")`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `--limit` of a list command: a page of 1 to 200 (the admin API's bounds); 50 when not given. */
export function limitArg(s: string | undefined): number {
  const limit = s === undefined ? 50 : Number(s);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError('--limit must be 1–200');
  return limit;
}

/** `0`, `90s`, `30m`, `24h`, `7d` → seconds. */
export function durationArg(s: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(s);
  if (!m) throw new UsageError(`not a duration: "${s}" (use e.g. 0, 90s, 30m, 24h, 7d)`);
  return Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
}

/** `--expires-at 30d` (from now), an ISO date-time, or `never` → what the schemas take. */
export function expiresArg(s: string | undefined, now: number): string | null | undefined {
  if (s === undefined) return undefined;
  if (s === 'never') return null;
  if (/^\d+[smhd]$/.test(s)) return new Date(now + durationArg(s) * 1000).toISOString();
  return s;
}

/** The CLI as an audit actor: `cli:<os user>`, so the log says who ran it. */
export function cliOperator(ctx: CliContext): Operator {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep 'unknown'
  }
  const box = ctx.config.GATEWAY_SECRET ? createSecretBox(ctx.config.GATEWAY_SECRET) : null;
  return { db: ctx.db, clock: ctx.clock, box, actor: `cli:${user}` };
}

/** `--project prj_…`, or `--tenant <slug|id> --project <slug>`. */
export async function projectIdArg(ctx: CliContext, values: { tenant?: string; project?: string }): Promise<string | undefined> {
  if (!values.project) return undefined;
  if (!values.tenant) return values.project;
  const p = await projectBySlug(ctx, (await tenantRow(ctx, values.tenant)).id, values.project);
  if (!p) throw new UsageError(`no project "${values.project}" in tenant "${values.tenant}"`);
  return p.id;
}

/** --json prints the object as is; otherwise the human rendering. */
export function output<T>(json: boolean | undefined, value: T, human: (v: T) => string): void {
  print(json ? JSON.stringify(value) : human(value));
}
