import type { Principal } from '../exchange/principal.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { StreamGuard } from '../exchange/stream-guard.js';
import { CounterStore, type Bucket, type CounterDimension, type WindowStarts } from './counters.js';
import { measureAll, violations, type AppliedRule } from './evaluate.js';
import { dimensionsOf } from './persist.js';
import { hardCapGuard, type CappedLease } from './hard-cap.js';
import { isTokenLimit, LIMIT_NAMES, LIMITS, type ProjectLimits } from './policy.js';
import { loadAllPolicies } from './policy-store.js';
import { hardCapError, quotaRefusal, rateLimitHeaders } from './refusal.js';
import type { GatewayError } from '../errors.js';
import { quotaStatus, type QuotaStatus } from './status.js';
import { WINDOW_KINDS } from './windows.js';
import { dataVersionReader } from '../db/data-version.js';

export interface AdmitRequest {
  principal: Principal;
  model: string | null;
  now: number;
  /** Called only when a token limit applies, so unlimited traffic never pays for parsing the body. */
  estimate: () => number;
  /** The response may be a stream worth watching (hard cap). */
  stream: boolean;
}

/** An admitted request's hold on its project's counters; settle() releases it exactly once. */
export interface Lease {
  readonly headers: Record<string, string>;
  readonly guard: StreamGuard | null;
}

export interface SettleInput {
  /** Something went upstream (false: the gateway answered itself, so the request does not count). */
  forwarded: boolean;
  /** Metered total_tokens, 0 when upstream reported none. */
  tokens: number;
  /** The model the usage row records. */
  model: string | null;
}

export interface Quotas {
  /** Admits the request (holding its estimate and a concurrency slot) or throws the 429. */
  admit(req: AdmitRequest): Lease;
  settle(lease: Lease, result: SettleInput, now: number): void;
  /**
   * Counts metered tokens while the lease stays open (a Live session's turn). Returns the error
   * naming the limit when the project has the hard cap on and a token budget is now spent.
   */
  charge(lease: Lease, tokens: number, model: string | null, now: number): GatewayError | null;
  /** Limits and consumption for a project, as one key sees them (keyId) or all of them (null). */
  status(projectId: string, keyId: string | null, now: number): QuotaStatus;
  /** Re-reads every policy; the admin API calls it after a write on this connection. */
  reload(): Promise<void>;
  /**
   * Null while the policies are current; otherwise the reload that another process's commit made
   * necessary (data_version or the Postgres change feed moved): admission awaits it first.
   */
  fresh(): Promise<void> | null;
}

interface LeaseState extends Lease, CappedLease {
  projectId: string;
  keyId: string;
  model: string | null;
  starts: WindowStarts;
  settled: boolean;
}

/**
 * Per-project quotas held in memory: admission is a few Map lookups and additions, counters survive
 * restarts through quota_counters, and reservations live only here, so a restart clears them all.
 */
export async function createQuotas({ db, clock, log, onRefusal }: {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Told about each refused request and the limit that decided it (the metrics counter). */
  onRefusal?: (principal: Principal, limit: string) => void;
}): Promise<Quotas> {
  const store = new CounterStore();
  await store.load(db, clock.now());
  const onBad = (projectId: string, problem: string) => log.error({ projectId, problem }, 'ignoring invalid stored limits');
  const dataVersion = dataVersionReader(db);
  let seenVersion = dataVersion();
  let policies = await loadAllPolicies(db, onBad);
  let reloading: Promise<void> | null = null;

  /** Policies written by another process (the CLI, another gateway) are re-read before the next admission. */
  function fresh(): Promise<void> | null {
    if (reloading) return reloading;
    const v = dataVersion();
    if (v === seenVersion) return null;
    seenVersion = v;
    reloading = loadAllPolicies(db, onBad).then(
      (p) => void (policies = p),
      (err: Error) => log.error({ err: err.message }, 'reloading quota policies failed; keeping the previous ones'),
    ).finally(() => (reloading = null));
    return reloading;
  }

  function policyOf(projectId: string): ProjectLimits | undefined {
    void fresh();
    return policies.get(projectId);
  }

  function matching(policy: ProjectLimits | undefined, projectId: string, keyId: string | null, model: string | null | '*', now: number): AppliedRule[] {
    const out: AppliedRule[] = [];
    for (const rule of policy?.limits ?? []) {
      let dim: CounterDimension = 'project';
      let value = '';
      if (rule.keyId) {
        if (keyId !== null && rule.keyId !== keyId) continue;
        [dim, value] = ['key', rule.keyId];
      } else if (rule.model) {
        if (model !== '*' && rule.model !== model) continue;
        [dim, value] = ['model', rule.model];
      }
      out.push({ rule, dim, value, bucket: store.get(projectId, dim, value, now) });
    }
    return out;
  }

  const buckets = (l: Pick<LeaseState, 'projectId' | 'keyId' | 'model'>, now: number, model = l.model): Bucket[] =>
    dimensionsOf(l.keyId, model).map(([d, v]) => store.get(l.projectId, d, v, now));

  return {
    admit(req) {
      const { principal: p, now } = req;
      const policy = policyOf(p.projectId);
      const rules = matching(policy, p.projectId, p.keyId, req.model, now);
      const tokenRules = rules.some((a) => LIMIT_NAMES.some((n) => isTokenLimit(n) && a.rule[n] !== undefined));
      const estimate = tokenRules ? req.estimate() : 0;
      const subject = { tenantSlug: p.tenantSlug, projectSlug: p.projectSlug };
      if (rules.length) {
        const measures = measureAll(rules, now);
        const found = violations(measures, estimate, now);
        if (found.length) {
          onRefusal?.(p, LIMITS[found[0]!.name].metric);
          throw quotaRefusal(found, subject, estimate, rateLimitHeaders(measures, now));
        }
      }
      const lease: LeaseState = {
        projectId: p.projectId, keyId: p.keyId, model: req.model, subject, rules, estimate,
        running: 0, starts: store.starts(now), cutter: null, settled: false, headers: {}, guard: null,
      };
      for (const b of buckets(lease, now)) {
        b.held += estimate;
        b.inFlight++;
        for (const kind of WINDOW_KINDS) b.windows[kind].requests++;
      }
      return Object.assign(lease, {
        headers: rules.length ? rateLimitHeaders(measureAll(rules, now), now) : {},
        guard: policy?.hardCap && req.stream && tokenRules
          ? hardCapGuard(lease, {
              now: () => clock.now(),
              rulesOf: (t) => matching(policyOf(lease.projectId), lease.projectId, lease.keyId, lease.model, t),
              bucketsOf: (t) => buckets(lease, t),
            })
          : null,
      });
    },

    settle(l, result, now) {
      const lease = l as LeaseState;
      if (lease.settled) return;
      lease.settled = true;
      lease.guard?.detach();
      for (const b of buckets(lease, now)) {
        b.held -= Math.max(lease.estimate, lease.running);
        b.running -= lease.running;
        b.inFlight--;
        if (!result.forwarded) for (const kind of WINDOW_KINDS) if (b.windows[kind].start === lease.starts[kind]) b.windows[kind].requests--;
      }
      if (!result.forwarded) return;
      // The model may only be known from the response (interactions.get): count the request there too.
      const lateModel = result.model !== null && result.model !== lease.model;
      if (result.tokens === 0 && !lateModel) return;
      for (const b of buckets(lease, now, result.model)) {
        for (const kind of WINDOW_KINDS) b.windows[kind].tokens += result.tokens;
      }
      if (lateModel) for (const kind of WINDOW_KINDS) store.get(lease.projectId, 'model', result.model!, now).windows[kind].requests++;
    },

    charge(l, tokens, model, now) {
      const lease = l as LeaseState;
      if (lease.settled) return null;
      if (tokens > 0) for (const b of buckets(lease, now, model)) for (const kind of WINDOW_KINDS) b.windows[kind].tokens += tokens;
      const policy = policyOf(lease.projectId);
      if (!policy?.hardCap) return null;
      for (const m of measureAll(matching(policy, lease.projectId, lease.keyId, model, now), now)) {
        if (isTokenLimit(m.name) && m.used > m.limit) return hardCapError(m, lease.subject);
      }
      return null;
    },

    status(projectId, keyId, now) {
      const policy = policyOf(projectId);
      const project = store.get(projectId, 'project', '', now);
      return quotaStatus(policy, measureAll(matching(policy, projectId, keyId, '*', now), now), project);
    },

    async reload() {
      seenVersion = dataVersion();
      policies = await loadAllPolicies(db, onBad);
    },
    fresh,
  };
}
