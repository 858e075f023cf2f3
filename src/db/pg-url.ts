/**
 * A Postgres connection string may carry a password; nothing the gateway prints (log lines, error
 * messages, the startup line) may. These helpers give the printable form and scrub error text.
 */

import { urlPasswords } from '../redact.js';

/** The URL with its password replaced by `***` and any `password=` query parameter dropped, for logs. */
export function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    u.searchParams.delete('password');
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** Error text with every password (raw, decoded, `?password=`) and the full URL replaced, so a driver message cannot leak it. */
export function scrubDbText(text: string, url: string): string {
  let out = text.split(url).join(printableUrl(url));
  for (const secret of urlPasswords(url)) out = out.split(secret).join('***');
  return out;
}
