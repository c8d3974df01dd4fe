/**
 * The objects the fluid model hands out: Resource and Activity are thin facades over
 * their records in the store (store.ts), read by the caller and passed to callbacks;
 * the solver reads them only to call back the user.
 */

import type { EventHandle } from "../event-queue.ts";
import type { FluidStore } from "./store.ts";
import * as L from "./layout.ts";

// perf P2
const BLOCK = L.BLOCK;
const BLOCK_SHIFT = L.BLOCK_SHIFT;
const A_REMAINING = L.A_REMAINING;
const A_RATE = L.A_RATE;
const A_LAST = L.A_LAST;
const A_WAIT = L.A_WAIT;
const A_WEIGHT = L.A_WEIGHT;
const A_SIZE = L.A_SIZE;
const A_MAX_RATE = L.A_MAX_RATE;
const A_SEGMENT = L.A_SEGMENT;
const A_EVENT = L.A_EVENT;
const A_MARK = L.A_MARK;
const A_FLAGS = L.A_FLAGS;
const A_CO_DUE = L.A_CO_DUE;
const A_BOTTLENECK = L.A_BOTTLENECK;
const A_NRES = L.A_NRES;
const A_TERMS = L.A_TERMS;
const TERM = L.TERM;
const T_POS = L.T_POS;
const T_LOAD = L.T_LOAD;
const RUNNING = L.RUNNING;
const C_MULT = L.C_MULT;
const C_START = L.C_START;
const C_END = L.C_END;
const COLD = L.COLD;
const K_REMAINING = L.K_REMAINING;
const K_LAST = L.K_LAST;
const K_WAIT = L.K_WAIT;
const K_WEIGHT = L.K_WEIGHT;
const K_SIZE = L.K_SIZE;
const K_MAX_RATE = L.K_MAX_RATE;
const K_SEGMENT = L.K_SEGMENT;
const K_MULT = L.K_MULT;
const K_START = L.K_START;
const K_END = L.K_END;
const KEPT = L.KEPT;
const R_CAPACITY = L.R_CAPACITY;
const R_FREE = L.R_FREE;
const R_LOAD = L.R_LOAD;
const R_USAGE = L.R_USAGE;
const R_LAST = L.R_LAST;
const R_WORK = L.R_WORK;
const R_BUSY = L.R_BUSY;
const R_MULT = L.R_MULT;
const R_ADJ = L.R_ADJ;
const R_ADJ_COUNT = L.R_ADJ_COUNT;
const R_ADJ_CAP = L.R_ADJ_CAP;
const R_STAMP = L.R_STAMP;
const R_INLINE = L.R_INLINE;
const INLINE_ADJ = L.INLINE_ADJ;

/** The store of one model, with its facades. */
export type Store = FluidStore<Activity, Resource>;

export interface ResourceSpec {
  name: string;
  /** Work units per second (FLOP/s, bytes/s, …) of ONE instance. May be Infinity. */
  capacity: number;
  /** Identical instances this resource stands for (symmetry folding). Default 1. */
  multiplicity?: number;
  /** Free-form tag for attribution, e.g. "sm", "hbm", "nvlink", "network". */
  kind?: string;
}

const NO_ACTIVITIES: readonly Activity[] = Object.freeze([]) as readonly Activity[];

export class Resource {
  /** @internal Int offset of its record in the model's resource arena (first: what `start` reads). */
  readonly row: number;
  private readonly store: Store;
  readonly id: number;
  readonly name: string;
  readonly kind: string;
  readonly multiplicity: number;
  private list: readonly Activity[] = NO_ACTIVITIES;
  private listStamp = 0;

  /** @internal Created by `FluidModel.addResource`. */
  constructor(id: number, spec: ResourceSpec, store: Store, now: number) {
    this.id = id;
    this.name = spec.name;
    this.kind = spec.kind ?? spec.name;
    this.multiplicity = spec.multiplicity ?? 1;
    this.store = store;
    const row = store.res.alloc(0);
    this.row = row;
    store.resourceOf[row >> BLOCK_SHIFT] = this;
    const I = store.rI;
    I.fill(0, row, row + BLOCK);
    const F = store.rF;
    F[(row >> 1) + R_CAPACITY] = spec.capacity;
    F[(row >> 1) + R_LAST] = now;
    F[(row >> 1) + R_MULT] = this.multiplicity;
    I[row + R_ADJ] = row + R_INLINE;
    I[row + R_ADJ_CAP] = INLINE_ADJ;
  }

  /** Activities currently using this resource (a snapshot, rebuilt when the list changed). */
  get activities(): readonly Activity[] {
    const I = this.store.rI;
    const row = this.row;
    const stamp = I[row + R_STAMP] as number;
    if (stamp !== this.listStamp) {
      this.listStamp = stamp;
      const n = I[row + R_ADJ_COUNT] as number;
      const adj = I[row + R_ADJ] as number;
      const list: Activity[] = [];
      for (let j = 0; j < n; j++) list.push(this.store.activityOf[(I[adj + j] as number) >> BLOCK_SHIFT] as Activity);
      this.list = n === 0 ? NO_ACTIVITIES : list;
    }
    return this.list;
  }

  /** Work units per second of one instance. Set it through `FluidModel.setCapacity`, which re-solves. */
  get capacity(): number {
    return this.store.rF[(this.row >> 1) + R_CAPACITY] as number;
  }
  set capacity(value: number) {
    this.store.rF[(this.row >> 1) + R_CAPACITY] = value;
  }
  /** Seconds during which at least one activity consumed this resource. */
  get busySeconds(): number {
    return this.store.rF[(this.row >> 1) + R_BUSY] as number;
  }
  /** Work done on one instance (units of capacity × seconds). */
  get workDone(): number {
    return this.store.rF[(this.row >> 1) + R_WORK] as number;
  }
  /** Current consumption of one instance, units per second. */
  get usage(): number {
    return this.store.rF[(this.row >> 1) + R_USAGE] as number;
  }
  /** Time up to which busySeconds and workDone are counted. */
  get lastSettle(): number {
    return this.store.rF[(this.row >> 1) + R_LAST] as number;
  }
  /** Solver scratch: capacity left in the last solve. */
  get free(): number {
    return this.store.rF[(this.row >> 1) + R_FREE] as number;
  }
  /** Solver scratch: load of the activities not frozen, per unit of level. */
  get load(): number {
    return this.store.rF[(this.row >> 1) + R_LOAD] as number;
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
  /**
   * Hand the activity back for reuse (as `FluidModel.recycle` does) as soon as its
   * `onComplete` returns, unless that callback recycled it itself. For callers that
   * keep no reference to it: an ended activity that is not recycled copies its numbers
   * out of its record (perf P7).
   */
  recycle?: boolean;
}

export type ActivityState = "running" | "done" | "cancelled";

export class Activity {
  // Fields are written only by the engine; an activity object may be reused
  // after `FluidModel.recycle`, which is why they are not readonly. The numbers
  // live in the model's records (store.ts).
  // perf P18: keep rec first, recycleOnEnd last, and id between.
  /** @internal Int offset of its record while it holds one, -1 after. */
  rec = -1;
  state: ActivityState = "running";
  onComplete: ((activity: Activity) => void) | undefined = undefined;
  data: unknown = undefined;
  id = 0;
  label = "";
  private readonly store: Store;
  /** The numbers of an ended activity that gave its record back (see K_*). Null while it has one. */
  private kept: number[] | null = null;
  /** Its resources, then its bottleneck, once it gave its record back. */
  private keptLinks: (Resource | null)[] | null = null;
  /** @internal A cancelled activity's record not yet free (see FluidModel.cancel), -1: none. */
  pendingRec = -1;
  /** @internal Recycled by the model once its `onComplete` returns (`ActivitySpec.recycle`). */
  recycleOnEnd = false;

  /** @internal Created by `FluidModel.start`. */
  constructor(store: Store) {
    this.store = store;
  }

  /**
   * @internal (Re)initialise from a spec and lease a record; validates before
   * touching any resource. `scratch` holds the distinct resources found.
   */
  init(id: number, spec: ActivitySpec, now: number, scratch: Resource[], works: number[]): this {
    const label = spec.label ?? "";
    const weight = spec.weight ?? 1;
    const multiplicity = spec.multiplicity ?? 1;
    const maxRate = spec.maxRate ?? Infinity;
    let n = 0;
    let largest = 0;
    const work = spec.work;
    for (let j = 0; j < work.length; j++) {
      const entry = work[j] as readonly [Resource, number];
      const resource = entry[0];
      const amount = entry[1];
      if (!(amount >= 0) || !Number.isFinite(amount)) {
        throw new RangeError(`activity ${label || id}: work on ${resource.name} must be a finite number >= 0, got ${amount}`);
      }
      if (amount === 0) continue;
      // The same resource named twice (a send to oneself) is one entry with the summed work.
      let seen = -1;
      for (let i = 0; i < n; i++) if (scratch[i] === resource) seen = i;
      if (seen >= 0) works[seen] = (works[seen] as number) + amount;
      else {
        scratch[n] = resource;
        works[n] = amount;
        n++;
      }
    }
    for (let i = 0; i < n; i++) if ((works[i] as number) > largest) largest = works[i] as number;
    const size = spec.size ?? (largest > 0 ? largest : 1);
    if (!(weight > 0) || !(multiplicity > 0) || !(size > 0) || !(maxRate > 0)) {
      throw new RangeError(`activity ${label || id}: weight, multiplicity, size and maxRate must be > 0`);
    }
    this.id = id;
    this.label = label;
    this.onComplete = spec.onComplete;
    this.data = spec.data;
    this.recycleOnEnd = spec.recycle === true;
    this.state = "running";
    const store = this.store;
    const pending = this.pendingRec;
    if (pending >= 0) {
      // Its cancelled record may still be on a completion chain: as the restarted
      // object it was, it ends the chain there (see FluidModel.cancel).
      store.aI[pending + A_CO_DUE] = -1;
      this.pendingRec = -1;
    }
    const rec = store.leaseActivity(n);
    this.rec = rec;
    store.activityOf[rec >> BLOCK_SHIFT] = this;
    const I = store.aI;
    const F = store.aF;
    const f = rec >> 1;
    F[f + A_REMAINING] = 1;
    F[f + A_RATE] = 0;
    F[f + A_LAST] = now;
    F[f + A_WAIT] = Infinity;
    F[f + A_WEIGHT] = weight;
    F[f + A_SIZE] = size;
    F[f + A_MAX_RATE] = maxRate;
    F[f + A_SEGMENT] = now;
    F[f + A_EVENT] = -1;
    I[rec + A_MARK] = 0;
    I[rec + A_FLAGS] = RUNNING;
    I[rec + A_CO_DUE] = -1;
    I[rec + A_BOTTLENECK] = -1;
    const terms = I[rec + A_TERMS] as number;
    const c = (rec >> BLOCK_SHIFT) * COLD;
    const cold = store.cold;
    cold[c + C_MULT] = multiplicity;
    cold[c + C_START] = now;
    cold[c + C_END] = NaN;
    // The resources' multiplicities are read from their records, which start() touches next.
    const RF = store.rF;
    for (let i = 0; i < n; i++) {
      const row = (scratch[i] as Resource).row;
      const t = terms + TERM * i;
      const w = works[i] as number;
      I[t] = row;
      I[t + T_POS] = 0;
      F[(t + T_LOAD) >> 1] = ((multiplicity / (RF[(row >> 1) + R_MULT] as number)) * w * weight) / size;
      store.setWork(rec, i, w);
    }
    return this;
  }

  /**
   * @internal The activity ended (the model wrote its end into the record). It
   * keeps its record until then: a completion callback that recycles it gives the
   * record straight back, and only otherwise are its numbers copied out here.
   * Returns the record, or -1 if it held none.
   */
  release(keepNumbers: boolean): number {
    const rec = this.rec;
    if (rec < 0) return -1;
    const store = this.store;
    if (keepNumbers) {
      const F = store.aF;
      const f = rec >> 1;
      const c = (rec >> BLOCK_SHIFT) * COLD;
      const n = store.aI[rec + A_NRES] as number;
      // perf P6
      const kept: number[] = [
        F[f + A_REMAINING] as number,
        F[f + A_LAST] as number,
        F[f + A_WAIT] as number,
        F[f + A_WEIGHT] as number,
        F[f + A_SIZE] as number,
        F[f + A_MAX_RATE] as number,
        F[f + A_SEGMENT] as number,
        store.cold[c + C_MULT] as number,
        store.cold[c + C_START] as number,
        store.cold[c + C_END] as number,
      ];
      for (let i = 0; i < n; i++) kept.push(store.work(rec, i));
      this.kept = kept;
      const links: (Resource | null)[] = this.resources as Resource[];
      links.push(this.bottleneck);
      this.keptLinks = links;
    }
    this.rec = -1;
    return rec;
  }

  private num(field: number, keptField: number): number {
    const rec = this.rec;
    if (rec >= 0) return this.store.aF[(rec >> 1) + field] as number;
    const kept = this.kept;
    return kept === null ? NaN : (kept[keptField] as number);
  }

  private coldNum(field: number, keptField: number): number {
    const rec = this.rec;
    if (rec >= 0) return this.store.cold[(rec >> BLOCK_SHIFT) * COLD + field] as number;
    const kept = this.kept;
    return kept === null ? NaN : (kept[keptField] as number);
  }

  /** The resources it touches (each once), in the order of its spec. */
  get resources(): readonly Resource[] {
    const rec = this.rec;
    if (rec < 0) {
      const links = this.keptLinks;
      return links === null ? [] : (links.slice(0, links.length - 1) as Resource[]);
    }
    const store = this.store;
    const n = store.aI[rec + A_NRES] as number;
    const terms = store.aI[rec + A_TERMS] as number;
    const out: Resource[] = [];
    for (let i = 0; i < n; i++) out.push(store.resourceOf[(store.aI[terms + TERM * i] as number) >> BLOCK_SHIFT] as Resource);
    return out;
  }

  /** Fraction still to do, 1 → 0. */
  get remaining(): number {
    return this.num(A_REMAINING, K_REMAINING);
  }
  /** Progress rate, fraction per second (0 once ended). */
  get rate(): number {
    return this.rec >= 0 ? (this.store.aF[(this.rec >> 1) + A_RATE] as number) : 0;
  }
  get weight(): number {
    return this.num(A_WEIGHT, K_WEIGHT);
  }
  get multiplicity(): number {
    return this.coldNum(C_MULT, K_MULT);
  }
  get size(): number {
    return this.num(A_SIZE, K_SIZE);
  }
  get maxRate(): number {
    return this.num(A_MAX_RATE, K_MAX_RATE);
  }
  get startTime(): number {
    return this.coldNum(C_START, K_START);
  }
  /** When it ended (NaN while running). */
  get endTime(): number {
    return this.coldNum(C_END, K_END);
  }
  get lastSettle(): number {
    return this.num(A_LAST, K_LAST);
  }
  get segmentStart(): number {
    return this.num(A_SEGMENT, K_SEGMENT);
  }
  /** Seconds to completion at the rates of the last solve. */
  get wait(): number {
    return this.num(A_WAIT, K_WAIT);
  }
  /** Handle of its completion event, -1 if it holds none. */
  get event(): EventHandle {
    return this.rec >= 0 ? (this.store.aF[(this.rec >> 1) + A_EVENT] as number) : -1;
  }
  /** The resource that froze this activity in the last solve (null: maxRate or unconstrained). */
  get bottleneck(): Resource | null {
    const rec = this.rec;
    if (rec < 0) {
      const links = this.keptLinks;
      return links === null ? null : (links[links.length - 1] as Resource | null);
    }
    const row = this.store.aI[rec + A_BOTTLENECK] as number;
    return row < 0 ? null : (this.store.resourceOf[row >> BLOCK_SHIFT] as Resource);
  }

  /** Work per copy on a resource (0 if it does not touch it). */
  workOn(r: Resource): number {
    const rec = this.rec;
    if (rec < 0) {
      const links = this.keptLinks;
      const kept = this.kept;
      if (links === null || kept === null) return 0;
      const i = links.indexOf(r);
      return i < 0 || i === links.length - 1 ? 0 : (kept[KEPT + i] as number);
    }
    const store = this.store;
    const n = store.aI[rec + A_NRES] as number;
    const terms = store.aI[rec + A_TERMS] as number;
    for (let i = 0; i < n; i++) if (store.aI[terms + TERM * i] === r.row) return store.work(rec, i);
    return 0;
  }

  /** Fraction done, as of the last time the engine settled it (call `fluid.settle(a)` for now). */
  get progress(): number {
    return 1 - this.remaining;
  }
}

/**
 * Told of each stretch of constant rate an activity ends (rate change or completion).
 * An object with a method, not a function (perf P10).
 */
export interface SegmentListener {
  onSegment(activity: Activity, t0: number, t1: number, bottleneck: Resource | null): void;
}
