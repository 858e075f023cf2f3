/**
 * How long the gateway remembers which project started a resumable upload that never finished.
 * A finished upload forgets its session at once (ownership/stage.ts); an abandoned one would stay in
 * `resources` for good. A week is longer than any session upstream keeps open (a Gemini file itself
 * lives 48 hours), so nothing can continue one after it.
 */
export const UPLOAD_SESSION_MAX_AGE_MS = 7 * 24 * 3_600_000;

/**
 * When a writer clears abandoned upload sessions: at most once an hour of batch time, everything
 * claimed before the cutoff it returns (null: not due). Shared by both dialects' writers.
 */
export function createUploadSessionPrune(): (now: number) => number | null {
  let last = -Infinity;
  return (now) => {
    if (now - last < 3_600_000) return null;
    last = now;
    return now - UPLOAD_SESSION_MAX_AGE_MS;
  };
}
