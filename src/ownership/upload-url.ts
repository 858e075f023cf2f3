/** Response headers that point a resumable upload's chunks somewhere: both must point at the gateway. */
export const UPLOAD_URL_HEADERS = ['x-goog-upload-url', 'x-goog-upload-control-url'] as const;

/**
 * Pure: Google's upload URL moved onto the gateway's public URL, keeping its path (with any path
 * prefix of PUBLIC_BASE_URL in front) and query. Old SDKs (≤ 1.45) follow it verbatim; newer ones
 * keep its path and swap in their own scheme/host/port, so the prefix must be in the path itself.
 */
export function rewriteUploadUrl(value: string, publicBaseUrl: string, upstreamBasePath: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  let path = url.pathname;
  if (upstreamBasePath && path.startsWith(`${upstreamBasePath}/`)) path = path.slice(upstreamBasePath.length);
  return `${publicBaseUrl}${path}${url.search}`;
}

/** The upload session id in an upload URL, which binds the session to the project that started it. */
export function uploadIdOf(value: string): string | null {
  const q = value.indexOf('?');
  return q === -1 ? null : new URLSearchParams(value.slice(q)).get('upload_id');
}
