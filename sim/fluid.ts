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

// The numbers the solver reads and writes live in rows of two Float64Arrays, one
// row per resource and one per running activity, not in object fields: a number
// field holds a pointer to a separately allocated box (and V8 allocates a new box
// on many writes), so one activity would be spread over a dozen cache lines and
// every solve would feed the garbage collector. A row keeps what one solve touches
// in one or two lines, written in place. The objects keep the links (resources,
// activity lists) and the small integers, which V8 stores inline.

/**
 * Activity row: [remaining, rate, lastSettle, wait, weight, size, maxRate,
 * segmentStart, event, multiplicity, startTime, endTime].
 */
const A_REMAINING = 0;
const A_RATE = 1;
const A_LAST = 2;
const A_WAIT = 3;
const A_WEIGHT = 4;
const A_SIZE = 5;
const A_MAX_RATE = 6;
const A_SEGMENT = 7;
const A_EVENT = 8;
const A_MULT = 9;
const A_START = 10;
const A_END = 11;
const ACT_STRIDE = 12;
/** Row fields an ended activity keeps (copied out when it gives its row back). */
const KEPT = [A_REMAINING, A_LAST, A_WAIT, A_WEIGHT, A_SIZE, A_MAX_RATE, A_SEGMENT, A_MULT, A_START, A_END] as const;

/** Resource row: [capacity, free, load, usage, lastSettle, workDone, busySeconds]. */
const R_CAPACITY = 0;
const R_FREE = 1;
const R_LOAD = 2;
const R_USAGE = 3;
const R_LAST = 4;
const R_WORK = 5;
const R_BUSY = 6;
const RES_STRIDE = 7;

/**
 * The rows of one model. Resources keep theirs for life (row = id); a running
 * activity leases one and gives it back when it has ended (see
 * `Activity.release`), so there are about as many rows as activities running at
 * once, and a recycled activity's replacement reuses the row it just left.
 */
class FluidStore {
  res: Float64Array = new Float64Array(RES_STRIDE * 64);
  act: Float64Array = new Float64Array(ACT_STRIDE * 64);
  private actRows = 0;
  private readonly freeRows: number[] = [];

  /** Room for resource `id`. */
  reserveResource(id: number): void {
    if ((id + 1) * RES_STRIDE > this.res.length) this.res = grow(this.res, (id + 1) * RES_STRIDE);
  }

  /** A free activity row (its offset), zero-filled. */
  lease(): number {
    const free = this.freeRows;
    if (free.length > 0) return free.pop() as number;
    const row = this.actRows * ACT_STRIDE;
    this.actRows++;
    if (row + ACT_STRIDE > this.act.length) this.act = grow(this.act, row + ACT_STRIDE);
    return row;
  }

  release(row: number): void {
    this.freeRows.push(row);
  }
}

function grow(a: Float64Array, atLeast: number): Float64Array {
  let n = a.length * 2;
  while (n < atLeast) n *= 2;
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

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
  /** Activities currently using this resource. */
  readonly activities: Activity[] = [];

  // solver scratch
  mark = 0;
  index = 0;
  unfrozen = 0;
  version = 0;

  readonly name: string;
  readonly kind: string;
  readonly multiplicity: number;
  /** Offset of this resource's row in the model's rows. */
  private readonly row: number;
  private readonly store: FluidStore;

  /** @internal Created by `FluidModel.addResource`. */
  constructor(id: number, spec: ResourceSpec, store: FluidStore, now: number) {
    this.id = id;
    this.name = spec.name;
    this.kind = spec.kind ?? spec.name;
    this.multiplicity = spec.multiplicity ?? 1;
    this.row = id * RES_STRIDE;
    this.store = store;
    store.reserveResource(id);
    const R = store.res;
    R[this.row + R_CAPACITY] = spec.capacity;
    R[this.row + R_LAST] = now;
  }

  /** Work units per second of one instance. Set it through `FluidModel.setCapacity`, which re-solves. */
  get capacity(): number {
    return this.store.res[this.row + R_CAPACITY] as number;
  }
  set capacity(value: number) {
    this.store.res[this.row + R_CAPACITY] = value;
  }
  /** Seconds during which at least one activity consumed this resource. */
  get busySeconds(): number {
    return this.store.res[this.row + R_BUSY] as number;
  }
  /** Work done on one instance (units of capacity × seconds). */
  get workDone(): number {
    return this.store.res[this.row + R_WORK] as number;
  }
  /** Current consumption of one instance, units per second. */
  get usage(): number {
    return this.store.res[this.row + R_USAGE] as number;
  }
  /** Time up to which busySeconds and workDone are counted. */
  get lastSettle(): number {
    return this.store.res[this.row + R_LAST] as number;
  }
  /** Solver scratch: capacity left in the last solve. */
  get free(): number {
    return this.store.res[this.row + R_FREE] as number;
  }
  /** Solver scratch: load of the activities not frozen, per unit of level. */
  get load(): number {
    return this.store.res[this.row + R_LOAD] as number;
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
  // after `FluidModel.recycle`, which is why they are not readonly. What the
  // solver touches comes first, so that it shares the object's first lines.
  readonly resources: Resource[] = [];
  /**
   * Per resource i, packed for locality (one array, not three, per activity):
   * [3i] work per copy, [3i+1] load per unit of level = (m / M_r) · work · weight / size,
   * [3i+2] index of this activity in resources[i].activities.
   */
  readonly terms: number[] = [];
  /** Offset of its row in the model's rows while running, -1 after. */
  row = -1;
  // solver scratch
  mark = 0;
  frozen = false;
  state: ActivityState = "running";
  /** The resource that froze this activity in the last solve (null: maxRate or unconstrained). */
  bottleneck: Resource | null = null;
  /** Next activity of the same piece due at the same instant as this one (set by the solve). */
  coDue: Activity | null = null;
  onComplete: ((activity: Activity) => void) | undefined = undefined;
  data: unknown = undefined;
  id = 0;
  label = "";
  private readonly store: FluidStore;

  /**
   * The numbers of an ended activity that gave its row back, by row field (see
   * KEPT). Null while it has a row. Only activities that are not recycled in
   * their completion callback need it.
   */
  private kept: Float64Array | null = null;

  /** @internal Created by `FluidModel.start`. */
  constructor(store: FluidStore) {
    this.store = store;
  }

  /** @internal (Re)initialise from a spec and lease a row; validates before touching any resource. */
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
    this.onComplete = spec.onComplete;
    this.data = spec.data;
    this.state = "running";
    this.bottleneck = null;
    this.coDue = null;
    this.frozen = false;
    const row = this.store.lease();
    this.row = row;
    const A = this.store.act;
    A[row + A_REMAINING] = 1;
    A[row + A_RATE] = 0;
    A[row + A_LAST] = now;
    A[row + A_WAIT] = Infinity;
    A[row + A_WEIGHT] = weight;
    A[row + A_SIZE] = size;
    A[row + A_MAX_RATE] = maxRate;
    A[row + A_SEGMENT] = now;
    A[row + A_EVENT] = -1;
    A[row + A_MULT] = multiplicity;
    A[row + A_START] = now;
    A[row + A_END] = NaN;
    return this;
  }

  /**
   * @internal The activity ended (the model wrote its end into the row). It
   * keeps its row until then: a completion callback that recycles it gives the
   * row straight back, and only otherwise are its numbers copied out here.
   */
  release(keepNumbers: boolean): void {
    const row = this.row;
    if (row < 0) return;
    if (keepNumbers) {
      const A = this.store.act;
      const kept = this.kept ?? new Float64Array(ACT_STRIDE);
      for (const f of KEPT) kept[f] = A[row + f] as number;
      this.kept = kept;
    }
    this.row = -1;
    this.store.release(row);
  }

  private num(field: number): number {
    const row = this.row;
    if (row >= 0) return this.store.act[row + field] as number;
    const kept = this.kept;
    return kept === null ? NaN : (kept[field] as number);
  }

  /** Fraction still to do, 1 → 0. */
  get remaining(): number {
    return this.num(A_REMAINING);
  }
  /** Progress rate, fraction per second (0 once ended). */
  get rate(): number {
    return this.row >= 0 ? (this.store.act[this.row + A_RATE] as number) : 0;
  }
  get weight(): number {
    return this.num(A_WEIGHT);
  }
  get multiplicity(): number {
    return this.num(A_MULT);
  }
  get size(): number {
    return this.num(A_SIZE);
  }
  get maxRate(): number {
    return this.num(A_MAX_RATE);
  }
  get startTime(): number {
    return this.num(A_START);
  }
  /** When it ended (NaN while running). */
  get endTime(): number {
    return this.num(A_END);
  }
  get lastSettle(): number {
    return this.num(A_LAST);
  }
  get segmentStart(): number {
    return this.num(A_SEGMENT);
  }
  /** Seconds to completion at the rates of the last solve. */
  get wait(): number {
    return this.num(A_WAIT);
  }
  /** Handle of its completion event, -1 if it holds none. */
  get event(): EventHandle {
    return this.row >= 0 ? (this.store.act[this.row + A_EVENT] as number) : -1;
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
  private readonly store = new FluidStore();
  private nextActivityId = 0;
  private running = 0;
  // Scratch lists with their lengths kept apart (see collectSeeds()).
  private readonly seeds: Resource[] = [];
  private seedCount = 0;
  private readonly looseSeeds: Activity[] = [];
  private looseCount = 0;
  private solvePending = false;
  private epoch = 0;
  private readonly compRes: Resource[] = [];
  private resCount = 0;
  private readonly compActs: Activity[] = [];
  private actCount = 0;
  private readonly pieceEnds: number[] = [];
  private pieceCount = 0;
  /** Activities finishing together, one list per nesting depth of complete(). */
  private readonly batches: Activity[][] = [];
  private completeDepth = 0;
  private heap = new LevelHeap();
  /** [level, now] of the progressive filling in progress: numbers passed through calls would be boxed. */
  private readonly filling = new Float64Array(2);
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
    const r = new Resource(this.resources.length, spec, this.store, this.queue.now);
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
    const a = (this.pool.pop() ?? new Activity(this.store)).init(this.nextActivityId++, spec, this.queue.now);
    for (let i = 0; i < a.resources.length; i++) {
      const r = a.resources[i] as Resource;
      a.terms[3 * i + 2] = r.activities.length;
      r.activities.push(a);
      this.seed(r);
    }
    this.running++;
    if (a.resources.length === 0) {
      this.looseSeeds[this.looseCount++] = a;
      this.requestSolve();
    }
    return a;
  }

  /** Abort a running activity; its work so far stays counted, the rest is dropped. */
  cancel(a: Activity): void {
    if (a.state !== "running") return;
    this.settleActivity(a.row, this.queue.now);
    this.detach(a, "cancelled");
    a.release(true);
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
    a.release(false);
    this.pool.push(a);
  }

  /** Bring an activity's `remaining` up to now without changing anything. */
  settle(a: Activity): void {
    if (a.state === "running") this.settleActivity(a.row, this.queue.now);
  }

  /** Bring a resource's busy time and work done up to now. */
  settleResource(r: Resource): void {
    this.settleRow(r.id * RES_STRIDE, this.queue.now);
  }

  /** Solve pending changes synchronously (normally done by an event at the same instant). */
  flush(): void {
    if (this.solvePending) this.solve();
  }

  // ---- internals ----

  private seed(r: Resource): void {
    this.seeds[this.seedCount++] = r;
    this.requestSolve();
  }

  private requestSolve(): void {
    if (!this.solvePending) {
      this.solvePending = true;
      this.queue.schedule(this.queue.now, this.solveHandler);
    }
  }

  private settleRow(o: number, now: number): void {
    const R = this.store.res;
    const dt = now - (R[o + R_LAST] as number);
    if (dt > 0) {
      const usage = R[o + R_USAGE] as number;
      R[o + R_WORK] = (R[o + R_WORK] as number) + usage * dt;
      if (usage > 0) R[o + R_BUSY] = (R[o + R_BUSY] as number) + dt;
    }
    R[o + R_LAST] = now;
  }

  private settleActivity(row: number, now: number): void {
    const A = this.store.act;
    const dt = now - (A[row + A_LAST] as number);
    const rate = A[row + A_RATE] as number;
    if (dt > 0 && rate > 0) {
      const remaining = (A[row + A_REMAINING] as number) - rate * dt;
      A[row + A_REMAINING] = remaining < 0 ? 0 : remaining;
    }
    A[row + A_LAST] = now;
  }

  private detach(a: Activity, state: ActivityState): void {
    const now = this.queue.now;
    const row = a.row;
    const event = this.store.act[row + A_EVENT] as number;
    if (event >= 0) {
      this.queue.cancel(event);
      this.store.act[row + A_EVENT] = -1;
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
    const segmentStart = this.store.act[row + A_SEGMENT] as number;
    if (this.onSegment !== null && now > segmentStart) this.onSegment(a, segmentStart, now, a.bottleneck);
    const A = this.store.act;
    A[row + A_RATE] = 0;
    A[row + A_END] = now;
    a.state = state;
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
    const A = this.store.act;
    A[a.row + A_EVENT] = -1;
    // Callbacks run below may start activities and even run the queue (and so come
    // back here): each depth has its own list.
    const depth = this.completeDepth;
    let done = this.batches[depth];
    if (done === undefined) {
      done = [];
      this.batches[depth] = done;
    }
    let n = 0;
    // Chains can go stale when pieces are re-solved: the epoch mark stops any cycle.
    const epoch = ++this.epoch;
    for (let b: Activity | null = a; b !== null && b.mark !== epoch; b = b.coDue) {
      b.mark = epoch;
      if (b.state !== "running") continue;
      if (b !== a) {
        this.settleActivity(b.row, now);
        if ((A[b.row + A_REMAINING] as number) > COMPLETION_TOLERANCE) continue;
      }
      done[n++] = b;
    }
    for (let i = 0; i < n; i++) {
      const b = done[i] as Activity;
      b.coDue = null;
      const row = b.row;
      const B = this.store.act;
      const event = B[row + A_EVENT] as number;
      if (event >= 0) {
        this.queue.cancel(event);
        B[row + A_EVENT] = -1;
      }
      B[row + A_REMAINING] = 0;
      B[row + A_LAST] = now;
      this.detach(b, "done");
    }
    // Then the rows go back; an activity recycled by its callback already gave its row.
    if (n === 1) {
      if (a.onComplete) a.onComplete(a);
      if (a.state !== "running") a.release(true);
      return;
    }
    this.completeDepth = depth + 1;
    try {
      for (let i = 0; i < n; i++) {
        const b = done[i] as Activity;
        if (b.onComplete) b.onComplete(b);
      }
      for (let i = 0; i < n; i++) {
        const b = done[i] as Activity;
        if (b.state !== "running") b.release(true);
      }
    } finally {
      this.completeDepth = depth;
    }
  }

  /**
   * Re-solve the pieces the pending changes touched.
   *
   * Written as one loop per method, each returning as soon as its loop ends,
   * with only this loop-free method to chain them. V8 compiles a loop that runs
   * long in its first call (a first solve over everything at start-up) into a
   * loop entry whose code after the loop, never run yet, bails out; later
   * calls that run interpreted while the method is being optimized enter that
   * code at the loop and bail out at its exit, each time, at ~0.2 ms a time.
   * With nothing after a loop but `return`, there is nothing to bail out on.
   */
  private solve(): void {
    this.solvePending = false;
    this.epoch++;
    this.resCount = 0;
    this.actCount = 0;
    this.pieceCount = 0;
    this.collectSeeds();
    this.seedCount = 0;
    this.collectLoose();
    this.looseCount = 0;
    this.solves++;
    this.solvedActivities += this.actCount;
    const now = this.queue.now;
    this.settleResources(now);
    this.heap.clear();
    this.settleActivities(now);
    this.pushResourceLevels();
    this.filling[1] = now;
    this.fill();
    this.filling[0] = Infinity;
    this.freezeUnconstrained();
    this.schedule(now);
  }

  /**
   * Collect the components reachable from the changed resources into compRes and
   * compActs, one piece at a time: each connected piece gets one completion event
   * (its earliest). The scratch arrays are overwritten, never shrunk (truncating
   * an array drops its storage), and their lengths kept in fields.
   */
  private collectSeeds(): void {
    const epoch = this.epoch;
    const res = this.compRes;
    const acts = this.compActs;
    const pieceEnds = this.pieceEnds;
    const seeds = this.seeds;
    for (let s = 0; s < this.seedCount; s++) {
      const seed = seeds[s] as Resource;
      if (seed.mark === epoch) continue;
      let nr = this.resCount;
      let na = this.actCount;
      seed.mark = epoch;
      seed.index = nr;
      res[nr++] = seed;
      for (let qi = seed.index; qi < nr; qi++) {
        const r = res[qi] as Resource;
        const ra = r.activities;
        for (let j = 0; j < ra.length; j++) {
          const a = ra[j] as Activity;
          if (a.mark === epoch) continue;
          a.mark = epoch;
          acts[na++] = a;
          const ar = a.resources;
          for (let k = 0; k < ar.length; k++) {
            const r2 = ar[k] as Resource;
            if (r2.mark !== epoch) {
              r2.mark = epoch;
              r2.index = nr;
              res[nr++] = r2;
            }
          }
        }
      }
      const np = this.pieceCount;
      if (na > (np > 0 ? (pieceEnds[np - 1] as number) : 0)) {
        pieceEnds[np] = na;
        this.pieceCount = np + 1;
      }
      this.resCount = nr;
      this.actCount = na;
    }
  }

  /** Started activities that touch no resource: each is a piece of its own. */
  private collectLoose(): void {
    const epoch = this.epoch;
    const loose = this.looseSeeds;
    for (let s = 0; s < this.looseCount; s++) {
      const a = loose[s] as Activity;
      if (a.state === "running" && a.mark !== epoch) {
        a.mark = epoch;
        const na = this.actCount;
        this.compActs[na] = a;
        this.actCount = na + 1;
        this.pieceEnds[this.pieceCount++] = na + 1;
      }
    }
  }

  /** Settle the accounting of the component's resources at the old rates; reset them for the filling. */
  private settleResources(now: number): void {
    const res = this.compRes;
    const R = this.store.res;
    for (let i = 0; i < this.resCount; i++) {
      const r = res[i] as Resource;
      const o = r.id * RES_STRIDE;
      this.settleRow(o, now);
      R[o + R_FREE] = R[o + R_CAPACITY] as number;
      R[o + R_LOAD] = 0;
      r.unfrozen = 0;
      R[o + R_USAGE] = 0;
    }
  }

  /** Settle the component's activities at the old rates; load their resources; queue their rate caps. */
  private settleActivities(now: number): void {
    const acts = this.compActs;
    const R = this.store.res;
    const A = this.store.act;
    const heap = this.heap;
    for (let i = 0; i < this.actCount; i++) {
      const a = acts[i] as Activity;
      const row = a.row;
      this.settleActivity(row, now);
      a.frozen = false;
      const terms = a.terms;
      const ar = a.resources;
      for (let k = 0; k < ar.length; k++) {
        const r = ar[k] as Resource;
        const o = r.id * RES_STRIDE + R_LOAD;
        R[o] = (R[o] as number) + (terms[3 * k + 1] as number);
        r.unfrozen++;
      }
      const maxRate = A[row + A_MAX_RATE] as number;
      if (maxRate !== Infinity) heap.push((maxRate * (A[row + A_SIZE] as number)) / (A[row + A_WEIGHT] as number), -1 - i, 0);
    }
  }

  /** Queue the level at which each loaded, finite resource would saturate. */
  private pushResourceLevels(): void {
    const res = this.compRes;
    const R = this.store.res;
    const heap = this.heap;
    for (let i = 0; i < this.resCount; i++) {
      const r = res[i] as Resource;
      r.version = 0;
      const o = r.id * RES_STRIDE;
      if (r.unfrozen > 0 && R[o + R_CAPACITY] !== Infinity) heap.push((R[o + R_FREE] as number) / (R[o + R_LOAD] as number), i, 0);
    }
  }

  /**
   * Progressive filling. Levels of unsaturated resources only rise as others
   * freeze, so stale heap entries surface early and are skipped by version.
   */
  private fill(): void {
    const res = this.compRes;
    const acts = this.compActs;
    const heap = this.heap;
    const filling = this.filling;
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
        filling[0] = level;
        this.freeze(a, null);
        continue;
      }
      const r = res[id] as Resource;
      if (r.version !== version || r.unfrozen === 0) continue;
      if (entryLevel > level) level = entryLevel;
      filling[0] = level;
      const ra = r.activities;
      for (let j = 0; j < ra.length; j++) {
        const a = ra[j] as Activity;
        if (!a.frozen) this.freeze(a, r);
      }
    }
  }

  /** Activities left unfrozen (only infinite resources, no maxRate) run at an infinite rate: they finish now. */
  private freezeUnconstrained(): void {
    const acts = this.compActs;
    for (let i = 0; i < this.actCount; i++) {
      const a = acts[i] as Activity;
      if (!a.frozen) this.freeze(a, null);
    }
  }

  /**
   * One completion event per piece, held by its earliest-finishing activity:
   * a change anywhere in a piece re-solves all of it, so the others need none.
   */
  private schedule(now: number): void {
    const acts = this.compActs;
    const pieceEnds = this.pieceEnds;
    const A = this.store.act;
    let begin = 0;
    for (let p = 0; p < this.pieceCount; p++) {
      const end = pieceEnds[p] as number;
      let holder: Activity | null = null;
      let best: Activity | null = null;
      let bestWait = Infinity;
      for (let i = begin; i < end; i++) {
        const a = acts[i] as Activity;
        const row = a.row;
        const event = A[row + A_EVENT] as number;
        if (event >= 0) {
          if (holder === null) holder = a;
          else {
            // Pieces that merged bring one event each; keep one.
            this.queue.cancel(event);
            A[row + A_EVENT] = -1;
          }
        }
        const remaining = A[row + A_REMAINING] as number;
        const rate = A[row + A_RATE] as number;
        const wait = remaining <= 0 || rate === Infinity ? 0 : rate > 0 ? remaining / rate : Infinity;
        A[row + A_WAIT] = wait;
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
          if (a !== best && (A[a.row + A_WAIT] as number) <= limit) {
            a.coDue = best.coDue;
            best.coDue = a;
          }
        }
      }
      const bestDue = now + bestWait;
      begin = end;
      if (best === null) {
        if (holder !== null) {
          this.queue.cancel(A[holder.row + A_EVENT] as number);
          A[holder.row + A_EVENT] = -1;
        }
      } else if (holder === null) {
        A[best.row + A_EVENT] = this.queue.scheduleCall(bestDue, this.completeHandler, best);
      } else {
        const handle = A[holder.row + A_EVENT] as number;
        A[holder.row + A_EVENT] = -1;
        A[best.row + A_EVENT] = this.queue.reschedule(handle, bestDue, best);
      }
    }
  }

  /** Freeze `a` at the level in `filling[0]`, saturated by `by` (null: its maxRate, or no finite resource). */
  private freeze(a: Activity, by: Resource | null): void {
    const level = this.filling[0] as number;
    a.frozen = true;
    const terms = a.terms;
    const ar = a.resources;
    const finite = level !== Infinity;
    const R = this.store.res;
    for (let k = 0; k < ar.length; k++) {
      const r2 = ar[k] as Resource;
      const o = r2.id * RES_STRIDE;
      const l = terms[3 * k + 1] as number;
      if (finite) {
        R[o + R_FREE] = (R[o + R_FREE] as number) - l * level;
        R[o + R_USAGE] = (R[o + R_USAGE] as number) + l * level;
      }
      const load = (R[o + R_LOAD] as number) - l;
      R[o + R_LOAD] = load;
      r2.unfrozen--;
      if (r2 !== by && r2.unfrozen > 0 && R[o + R_CAPACITY] !== Infinity) {
        r2.version++;
        const f = R[o + R_FREE] as number;
        const free = f > 0 ? f : 0;
        const next = free / load;
        this.heap.push(next > level ? next : level, r2.index, r2.version);
      }
    }
    const row = a.row;
    let A = this.store.act;
    const rate = ((A[row + A_WEIGHT] as number) * level) / (A[row + A_SIZE] as number);
    if (rate === A[row + A_RATE] && by === a.bottleneck) return;
    const now = this.filling[1] as number;
    const segmentStart = A[row + A_SEGMENT] as number;
    if (now > segmentStart) {
      if (this.onSegment !== null) {
        this.onSegment(a, segmentStart, now, a.bottleneck);
        A = this.store.act;
      }
      A[row + A_SEGMENT] = now;
    }
    A[row + A_RATE] = rate;
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
