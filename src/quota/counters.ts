import type { Db } from '../db/client.js';
import { query } from '../db/dialect.js';
import type { GatewayError } from '../errors.js';
import { WINDOW_KINDS, windowEnd, windowStart, type WindowKind } from './windows.js';

export type CounterDimension = 'project' | 'key' | 'model';

export interface WindowCount {
  start: number;
  tokens: number;
  requests: number;
}

/** Something a hard-capped stream registers so the budget's owner can end it early. */
export interface Cuttable {
  cut(error: GatewayError): void;
}

/**
 * Counters for one slice of a project's traffic (the whole project, one key, or one model): settled
 * usage per current window, plus what in-flight requests hold right now.
 */
export interface Bucket {
  windows: Record<WindowKind, WindowCount>;
  /** Σ over in-flight requests of max(reserved estimate, running usage): what admission must assume is spent. */
  held: number;
  /** Σ running usage reported so far by in-flight hard-capped streams. */
  running: number;
  inFlight: number;
  capped: Set<Cuttable>;
}

export type WindowStarts = Record<WindowKind, number>;

export interface CounterStoreOptions {
  /**
   * Per project, model buckets kept past this many are dropped when idle and no rule names their
   * model. A model name is whatever the client put in the path, so without a bound one key could
   * grow this process's memory without end; a rule's model keeps its bucket, and a rule added for a
   * model already dropped gets its counts back from quota_counters (load() with `only`).
   */
  maxModels?: number;
  /** Whether a rule of the project counts in this model's bucket. */
  ruled?: (projectId: string, model: string) => boolean;
}

/**
 * In-memory counters, keyed by project + dimension + value. Reads and writes cost a Map lookup; the
 * ledger's batch (counter cells from persist.ts) keeps SQLite in step, and load() restores them at boot.
 */
export class CounterStore {
  // Nested maps, not one keyed by a joined string: a lookup then hashes strings that already exist
  // (their hash is cached) instead of building and hashing a new one, several times per request.
  private readonly projects = new Map<string, ProjectBuckets>();
  private cached: { from: number; to: number; starts: WindowStarts } = { from: 0, to: 0, starts: { minute: 0, day: 0, month: 0 } };
  private readonly maxModels: number;

  constructor(private readonly opts: CounterStoreOptions = {}) {
    this.maxModels = opts.maxModels ?? 1000;
  }

  /** Window starts at `now`, recomputed once per minute (month arithmetic needs a Date). */
  starts(now: number): WindowStarts {
    const c = this.cached;
    if (now >= c.from && now < c.to) return c.starts;
    const starts = { minute: windowStart('minute', now), day: windowStart('day', now), month: windowStart('month', now) };
    this.cached = { from: starts.minute, to: windowEnd('minute', now), starts };
    return starts;
  }

  /** The bucket, created empty if new, with its windows moved to `now`. */
  get(projectId: string, dim: CounterDimension, value: string, now: number): Bucket {
    let p = this.projects.get(projectId);
    if (!p) this.projects.set(projectId, (p = { project: null, key: new Map(), model: new Map() }));
    let b = dim === 'project' ? p.project : p[dim].get(value);
    if (!b) {
      const s = this.starts(now);
      b = { windows: { minute: fresh(s.minute), day: fresh(s.day), month: fresh(s.month) }, held: 0, running: 0, inFlight: 0, capped: new Set() };
      if (dim === 'project') p.project = b;
      else p[dim].set(value, b);
      if (dim === 'model' && p.model.size > this.maxModels) this.trim(projectId, p.model, value);
      return b;
    }
    roll(b, this.starts(now));
    return b;
  }

  /** Whether the bucket is in memory (get() creates it). */
  has(projectId: string, dim: CounterDimension, value: string): boolean {
    const p = this.projects.get(projectId);
    return !!p && (dim === 'project' ? p.project !== null : p[dim].has(value));
  }

  /** Buckets held in memory, every project and dimension (a metrics gauge). */
  size(): number {
    let n = 0;
    for (const p of this.projects.values()) n += (p.project ? 1 : 0) + p.key.size + p.model.size;
    return n;
  }

  /**
   * Drops idle buckets of models no rule names, oldest first, down to three quarters of the bound
   * (so the next ones do not trim again at once). `keep`: the bucket just created for the caller.
   */
  private trim(projectId: string, models: Map<string, Bucket>, keep: string): void {
    const target = Math.floor((this.maxModels * 3) / 4);
    for (const [value, b] of models) {
      if (models.size <= target) return;
      if (value === keep || b.inFlight > 0 || b.held !== 0 || b.running !== 0 || b.capped.size > 0 || this.opts.ruled?.(projectId, value)) continue;
      models.delete(value);
    }
  }

  /** A bucket got earlier (from `get`), with its windows moved to `now`: no lookup. */
  current(b: Bucket, now: number): Bucket {
    roll(b, this.starts(now));
    return b;
  }

  /**
   * Restores the current windows from quota_counters (what the flushed usage rows add up to); with
   * `only`, just the buckets it picks (a model a new rule names, whose bucket was dropped).
   */
  async load(db: Db, now: number, only?: (projectId: string, dim: CounterDimension, value: string) => boolean): Promise<void> {
    const s = this.starts(now);
    const rows = await query<{ project_id: string; dimension: CounterDimension; value: string; window_kind: WindowKind; tokens: number; requests: number }>(
      db,
      `SELECT project_id, dimension, value, window_kind, tokens, requests FROM quota_counters
         WHERE (window_kind = 'minute' AND window_start = ?) OR (window_kind = 'day' AND window_start = ?) OR (window_kind = 'month' AND window_start = ?)`,
      [s.minute, s.day, s.month],
    );
    for (const r of rows) {
      if (only && !only(r.project_id, r.dimension, r.value)) continue;
      const w = this.get(r.project_id, r.dimension, r.value, now).windows[r.window_kind];
      w.tokens = r.tokens;
      w.requests = r.requests;
    }
  }
}

interface ProjectBuckets {
  project: Bucket | null;
  key: Map<string, Bucket>;
  model: Map<string, Bucket>;
}

const fresh = (start: number): WindowCount => ({ start, tokens: 0, requests: 0 });

/**
 * A window that starts before the current one has ended: it restarts from zero. Windows only move
 * forward: a caller holding an earlier instant (a request admitted late, a clock stepped back) must
 * not reset the current window to an ended one and wipe what was counted in it.
 */
function roll(b: Bucket, s: WindowStarts): void {
  for (const kind of WINDOW_KINDS) {
    const w = b.windows[kind];
    if (w.start < s[kind]) {
      w.start = s[kind];
      w.tokens = 0;
      w.requests = 0;
    }
  }
}
