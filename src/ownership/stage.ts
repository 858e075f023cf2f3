import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { bufferBody } from '../exchange/body.js';
import { requestJson, type ProxyContext, type ProxyStage } from '../exchange/stage.js';
import { claimResponsesFile, recordFinishedBatch } from './batch-meter.js';
import { requestWitness, type CompletionDeps } from './completion.js';
import { createdResources } from './created.js';
import { requestedVideoSeconds } from '../metering/video-usage.js';
import { claimGeneratedVideos, recordFinishedVideo, VIDEO_OPERATION } from './video-meter.js';
import { listField } from './kinds.js';
import { answerList, type ListDeps } from './list-filter.js';
import { ambiguousPath, bodyResources, mayReference, pathResource, uploadSessions } from './references.js';
import type { ResourceOwner, ResourceStore } from './resource-store.js';
import { rewriteUploadUrl, UPLOAD_URL_HEADERS, uploadIdOf } from './upload-url.js';

interface OwnershipDeps extends CompletionDeps {
  log: Logger;
  config: Pick<Config, 'PUBLIC_BASE_URL' | 'MAX_JSON_BODY_BYTES' | 'BATCH_POLL_INTERVAL_MS' | 'BATCH_POLL_CONCURRENCY'>;
  upstreamBasePath: string;
  lists: Omit<ListDeps, 'ownedBy' | 'load'>;
  /**
   * Replicas: a resource another replica just created is in the database only after its ledger
   * flushes, so an unknown name is looked up again this many times, this far apart, before the 404.
   */
  unknownRecheck?: { tries: number; everyMs: number } | null;
  /**
   * The batch poller's read of one batch or Veo operation (true: metered, or gone upstream). A
   * DELETE would otherwise end the gateway's sight of a batch whose usage it never saw (null: the
   * poller is off, and such a delete goes through unmetered, as the README says).
   */
  settleBeforeDelete?: ((name: string) => Promise<boolean>) | null;
}

const PATH_NAME = Symbol('resource named in the path');
/** ctx.state: the list endpoint (`files`, `cachedContents`, `batches`) this GET reads, filtered to the caller's items. */
const LIST = Symbol('filtered list');
/** Endpoints whose successful POST creates resources (the meter keeps their parsed body for after()). */
const CREATES = new Set(['upload', 'files', 'cachedContents', 'batches', 'interactions.create', 'predictLongRunning', 'fileSearchStores', 'tunedModels']);
const REST = /^\/(?:upload\/)?v\d+[a-z0-9]*\/(.*)$/;

/** Google's answer for a missing resource; a foreign one must look exactly the same (never 403). */
const notFound = (): GatewayError => new GatewayError('not_found', 'Requested entity was not found.');

/**
 * Tenant isolation for upstream resources. Before: every resource the request names (path, body,
 * upload session) must belong to the caller's project, or the answer is 404 and nothing is
 * forwarded; the owning upstream key is pinned. Response headers: upload URLs are moved onto the
 * gateway and the session is bound to the caller. After: created resources are recorded, deleted
 * ones forgotten, and a batch seen in its final state has its usage recorded once.
 */
export function createOwnershipStage(deps: OwnershipDeps): ProxyStage {
  const { store, log, config } = deps;
  // The poller reads responses files; without it a client's GET meters such a batch without tokens.
  const pollerRuns = config.BATCH_POLL_INTERVAL_MS > 0 && config.BATCH_POLL_CONCURRENCY > 0;
  const listDeps: ListDeps = { ...deps.lists, ownedBy: (name, projectId) => store.owner(name)?.projectId === projectId, load: (names) => store.load(names) };
  const ownerFor = (ctx: ProxyContext): Omit<ResourceOwner, 'usageRecordedAt'> => ({
    tenantId: ctx.principal.tenantId,
    projectId: ctx.principal.projectId,
    upstreamKeyId: ctx.upstreamKey?.id ?? null,
    keyId: ctx.principal.keyId,
  });

  return {
    name: 'ownership',
    async before(ctx) {
      const rest = REST.exec(ctx.path)?.[1] ?? '';
      const upload = ctx.what.endpoint === 'upload';
      if (ambiguousPath(rest)) throw new GatewayError('invalid_argument', 'Path segments "." and ".." and empty segments are not accepted.');
      const fromPath = pathResource(rest, ctx.search, upload);
      const names = fromPath ? [fromPath] : [];
      // A chunk's path may name a resource as well (`/upload/v1beta/files/x?upload_id=…`): the session vouches only for itself.
      const alsoNamed = fromPath?.startsWith('uploads/') ? pathResource(rest, '', false) : null;
      if (alsoNamed) names.push(alsoNamed);
      if (upload) names.push(...uploadSessions(ctx.search).slice(1));
      if (!upload && ctx.method !== 'GET' && ctx.method !== 'DELETE') {
        // A large JSON body would otherwise stream past unread: references in it must be checked too.
        const buf = await bufferBody(ctx.body, config.MAX_JSON_BODY_BYTES);
        if (buf && buf.length > 0 && mayReference(buf)) names.push(...bodyResources(requestJson(ctx)));
      }
      let pinned: string | null = null;
      await store.load(names);
      for (const name of names) {
        let owner = store.owner(name);
        // A foreign name takes the same path as an unknown one: answering it sooner would tell the
        // caller that the name exists in another project.
        const mine = () => owner !== null && owner.projectId === ctx.principal.projectId;
        for (let i = 0; !mine() && i < (deps.unknownRecheck?.tries ?? 0); i++) {
          await new Promise((r) => setTimeout(r, deps.unknownRecheck!.everyMs));
          store.invalidate(name);
          await store.load([name]);
          owner = store.owner(name);
        }
        if (!owner || owner.projectId !== ctx.principal.projectId) {
          log.info({ requestId: ctx.requestId, resource: name, known: owner !== null }, 'refused a resource the project does not own');
          throw notFound();
        }
        pinned ??= owner.upstreamKeyId;
      }
      if (pinned) ctx.pinnedKeyId = pinned;
      if (ctx.method === 'DELETE' && fromPath && deps.settleBeforeDelete && (fromPath.startsWith('batches/') || VIDEO_OPERATION.test(fromPath)) && store.owner(fromPath)?.usageRecordedAt == null) {
        // Google keeps running (and billing) a batch deleted before it ends, out of the gateway's sight.
        if (!(await deps.settleBeforeDelete(fromPath))) {
          throw new GatewayError('unprocessable', 'This batch or operation has not finished, so its usage is not known yet: cancel it, and delete it once it has ended.');
        }
      }
      if (fromPath) ctx.state[PATH_NAME] = fromPath;
      // Every read of a stored interaction echoes its usage: once billed, it is not billed again.
      if (fromPath?.startsWith('interactions/') && store.owner(fromPath)?.usageRecordedAt != null) ctx.usageBilled = true;
      if (ctx.method === 'GET' && listField(rest) !== undefined) ctx.state[LIST] = rest;
      // Responses that create resources (or finish a batch) are parsed once, at their end.
      ctx.captureResponse =
        (ctx.method === 'POST' && CREATES.has(ctx.what.endpoint)) ||
        (ctx.method === 'GET' && fromPath !== null && (fromPath.startsWith('batches/') || VIDEO_OPERATION.test(fromPath)));
    },
    answer(ctx, upstream, res) {
      const list = ctx.state[LIST] as string | undefined;
      return list === undefined ? null : answerList(listDeps, ctx, list, upstream, res);
    },
    responseHeaders(ctx, status, headers) {
      if (ctx.what.endpoint !== 'upload' || status >= 300) return;
      for (const name of UPLOAD_URL_HEADERS) {
        const value = headers[name];
        if (typeof value !== 'string') continue;
        headers[name] = rewriteUploadUrl(value, config.PUBLIC_BASE_URL, deps.upstreamBasePath);
        const id = uploadIdOf(value);
        if (id) store.claim(`uploads/${id}`, ownerFor(ctx));
      }
    },
    usageBilledBefore(ctx, result) {
      // The read that first sees a stored interaction's final usage (a GET of a background one, or
      // its :cancel) bills it; of two reads racing on that answer, the first to finish here.
      const fromPath = ctx.state[PATH_NAME] as string | undefined;
      if (!fromPath?.startsWith('interactions/') || result.status < 200 || result.status >= 300 || !settled(result.meter.source)) return false;
      if (store.owner(fromPath)?.usageRecordedAt != null) return true;
      store.markUsageRecorded(fromPath);
      return false;
    },
    after(ctx, result) {
      if (result.status < 200 || result.status >= 300 || result.outcome === 'gateway_error') return;
      const fromPath = ctx.state[PATH_NAME] as string | undefined;
      if (ctx.method === 'DELETE' && fromPath) store.forget(fromPath);
      const created = createdResources(ctx.what.endpoint, ctx.method, result.meter.head);
      // A Veo operation keeps the seconds its request asked for: it is metered when seen done.
      const units = ctx.what.endpoint === 'predictLongRunning' ? requestedVideoSeconds(requestJson(ctx)) : null;
      for (const name of created) store.claim(name, { ...ownerFor(ctx), units });
      if (created.length > 0 && fromPath?.startsWith('uploads/')) store.forget(fromPath);
      // A create that answers with the final usage bills it (reads are settled in usageBilledBefore).
      // Usage read while it still runs, or from a stream's fallback frame, may be partial.
      if (!fromPath && result.meter.usage && ctx.what.family === 'interactions' && settled(result.meter.source)) {
        const interaction = created.find((name) => name.startsWith('interactions/'));
        if (interaction) store.markUsageRecorded(interaction);
      }
      if (ctx.method === 'GET' && fromPath?.startsWith('batches/')) {
        claimResponsesFile(store, fromPath, result.meter.head);
        recordFinishedBatch(deps, requestWitness(ctx), fromPath, result.meter.head, { deferFileResults: pollerRuns });
      }
      if (ctx.method === 'GET' && fromPath && VIDEO_OPERATION.test(fromPath)) {
        claimGeneratedVideos(store, fromPath, result.meter.head);
        recordFinishedVideo(deps, requestWitness(ctx), fromPath, result.meter.head);
      }
    },
  };
}

/** An Interaction object no longer running: the usage it carries is final. */
function settled(interaction: unknown): boolean {
  const status = (interaction as { status?: unknown } | null | undefined)?.status;
  return typeof status === 'string' && status !== 'in_progress';
}
