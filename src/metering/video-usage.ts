import { isObject } from '../values.js';
import type { Usage } from './usage.js';

/** Veo's default clip length when the request names none (Veo 3: 8 s). */
export const DEFAULT_VIDEO_SECONDS = 8;
/** What the column holding a request's clip length can store. */
const MAX_VIDEO_SECONDS = 2 ** 31 - 1;

/** Pure: seconds per video a `:predictLongRunning` request asks for (`parameters.durationSeconds`, number or numeric string). */
export function requestedVideoSeconds(body: unknown): number {
  const params = isObject(body) && isObject(body.parameters) ? body.parameters : {};
  const v = typeof params.durationSeconds === 'string' ? Number(params.durationSeconds) : params.durationSeconds;
  // Stored as resources.units (int4 on Postgres), written with the request's usage row: a larger number
  // would fail that row's whole ledger batch at every retry, and the rows behind it.
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(Math.round(v), MAX_VIDEO_SECONDS) : DEFAULT_VIDEO_SECONDS;
}

export interface FinishedVideo {
  ok: boolean;
  videos: number;
  /** Where each finished video is (`https://…/v1beta/files/{id}:download?alt=media`), as upstream wrote it. */
  uris: string[];
  usage: Usage;
}

/**
 * Pure: a Veo operation (`GET models/{m}/operations/{id}`) that is done, with the seconds it
 * generated: the requested length times the samples the finished operation holds, so a video
 * Google filtered out is not billed. Not done → null.
 */
export function finishedVideo(op: unknown, secondsPerVideo: number): FinishedVideo | null {
  if (!isObject(op) || op.done !== true) return null;
  const response = isObject(op.response) ? op.response : {};
  const inner = isObject(response.generateVideoResponse) ? response.generateVideoResponse : response;
  const samples = Array.isArray(inner.generatedSamples) ? inner.generatedSamples : Array.isArray(inner.generatedVideos) ? inner.generatedVideos : [];
  const made = samples.flatMap((s) => (isObject(s) && isObject(s.video) ? [s.video] : []));
  const videos = made.length;
  const videoSeconds = videos * secondsPerVideo;
  return {
    ok: !isObject(op.error),
    videos,
    uris: made.flatMap((v) => (typeof v.uri === 'string' ? [v.uri] : [])),
    usage: { promptTokens: 0, cachedTokens: 0, outputTokens: 0, thoughtsTokens: 0, toolUsePromptTokens: 0, totalTokens: 0, videoSeconds, json: JSON.stringify({ videos, videoSeconds }) },
  };
}
