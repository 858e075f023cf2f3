import type { Principal } from '../exchange/principal.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { StreamGuard } from '../exchange/stream-guard.js';
import type { UsageRow } from '../metering/row.js';
import { CounterStore, type Bucket, type Cuttable, type WindowStarts } from './counters.js';
import { afterReserving, measureAll, violations, type AppliedRule, type Measure } from './evaluate.js';
import { dimensionsOf } from './persist.js';
import { hardCapGuard, type CappedLease } from './hard-cap.js';
import { isTokenLimit, LIMITS, type ProjectLimits } from './policy.js';
import { compileRule, type CompiledRule } from './rule-limits.js';
import { createPolicyLoader } from './policy-store.js';
import { hardCapError, quotaRefusal, rateLimitHeaders } from './refusal.js';
import { GatewayError } from '../errors.js';
import { quotaStatus, type QuotaStatus } from './status.js';
import { WINDOW_KINDS } from './windows.js';
import { dataVersionReader } from '../db/data-version.js';
import { SharedUnavailableError, type SharedBucket, type SharedCounters } from './shared-counters.js';

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
  /**
   * Admits the request (holding its estimate and a concurrency slot) or throws the 429, deciding on
   * this replica's counters (with shared state: its mirror of the shared ones; Live sessions).
   */
  admit(req: AdmitRequest): Lease;
  /** The same, decided on the counters every replica shares when shared state is configured (a promise then). */
  admitShared(req: AdmitRequest): Lease | Promise<Lease>;
  settle(lease: Lease, result: SettleInput, now: number): void;
  /**
   * Counts metered tokens while the lease stays open (a Live session's turn). Returns the error
   * naming the limit when the project has the hard cap on and a token budget is now spent.
   */
  charge(lease: Lease, tokens: number, model: string | null, now: number): GatewayError | null;
  /**
   * Counts the tokens of a usage row no lease holds (a finished batch or Veo operation, metered when
   * a read or the poller sees it end), as persist.ts counts them in quota_counters.
   */
  count(row: Pick<UsageRow, 'projectId' | 'keyId' | 'model' | 'usage' | 'rowKey'>, now: number): void;
  /** Limits and consumption for a project, as one key sees them (keyId) or all of them (null). */
  status(projectId: string, keyId: string | null, now: number): QuotaStatus;
  /** Re-reads every policy; the admin API calls it after a write on this connection. */
  reload(): Promise<void>;
  /**
   * Null while the policies are current; otherwise the reload that another process's commit made
   * necessary (data_version or the Postgres change feed moved): admission awaits it first.
   */
  fresh(): Promise<void> | null;
  /** Counter buckets held in memory (a metrics gauge: bounded, see CounterStore). */
  buckets(): number;
  /** Whether the counters every replica shares answer now; null without shared state (readiness). */
  sharedReachable(): boolean | null;
}

interface LeaseState extends Lease, CappedLease {
  projectId: string;
  keyId: string;
  model: string | null;
  starts: WindowStarts;
  /** The buckets of the lease's own model, found at admission (the store never drops one). */
  own: Bucket[] | null;
  settled: boolean;
  /** Shared mode only: the shared lease id, or null when admitted on local counters (shared state away). */
  sharedLease?: string | null;
  /** Admitted locally after a failed shared admission: the lease it tried to take. */
  attemptedLease?: string;
}

/**
 * Per-project quotas held in memory: admission is a few Map lookups and additions, counters survive
 * restarts through quota_counters, and reservations live only here, so a restart clears them all.
 */
export async function createQuotas({ db, clock, log, onRefusal, shared = null, failure = 'open', maxModels }: {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Told about each refused request and the limit that decided it (the metrics counter). */
  onRefusal?: (principal: Principal, limit: string) => void;
  /** Counters shared by every replica (Redis); null: this process's counters decide alone. */
  shared?: SharedCounters | null;
  /** What admission does while the shared counters are unreachable (QUOTA_FAILURE). */
  failure?: 'open' | 'closed';
  /** Per project, idle buckets of models no rule names are dropped past this many (CounterStore). */
  maxModels?: number;
}): Promise<Quotas> {
  const onBad = (projectId: string, problem: string) => log.error({ projectId, problem }, 'ignoring invalid stored limits');
  const loadPolicies = createPolicyLoader(db, onBad);
  const dataVersion = dataVersionReader(db);
  let seenVersion = dataVersion();
  let policies = await loadPolicies();
  let reloading: Promise<void> | null = null;
  // Policies first: a model a rule names keeps its bucket from the start.
  const store = new CounterStore({ maxModels, ruled: (projectId, model) => modelRules(policies.get(projectId)).has(model) });
  await store.load(db, clock.now());

  /**
   * Takes newly read policies. A model a rule now names, whose bucket is not in memory (dropped while
   * no rule named it, see CounterStore), gets its current windows from quota_counters first.
   */
  async function adopt(next: Map<string, ProjectLimits>): Promise<void> {
    const missing = new Set<string>();
    for (const [projectId, policy] of next) {
      // The loader keeps the object of a row that did not change: only changed policies can name a new model.
      if (policies.get(projectId) === policy) continue;
      for (const model of modelRules(policy)) if (!store.has(projectId, 'model', model)) missing.add(`${projectId}\n${model}`);
    }
    // Taken first, so the rows loaded below count as ruled and are not dropped again; re-checked as
    // rows are applied, so a bucket an admission created meanwhile is not overwritten.
    policies = next;
    if (!missing.size) return;
    const taken = new Set<string>();
    await store.load(db, clock.now(), (p, d, v) => {
      const k = `${p}\n${v}`;
      if (d !== 'model' || !missing.has(k)) return false;
      if (!taken.has(k) && store.has(p, d, v)) return false;
      taken.add(k); // its other windows follow
      return true;
    });
  }

  /** Policies written by another process (the CLI, another gateway) are re-read before the next admission. */
  function fresh(): Promise<void> | null {
    if (reloading) return reloading;
    const v = dataVersion();
    if (v === seenVersion) return null;
    seenVersion = v;
    reloading = loadPolicies().then(
      adopt,
      (err: Error) => log.error({ err: err.message }, 'reloading quota policies failed; keeping the previous ones'),
    ).finally(() => (reloading = null));
    return reloading;
  }

  function policyOf(projectId: string): ProjectLimits | undefined {
    void fresh();
    return policies.get(projectId);
  }

  // A reload keeps the policy objects of unchanged rows (policy-store.ts), so their compiled rules stay too.
  const compiled = new WeakMap<ProjectLimits, CompiledRule[]>();
  function compiledOf(policy: ProjectLimits): CompiledRule[] {
    let rules = compiled.get(policy);
    if (!rules) compiled.set(policy, (rules = policy.limits.map(compileRule)));
    return rules;
  }

  function matching(policy: ProjectLimits | undefined, projectId: string, keyId: string | null, model: string | null | '*', now: number): AppliedRule[] {
    const out: AppliedRule[] = [];
    if (!policy) return out;
    for (const c of compiledOf(policy)) {
      if (c.dim === 'key' && keyId !== null && c.value !== keyId) continue;
      if (c.dim === 'model' && model !== '*' && c.value !== model) continue;
      out.push({ rule: c.rule, dim: c.dim, value: c.value, limits: c.limits, bucket: store.get(projectId, c.dim, c.value, now) });
    }
    return out;
  }

  const buckets = (l: Pick<LeaseState, 'projectId' | 'keyId' | 'model' | 'own'>, now: number, model = l.model): Bucket[] => {
    if (l.own === null || model !== l.model) return dimensionsOf(l.keyId, model).map(([d, v]) => store.get(l.projectId, d, v, now));
    for (const b of l.own) store.current(b, now);
    return l.own;
  };
  let lastOutageLog = -Infinity;
  // Settlement ids for the shared store's replay protection; unique within this process (with its replica id).
  let settleIds = 0;

  type Admission = ReturnType<typeof prepare>;
  function prepare(req: AdmitRequest) {
    const { principal: p, now } = req;
    const policy = policyOf(p.projectId);
    const rules = matching(policy, p.projectId, p.keyId, req.model, now);
    const tokenRules = rules.some((a) => a.limits.some((l) => isTokenLimit(l.name)));
    const estimate = tokenRules ? req.estimate() : 0;
    return { req, p, policy, rules, tokenRules, estimate, subject: { tenantSlug: p.tenantSlug, projectSlug: p.projectSlug } };
  }

  /**
   * Throws the 429 when admitting would break a limit of `rules` (whose buckets may be a shared
   * snapshot); otherwise returns the measures it judged by.
   */
  function check(a: Admission, rules: AppliedRule[], now: number): Measure[] {
    if (!rules.length) return [];
    const measures = measureAll(rules, now);
    const found = violations(measures, a.estimate, now);
    if (found.length) {
      onRefusal?.(a.p, LIMITS[found[0]!.name].metric);
      throw quotaRefusal(found, a.subject, a.estimate, rateLimitHeaders(measures, now));
    }
    return measures;
  }

  function admitLocal(req: AdmitRequest): LeaseState {
    const a = prepare(req);
    const measures = check(a, a.rules, req.now);
    return reserve(a, shared ? null : undefined, rateLimitHeaders(afterReserving(measures, a.estimate), req.now));
  }

  /** `headers`: the RateLimit fields for the client, from the measures admission judged by. */
  function reserve(a: Admission, sharedLease: string | null | undefined, headers: Record<string, string>): LeaseState {
    const { req, p, policy, rules, estimate, subject } = a;
    const now = req.now;
    const lease: LeaseState = {
      projectId: p.projectId, keyId: p.keyId, model: req.model, subject, rules, estimate,
      running: 0, starts: store.starts(now), own: null, cutter: null, settled: false, headers, guard: null, sharedLease,
    };
    lease.own = buckets(lease, now);
    for (const b of lease.own) {
      b.held += estimate;
      b.inFlight++;
      for (const kind of WINDOW_KINDS) b.windows[kind].requests++;
    }
    return Object.assign(lease, {
      guard: policy?.hardCap && req.stream && a.tokenRules
        ? hardCapGuard(lease, {
            now: () => clock.now(),
            rulesOf: (t) => matching(policyOf(lease.projectId), lease.projectId, lease.keyId, lease.model, t),
            bucketsOf: (t) => buckets(lease, t),
          })
        : null,
    });
  }

  return {
    admit: admitLocal,

    admitShared(req) {
      if (!shared) return admitLocal(req);
      const a = prepare(req);
      // No rule applies: nothing to decide, so no round trip before forwarding; settle() still
      // counts the request and its tokens in Redis, so a rule added later sees them.
      if (!a.rules.length) return reserve(a, null, {});
      const dims = dimensionsOf(a.p.keyId, req.model);
      const buckets: SharedBucket[] = dims.map(([dim, value]) => ({ dim, value, limits: limitsOf(a.rules.find((r) => r.dim === dim && r.value === value)?.rule) }));
      return shared.admit(a.p.projectId, buckets, a.estimate, store.starts(req.now), req.now).then(
        (res) => {
          // The local buckets mirror the shared windows, so an outage starts from what every replica counted.
          const mirror = () => dims.forEach(([d, v], i) => {
            const b = store.get(a.p.projectId, d, v, req.now);
            for (const kind of WINDOW_KINDS) Object.assign(b.windows[kind], res.counts[i]!.windows[kind]);
          });
          const seen = a.rules.map((r): AppliedRule => {
            const c = res.counts[dims.findIndex(([d, v]) => d === r.dim && v === r.value)]!;
            const windows = { minute: { start: 0, ...c.windows.minute }, day: { start: 0, ...c.windows.day }, month: { start: 0, ...c.windows.month } };
            return { ...r, bucket: { windows, held: c.held, running: 0, inFlight: c.inFlight, capped: new Set<Cuttable>() } };
          });
          if (!res.admitted) {
            mirror();
            check(a, seen, req.now);
            throw new GatewayError('resource_exhausted', 'Quota exceeded for this project.');
          }
          // The headers describe the shared counts admission saw, not this replica's mirror.
          const lease = reserve(a, res.leaseId, rateLimitHeaders(measureAll(seen, req.now), req.now));
          mirror();
          return lease;
        },
        (err: unknown) => {
          if (!(err instanceof SharedUnavailableError)) throw err;
          if (clock.now() - lastOutageLog >= 60_000) {
            lastOutageLog = clock.now();
            log.error({ failure, err: err.message }, failure === 'open' ? 'shared quota counters unreachable: admitting on this replica\'s counters' : 'shared quota counters unreachable: refusing requests (QUOTA_FAILURE=closed)');
          }
          // The admission may have been applied with only its answer lost: a refusal releases that lease.
          const release = () => shared.settle({
            projectId: a.p.projectId, leaseId: err.leaseId, admitted: dims, starts: store.starts(req.now), requests: { delta: -1, when: 'lease-found' },
            charged: [], chargedStarts: store.starts(req.now), tokens: 0, lateModel: null, now: req.now, id: `${err.leaseId}:refused`,
          });
          if (failure === 'closed') {
            release();
            throw new GatewayError('unavailable', 'Quota counters are unavailable; retry shortly.');
          }
          try {
            return Object.assign(admitLocal(req), { attemptedLease: err.leaseId });
          } catch (refusal) {
            release();
            throw refusal;
          }
        },
      );
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
      // The model may only be known from the response (interactions.get): count the request there too.
      const lateModel = result.forwarded && result.model !== null && result.model !== lease.model;
      if (shared && lease.sharedLease !== undefined) {
        const viaShared = lease.sharedLease !== null;
        const leaseId = lease.sharedLease ?? lease.attemptedLease ?? null;
        shared.settle({
          projectId: lease.projectId, leaseId, admitted: dimensionsOf(lease.keyId, lease.model), starts: lease.starts, id: `${leaseId ?? settleIds++}:settle`,
          requests: viaShared
            ? (result.forwarded ? null : { delta: -1, when: 'always' })
            : (result.forwarded ? { delta: 1, when: 'lease-missing' } : { delta: -1, when: 'lease-found' }),
          charged: dimensionsOf(lease.keyId, result.model), chargedStarts: store.starts(now), tokens: result.forwarded ? result.tokens : 0,
          lateModel: lateModel ? result.model : null, now,
        });
      }
      if (!result.forwarded) return;
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
      if (tokens > 0 && shared) {
        const starts = store.starts(now);
        shared.settle({ projectId: lease.projectId, leaseId: null, admitted: [], starts, requests: null, charged: dimensionsOf(lease.keyId, model), chargedStarts: starts, tokens, lateModel: null, now, id: `charge:${settleIds++}` });
      }
      const policy = policyOf(lease.projectId);
      if (!policy?.hardCap) return null;
      for (const m of measureAll(matching(policy, lease.projectId, lease.keyId, model, now), now)) {
        if (isTokenLimit(m.name) && m.used > m.limit) return hardCapError(m, lease.subject);
      }
      return null;
    },

    count(row, now) {
      const tokens = row.usage?.totalTokens ?? 0;
      if (tokens <= 0) return;
      const dims = dimensionsOf(row.keyId, row.model);
      for (const [d, v] of dims) for (const kind of WINDOW_KINDS) store.get(row.projectId, d, v, now).windows[kind].tokens += tokens;
      if (shared) {
        const starts = store.starts(now);
        // A completion's row key names it on every replica: whichever replicas see it finish, Redis counts it once.
        const id = row.rowKey ?? `count:${settleIds++}`;
        shared.settle({ projectId: row.projectId, leaseId: null, admitted: [], starts, requests: null, charged: dims, chargedStarts: starts, tokens, lateModel: null, now, id, sameOnEveryReplica: row.rowKey !== undefined });
      }
    },

    status(projectId, keyId, now) {
      const policy = policyOf(projectId);
      const project = store.get(projectId, 'project', '', now);
      return quotaStatus(policy, measureAll(matching(policy, projectId, keyId, '*', now), now), project);
    },

    async reload() {
      seenVersion = dataVersion();
      await adopt(await loadPolicies());
    },
    buckets: () => store.size(),
    sharedReachable: () => (shared ? shared.reachable() : null),
    fresh,
  };
}

const NO_MODELS: ReadonlySet<string> = new Set();
const modelRuleSets = new WeakMap<ProjectLimits, ReadonlySet<string>>();
/** The models a project's rules count in (a rule naming a key counts in the key's bucket instead). */
function modelRules(policy: ProjectLimits | undefined): ReadonlySet<string> {
  if (!policy) return NO_MODELS;
  let set = modelRuleSets.get(policy);
  if (!set) modelRuleSets.set(policy, (set = new Set(policy.limits.flatMap((r) => (!r.keyId && r.model ? [r.model] : [])))));
  return set;
}

function limitsOf(rule: AppliedRule['rule'] | undefined): SharedBucket['limits'] {
  if (!rule) return null;
  return { rpm: rule.requestsPerMinute, tpm: rule.tokensPerMinute, tpd: rule.tokensPerDay, tpmo: rule.tokensPerMonth, maxConcurrent: rule.maxConcurrent };
}
