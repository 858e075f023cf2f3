import { safeDecode } from '../values.js';
import { PATH_RESOURCE } from './kinds.js';
/**
 * Pure: which upstream resources a request names. Names are Google's (`files/abc`,
 * `cachedContents/x`, `batches/x`, `interactions/x`) plus `uploads/<upload_id>` for resumable
 * upload sessions, which the gateway binds to the project that started them.
 */

/** A Veo operation `models/{model}/operations/{id}`: not a `<kind>/<id>` name, the whole path is its name. */
const MODEL_OPERATION = /^models\/[^/:]+\/operations\/[^/:]+/;
/** Google's file URIs on any host (Google has several front ends, and the gateway's own URL may be used): `…/v1beta/files/{id}`, or its `:download` (a generated video's URI). */
const VERSIONED_FILE = /\/v\d+[a-z0-9]*\/files\/([^/?#:]+)(?::download)?$/;

/**
 * The resource in a path after the version (`files/abc:download` → `files/abc`); null when none.
 * Matched on the decoded path, so `files%2Fabc` is the same resource as `files/abc`.
 */
export function pathResource(rest: string, search: string, upload: boolean): string | null {
  if (upload) {
    const [session] = uploadSessions(search);
    if (session) return session;
  }
  // Under /upload/ as elsewhere (`upload/v1beta/fileSearchStores/{id}:uploadToFileSearchStore`):
  // the prefix must not make a named resource unchecked.
  const decoded = safeDecode(rest);
  // A Veo operation lives under its model: the whole path is its name.
  const op = MODEL_OPERATION.exec(decoded);
  if (op) return op[0];
  const m = PATH_RESOURCE.exec(decoded);
  return m ? `${m[1]}/${m[2]}` : null;
}

/** Every upload session a query names: `upload_id` may be repeated or empty, and upstream may read any of them. */
export function uploadSessions(search: string): string[] {
  return new URLSearchParams(search).getAll('upload_id').map((id) => `uploads/${id}`);
}

/** Dot segments and empty segments, raw or percent-encoded, which an upstream could normalise into another path. */
export function ambiguousPath(rest: string): boolean {
  return safeDecode(rest).split('/').some((seg, i, all) => seg === '.' || seg === '..' || (seg === '' && i < all.length - 1));
}

/**
 * Cheap pre-check on the raw body: a body that cannot name a resource is never parsed. `\u`
 * catches JSON escapes (`"\u0066ileUri"`) that would otherwise hide a field name from a byte search.
 */
const NEEDLES = ['files', 'ached', 'previous_interaction', 'tunedModels', 'ileSearchStore', '\\u'].map((s) => Buffer.from(s));
export function mayReference(body: Buffer): boolean {
  return NEEDLES.some((n) => body.includes(n));
}

/**
 * Resources named anywhere in a parsed request body: `fileData.fileUri` / `file_data.file_uri`,
 * interaction input items' `uri`, batch input `fileName`, `cachedContent` / `cached_content`,
 * `previous_interaction_id`. Any URL whose path ends in `/v{n}/files/{id}` counts as a Gemini file,
 * whatever its host: a false positive only costs a 404, a false negative would leak a file. Other
 * URLs (gs://, YouTube…) are not resources.
 */
export function bodyResources(json: unknown): string[] {
  const out = new Set<string>();
  // An explicit stack, not recursion: a client's body may nest deeper than the call stack goes.
  const todo: Array<[unknown, string | null]> = [[json, null]];
  for (let next = todo.pop(); next; next = todo.pop()) {
    const [v, key] = next;
    if (typeof v === 'string') {
      if (key === null) continue;
      const name = fieldResource(key, v);
      if (name) out.add(name);
    } else if (Array.isArray(v)) {
      // Lists of names keep their field's key (`fileSearchStoreNames: ["fileSearchStores/x"]`); lists of objects do not need it.
      for (const x of v) todo.push([x, typeof x === 'string' ? key : null]);
    } else if (v !== null && typeof v === 'object') {
      for (const k in v as Record<string, unknown>) todo.push([(v as Record<string, unknown>)[k], k]);
    }
  }
  return [...out];
}

function fieldResource(key: string, value: string): string | null {
  switch (key) {
    case 'fileUri':
    case 'file_uri':
    case 'uri':
      return fileFromUri(value);
    case 'fileName':
    case 'file_name':
      return /^files\/[^/]+$/.test(value) ? value : null;
    case 'cachedContent':
    case 'cached_content':
      return value.startsWith('cachedContents/') ? value : `cachedContents/${value}`;
    case 'fileSearchStoreNames':
    case 'file_search_store_names':
      return /^fileSearchStores\/[^/]+$/.test(value) ? value : null;
    case 'model':
    case 'tunedModel':
    case 'tuned_model':
      return /^tunedModels\/[^/:]+$/.test(value) ? value : null;
    case 'previous_interaction_id':
    case 'previousInteractionId':
      return value === '' ? null : `interactions/${value}`;
    default:
      return null;
  }
}

/** `files/abc` or `https://…/v1beta/files/abc` → `files/abc`. */
export function fileFromUri(uri: string): string | null {
  if (/^files\/[^/?#]+$/.test(uri)) return uri;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  const m = VERSIONED_FILE.exec(url.pathname);
  return m ? `files/${safeDecode(m[1]!)}` : null;
}
