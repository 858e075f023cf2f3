/** A mistake in how the command was called: one line on stderr, exit 1. */
export class UsageError extends Error {}

export function print(s: string): void {
  process.stdout.write(`${s}\n`);
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** One object as aligned `field  value` lines; nested values as compact JSON. */
export function details(obj: Record<string, unknown>): string {
  const rows = Object.entries(obj).map(([k, v]) => [k, v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  return table(['field', 'value'], rows).split('\n').slice(1).join('\n');
}

export const isoOrDash = (ms: number | null | undefined): string => (ms ? new Date(ms).toISOString() : '-');
