/**
 * The fluid (flow-level) resource model.
 *
 * Everything that takes time and shares something is an activity with an amount
 * of work on each resource it touches. Its progress rate x (fraction of the
 * activity per second) is limited by every resource r:
 *
 *     Σ_a  x_a · work(a, r) · m_a / M_r  ≤  capacity(r)
 *
 * where m_a is the activity's multiplicity (it stands for m_a identical copies)
 * and M_r the resource's (it stands for M_r identical instances, each of which
 * sees m_a / M_r of the copies). Rates are the weighted max-min fair allocation,
 * found by progressive filling: a common level λ rises, every unfrozen activity
 * runs at x_a = w_a · λ / size_a, and when a resource saturates the activities on
 * it freeze. `size_a` is the scalar in whose units fairness is measured; by
 * default the largest work amount of the activity, so n flows of any byte count
 * on one link each get C/n, as on a real link.
 *
 * The resource that froze an activity is its bottleneck. Only the connected
 * component (resources linked through shared activities) touched by a change is
 * re-solved, and only the completion events whose rate changed are rescheduled.
 * Changes made at one instant are batched into one solve at that instant.
 */

import type { EventHandle, EventQueue } from "./event-queue.ts";

/** Fraction of an activity left below which it counts as finished (float noise of symmetric work). */
const COMPLETION_TOLERANCE = 1e-9;

export interface ResourceSpec {
  name: string;
  /** Work units per second (FLOP/s, bytes/s, …) of ONE instance. May be Infinity. */
  capacity: number;
  /** Identical instances this resource stands for (symmetry folding). Default 1. */
  multiplicity?: number;
  /** Free-form tag for attribution, e.g. "sm", "hbm", "nvlink", "network". */
  kind?: string;
}

export class Resource {
  readonly id: number;
  readonly name: string;
  readonly kind: string;
  readonly multiplicity: number;
  capacity: number;
  /** Activities currently using this resource. */
  readonly activities: Activity[] = [];

  /** Seconds during which at least one activity consumed this resource. */
  busySeconds = 0;
  /** Work done on one instance (units of capacity × seconds). */
  workDone = 0;
  /** Current consumption of one instance, units per second. */
  usage = 0;
  lastSettle = 0;

  // solver scratch
  mark = 0;
  index = 0;
  free = 0;
  load = 0;
  unfrozen = 0;
  version = 0;

  constructor(id: number, spec: ResourceSpec) {
    this.id = id;
    this.name = spec.name;
    this.kind = spec.kind ?? spec.name;
    this.capacity = spec.capacity;
    this.multiplicity = spec.multiplicity ?? 1;
  }
}

export interface ActivitySpec {
  /** Work per copy on each resource. Zero amounts are ignored. */
  work: ReadonlyArray<readonly [Resource, number]>;
  weight?: number;
  multiplicity?: number;
  /** Fairness unit (see module doc). Default: the largest work amount. */
  size?: number;
  /** Upper bound on progress rate (fraction per second), e.g. a pacing limit. */
  maxRate?: number;
  onComplete?: (activity: Activity) => void;
  label?: string;
  /** Caller's payload, untouched by the engine. */
  data?: unknown;
}

export type ActivityState = "running" | "done" | "cancelled";

export class Activity {
  // Fields are written only by the engine; an activity object may be reused
  // after `FluidModel.recycle`, which is why they are not readonly.
  id = 0;
  label = "";
  readonly resources: Resource[] = [];
  /**
   * Per resource i, packed for locality (one array, not three, per activity):
   * [3i] work per copy, [3i+1] load per unit of level = (m / M_r) · work · weight / size,
   * [3i+2] index of this activity in resources[i].activities.
   */
  readonly terms: number[] = [];
  weight = 1;
  multiplicity = 1;
  size = 1;
  maxRate = Infinity;
  onComplete: ((activity: Activity) => void) | undefined = undefined;
  data: unknown = undefined;

  state: ActivityState = "running";
  /** Fraction still to do, 1 → 0. */
  remaining = 1;
  /** Progress rate, fraction per second. */
  rate = 0;
  /** The resource that froze this activity in the last solve (null: maxRate or unconstrained). */
  bottleneck: Resource | null = null;
  startTime = 0;
  endTime = NaN;

  lastSettle = 0;
  segmentStart = 0;
  event: EventHandle = -1;
  /** Next activity of the same piece due at the same instant as this one (set by the solve). */
  coDue: Activity | null = null;

  // solver scratch
  mark = 0;
  frozen = false;
  /** Seconds to completion at the rates of the last solve. */
  wait = Infinity;

  /** (Re)initialise from a spec; validates before touching any resource. */
  init(id: number, spec: ActivitySpec, now: number): this {
    const label = spec.label ?? "";
    const weight = spec.weight ?? 1;
    const multiplicity = spec.multiplicity ?? 1;
    const maxRate = spec.maxRate ?? Infinity;
    const resources = this.resources;
    const terms = this.terms;
    // Overwrite in place and trim once at the end: setting length to 0 would drop
    // the backing stores and make a recycled activity allocate them again.
    let n = 0;
    let largest = 0;
    for (const [resource, amount] of spec.work) {
      if (!(amount >= 0) || !Number.isFinite(amount)) {
        throw new RangeError(`activity ${label || id}: work on ${resource.name} must be a finite number >= 0, got ${amount}`);
      }
      if (amount === 0) continue;
      // The same resource named twice (a send to oneself) is one entry with the summed work.
      let seen = -1;
      for (let i = 0; i < n; i++) if (resources[i] === resource) seen = i;
      if (seen >= 0) terms[3 * seen] = (terms[3 * seen] as number) + amount;
      else {
        resources[n] = resource;
        terms[3 * n] = amount;
        terms[3 * n + 1] = 0;
        terms[3 * n + 2] = 0;
        n++;
      }
    }
    if (resources.length !== n) resources.length = n;
    if (terms.length !== 3 * n) terms.length = 3 * n;
    for (let i = 0; i < terms.length; i += 3) if ((terms[i] as number) > largest) largest = terms[i] as number;
    const size = spec.size ?? (largest > 0 ? largest : 1);
    if (!(weight > 0) || !(multiplicity > 0) || !(size > 0) || !(maxRate > 0)) {
      throw new RangeError(`activity ${label || id}: weight, multiplicity, size and maxRate must be > 0`);
    }
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i] as Resource;
      terms[3 * i + 1] = ((multiplicity / r.multiplicity) * (terms[3 * i] as number) * weight) / size;
    }
    this.id = id;
    this.label = label;
    this.weight = weight;
    this.multiplicity = multiplicity;
    this.size = size;
    this.maxRate = maxRate;
    this.onComplete = spec.onComplete;
    this.data = spec.data;
    this.state = "running";
    this.remaining = 1;
    this.rate = 0;
    this.bottleneck = null;
    this.startTime = now;
    this.endTime = NaN;
    this.lastSettle = now;
    this.segmentStart = now;
    this.event = -1;
    this.coDue = null;
    this.frozen = false;
    this.wait = Infinity;
    return this;
  }

  /** Work per copy on a resource (0 if it does not touch it). */
  workOn(r: Resource): number {
    const i = this.resources.indexOf(r);
    return i < 0 ? 0 : (this.terms[3 * i] as number);
  }

  /** Fraction done, as of the last time the engine settled it (call `fluid.settle(a)` for now). */
  get progress(): number {
    return 1 - this.remaining;
  }
}

/** Called for each stretch of constant rate an activity ends (rate change or completion). */
export type SegmentListener = (activity: Activity, t0: number, t1: number, bottleneck: Resource | null) => void;

export class FluidModel {
  readonly resources: Resource[] = [];
  /** Number of component solves done (for benchmarks and tests). */
  solves = 0;
  /** Sum of component sizes (activities) solved. */
  solvedActivities = 0;
  onSegment: SegmentListener | null = null;

  private readonly queue: EventQueue;
  private nextActivityId = 0;
  private running = 0;
  private seeds: Resource[] = [];
  private looseSeeds: Activity[] = [];
  private solvePending = false;
  private epoch = 0;
  private compRes: Resource[] = [];
  private compActs: Activity[] = [];
  private pieceEnds: number[] = [];
  private batch: Activity[] = [];
  private heap = new LevelHeap();
  private readonly pool: Activity[] = [];
  private readonly solveHandler = (): void => this.solve();
  private readonly completeHandler = (a: Activity): void => this.complete(a);

  constructor(queue: EventQueue) {
    this.queue = queue;
  }

  get activeCount(): number {
    return this.running;
  }

  addResource(spec: ResourceSpec): Resource {
    if (!(spec.capacity >= 0)) throw new RangeError(`resource ${spec.name}: capacity must be >= 0, got ${spec.capacity}`);
    if (spec.multiplicity !== undefined && !(spec.multiplicity > 0)) {
      throw new RangeError(`resource ${spec.name}: multiplicity must be > 0, got ${spec.multiplicity}`);
    }
    const r = new Resource(this.resources.length, spec);
    r.lastSettle = this.queue.now;
    this.resources.push(r);
    return r;
  }

  /** Change a capacity now; rates of the affected component are re-solved at this instant. */
  setCapacity(resource: Resource, capacity: number): void {
    if (!(capacity >= 0)) throw new RangeError(`resource ${resource.name}: capacity must be >= 0, got ${capacity}`);
    if (capacity === resource.capacity) return;
    resource.capacity = capacity;
    this.seed(resource);
  }

  start(spec: ActivitySpec): Activity {
    const a = (this.pool.pop() ?? new Activity()).init(this.nextActivityId++, spec, this.queue.now);
    for (let i = 0; i < a.resources.length; i++) {
      const r = a.resources[i] as Resource;
      a.terms[3 * i + 2] = r.activities.length;
      r.activities.push(a);
      this.seed(r);
    }
    this.running++;
    if (a.resources.length === 0) {
      this.looseSeeds.push(a);
      this.requestSolve();
    }
    return a;
  }

  /** Abort a running activity; its work so far stays counted, the rest is dropped. */
  cancel(a: Activity): void {
    if (a.state !== "running") return;
    this.settleActivity(a, this.queue.now);
    this.detach(a, "cancelled");
  }

  /**
   * Hand a finished activity back for reuse by a later `start`. Optional: it
   * saves the allocation (and a promotion through the garbage collector) for
   * simulations with many long-lived concurrent activities. The caller must not
   * touch `a` afterwards.
   */
  recycle(a: Activity): void {
    if (a.state === "running") throw new Error(`activity ${a.label || a.id} is still running; only finished activities can be recycled`);
    a.onComplete = undefined;
    a.data = undefined;
    this.pool.push(a);
  }

  /** Bring an activity's `remaining` up to now without changing anything. */
  settle(a: Activity): void {
    if (a.state === "running") this.settleActivity(a, this.queue.now);
  }

  /** Bring a resource's busy time and work done up to now. */
  settleResource(r: Resource): void {
    const now = this.queue.now;
    const dt = now - r.lastSettle;
    if (dt > 0) {
      r.workDone += r.usage * dt;
      if (r.usage > 0) r.busySeconds += dt;
    }
    r.lastSettle = now;
  }

  /** Solve pending changes synchronously (normally done by an event at the same instant). */
  flush(): void {
    if (this.solvePending) this.solve();
  }

  // ---- internals ----

  private seed(r: Resource): void {
    this.seeds.push(r);
    this.requestSolve();
  }

  private requestSolve(): void {
    if (!this.solvePending) {
      this.solvePending = true;
      this.queue.schedule(this.queue.now, this.solveHandler);
    }
  }

  private settleActivity(a: Activity, now: number): void {
    const dt = now - a.lastSettle;
    if (dt > 0 && a.rate > 0) {
      a.remaining -= a.rate * dt;
      if (a.remaining < 0) a.remaining = 0;
    }
    a.lastSettle = now;
  }

  private detach(a: Activity, state: ActivityState): void {
    const now = this.queue.now;
    if (a.event >= 0) {
      this.queue.cancel(a.event);
      a.event = -1;
    }
    for (let i = 0; i < a.resources.length; i++) {
      const r = a.resources[i] as Resource;
      // Its usage leaves the resource in the solve this seeds, at this same instant.
      const s = a.terms[3 * i + 2] as number;
      const last = r.activities.pop() as Activity;
      if (last !== a) {
        r.activities[s] = last;
        last.terms[3 * last.resources.indexOf(r) + 2] = s;
      }
      this.seed(r);
    }
    if (this.onSegment !== null && now > a.segmentStart) this.onSegment(a, a.segmentStart, now, a.bottleneck);
    a.state = state;
    a.endTime = now;
    a.rate = 0;
    this.running--;
  }

  /**
   * The event of `a`'s piece fired: `a` is done, and so is every activity of the
   * piece that the last solve found due at this same instant (chained from `a`
   * through `coDue`). Finishing those together matters for symmetric work (the
   * hops of a ring all end at once): one by one, each would pay a solve of the
   * whole piece.
   */
  private complete(a: Activity): void {
    const now = this.queue.now;
    a.event = -1;
    const done = this.batch;
    done.length = 0;
    // Chains can go stale when pieces are re-solved: the epoch mark stops any cycle.
    const epoch = ++this.epoch;
    for (let b: Activity | null = a; b !== null && b.mark !== epoch; b = b.coDue) {
      b.mark = epoch;
      if (b.state !== "running") continue;
      if (b !== a) {
        this.settleActivity(b, now);
        if (b.remaining > COMPLETION_TOLERANCE) continue;
      }
      done.push(b);
    }
    const n = done.length;
    for (let i = 0; i < n; i++) {
      const b = done[i] as Activity;
      b.coDue = null;
      if (b.event >= 0) {
        this.queue.cancel(b.event);
        b.event = -1;
      }
      b.remaining = 0;
      b.lastSettle = now;
      this.detach(b, "done");
    }
    // Callbacks may start activities and solve, reusing `batch`: copy the few we need first.
    if (n === 1) {
      if (a.onComplete) a.onComplete(a);
      return;
    }
    const list = done.slice(0, n);
    for (const b of list) if (b.onComplete) b.onComplete(b);
  }

  private solve(): void {
    this.solvePending = false;
    const now = this.queue.now;
    const epoch = ++this.epoch;
    const res = this.compRes;
    const acts = this.compActs;
    res.length = 0;
    acts.length = 0;

    // Collect the components reachable from the changed resources, one piece
    // at a time: each connected piece gets one completion event (its earliest).
    const pieceEnds = this.pieceEnds;
    pieceEnds.length = 0;
    for (const seed of this.seeds) {
      if (seed.mark === epoch) continue;
      seed.mark = epoch;
      seed.index = res.length;
      res.push(seed);
      for (let qi = seed.index; qi < res.length; qi++) {
        const r = res[qi] as Resource;
        const ra = r.activities;
        for (let j = 0; j < ra.length; j++) {
          const a = ra[j] as Activity;
          if (a.mark === epoch) continue;
          a.mark = epoch;
          acts.push(a);
          const ar = a.resources;
          for (let k = 0; k < ar.length; k++) {
            const r2 = ar[k] as Resource;
            if (r2.mark !== epoch) {
              r2.mark = epoch;
              r2.index = res.length;
              res.push(r2);
            }
          }
        }
      }
      if (acts.length > (pieceEnds.length > 0 ? (pieceEnds[pieceEnds.length - 1] as number) : 0)) pieceEnds.push(acts.length);
    }
    this.seeds.length = 0;
    for (const a of this.looseSeeds) {
      if (a.state === "running" && a.mark !== epoch) {
        a.mark = epoch;
        acts.push(a);
        pieceEnds.push(acts.length);
      }
    }
    this.looseSeeds.length = 0;
    this.solves++;
    this.solvedActivities += acts.length;

    // Settle progress and accounting at the old rates.
    for (let i = 0; i < res.length; i++) {
      const r = res[i] as Resource;
      this.settleResource(r);
      r.free = r.capacity;
      r.load = 0;
      r.unfrozen = 0;
      r.usage = 0;
    }
    const heap = this.heap;
    heap.clear();
    for (let i = 0; i < acts.length; i++) {
      const a = acts[i] as Activity;
      this.settleActivity(a, now);
      a.frozen = false;
      const terms = a.terms;
      const ar = a.resources;
      for (let k = 0; k < ar.length; k++) {
        const r = ar[k] as Resource;
        r.load += terms[3 * k + 1] as number;
        r.unfrozen++;
      }
      if (a.maxRate !== Infinity) heap.push((a.maxRate * a.size) / a.weight, -1 - i, 0);
    }
    for (let i = 0; i < res.length; i++) {
      const r = res[i] as Resource;
      r.version = 0;
      if (r.unfrozen > 0 && r.capacity !== Infinity) heap.push(r.free / r.load, i, 0);
    }

    // Progressive filling. Levels of unsaturated resources only rise as others
    // freeze, so stale heap entries surface early and are skipped by version.
    let level = 0;
    while (heap.size > 0) {
      const entryLevel = heap.topLevel();
      const id = heap.topId();
      const version = heap.topVersion();
      heap.pop();
      if (id < 0) {
        const a = acts[-1 - id] as Activity;
        if (a.frozen) continue;
        if (entryLevel > level) level = entryLevel;
        this.freeze(a, level, null, now);
        continue;
      }
      const r = res[id] as Resource;
      if (r.version !== version || r.unfrozen === 0) continue;
      if (entryLevel > level) level = entryLevel;
      const ra = r.activities;
      for (let j = 0; j < ra.length; j++) {
        const a = ra[j] as Activity;
        if (!a.frozen) this.freeze(a, level, r, now);
      }
    }

    // Unconstrained activities (only infinite resources, no maxRate) finish now.
    for (let i = 0; i < acts.length; i++) {
      const a = acts[i] as Activity;
      if (!a.frozen) this.freeze(a, Infinity, null, now);
    }

    // One completion event per piece, held by its earliest-finishing activity:
    // a change anywhere in a piece re-solves all of it, so the others need none.
    let begin = 0;
    for (const end of pieceEnds) {
      let holder: Activity | null = null;
      let best: Activity | null = null;
      let bestWait = Infinity;
      for (let i = begin; i < end; i++) {
        const a = acts[i] as Activity;
        if (a.event >= 0) {
          if (holder === null) holder = a;
          else {
            // Pieces that merged bring one event each; keep one.
            this.queue.cancel(a.event);
            a.event = -1;
          }
        }
        const wait = a.remaining <= 0 || a.rate === Infinity ? 0 : a.rate > 0 ? a.remaining / a.rate : Infinity;
        a.wait = wait;
        if (wait < bestWait) {
          bestWait = wait;
          best = a;
        }
      }
      // Chain the activities due with the earliest (within float noise) behind it.
      if (best !== null) {
        best.coDue = null;
        const limit = bestWait * (1 + 1e-9) + 1e-12;
        for (let i = begin; i < end; i++) {
          const a = acts[i] as Activity;
          if (a !== best && a.wait <= limit) {
            a.coDue = best.coDue;
            best.coDue = a;
          }
        }
      }
      const bestDue = now + bestWait;
      begin = end;
      if (best === null) {
        if (holder !== null) {
          this.queue.cancel(holder.event);
          holder.event = -1;
        }
      } else if (holder === null) {
        best.event = this.queue.scheduleCall(bestDue, this.completeHandler, best);
      } else {
        const handle = holder.event;
        holder.event = -1;
        best.event = this.queue.reschedule(handle, bestDue, best);
      }
    }
  }

  private freeze(a: Activity, level: number, by: Resource | null, now: number): void {
    a.frozen = true;
    const terms = a.terms;
    const ar = a.resources;
    const finite = level !== Infinity;
    for (let k = 0; k < ar.length; k++) {
      const r2 = ar[k] as Resource;
      const l = terms[3 * k + 1] as number;
      if (finite) {
        r2.free -= l * level;
        r2.usage += l * level;
      }
      r2.load -= l;
      r2.unfrozen--;
      if (r2 !== by && r2.unfrozen > 0 && r2.capacity !== Infinity) {
        r2.version++;
        const free = r2.free > 0 ? r2.free : 0;
        const next = free / r2.load;
        this.heap.push(next > level ? next : level, r2.index, r2.version);
      }
    }
    const rate = (a.weight * level) / a.size;
    if (rate === a.rate && by === a.bottleneck) return;
    if (now > a.segmentStart) {
      if (this.onSegment !== null) this.onSegment(a, a.segmentStart, now, a.bottleneck);
      a.segmentStart = now;
    }
    a.rate = rate;
    a.bottleneck = by;
  }
}

/** Min-heap of (level, id, version) on typed arrays, for progressive filling. */
class LevelHeap {
  private level: Float64Array = new Float64Array(256);
  private id: Int32Array = new Int32Array(256);
  private ver: Int32Array = new Int32Array(256);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  topLevel(): number {
    return this.level[0] as number;
  }
  topId(): number {
    return this.id[0] as number;
  }
  topVersion(): number {
    return this.ver[0] as number;
  }

  push(level: number, id: number, version: number): void {
    if (this.size === this.level.length) {
      const n = this.size * 2;
      const l = new Float64Array(n);
      l.set(this.level);
      this.level = l;
      const i = new Int32Array(n);
      i.set(this.id);
      this.id = i;
      const v = new Int32Array(n);
      v.set(this.ver);
      this.ver = v;
    }
    let i = this.size++;
    const L = this.level;
    const I = this.id;
    const V = this.ver;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((L[p] as number) <= level) break;
      L[i] = L[p] as number;
      I[i] = I[p] as number;
      V[i] = V[p] as number;
      i = p;
    }
    L[i] = level;
    I[i] = id;
    V[i] = version;
  }

  pop(): void {
    const n = --this.size;
    if (n === 0) return;
    const L = this.level;
    const I = this.id;
    const V = this.ver;
    const level = L[n] as number;
    const id = I[n] as number;
    const ver = V[n] as number;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (L[r] as number) < (L[c] as number)) c = r;
      if (level <= (L[c] as number)) break;
      L[i] = L[c] as number;
      I[i] = I[c] as number;
      V[i] = V[c] as number;
      i = c;
    }
    L[i] = level;
    I[i] = id;
    V[i] = ver;
  }
}
