import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The file a ledger worker runs. Built code (dist/) runs its compiled sibling. Running from source
 * (vitest, tsx) a worker thread cannot load TypeScript, and a tsx loader in every worker costs
 * seconds, so the writer and what it imports are bundled once with esbuild (a devDependency) into
 * node_modules/.cache, keyed by the sources' sizes and times, and reused by every later process.
 */
export async function writerEntry(): Promise<string> {
  if (import.meta.url.endsWith('.js')) return join(here, 'sqlite-writer.js');
  const src = resolve(here, '..');
  const root = resolve(src, '..');
  const key = createHash('sha256').update(fingerprint(src)).digest('hex').slice(0, 16);
  const out = join(root, 'node_modules', '.cache', 'gemini-gateway', `ledger-writer-${key}.cjs`);
  if (existsSync(out)) return out;
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(here, 'sqlite-writer.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, external: ['better-sqlite3'],
  });
  mkdirSync(dirname(out), { recursive: true });
  // Several test processes may build at once: each writes its own file and renames it into place.
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, result.outputFiles[0]!.text);
  renameSync(tmp, out);
  return out;
}

function fingerprint(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') || e.name.endsWith('.json')) {
        const s = statSync(p);
        parts.push(`${p}:${s.size}:${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return parts.sort().join('\n');
}
