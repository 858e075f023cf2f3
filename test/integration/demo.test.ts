import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run demo', () => {
  it('runs the gateway against the simulated upstream to completion and exits 0', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'demo'], { timeout: 60_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
    expect(stdout).toContain('demo finished');
    expect(stdout).toMatch(/streamGenerateContent\s+google-reasoning\s+true\s+200\s+ok/);
    expect(stdout).not.toMatch(/ggw_[A-Za-z0-9_-]{43}/);
  }, 90_000);
});
