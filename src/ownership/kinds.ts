/**
 * The one table of upstream resource kinds whose ownership the gateway tracks. A name is
 * `<kind>/<id>` (`files/abc`); references in requests, names in creating responses, admin
 * assignment and filtered lists all read this table.
 */
interface KindSpec {
  /** Google's own kind: named in request paths after the version, and assignable by an admin. */
  readonly google: boolean;
  /** A creating response names it as `{name: "<kind>/…"}` (interactions answer with a bare id). */
  readonly createdByName: boolean;
  /** Field a page of `GET /{v}/<kind>` holds its items in, when the gateway filters that list. */
  readonly listField: string | null;
}

export const RESOURCE_KINDS = {
  files: { google: true, createdByName: true, listField: 'files' },
  cachedContents: { google: true, createdByName: true, listField: 'cachedContents' },
  // Batch creation answers an Operation; Google names it `batches/…`, older paths `operations/…`.
  batches: { google: true, createdByName: true, listField: 'operations' },
  // Upstream lists every project's operations under the one key: filtered like the others, by the names the gateway saw created.
  operations: { google: true, createdByName: true, listField: 'operations' },
  interactions: { google: true, createdByName: false, listField: null },
  // `fileSearchStores/x/documents/y` and `…/operations/z` belong to their store: the store is the resource checked.
  fileSearchStores: { google: true, createdByName: true, listField: 'fileSearchStores' },
  // tunedModels.create answers an Operation `tunedModels/{id}/operations/{op}`; the model is what gets owned (ownership/created.ts).
  tunedModels: { google: true, createdByName: true, listField: 'tunedModels' },
  // The gateway's own: a resumable upload session, bound to the project that started it.
  uploads: { google: false, createdByName: false, listField: null },
} as const satisfies Record<string, KindSpec>;

export type ResourceKind = keyof typeof RESOURCE_KINDS;

const kindsWhere = (test: (k: KindSpec) => boolean): string[] =>
  (Object.entries(RESOURCE_KINDS) as [string, KindSpec][]).filter(([, k]) => test(k)).map(([name]) => name);

/** Google's kinds, in the order an error message lists them. */
export const GOOGLE_KINDS: readonly string[] = kindsWhere((k) => k.google);
/** `files/abc` (and `files/abc:download`) at the start of a path after the version. */
export const PATH_RESOURCE = new RegExp(`^(${GOOGLE_KINDS.join('|')})\\/([^/:]+)`);
/** A whole name of a Google kind, as an admin assigns it. */
export const GOOGLE_NAME = new RegExp(`^(${GOOGLE_KINDS.join('|')})\\/[^/\\s]+$`);
/** A whole name a creating response may carry. */
export const CREATED_NAME = new RegExp(`^(${kindsWhere((k) => k.createdByName).join('|')})\\/[^/]+$`);
/** List endpoints the gateway filters, and the field their page puts items in. */
const LIST_FIELDS: Readonly<Record<string, string>> = Object.fromEntries(
  (Object.entries(RESOURCE_KINDS) as [string, KindSpec][]).flatMap(([name, k]) => (k.listField ? [[name, k.listField]] : [])),
);
/** A model's long-running operations (Veo's `models/{m}/operations/{id}`), which upstream lists for every project alike. */
const MODEL_OPERATIONS = /^models\/[^/:]+\/operations$/;

/** The field a filtered list's page holds its items in, for a path after the version; undefined when the gateway does not filter it. */
export function listField(rest: string): string | undefined {
  // `files/` names no resource, and upstream may well list at it: it is filtered like `files`.
  const path = rest.endsWith('/') ? rest.slice(0, -1) : rest;
  return LIST_FIELDS[path] ?? (MODEL_OPERATIONS.test(path) ? 'operations' : undefined);
}

/** `files/abc` → `files`; the kind column serves per-project listings. */
export const kindOf = (name: string): string => name.slice(0, name.indexOf('/'));
