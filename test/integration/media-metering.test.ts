import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIDEO_SECONDS } from '../../src/metering/video-usage.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_TOKEN, seedKey, type SeedKey } from '../support/usage-seed.js';

/*
 * Imagen and Veo through the gateway with the real SDK: images counted from the predictions,
 * seconds from the request's durationSeconds times the samples of the finished operation, both
 * priced per unit from the price table. An operation is only visible to the project that started it.
 */
let h: Harness;
let mine: SeedKey;
let other: SeedKey;

beforeAll(async () => {
  h = await startHarness({ env: { ADMIN_TOKEN } });
  mine = await seedKey(h, 'acme', 'studio');
  other = await seedKey(h, 'globex', 'app');
});
afterAll(async () => h.close());

const rowsFor = async (endpoint: string) => (await h.rows()).filter((r) => r.endpoint === endpoint) as unknown as Record<string, any>[];

describe('media generation metering', () => {
  it('meters Imagen :predict as images, priced per image', async () => {
    // @google/genai 2.32 refuses generateImages on the Gemini API ("only supported by … Vertex AI"), so this is the REST call Google documents.
    await expect(h.sdk(mine.key).models.generateImages({ model: 'imagen-4.0-generate-001', prompt: 'x' })).rejects.toThrow(/Vertex AI/);
    const res = await fetch(`${h.url}/v1beta/models/imagen-4.0-generate-001:predict`, {
      method: 'POST',
      headers: { 'x-goog-api-key': mine.key, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ prompt: 'a red bicycle' }], parameters: { sampleCount: 3 } }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).predictions).toHaveLength(3);
    await h.waitForRows(1);
    const [row] = await rowsFor('predict');
    const price = h.gateway.deps.prices.priceOf('imagen-4.0-generate-001', row!.created_at)!;
    expect(row).toMatchObject({ model: 'imagen-4.0-generate-001', images: 3, video_seconds: 0, project_id: mine.projectId, outcome: 'ok' });
    expect(row!.cost_nano_usd).toBe(Math.round(3 * price.per_image! * 1e9));
  });

  it('meters a Veo operation once, when it is seen done, as requested seconds × videos, priced per second', async () => {
    const ai = h.sdk(mine.key);
    let op = await ai.models.generateVideos({ model: 'veo-3.0-generate-001', prompt: 'waves', config: { durationSeconds: 6, numberOfVideos: 2 } });
    expect(op.name).toMatch(/^models\/veo-3\.0-generate-001\/operations\//);
    while (!op.done) op = await ai.operations.getVideosOperation({ operation: op });
    expect(op.response?.generatedVideos).toHaveLength(2);
    // Polling again after it is done meters nothing more.
    await ai.operations.getVideosOperation({ operation: op });
    const done = await rowsFor('videos.completed');
    expect(done).toHaveLength(1);
    const price = h.gateway.deps.prices.priceOf('veo-3.0-generate-001', done[0]!.created_at)!;
    expect(done[0]).toMatchObject({ model: 'veo-3.0-generate-001', video_seconds: 12, images: 0, project_id: mine.projectId, outcome: 'ok' });
    expect(done[0]!.cost_nano_usd).toBe(Math.round(12 * price.per_video_second! * 1e9));
    expect((await rowsFor('predictLongRunning'))[0]).toMatchObject({ video_seconds: null, cost_nano_usd: 0 });
  });

  it("meters a Veo operation whose requested length was never stored (started before migration 0007) at Veo's default clip length per video", async () => {
    const ai = h.sdk(mine.key);
    const started = await ai.models.generateVideos({ model: 'veo-3.0-generate-001', prompt: 'dunes', config: { durationSeconds: 4, numberOfVideos: 2 } });
    // The ownership record is written with the request's usage row, off the request path.
    await expect.poll(() => h.query('UPDATE resources SET units = NULL WHERE name = ? RETURNING name', [started.name])).toHaveLength(1);
    // A new process, as after the upgrade: nothing of the operation is cached.
    await h.restart();
    let op = await h.sdk(mine.key).operations.getVideosOperation({ operation: started });
    while (!op.done) op = await h.sdk(mine.key).operations.getVideosOperation({ operation: op });
    expect(op.response?.generatedVideos).toHaveLength(2);
    const row = (await rowsFor('videos.completed')).at(-1)!;
    expect(row).toMatchObject({ model: 'veo-3.0-generate-001', video_seconds: 2 * DEFAULT_VIDEO_SECONDS, project_id: mine.projectId, outcome: 'ok' });
    const price = h.gateway.deps.prices.priceOf('veo-3.0-generate-001', row.created_at)!;
    expect(row.cost_nano_usd).toBe(Math.round(2 * DEFAULT_VIDEO_SECONDS * price.per_video_second! * 1e9));
  });

  it('answers 404 to another project asking for the operation, and meters nothing for it', async () => {
    const op = await h.sdk(mine.key).models.generateVideos({ model: 'veo-3.0-generate-001', prompt: 'rain', config: { durationSeconds: 4 } });
    const before = (await rowsFor('videos.completed')).length;
    const res = await fetch(`${h.url}/v1beta/${op.name}`, { headers: { 'x-goog-api-key': other.key } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    await expect(h.sdk(other.key).operations.getVideosOperation({ operation: op })).rejects.toMatchObject({ status: 404 });
    expect(await rowsFor('videos.completed')).toHaveLength(before);
    // The owner still can.
    let mineOp = await h.sdk(mine.key).operations.getVideosOperation({ operation: op });
    while (!mineOp.done) mineOp = await h.sdk(mine.key).operations.getVideosOperation({ operation: mineOp });
    expect((await rowsFor('videos.completed')).at(-1)).toMatchObject({ video_seconds: 4, project_id: mine.projectId });
  });

  it('lets the project that generated a video download it through the gateway, and no other project', async () => {
    const ai = h.sdk(mine.key);
    let op = await ai.models.generateVideos({ model: 'veo-3.0-generate-001', prompt: 'a kite', config: { durationSeconds: 4 } });
    while (!op.done) op = await ai.operations.getVideosOperation({ operation: op });
    const video = op.response!.generatedVideos![0]!;
    const dir = mkdtempSync(join(tmpdir(), 'veo-download-'));
    try {
      await ai.files.download({ file: video, downloadPath: join(dir, 'kite.mp4') });
      expect(readFileSync(join(dir, 'kite.mp4'), 'utf8')).toMatch(/^fake mp4 /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const file = /\/files\/([a-z0-9]+)/.exec(video.video!.uri!)![1]!;
    const foreign = await fetch(`${h.url}/v1beta/files/${file}:download?alt=media`, { headers: { 'x-goog-api-key': other.key } });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it.each(['models/veo-3.0-generate-001/operations', 'operations'])('lists only the caller\'s operations under GET /v1beta/%s', async (list) => {
    // Every project's operations live under the one upstream key, so upstream's list holds them all.
    const theirs = await h.sdk(other.key).models.generateVideos({ model: 'veo-3.0-generate-001', prompt: 'fog', config: { durationSeconds: 4 } });
    const ours = await h.sdk(mine.key).models.generateVideos({ model: 'veo-3.0-generate-001', prompt: 'sun', config: { durationSeconds: 4 } });
    const names = async (key: string): Promise<string[]> => {
      const res = await fetch(`${h.url}/v1beta/${list}`, { headers: { 'x-goog-api-key': key } });
      expect(res.status).toBe(200);
      return ((await res.json()).operations ?? []).map((o: { name: string }) => o.name);
    };
    const mineListed = await names(mine.key);
    expect(mineListed).toContain(ours.name);
    expect(mineListed).not.toContain(theirs.name);
    const otherListed = await names(other.key);
    expect(otherListed).toContain(theirs.name);
    expect(otherListed).not.toContain(ours.name);
  });
});
