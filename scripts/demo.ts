/**
 * `npm run demo`: the whole gateway working with no Google key. Starts a simulated Gemini upstream
 * that replays recorded responses, a gateway on a temporary database, creates a demo key, calls it
 * through the real @google/genai SDK, prints what came back and the usage rows, and stops.
 */
import { GoogleGenAI } from '@google/genai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFor } from '../src/accounts/issue-key.js';
import { systemClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import { openDb } from '../src/db/client.js';
import { createGateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { table } from '../src/cli/output.js';
import { startFakeUpstream } from '../test/support/fake-upstream.js';

const UPSTREAM_KEY = 'demo-upstream-key-not-a-real-google-key';
const say = (s = '') => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ggw-demo-'));
  const fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY, frameDelayMs: 15 });
  const config = parseConfig({ PORT: '0', DATABASE_PATH: join(dir, 'gateway.db'), UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, LOG_LEVEL: 'warn' });
  const db = openDb(config.DATABASE_PATH, { busyTimeoutMs: 0 });
  const gateway = await createGateway({ config, log: createLogger(config.LOG_LEVEL), db });
  const { port } = await gateway.listen();
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    const key = await createKeyFor(db, systemClock, { tenant: 'demo-team', project: 'demo-app', name: 'demo' });
    say(`simulated Gemini upstream: ${fake.url}`);
    say(`gateway:                   ${baseUrl}`);
    say(`demo key:                  ${key.prefix}… (tenant ${key.tenant}, project ${key.project})\n`);
    const ai = new GoogleGenAI({ apiKey: key.key, httpOptions: { baseUrl } });

    say('1) models.generateContent');
    const unary = await ai.models.generateContent({ model: 'google-text', contents: 'How many rs are in strawberry?' });
    say(`   ${JSON.stringify(unary.text)}\n`);

    say('2) models.generateContentStream');
    let n = 0;
    for await (const chunk of await ai.models.generateContentStream({ model: 'google-reasoning', contents: 'Think, then answer.' })) {
      n++;
      if (chunk.text) say(`   chunk ${n}: ${JSON.stringify(chunk.text.slice(0, 70))}`);
    }
    say();

    say('3) interactions.create (stream: true)');
    for await (const ev of await ai.interactions.create({ model: 'basic', input: 'Hello, how are you?', stream: true })) {
      const delta = (ev as { delta?: { text?: string } }).delta?.text;
      say(`   ${ev.event_type}${delta ? `: ${JSON.stringify(delta.slice(0, 60))}` : ''}`);
    }
    say();

    await gateway.deps.recorder.flush();
    // The key reads its own usage back through the self-service API, in the API's own field names.
    const res = await fetch(`${baseUrl}/gateway/v1/usage/events`, { headers: { 'x-goog-api-key': key.key } });
    const page = (await res.json()) as { data: Record<string, unknown>[]; nextCursor: string | null };
    const cols = ['endpoint', 'model', 'stream', 'status', 'outcome', 'promptTokens', 'cachedTokens', 'outputTokens', 'thoughtsTokens', 'totalTokens', 'latencyMs'];
    const rows = [...page.data].reverse();
    say('GET /gateway/v1/usage/events (oldest first):');
    say(table(cols, rows.map((r) => cols.map((c) => String(r[c] ?? 'null')))).replace(/^/gm, '   '));
    if (rows.length !== 3 || rows.some((r) => r.outcome !== 'ok' || r.totalTokens === null)) throw new Error('expected three metered rows');
    say('\ndemo finished: every call went through the gateway and was metered.');
  } finally {
    await gateway.shutdown(2000);
    await fake.close();
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exit(1);
});
