import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { requestJson, type ProxyContext, type ProxyStage } from '../exchange/stage.js';
import { estimateTokens } from './estimate.js';
import { rowCharge } from './persist.js';
import type { Lease, Quotas } from './quotas.js';

const LEASE = Symbol('quota lease');

function hold(ctx: ProxyContext, lease: Lease): void {
  ctx.state[LEASE] = lease;
  Object.assign(ctx.extraHeaders, lease.headers);
}
/** Endpoints whose answer may be an SSE stream worth watching under the hard cap. */
const STREAMING = new Set(['streamGenerateContent', 'interactions.create', 'interactions.get']);

/**
 * Admission control: reserves the request's token estimate and a concurrency slot before anything is
 * forwarded, adds rate-limit headers, and settles to the metered usage whatever the outcome.
 */
export function createQuotaStage({ quotas, config, clock }: { quotas: Quotas; config: Pick<Config, 'QUOTA_DEFAULT_OUTPUT_TOKENS'>; clock: Clock }): ProxyStage {
  return {
    name: 'quota',
    before(ctx) {
      // Only after another process changed limits is there a reload to wait for.
      const reload = quotas.fresh();
      if (reload) return reload.then(() => admit(ctx));
      return admit(ctx);
    },
    streamGuard(ctx) {
      return (ctx.state[LEASE] as Lease | undefined)?.guard ?? null;
    },
    after(ctx, result) {
      const lease = ctx.state[LEASE] as Lease | undefined;
      if (!lease) return;
      // The same charge the persisted counters get from this exchange's usage row (persist.ts).
      const { tokens, request } = rowCharge({ usage: result.meter.usage, outcome: result.outcome });
      quotas.settle(lease, { forwarded: request, tokens, model: ctx.model ?? result.meter.model }, clock.now());
    },
  };

  function admit(ctx: ProxyContext): void | Promise<void> {
    const admitted = quotas.admitShared({
      principal: ctx.principal,
      model: ctx.model,
      // Not ctx.now: that is when the request arrived, and its body may have taken minutes to come in.
      now: clock.now(),
      stream: STREAMING.has(ctx.what.endpoint),
      estimate: () => estimateTokens(ctx.what.endpoint, requestJson(ctx), ctx.body.length(), config.QUOTA_DEFAULT_OUTPUT_TOKENS),
    });
    // With shared counters (Redis) admission is a round trip; without, it stays synchronous.
    if (admitted instanceof Promise) return admitted.then((lease) => hold(ctx, lease));
    hold(ctx, admitted);
  }
}
