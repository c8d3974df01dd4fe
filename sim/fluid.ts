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
 *
 * Where the parts are: fluid/facades.ts (Resource, Activity), fluid/store.ts and
 * fluid/layout.ts (the records behind them), fluid/solve.ts (the filling),
 * fluid/read-ahead.ts (cache prefetch, large models only), fluid/reference.ts (the
 * same rates on plain objects, for reading and for tests). This module is the model:
 * what starts, cancels and completes activities, and when a solve runs.
 */

import type { EventQueue } from "./event-queue.ts";
import { Activity, Resource, type ActivitySpec, type ActivityState, type ResourceSpec, type SegmentListener, type Store } from "./fluid/facades.ts";
import * as L from "./fluid/layout.ts";
import { PREFETCH_MIN_BLOCKS, ReadAhead } from "./fluid/read-ahead.ts";
import { Solver } from "./fluid/solve.ts";
import { FluidStore, objectList } from "./fluid/store.ts";

export { Activity, Resource, type ActivitySpec, type ActivityState, type ResourceSpec, type SegmentListener };

// perf P2
const BLOCK_SHIFT = L.BLOCK_SHIFT;
const A_REMAINING = L.A_REMAINING;
const A_RATE = L.A_RATE;
const A_LAST = L.A_LAST;
const A_SEGMENT = L.A_SEGMENT;
const A_EVENT = L.A_EVENT;
const A_MARK = L.A_MARK;
const A_FLAGS = L.A_FLAGS;
const A_CO_DUE = L.A_CO_DUE;
const A_NRES = L.A_NRES;
const A_TERMS = L.A_TERMS;
const TERM = L.TERM;
const T_POS = L.T_POS;
const RUNNING = L.RUNNING;
const DONE = L.DONE;
const CANCELLED = L.CANCELLED;
const STATE_MASK = L.STATE_MASK;
const C_END = L.C_END;
const COLD = L.COLD;
const R_ADJ = L.R_ADJ;
const R_ADJ_COUNT = L.R_ADJ_COUNT;
const R_STAMP = L.R_STAMP;
/** Fraction of an activity left below which it counts as finished (float noise of symmetric work). */
const COMPLETION_TOLERANCE = 1e-9;

export class FluidModel {
  readonly resources: Resource[] = [];
  /** Number of component solves done (for benchmarks and tests). */
  solves = 0;
  /** Sum of component sizes (activities) solved. */
  solvedActivities = 0;
  /**
   * @internal Activity blocks in use from which each solve reads ahead (read-ahead.ts);
   * tests set it to 0 or Infinity to compare runs with and without.
   */
  prefetchMinBlocks = PREFETCH_MIN_BLOCKS;

  private readonly queue: EventQueue;
  private readonly store: Store = new FluidStore<Activity, Resource>();
  private readonly solver: Solver;
  private readonly readAhead: ReadAhead;
  private nextActivityId = 0;
  private running = 0;
  private solvePending = false;
  /** Activities finishing together, one list per nesting depth of complete() (depth 0's from the start). */
  private readonly batches: Activity[][] = [objectList<Activity>()];
  private completeDepth = 0;
  private readonly pool: Activity[] = objectList<Activity>();
  /** Scratch for Activity.init: the distinct resources of a spec and their works. */
  private readonly specRes: Resource[] = [];
  private readonly specWorks: number[] = [];
  private readonly solveHandler = (): void => this.solve();
  private readonly completeHandler = (rec: number): void => this.complete(rec);

  constructor(queue: EventQueue) {
    this.queue = queue;
    this.solver = new Solver(this.store, queue, this.resources, this.completeHandler);
    this.readAhead = new ReadAhead(this.store, queue, this.completeHandler);
  }

  /** Told of each stretch of constant rate an activity ends (rate change or completion). */
  get segmentListener(): SegmentListener | null {
    return this.solver.segmentListener;
  }
  set segmentListener(listener: SegmentListener | null) {
    this.solver.segmentListener = listener;
  }

  /** Where the read-ahead leaves what it read, so that its reads are not optimized away. */
  get touchSink(): number {
    return this.readAhead.touchSink;
  }

  /** The solver's mark epoch (tests set it near its limit). */
  private get epoch(): number {
    return this.solver.epoch;
  }
  private set epoch(epoch: number) {
    this.solver.epoch = epoch;
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
    this.seed(resource.row);
  }

  start(spec: ActivitySpec): Activity {
    const a = (this.pool.pop() ?? new Activity(this.store)).init(this.nextActivityId++, spec, this.queue.now, this.specRes, this.specWorks);
    const store = this.store;
    const rec = a.rec;
    const n = store.aI[rec + A_NRES] as number;
    for (let i = 0; i < n; i++) {
      const t = (store.aI[rec + A_TERMS] as number) + TERM * i;
      const row = store.aI[t] as number;
      store.aI[t + T_POS] = store.attach(row, rec);
      this.seed(row);
    }
    this.running++;
    if (n === 0) {
      this.solver.seedLoose(a);
      this.requestSolve();
    }
    return a;
  }

  /**
   * Abort a running activity; its work so far stays counted, the rest is dropped.
   *
   * Its record is freed only after the next solve: until then a completion
   * event firing at this instant may still walk the chain of activities due with
   * it, which skips a cancelled activity and goes on to the next.
   */
  cancel(a: Activity): void {
    if (a.state !== "running") return;
    const rec = a.rec;
    this.store.settleActivity(rec, this.queue.now);
    this.detach(rec, "cancelled");
    a.release(true);
    if ((this.store.aI[rec + A_NRES] as number) === 0) this.store.releaseActivity(rec);
    else {
      a.pendingRec = rec;
      this.solver.pendingFree.push(rec);
    }
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
    const rec = a.release(false);
    if (rec >= 0) this.store.releaseActivity(rec);
    this.pool.push(a);
  }

  /** Bring an activity's `remaining` up to now without changing anything. */
  settle(a: Activity): void {
    if (a.state === "running") this.store.settleActivity(a.rec, this.queue.now);
  }

  /** Bring a resource's busy time and work done up to now. */
  settleResource(r: Resource): void {
    this.store.settleRow(r.row, this.queue.now);
  }

  /** Solve pending changes synchronously (normally done by an event at the same instant). */
  flush(): void {
    if (this.solvePending) this.solve();
  }

  // ---- internals ----

  private seed(row: number): void {
    this.solver.seed(row);
    this.requestSolve();
  }

  /** One solve per instant, an event at this instant, over the pieces the seeds reach (perf P14). */
  private requestSolve(): void {
    if (!this.solvePending) {
      this.solvePending = true;
      this.queue.schedule(this.queue.now, this.solveHandler);
    }
  }

  /** Re-solve the pieces the pending changes touched (solve.ts), then read ahead (read-ahead.ts). */
  private solve(): void {
    this.solvePending = false;
    const solver = this.solver;
    const n = solver.collect();
    this.solves++;
    this.solvedActivities += n;
    solver.solve(this.queue.now);
    if (this.store.acts.top >= this.prefetchMinBlocks) this.readAhead.run();
  }

  private detach(rec: number, state: ActivityState): void {
    const now = this.queue.now;
    const store = this.store;
    const f = rec >> 1;
    const event = store.aF[f + A_EVENT] as number;
    if (event >= 0) {
      this.queue.cancel(event);
      store.aF[f + A_EVENT] = -1;
    }
    const AI = store.aI;
    const RI = store.rI;
    const terms = AI[rec + A_TERMS] as number;
    const n = AI[rec + A_NRES] as number;
    for (let i = 0; i < n; i++) {
      const t = terms + TERM * i;
      const row = AI[t] as number;
      // Its usage leaves the resource in the solve this seeds, at this same instant.
      const s = AI[t + T_POS] as number;
      const count = (RI[row + R_ADJ_COUNT] as number) - 1;
      RI[row + R_ADJ_COUNT] = count;
      RI[row + R_STAMP] = ((RI[row + R_STAMP] as number) + 1) | 0;
      const adj = RI[row + R_ADJ] as number;
      const last = RI[adj + count] as number;
      if (last !== rec) {
        RI[adj + s] = last;
        // Its term for this resource now names position s.
        let lt = AI[last + A_TERMS] as number;
        while (AI[lt] !== row) lt += TERM;
        AI[lt + T_POS] = s;
      }
      this.seed(row);
    }
    const a = store.activityOf[rec >> BLOCK_SHIFT] as Activity;
    const segmentStart = store.aF[f + A_SEGMENT] as number;
    const listener = this.solver.segmentListener;
    if (listener !== null && now > segmentStart) listener.onSegment(a, segmentStart, now, a.bottleneck);
    store.aF[f + A_RATE] = 0;
    store.cold[(rec >> BLOCK_SHIFT) * COLD + C_END] = now;
    store.aI[rec + A_FLAGS] = state === "done" ? DONE : CANCELLED;
    a.state = state;
    this.running--;
  }

  /**
   * The event of `rec`'s piece fired: it is done, and so is every activity of the
   * piece that the last solve found due at this same instant (chained from it
   * through A_CO_DUE). perf P16
   */
  private complete(rec: number): void {
    const now = this.queue.now;
    const store = this.store;
    store.aF[(rec >> 1) + A_EVENT] = -1;
    // Callbacks run below may start activities and even run the queue (and so come
    // back here): each depth has its own list.
    const depth = this.completeDepth;
    let done = this.batches[depth];
    if (done === undefined) {
      done = objectList<Activity>();
      this.batches[depth] = done;
    }
    let n = 0;
    // Chains can go stale when pieces are re-solved: the epoch mark stops any cycle.
    const epoch = this.solver.nextEpoch();
    const AI = store.aI;
    for (let b = rec; b !== -1 && AI[b + A_MARK] !== epoch; b = AI[b + A_CO_DUE] as number) {
      AI[b + A_MARK] = epoch;
      if (((AI[b + A_FLAGS] as number) & STATE_MASK) !== RUNNING) continue;
      if (b !== rec) {
        this.store.settleActivity(b, now);
        if ((store.aF[(b >> 1) + A_REMAINING] as number) > COMPLETION_TOLERANCE) continue;
      }
      done[n++] = store.activityOf[b >> BLOCK_SHIFT] as Activity;
    }
    for (let i = 0; i < n; i++) {
      const b = (done[i] as Activity).rec;
      // A callback of the segment listener may have grown the arenas: read the views again.
      const B = store.aF;
      store.aI[b + A_CO_DUE] = -1;
      const f = b >> 1;
      const event = B[f + A_EVENT] as number;
      if (event >= 0) {
        this.queue.cancel(event);
        B[f + A_EVENT] = -1;
      }
      B[f + A_REMAINING] = 0;
      B[f + A_LAST] = now;
      this.detach(b, "done");
    }
    // Then the records go back; an activity recycled by its callback already gave its record.
    if (n === 1) {
      const a = done[0] as Activity;
      if (a.onComplete) a.onComplete(a);
      if (a.state !== "running") this.afterEnd(a);
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
        if (b.state !== "running") this.afterEnd(b);
      }
    } finally {
      this.completeDepth = depth;
    }
  }

  /**
   * An activity ended and its callback has run: give its record back, and the
   * activity itself too if its spec asked for that. One its callback recycled (and
   * perhaps restarted) holds no record of this run any more and is left alone.
   */
  private afterEnd(a: Activity): void {
    if (a.rec < 0) return;
    if (a.recycleOnEnd) {
      this.recycle(a);
      return;
    }
    const r = a.release(true);
    if (r >= 0) this.store.releaseActivity(r);
  }
}
