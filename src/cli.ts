import { parseArgs } from 'node:util';
import { createKeyFor, listKeys, revokeKey } from './auth/key-store.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig } from './config.js';
import { openDb, type Db } from './db/client.js';
import { GatewayError } from './errors.js';

const USAGE = `usage: gemini-gateway <command>

  keys create --tenant <slug> --project <slug> [--name <label>] [--json]
  keys list [--json]
  keys revoke <id>
  migrate                      apply database migrations and exit

Uses DATABASE_PATH (default ./data/gateway.db), like the server.`;

type Handler = (db: Db, args: string[]) => void;

const commands: Record<string, Handler> = {
  'keys create': (db, args) => {
    const { values } = parseArgs({ args, options: { tenant: { type: 'string' }, project: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } } });
    if (!values.tenant || !values.project) throw new UsageError('keys create needs --tenant and --project');
    const created = createKeyFor(db, systemClock, { tenant: values.tenant, project: values.project, name: values.name });
    if (values.json) return print(JSON.stringify(created));
    print(`created key ${created.id} for ${created.tenant}/${created.project}\n\n  ${created.key}\n\nThis secret is shown once; store it now.`);
  },
  'keys list': (db, args) => {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
    const rows = listKeys(db);
    if (values.json) return print(JSON.stringify(rows));
    print(table(['id', 'prefix', 'tenant', 'project', 'name', 'status', 'last used'], rows.map((r) => [
      r.id, `${r.prefix}…`, r.tenant, r.project, r.name, r.revokedAt ? 'revoked' : 'active', r.lastUsedAt ? new Date(r.lastUsedAt).toISOString() : '-',
    ])));
  },
  'keys revoke': (db, args) => {
    const { positionals } = parseArgs({ args, allowPositionals: true });
    const id = positionals[0];
    if (!id) throw new UsageError('keys revoke needs a key id');
    revokeKey(db, systemClock, id);
    print(`revoked ${id}`);
  },
  migrate: () => print('database is migrated'),
};

class UsageError extends Error {}

function print(s: string): void {
  process.stdout.write(`${s}\n`);
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

function run(argv: string[]): number {
  const [a, b, ...rest] = argv;
  const two = `${a} ${b}`;
  const name = commands[two] ? two : a && commands[a] ? a : null;
  if (!name || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(`${USAGE}\n`);
    return name || argv.length === 0 || argv.includes('--help') ? (argv.length === 0 ? 1 : 0) : 1;
  }
  const args = name === two ? rest : [b, ...rest].filter((x): x is string => x !== undefined);
  let db: Db | null = null;
  try {
    db = openDb(loadConfig().DATABASE_PATH);
    commands[name]!(db, args);
    return 0;
  } catch (err) {
    const msg = err instanceof ConfigError || err instanceof GatewayError || err instanceof UsageError || err instanceof TypeError ? err.message : `unexpected error: ${(err as Error).message}`;
    process.stderr.write(`gemini-gateway: ${msg.split('\n')[0]}\n`);
    return 1;
  } finally {
    db?.$client.close();
  }
}

process.exitCode = run(process.argv.slice(2));
