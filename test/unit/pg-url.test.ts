import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { printableUrl, scrubDbText } from '../../src/db/pg-url.js';
import { urlPasswords } from '../../src/redact.js';

describe('Postgres connection strings in printed text', () => {
  const url = 'postgres://gateway:p%40ss%2Fw0rd-long@db.internal:5432/gateway?sslmode=require';

  it('decodes the password as the driver sees it', () => {
    expect(urlPasswords(url)).toEqual(['p%40ss%2Fw0rd-long', 'p@ss/w0rd-long']);
    expect(urlPasswords('postgres://gateway@db/x')).toEqual([]);
    // pg and ioredis both read a password parameter too.
    expect(urlPasswords('redis://h:6379/?password=hunter3xyz')).toEqual(['hunter3xyz']);
  });

  it('prints the URL with the password masked and a password parameter dropped', () => {
    expect(printableUrl(url)).toBe('postgres://gateway:***@db.internal:5432/gateway?sslmode=require');
    expect(printableUrl('postgres://u@h/db?password=hunter2xyz')).not.toContain('hunter2xyz');
  });

  it('scrubs the whole URL, the raw and the decoded password from driver messages', () => {
    const text = `failed for ${url}; password p@ss/w0rd-long or p%40ss%2Fw0rd-long rejected`;
    const out = scrubDbText(text, url);
    expect(out).not.toContain('p@ss/w0rd-long');
    expect(out).not.toContain('p%40ss%2Fw0rd-long');
    expect(out).toContain('db.internal:5432');
  });

  it('config accepts postgres:// and postgresql:// only, and never echoes the value', () => {
    expect(parseConfig({ DATABASE_URL: 'postgresql://u:pw@h/db' }).DATABASE_URL).toBe('postgresql://u:pw@h/db');
    try {
      parseConfig({ DATABASE_URL: 'mysql://u:secretpw123@h/db' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('DATABASE_URL');
      expect((err as Error).message).not.toContain('secretpw123');
    }
  });
});
