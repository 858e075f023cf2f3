/**
 * A Postgres connection string may carry a password; nothing the gateway prints (log lines, error
 * messages, the startup line) may. These helpers give the printable form and scrub error text.
 */

import { urlPassword } from '../redact.js';

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

/** Error text with the password (raw and decoded) and the full URL replaced, so a driver message cannot leak it. */
export function scrubDbText(text: string, url: string): string {
  let out = text.split(url).join(printableUrl(url));
  const password = urlPassword(url);
  const raw = (() => {
    try {
      return new URL(url).password;
    } catch {
      return '';
    }
  })();
  for (const secret of [password, raw]) if (secret) out = out.split(secret).join('***');
  return out;
}
