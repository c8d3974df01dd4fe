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

import { alignedBuffer, alignedFloat64 } from "./aligned-buffer.ts";
import type { EventHandle, EventQueue } from "./event-queue.ts";

/** Fraction of an activity left below which it counts as finished (float noise of symmetric work). */
const COMPLETION_TOLERANCE = 1e-9;

// ---- memory layout ----
//
// An update (an activity ends, another starts, its component is re-solved)
// touches a handful of resources and activities picked at random among all of
// them: with 10^5 activities nothing it touches is in cache, and its cost is the
// number of cache lines it reads, chiefly those it must read one after the other
// (activity → its resources → their activities → theirs…). So the solver's state
// is not in objects (each a pointer to arrays of pointers to boxed numbers, a
// dozen scattered lines per activity) but in two arenas, each one ArrayBuffer
// seen as Int32Array and Float64Array, cut into 128-byte blocks (two cache
// lines, aligned):
//
// - a resource record holds its numbers, its solver scratch and, inline, the
//   list of the activities on it (up to 8; a longer list moves to blocks of its
//   own in the same arena, doubling);
// - an activity record holds its numbers, its solver scratch and, inline, its
//   terms (resource, position in that resource's list, load per unit of level)
//   for up to 2 resources (more go to a block of their own).
//
// Large arenas are page-aligned (aligned-buffer.ts), so a block is two lines,
// not three.
//
// Records name each other by their int offsets in the arenas, so following a
// link is one read, and the records one update needs are about 2 lines each.
// A freed block goes on a free list of its size (LIFO): an activity that ends
// and is replaced, the common case, hands its record (still in cache) to its
// replacement. The objects the API hands out (Resource, Activity) are thin
// facades over the records; the solver reads them only to call back the user.

/** Int32 slots per block (128 B). */
const BLOCK = 32;
const BLOCK_SHIFT = 5;

// Activity record. Float64 fields (index: (rec >> 1) + field):
const A_REMAINING = 0;
const A_RATE = 1;
const A_LAST = 2;
const A_WAIT = 3;
const A_WEIGHT = 4;
const A_SIZE = 5;
const A_MAX_RATE = 6;
const A_SEGMENT = 7;
const A_EVENT = 8;
// Int32 fields (index: rec + field):
/** Epoch of the last traversal that reached it (solver scratch). */
const A_MARK = 18;
/** Bit 0: frozen in the filling in progress; bits 1-2: state (RUNNING, DONE, CANCELLED). */
const A_FLAGS = 19;
/** Next activity (record) of its piece due at the same instant (set by the solve), -1: none. */
const A_CO_DUE = 20;
/** Record of the resource that froze it in the last solve, -1: its maxRate or none. */
const A_BOTTLENECK = 21;
const A_NRES = 22;
/** Int offset of its first term (rec + A_INLINE when inline). */
const A_TERMS = 23;
const A_INLINE = 24;
const INLINE_TERMS = 2;
// A term: [resource record, position in its list, load (Float64 at +2)], 4 int32.
const TERM = 4;
const T_POS = 1;
const T_LOAD = 2;

const FROZEN = 1;
const RUNNING = 0;
const DONE = 2;
const CANCELLED = 4;
const STATE_MASK = 6;

// Per activity block, not touched by the solver (one cache line): [multiplicity,
// startTime, endTime, work per copy on its inline terms' resources, -]. An activity
// with its terms in a block of their own keeps its works there, after the terms.
const C_MULT = 0;
const C_START = 1;
const C_END = 2;
const C_WORK = 3;
const COLD = 8;

/** The numbers an ended activity keeps once it gave its record back. */
const K_REMAINING = 0;
const K_LAST = 1;
const K_WAIT = 2;
const K_WEIGHT = 3;
const K_SIZE = 4;
const K_MAX_RATE = 5;
const K_SEGMENT = 6;
const K_MULT = 7;
const K_START = 8;
const K_END = 9;
/** Then its works, one per resource. */
const KEPT = 10;

// Resource record. Float64 fields:
const R_CAPACITY = 0;
const R_FREE = 1;
const R_LOAD = 2;
const R_USAGE = 3;
const R_LAST = 4;
const R_WORK = 5;
const R_BUSY = 6;
const R_MULT = 7;
// Int32 fields:
const R_MARK = 16;
/** Its position in the component being solved. */
const R_INDEX = 17;
/** Activities on it not frozen yet in the filling in progress. */
const R_UNFROZEN = 18;
/** Version of its entry in the level heap. */
const R_VERSION = 19;
/** Int offset of its activity list (row + R_INLINE while it fits there). */
const R_ADJ = 20;
const R_ADJ_COUNT = 21;
const R_ADJ_CAP = 22;
/** Bumped whenever its list changes (for `Resource.activities`). */
const R_STAMP = 23;
const R_INLINE = 24;
const INLINE_ADJ = 8;

/**
 * Activity blocks (128 B each) in use from which each solve prefetches the records of
 * the next completions: 512 KB, a core's L2 on the machines this was measured on. The
 * resource records, facades and queue slots an update also reads take as much again,
 * so past this they no longer stay in cache; below, the prefetch would only add work.
 */
const PREFETCH_MIN_BLOCKS = 1 << 12;
/** Resources per activity whose records prefetch reads ahead (bounds its work for wide activities). */
const PREFETCH_TERMS = 4;
/** Records of activities sharing a resource with the next completion that one prefetch reads at most. */
const PREFETCH_RECS = 24;

/** Marks are epochs in Int32 slots: they are reset before the epoch would overflow. */
const EPOCH_LIMIT = 0x7fffff00;

/**
 * An empty array that holds objects from the start. V8 makes `[]` an array of small
 * integers and changes its hidden class at the first object pushed; code compiled
 * against one of the two classes deoptimizes when it meets the other, in every sweep
 * thread and for every model's fresh lists.
 */
function objectList<T extends object>(): T[] {
  const list: (T | null)[] = [null];
  list.pop();
  return list as T[];
}

/**
 * One ArrayBuffer seen as Int32 and Float64, allocated in blocks of 128 B.
 * Size class c is 2^c blocks; freed blocks are kept per class, last in first out.
 */
class Arena {
  buf: ArrayBuffer;
  i32: Int32Array;
  f64: Float64Array;
  /** Blocks handed out from the top. */
  top = 0;
  /**
   * Head of the free list of each size class (the next is in the block's first slot), -1:
   * empty. Filled for every class up front: a read past an array's end deoptimizes the caller.
   */
  private readonly freeHead: number[] = Array.from({ length: 32 }, () => -1);
  /** Called after the buffer moved (new views). */
  private readonly moved: () => void;

  constructor(blocks: number, moved: () => void) {
    this.buf = alignedBuffer(blocks * BLOCK * 4);
    this.i32 = new Int32Array(this.buf, 0, blocks * BLOCK);
    this.f64 = new Float64Array(this.buf, 0, (blocks * BLOCK) >> 1);
    this.moved = moved;
  }

  get blocks(): number {
    return this.i32.length >> BLOCK_SHIFT;
  }

  /** Int offset of 2^cls free blocks. */
  alloc(cls: number): number {
    const head = this.freeHead[cls] as number;
    if (head >= 0) {
      this.freeHead[cls] = this.i32[head] as number;
      return head;
    }
    const n = 1 << cls;
    const at = this.top;
    if ((at + n) << BLOCK_SHIFT > this.i32.length) this.grow(at + n);
    this.top = at + n;
    return at << BLOCK_SHIFT;
  }

  free(off: number, cls: number): void {
    this.i32[off] = this.freeHead[cls] as number;
    this.freeHead[cls] = off;
  }

  private grow(blocks: number): void {
    let n = this.blocks * 2;
    while (n < blocks) n *= 2;
    const buf = alignedBuffer(n * BLOCK * 4);
    const i32 = new Int32Array(buf, 0, n * BLOCK);
    i32.set(this.i32);
    this.buf = buf;
    this.i32 = i32;
    this.f64 = new Float64Array(buf, 0, (n * BLOCK) >> 1);
    this.moved();
  }
}

/**
 * Size class (2^cls blocks) that holds `ints` int32 slots: the bit length of
 * blocks − 1, without a branch. (A loop counting up deoptimized its callers the
 * first time an activity needed more than one block: code that had never run when
 * they were compiled had no type feedback.)
 */
function classOf(ints: number): number {
  const blocks = (ints + BLOCK - 1) >> BLOCK_SHIFT;
  return 32 - Math.clz32(Math.max(blocks, 1) - 1);
}

/**
 * The records of one model and the facades that name them. The Float64 and
 * Int32 views are copied into fields here (and refreshed when an arena grows),
 * so that hot code reads them with one load.
 */
class FluidStore {
  aI: Int32Array;
  aF: Float64Array;
  rI: Int32Array;
  rF: Float64Array;
  /** Per activity block: the numbers the solver does not touch (see C_*). */
  cold: Float64Array;
  /** The facade of the activity holding each activity block. */
  readonly activityOf: (Activity | undefined)[] = [];
  /** The facade of each resource, by block. */
  readonly resourceOf: (Resource | undefined)[] = [];
  readonly acts: Arena;
  readonly res: Arena;

  constructor() {
    this.acts = new Arena(64, () => {
      this.aI = this.acts.i32;
      this.aF = this.acts.f64;
      const cold = alignedFloat64(this.acts.blocks * COLD);
      cold.set(this.cold);
      this.cold = cold;
    });
    this.res = new Arena(64, () => {
      this.rI = this.res.i32;
      this.rF = this.res.f64;
    });
    this.aI = this.acts.i32;
    this.aF = this.acts.f64;
    this.rI = this.res.i32;
    this.rF = this.res.f64;
    this.cold = alignedFloat64(this.acts.blocks * COLD);
  }

  /** A record for an activity on `nres` resources; its terms at aI[rec + A_TERMS]. */
  leaseActivity(nres: number): number {
    const rec = this.acts.alloc(0);
    let terms = rec + A_INLINE;
    if (nres > INLINE_TERMS) {
      // A block of its own: [size class, -, -, -, terms…, works…] (numbers stay 8-byte aligned).
      const cls = classOf(TERM + nres * (TERM + 2));
      const block = this.acts.alloc(cls);
      this.aI[block] = cls;
      terms = block + TERM;
    }
    const I = this.aI;
    I[rec + A_TERMS] = terms;
    I[rec + A_NRES] = nres;
    return rec;
  }

  /** Work per copy of activity `rec` on the resource of its term i. */
  work(rec: number, i: number): number {
    const terms = this.aI[rec + A_TERMS] as number;
    if (terms === rec + A_INLINE) return this.cold[(rec >> BLOCK_SHIFT) * COLD + C_WORK + i] as number;
    return this.aF[((terms + TERM * (this.aI[rec + A_NRES] as number)) >> 1) + i] as number;
  }

  setWork(rec: number, i: number, work: number): void {
    const terms = this.aI[rec + A_TERMS] as number;
    if (terms === rec + A_INLINE) this.cold[(rec >> BLOCK_SHIFT) * COLD + C_WORK + i] = work;
    else this.aF[((terms + TERM * (this.aI[rec + A_NRES] as number)) >> 1) + i] = work;
  }

  releaseActivity(rec: number): void {
    const terms = this.aI[rec + A_TERMS] as number;
    if (terms !== rec + A_INLINE) this.acts.free(terms - TERM, this.aI[terms - TERM] as number);
    this.acts.free(rec, 0);
  }

  /** Append activity record `rec` to resource `row`'s list; returns its position. */
  attach(row: number, rec: number): number {
    let I = this.rI;
    const n = I[row + R_ADJ_COUNT] as number;
    if (n === I[row + R_ADJ_CAP]) {
      const cap = 2 * n;
      const cls = classOf(cap);
      const list = this.res.alloc(cls);
      I = this.rI;
      const old = I[row + R_ADJ] as number;
      I.copyWithin(list, old, old + n);
      if (old !== row + R_INLINE) this.res.free(old, classOf(n));
      I[row + R_ADJ] = list;
      I[row + R_ADJ_CAP] = BLOCK << cls;
    }
    I[(I[row + R_ADJ] as number) + n] = rec;
    I[row + R_ADJ_COUNT] = n + 1;
    I[row + R_STAMP] = ((I[row + R_STAMP] as number) + 1) | 0;
    return n;
  }
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

const NO_ACTIVITIES: readonly Activity[] = Object.freeze([]) as readonly Activity[];

export class Resource {
  /** @internal Int offset of its record in the model's resource arena (first: what `start` reads). */
  readonly row: number;
  private readonly store: FluidStore;
  readonly id: number;
  readonly name: string;
  readonly kind: string;
  readonly multiplicity: number;
  private list: readonly Activity[] = NO_ACTIVITIES;
  private listStamp = 0;

  /** @internal Created by `FluidModel.addResource`. */
  constructor(id: number, spec: ResourceSpec, store: FluidStore, now: number) {
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
   * out of its record, and in a step simulation, where nearly every activity ends that
   * way, those copies were half of all it allocated.
   */
  recycle?: boolean;
}

export type ActivityState = "running" | "done" | "cancelled";

export class Activity {
  // Fields are written only by the engine; an activity object may be reused
  // after `FluidModel.recycle`, which is why they are not readonly. The numbers
  // live in the model's records (see the memory layout above): this object is
  // what the caller holds and what callbacks receive.
  // FluidModel.prefetch reads rec, id and recycleOnEnd to bring in every cache line
  // of this object (112 bytes): keep rec first, recycleOnEnd last, and id between.
  /** @internal Int offset of its record while it holds one, -1 after. */
  rec = -1;
  state: ActivityState = "running";
  onComplete: ((activity: Activity) => void) | undefined = undefined;
  data: unknown = undefined;
  id = 0;
  label = "";
  private readonly store: FluidStore;
  /** The numbers of an ended activity that gave its record back (see K_*). Null while it has one. */
  private kept: number[] | null = null;
  /** Its resources, then its bottleneck, once it gave its record back. */
  private keptLinks: (Resource | null)[] | null = null;
  /** @internal A cancelled activity's record not yet free (see FluidModel.cancel), -1: none. */
  pendingRec = -1;
  /** @internal Recycled by the model once its `onComplete` returns (`ActivitySpec.recycle`). */
  recycleOnEnd = false;

  /** @internal Created by `FluidModel.start`. */
  constructor(store: FluidStore) {
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
      // A plain array, not a Float64Array: every activity that ends without being recycled
      // comes here, and a typed array of this size is a separately allocated buffer that the
      // collector must also sweep, about a fifth of a small step simulation's time.
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
 * An object with a method, not a function: a model made per run (a sweep point) passes
 * itself, and the call site keeps one target, the class's method, from run to run. A
 * new closure per run was a new target, and code compiled against the first run's
 * deoptimized at the second's, in every sweep thread.
 */
export interface SegmentListener {
  onSegment(activity: Activity, t0: number, t1: number, bottleneck: Resource | null): void;
}

export class FluidModel {
  readonly resources: Resource[] = [];
  /** Number of component solves done (for benchmarks and tests). */
  solves = 0;
  /** Sum of component sizes (activities) solved. */
  solvedActivities = 0;
  segmentListener: SegmentListener | null = null;

  private readonly queue: EventQueue;
  private readonly store = new FluidStore();
  private nextActivityId = 0;
  private running = 0;
  // Scratch lists (records, or facades for loose activities) with their lengths kept apart.
  private readonly seeds: number[] = [];
  private seedCount = 0;
  private readonly looseSeeds: Activity[] = [];
  private looseCount = 0;
  private solvePending = false;
  private epoch = 0;
  private readonly compRes: number[] = [];
  private resCount = 0;
  private readonly compActs: number[] = [];
  private actCount = 0;
  private readonly pieceEnds: number[] = [];
  private pieceCount = 0;
  /** Activities finishing together, one list per nesting depth of complete() (depth 0's from the start). */
  private readonly batches: Activity[][] = [objectList<Activity>()];
  private completeDepth = 0;
  /** Records of cancelled activities, freed at the end of the next solve (see cancel()). */
  private readonly pendingFree: number[] = [];
  private heap = new LevelHeap();
  /** [level, now] of the progressive filling in progress: numbers passed through calls would be boxed. */
  private readonly filling = new Float64Array(2);
  private readonly pool: Activity[] = objectList<Activity>();
  /** Scratch for Activity.init: the distinct resources of a spec and their works. */
  private readonly specRes: Resource[] = [];
  private readonly specWorks: number[] = [];
  private readonly solveHandler = (): void => this.solve();
  private readonly completeHandler = (rec: number): void => this.complete(rec);
  /**
   * @internal Activity blocks in use from which each solve prefetches (see prefetch);
   * tests set it to 0 or Infinity to compare runs with and without.
   */
  prefetchMinBlocks = PREFETCH_MIN_BLOCKS;
  /** The records of the next completions, as the queue named them at the last prefetch. */
  private readonly upcoming: number[] = [0, 0, 0, 0];
  /** Scratch for the queue's search (two heap nodes per record asked for). */
  private readonly upcomingAt = new Int32Array(8);
  private upcomingCount = 0;
  /** Scratch: what one prefetch reads (records, resource rows, resource facades). */
  private readonly prefetchRecs = new Int32Array(PREFETCH_RECS + 1);
  private readonly prefetchRows = new Int32Array(PREFETCH_TERMS);
  private readonly prefetchResources: Resource[] = objectList<Resource>();
  /** Where prefetch leaves what it read, so that its reads are not optimized away. */
  touchSink = 0;

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
      this.looseSeeds[this.looseCount++] = a;
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
    this.settleActivity(rec, this.queue.now);
    this.detach(rec, "cancelled");
    a.release(true);
    if ((this.store.aI[rec + A_NRES] as number) === 0) this.store.releaseActivity(rec);
    else {
      a.pendingRec = rec;
      this.pendingFree.push(rec);
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
    if (a.state === "running") this.settleActivity(a.rec, this.queue.now);
  }

  /** Bring a resource's busy time and work done up to now. */
  settleResource(r: Resource): void {
    this.settleRow(r.row, this.queue.now);
  }

  /** Solve pending changes synchronously (normally done by an event at the same instant). */
  flush(): void {
    if (this.solvePending) this.solve();
  }

  // ---- internals ----

  private seed(row: number): void {
    this.seeds[this.seedCount++] = row;
    this.requestSolve();
  }

  private requestSolve(): void {
    if (!this.solvePending) {
      this.solvePending = true;
      this.queue.schedule(this.queue.now, this.solveHandler);
    }
  }

  private settleRow(row: number, now: number): void {
    const F = this.store.rF;
    const o = row >> 1;
    const dt = now - (F[o + R_LAST] as number);
    if (dt > 0) {
      const usage = F[o + R_USAGE] as number;
      F[o + R_WORK] = (F[o + R_WORK] as number) + usage * dt;
      if (usage > 0) F[o + R_BUSY] = (F[o + R_BUSY] as number) + dt;
    }
    F[o + R_LAST] = now;
  }

  private settleActivity(rec: number, now: number): void {
    const F = this.store.aF;
    const f = rec >> 1;
    const dt = now - (F[f + A_LAST] as number);
    const rate = F[f + A_RATE] as number;
    if (dt > 0 && rate > 0) {
      const remaining = (F[f + A_REMAINING] as number) - rate * dt;
      F[f + A_REMAINING] = remaining < 0 ? 0 : remaining;
    }
    F[f + A_LAST] = now;
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
    if (this.segmentListener !== null && now > segmentStart) this.segmentListener.onSegment(a, segmentStart, now, a.bottleneck);
    store.aF[f + A_RATE] = 0;
    store.cold[(rec >> BLOCK_SHIFT) * COLD + C_END] = now;
    store.aI[rec + A_FLAGS] = state === "done" ? DONE : CANCELLED;
    a.state = state;
    this.running--;
  }

  /**
   * The event of `rec`'s piece fired: it is done, and so is every activity of the
   * piece that the last solve found due at this same instant (chained from it
   * through A_CO_DUE). Finishing those together matters for symmetric work (the
   * hops of a ring all end at once): one by one, each would pay a solve of the
   * whole piece.
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
    const epoch = this.nextEpoch();
    const AI = store.aI;
    for (let b = rec; b !== -1 && AI[b + A_MARK] !== epoch; b = AI[b + A_CO_DUE] as number) {
      AI[b + A_MARK] = epoch;
      if (((AI[b + A_FLAGS] as number) & STATE_MASK) !== RUNNING) continue;
      if (b !== rec) {
        this.settleActivity(b, now);
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

  /** A fresh epoch for marks; marks are reset before it would overflow an Int32 slot. */
  private nextEpoch(): number {
    if (this.epoch >= EPOCH_LIMIT) this.resetMarks();
    return ++this.epoch;
  }

  /** @internal Clear every mark and restart epochs at 0 (exposed for tests through `epoch`). */
  private resetMarks(): void {
    const store = this.store;
    for (const r of this.resources) store.rI[r.row + R_MARK] = 0;
    // Records of running or ended activities: their facades name them.
    const acts = store.activityOf;
    for (let b = 0; b < acts.length; b++) {
      const a = acts[b];
      if (a !== undefined && a.rec === b << BLOCK_SHIFT) store.aI[a.rec + A_MARK] = 0;
    }
    for (const rec of this.pendingFree) store.aI[rec + A_MARK] = 0;
    this.epoch = 0;
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
    this.nextEpoch();
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
    if (this.pendingFree.length > 0) this.freePending();
    if (this.store.acts.top >= this.prefetchMinBlocks) this.prefetch();
  }

  /**
   * Software pipelining of cache misses across events. A completion walks a chain
   * of records: its own, then its resources' (and its facade), then their other
   * activities' (and the resources' facades), each found only once the one before
   * has arrived; when they do not fit in cache, each link is a miss paid in series.
   * The queue knows which completions come next. The last call left their records
   * in `upcoming`, earliest first; the first has fired since. This reads one link
   * further along each chain than the last call did: for the next completion, the
   * records at the end of its chain and the facades; for the one after, its
   * resources' records; for the third, its own record. Then it asks the queue for the
   * list the next call will use, which brings in those events' slots. Each read
   * follows only links an earlier call brought in, so the misses of one call do not
   * wait for each other and overlap, and when a completion fires its chain is in
   * cache. Only reads: results do not depend on it.
   */
  private prefetch(): void {
    const up = this.upcoming;
    const count = this.upcomingCount;
    const store = this.store;
    const AI = store.aI;
    const RI = store.rI;
    // First the addresses, from lines earlier calls brought in: no misses here.
    const recs = this.prefetchRecs;
    let na = 0;
    const rows = this.prefetchRows;
    let nr = 0;
    let facade: Activity | undefined;
    const resources = this.prefetchResources;
    let nf = 0;
    if (count > 1) {
      const a = up[1] as number;
      const terms = AI[a + A_TERMS] as number;
      const nres = AI[a + A_NRES] as number;
      const end = terms + TERM * (nres < PREFETCH_TERMS ? nres : PREFETCH_TERMS);
      // Activities that share one resource often share the others, listed in the same
      // order (they attach and leave together): an entry equal to the first list's at
      // the same place is not read twice.
      let first = -1;
      for (let t = terms; t < end; t += TERM) {
        const row = AI[t] as number;
        const adj = RI[row + R_ADJ] as number;
        const n = RI[row + R_ADJ_COUNT] as number;
        const last = adj + (n < INLINE_ADJ ? n : INLINE_ADJ);
        if (first < 0) {
          first = adj;
          for (let j = adj; j < last && na < PREFETCH_RECS; j++) recs[na++] = RI[j] as number;
        } else {
          for (let j = adj; j < last && na < PREFETCH_RECS; j++) {
            const x = RI[j] as number;
            if (x !== RI[first + j - adj]) recs[na++] = x;
          }
        }
        // The list is one call old: an activity on it may have ended since and its block
        // gone to another use, so what was read as its rows may name no resource.
        const resource = store.resourceOf[row >> BLOCK_SHIFT];
        if (resource !== undefined) resources[nf++] = resource;
      }
      facade = store.activityOf[a >> BLOCK_SHIFT];
    }
    let cold = -1;
    if (count > 2) {
      const b = up[2] as number;
      const terms = AI[b + A_TERMS] as number;
      const nres = AI[b + A_NRES] as number;
      const k = nres < PREFETCH_TERMS ? nres : PREFETCH_TERMS;
      for (let i = 0; i < k; i++) rows[nr++] = AI[terms + TERM * i] as number;
      cold = b >> BLOCK_SHIFT;
    }
    if (count > 3) recs[na++] = up[3] as number;
    // Then every read, close together, none waiting for another.
    let sink = 0;
    // Fields from every line of the activity's facade (rec, id, recycleOnEnd are 32 and
    // 48 bytes apart, none a pointer followed): its callback reads from all of them.
    if (facade !== undefined) sink ^= facade.rec ^ facade.id ^ (facade.recycleOnEnd ? 1 : 0);
    for (let i = 0; i < nf; i++) sink ^= (resources[i] as Resource).row;
    for (let i = 0; i < nr; i++) {
      const row = rows[i] as number;
      sink ^= (RI[row] as number) ^ (RI[row + BLOCK / 2] as number);
      // The facade's slot only (a pointer compare): the next call follows it.
      if (store.resourceOf[row >> BLOCK_SHIFT] === undefined) sink ^= 1;
    }
    for (let i = 0; i < na; i++) {
      const x = recs[i] as number;
      sink ^= (AI[x] as number) ^ (AI[x + BLOCK / 2] as number);
    }
    if (cold >= 0) {
      sink ^= store.cold[cold * COLD] as number;
      if (store.activityOf[cold] === undefined) sink ^= 1;
    }
    this.touchSink = sink;
    // The queue's look for the next call, last: its work runs while the reads above are
    // still waiting for memory, and its own misses join theirs.
    this.upcomingCount = this.queue.upcomingArgs(this.completeHandler, up, this.upcomingAt);
  }

  /** Free the records of activities cancelled before this solve: no chain names them any more. */
  private freePending(): void {
    const store = this.store;
    const pending = this.pendingFree;
    for (let i = 0; i < pending.length; i++) {
      const rec = pending[i] as number;
      const a = store.activityOf[rec >> BLOCK_SHIFT] as Activity;
      if (a.pendingRec === rec) a.pendingRec = -1;
      store.releaseActivity(rec);
    }
    pending.length = 0;
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
    const RI = this.store.rI;
    const AI = this.store.aI;
    for (let s = 0; s < this.seedCount; s++) {
      const seed = seeds[s] as number;
      if (RI[seed + R_MARK] === epoch) continue;
      let nr = this.resCount;
      let na = this.actCount;
      RI[seed + R_MARK] = epoch;
      RI[seed + R_INDEX] = nr;
      res[nr++] = seed;
      for (let qi = nr - 1; qi < nr; qi++) {
        const r = res[qi] as number;
        const adj = RI[r + R_ADJ] as number;
        const count = RI[r + R_ADJ_COUNT] as number;
        for (let j = 0; j < count; j++) {
          const a = RI[adj + j] as number;
          if (AI[a + A_MARK] === epoch) continue;
          AI[a + A_MARK] = epoch;
          acts[na++] = a;
          const terms = AI[a + A_TERMS] as number;
          const end = terms + TERM * (AI[a + A_NRES] as number);
          for (let t = terms; t < end; t += TERM) {
            const r2 = AI[t] as number;
            if (RI[r2 + R_MARK] !== epoch) {
              RI[r2 + R_MARK] = epoch;
              RI[r2 + R_INDEX] = nr;
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
    const AI = this.store.aI;
    for (let s = 0; s < this.looseCount; s++) {
      const a = loose[s] as Activity;
      if (a.state === "running" && AI[a.rec + A_MARK] !== epoch) {
        AI[a.rec + A_MARK] = epoch;
        const na = this.actCount;
        this.compActs[na] = a.rec;
        this.actCount = na + 1;
        this.pieceEnds[this.pieceCount++] = na + 1;
      }
    }
  }

  /** Settle the accounting of the component's resources at the old rates; reset them for the filling. */
  private settleResources(now: number): void {
    const res = this.compRes;
    const F = this.store.rF;
    const I = this.store.rI;
    for (let i = 0; i < this.resCount; i++) {
      const row = res[i] as number;
      const o = row >> 1;
      this.settleRow(row, now);
      F[o + R_FREE] = F[o + R_CAPACITY] as number;
      F[o + R_LOAD] = 0;
      I[row + R_UNFROZEN] = 0;
      F[o + R_USAGE] = 0;
    }
  }

  /** Settle the component's activities at the old rates; load their resources; queue their rate caps. */
  private settleActivities(now: number): void {
    const acts = this.compActs;
    const RF = this.store.rF;
    const RI = this.store.rI;
    const AF = this.store.aF;
    const AI = this.store.aI;
    const heap = this.heap;
    for (let i = 0; i < this.actCount; i++) {
      const a = acts[i] as number;
      const f = a >> 1;
      this.settleActivity(a, now);
      AI[a + A_FLAGS] = (AI[a + A_FLAGS] as number) & ~FROZEN;
      const terms = AI[a + A_TERMS] as number;
      const end = terms + TERM * (AI[a + A_NRES] as number);
      for (let t = terms; t < end; t += TERM) {
        const r = AI[t] as number;
        const o = (r >> 1) + R_LOAD;
        RF[o] = (RF[o] as number) + (AF[(t + T_LOAD) >> 1] as number);
        RI[r + R_UNFROZEN] = (RI[r + R_UNFROZEN] as number) + 1;
      }
      const maxRate = AF[f + A_MAX_RATE] as number;
      if (maxRate !== Infinity) heap.push((maxRate * (AF[f + A_SIZE] as number)) / (AF[f + A_WEIGHT] as number), -1 - i, 0);
    }
  }

  /** Queue the level at which each loaded, finite resource would saturate. */
  private pushResourceLevels(): void {
    const res = this.compRes;
    const F = this.store.rF;
    const I = this.store.rI;
    const heap = this.heap;
    for (let i = 0; i < this.resCount; i++) {
      const row = res[i] as number;
      I[row + R_VERSION] = 0;
      const o = row >> 1;
      if ((I[row + R_UNFROZEN] as number) > 0 && F[o + R_CAPACITY] !== Infinity) heap.push((F[o + R_FREE] as number) / (F[o + R_LOAD] as number), i, 0);
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
    const store = this.store;
    let level = 0;
    while (heap.size > 0) {
      const entryLevel = heap.topLevel();
      const id = heap.topId();
      const version = heap.topVersion();
      heap.pop();
      if (id < 0) {
        const a = acts[-1 - id] as number;
        if (((store.aI[a + A_FLAGS] as number) & FROZEN) !== 0) continue;
        if (entryLevel > level) level = entryLevel;
        filling[0] = level;
        this.freeze(a, -1);
        continue;
      }
      const r = res[id] as number;
      if (store.rI[r + R_VERSION] !== version || store.rI[r + R_UNFROZEN] === 0) continue;
      if (entryLevel > level) level = entryLevel;
      filling[0] = level;
      // Views are read again at each step: a segment listener called by freeze() may grow the arenas.
      for (let j = 0; j < (store.rI[r + R_ADJ_COUNT] as number); j++) {
        const a = store.rI[(store.rI[r + R_ADJ] as number) + j] as number;
        if (((store.aI[a + A_FLAGS] as number) & FROZEN) === 0) this.freeze(a, r);
      }
    }
  }

  /** Activities left unfrozen (only infinite resources, no maxRate) run at an infinite rate: they finish now. */
  private freezeUnconstrained(): void {
    const acts = this.compActs;
    const store = this.store;
    for (let i = 0; i < this.actCount; i++) {
      const a = acts[i] as number;
      if (((store.aI[a + A_FLAGS] as number) & FROZEN) === 0) this.freeze(a, -1);
    }
  }

  /**
   * One completion event per piece, held by its earliest-finishing activity:
   * a change anywhere in a piece re-solves all of it, so the others need none.
   */
  private schedule(now: number): void {
    const acts = this.compActs;
    const pieceEnds = this.pieceEnds;
    const F = this.store.aF;
    const I = this.store.aI;
    let begin = 0;
    for (let p = 0; p < this.pieceCount; p++) {
      const end = pieceEnds[p] as number;
      let holder = -1;
      let best = -1;
      let bestWait = Infinity;
      for (let i = begin; i < end; i++) {
        const a = acts[i] as number;
        const f = a >> 1;
        const event = F[f + A_EVENT] as number;
        if (event >= 0) {
          if (holder === -1) holder = a;
          else {
            // Pieces that merged bring one event each; keep one.
            this.queue.cancel(event);
            F[f + A_EVENT] = -1;
          }
        }
        const remaining = F[f + A_REMAINING] as number;
        const rate = F[f + A_RATE] as number;
        const wait = remaining <= 0 || rate === Infinity ? 0 : rate > 0 ? remaining / rate : Infinity;
        F[f + A_WAIT] = wait;
        if (wait < bestWait) {
          bestWait = wait;
          best = a;
        }
      }
      // Chain the activities due with the earliest (within float noise) behind it.
      if (best !== -1) {
        I[best + A_CO_DUE] = -1;
        const limit = bestWait * (1 + 1e-9) + 1e-12;
        for (let i = begin; i < end; i++) {
          const a = acts[i] as number;
          if (a !== best && (F[(a >> 1) + A_WAIT] as number) <= limit) {
            I[a + A_CO_DUE] = I[best + A_CO_DUE] as number;
            I[best + A_CO_DUE] = a;
          }
        }
      }
      const bestDue = now + bestWait;
      begin = end;
      if (best === -1) {
        if (holder !== -1) {
          this.queue.cancel(F[(holder >> 1) + A_EVENT] as number);
          F[(holder >> 1) + A_EVENT] = -1;
        }
      } else if (holder === -1) {
        F[(best >> 1) + A_EVENT] = this.queue.scheduleCall(bestDue, this.completeHandler, best);
      } else {
        const handle = F[(holder >> 1) + A_EVENT] as number;
        F[(holder >> 1) + A_EVENT] = -1;
        F[(best >> 1) + A_EVENT] = this.queue.reschedule(handle, bestDue, best);
      }
    }
  }

  /** Freeze activity `a` at the level in `filling[0]`, saturated by resource `by` (-1: its maxRate, or no finite resource). */
  private freeze(a: number, by: number): void {
    const level = this.filling[0] as number;
    const store = this.store;
    const AI = store.aI;
    let AF = store.aF;
    const RF = store.rF;
    const RI = store.rI;
    AI[a + A_FLAGS] = (AI[a + A_FLAGS] as number) | FROZEN;
    const finite = level !== Infinity;
    const terms = AI[a + A_TERMS] as number;
    const end = terms + TERM * (AI[a + A_NRES] as number);
    for (let t = terms; t < end; t += TERM) {
      const r2 = AI[t] as number;
      const o = r2 >> 1;
      const l = AF[(t + T_LOAD) >> 1] as number;
      if (finite) {
        RF[o + R_FREE] = (RF[o + R_FREE] as number) - l * level;
        RF[o + R_USAGE] = (RF[o + R_USAGE] as number) + l * level;
      }
      const load = (RF[o + R_LOAD] as number) - l;
      RF[o + R_LOAD] = load;
      const unfrozen = (RI[r2 + R_UNFROZEN] as number) - 1;
      RI[r2 + R_UNFROZEN] = unfrozen;
      if (r2 !== by && unfrozen > 0 && RF[o + R_CAPACITY] !== Infinity) {
        const version = (RI[r2 + R_VERSION] as number) + 1;
        RI[r2 + R_VERSION] = version;
        const fr = RF[o + R_FREE] as number;
        const free = fr > 0 ? fr : 0;
        const next = free / load;
        this.heap.push(next > level ? next : level, RI[r2 + R_INDEX] as number, version);
      }
    }
    const f = a >> 1;
    const rate = ((AF[f + A_WEIGHT] as number) * level) / (AF[f + A_SIZE] as number);
    if (rate === AF[f + A_RATE] && by === AI[a + A_BOTTLENECK]) return;
    const now = this.filling[1] as number;
    const segmentStart = AF[f + A_SEGMENT] as number;
    if (now > segmentStart) {
      if (this.segmentListener !== null) {
        const act = store.activityOf[a >> BLOCK_SHIFT] as Activity;
        this.segmentListener.onSegment(act, segmentStart, now, act.bottleneck);
        AF = store.aF;
      }
      AF[f + A_SEGMENT] = now;
    }
    AF[f + A_RATE] = rate;
    store.aI[a + A_BOTTLENECK] = by;
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
