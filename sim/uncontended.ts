/**
 * Work that runs at its own pace, timed beside the fluid model instead of in it.
 *
 * Max-min fairness gives an activity that shares no resource with another its
 * rate alone, min over its resources r of C_r / load_r, and progressive filling
 * computes exactly that (it freezes at a resource only it uses, from full
 * capacity). The same holds next to other such work that leaves room on every
 * resource they share (a send beside an SM-bound GEMM uses a sliver of the HBM).
 * So such work is timed here with the solver's own arithmetic, and handed to the
 * fluid model, for what is left of it, only when something it would have to
 * share with starts there or a capacity it uses changes. That saves the solver
 * two passes and an event per activity.
 *
 * Resources come in blocks of `perOwner`, one block per owner (e.g. a GPU's SM,
 * HBM and links): owner o's k-th resource is FluidModel resource o·perOwner + k,
 * and they must all exist before this is built. A work names its resources by
 * role, k within its owner `a`, or perOwner + k within a second owner `b` (the
 * receiver of a send), with a load per role (work / fairness size, as the fluid
 * model computes it) and the work itself. Callers own the completion events (so
 * that they can merge them) and get every stretch reported like the fluid
 * model's segments. An owner holds at most `maxPerOwner` such works at once.
 */
import type { EventQueue } from "./event-queue.ts";
import type { Activity, FluidModel, Resource } from "./fluid.ts";

/** What to run: its resources by role, work per role, load (work / fairSize) and fairness size (NaN: the engine's default). */
export interface UncontendedWork {
  readonly label: string;
  readonly roles: Int8Array;
  readonly amounts: Float64Array;
  readonly loads: Float64Array;
  readonly fairSize: number;
  readonly size: number;
}

export interface UncontendedListener {
  /** [t0, t1] of work `data` ran, bounded by resource `bottleneck` (-1: none). */
  onUncontendedSegment(data: number, label: string, t0: number, t1: number, bottleneck: number): void;
}

/** Combined use of a resource must stay this far below capacity (float noise of the solver). */
const HEADROOM = 1 - 1e-9;

export class Uncontended {
  /** Capacity, activities in the fluid model, works timed here and their use, per resource id. */
  readonly capacity: Float64Array;
  readonly fluidCount: Int32Array;
  private readonly count: Int32Array;
  private readonly use: Float64Array;
  /** Work done here per resource (the fluid model counts the rest). */
  readonly workDone: Float64Array;
  private readonly ownerWorks: Int32Array;
  private readonly ownerCount: Uint8Array;
  // Per work: what, on which resources and owners, for whom, since when, until when, how fast.
  readonly work: (UncontendedWork | null)[];
  private readonly ownerA: Int32Array;
  private readonly ownerB: Int32Array;
  readonly data: Float64Array;
  readonly kind: Uint8Array;
  readonly start: Float64Array;
  readonly due: Float64Array;
  private readonly rateOf: Float64Array;
  /** Progressive-filling level at which it froze: its use of resource i is load_i · level. */
  private readonly level: Float64Array;
  private readonly bottleneck: Int32Array;
  /** Its completion event, and whether that event is shared (not cancelled when this work moves). */
  readonly event: Float64Array;
  readonly shared: Uint8Array;
  /** Seconds the caller runs after it in the same event (0: none). */
  readonly tail: Float64Array;
  /** The work is over and counted (its event is still to come). */
  private readonly counted: Uint8Array;
  private readonly free: Int32Array;
  private freeCount = 0;
  /** Scratch from `rate` to `begin`. */
  private lastLevel = 0;
  private lastBottleneck = -1;

  constructor(
    private readonly queue: EventQueue,
    private readonly fluid: FluidModel,
    owners: number,
    private readonly perOwner: number,
    private readonly maxPerOwner: number,
    private readonly listener: UncontendedListener,
  ) {
    const n = fluid.resources.length;
    this.capacity = Float64Array.from(fluid.resources, (r) => r.capacity);
    this.fluidCount = new Int32Array(n);
    this.count = new Int32Array(n);
    this.use = new Float64Array(n);
    this.workDone = new Float64Array(n);
    this.ownerWorks = new Int32Array(owners * maxPerOwner);
    this.ownerCount = new Uint8Array(owners);
    const pool = owners * maxPerOwner;
    this.work = new Array<UncontendedWork | null>(pool).fill(null);
    this.ownerA = new Int32Array(pool);
    this.ownerB = new Int32Array(pool);
    this.data = new Float64Array(pool);
    this.kind = new Uint8Array(pool);
    this.start = new Float64Array(pool);
    this.due = new Float64Array(pool);
    this.rateOf = new Float64Array(pool);
    this.level = new Float64Array(pool);
    this.bottleneck = new Int32Array(pool);
    this.event = new Float64Array(pool).fill(-1);
    this.shared = new Uint8Array(pool);
    this.tail = new Float64Array(pool);
    this.counted = new Uint8Array(pool);
    this.free = new Int32Array(pool);
    for (let id = pool - 1; id >= 0; id--) this.free[this.freeCount++] = id;
  }

  /** Resource id of role `k` of a work of owners `a` and `b` (perf P41). */
  resourceId(k: number, a: number, b: number): number {
    return k < this.perOwner ? a * this.perOwner + k : b * this.perOwner + k - this.perOwner;
  }

  /**
   * Rate (fraction per second) of `w` run by owners `a` (and `b`, or -1) at its own pace, or 0
   * if it would have to share (something in the fluid model there, too little room, owners full).
   */
  rate(w: UncontendedWork, a: number, b: number): number {
    if ((this.ownerCount[a] as number) >= this.maxPerOwner || (b >= 0 && (this.ownerCount[b] as number) >= this.maxPerOwner)) return 0;
    const loads = w.loads;
    const roles = w.roles;
    const n = roles.length;
    let level = Infinity;
    this.lastBottleneck = -1;
    for (let i = 0; i < n; i++) {
      const x = this.resourceId(roles[i] as number, a, b);
      if ((this.fluidCount[x] as number) > 0) return 0;
      const load = loads[i] as number;
      const capacity = this.capacity[x] as number;
      if (load === 0 || capacity === Infinity) continue;
      // As the fluid model's progressive filling: level = free / load.
      const l = capacity / load;
      if (l < level) {
        level = l;
        this.lastBottleneck = x;
      }
    }
    if (level !== Infinity) {
      for (let i = 0; i < n; i++) {
        const x = this.resourceId(roles[i] as number, a, b);
        if ((this.count[x] as number) === 0) continue;
        const capacity = this.capacity[x] as number;
        if (capacity !== Infinity && !((this.use[x] as number) + (loads[i] as number) * level <= HEADROOM * capacity)) return 0;
      }
    }
    this.lastLevel = level;
    const rate = level / w.fairSize;
    return rate > 0 ? rate : 0;
  }

  /** Run `w` here from now at `rate` (just returned by `rate` for the same owners); returns its id. The caller schedules its event. */
  begin(w: UncontendedWork, a: number, b: number, data: number, kind: number, rate: number): number {
    const id = this.free[--this.freeCount] as number;
    const now = this.queue.now;
    const level = this.lastLevel;
    this.work[id] = w;
    this.ownerA[id] = a;
    this.ownerB[id] = b;
    this.data[id] = data;
    this.kind[id] = kind;
    this.start[id] = now;
    this.due[id] = rate === Infinity ? now : now + 1 / rate;
    this.rateOf[id] = rate;
    this.level[id] = level;
    this.bottleneck[id] = this.lastBottleneck;
    this.shared[id] = 0;
    this.tail[id] = 0;
    this.counted[id] = 0;
    if (level !== Infinity) {
      const loads = w.loads;
      const roles = w.roles;
      for (let i = 0; i < roles.length; i++) {
        const load = loads[i] as number;
        if (load === 0) continue;
        const x = this.resourceId(roles[i] as number, a, b);
        this.count[x] = (this.count[x] as number) + 1;
        this.use[x] = (this.use[x] as number) + load * level;
      }
    }
    this.addToOwner(a, id);
    if (b >= 0) this.addToOwner(b, id);
    return id;
  }

  private addToOwner(o: number, id: number): void {
    const n = this.ownerCount[o] as number;
    this.ownerWorks[o * this.maxPerOwner + n] = id;
    this.ownerCount[o] = n + 1;
  }

  private removeFromOwner(o: number, id: number): void {
    const b = o * this.maxPerOwner;
    const n = (this.ownerCount[o] as number) - 1;
    for (let k = 0; k <= n; k++) {
      if (this.ownerWorks[b + k] === id) {
        this.ownerWorks[b + k] = this.ownerWorks[b + n] as number;
        break;
      }
    }
    this.ownerCount[o] = n;
  }

  /** Its resources are free again: drop its use of them. */
  private release(id: number): void {
    const w = this.work[id] as UncontendedWork;
    const level = this.level[id] as number;
    const a = this.ownerA[id] as number;
    const b = this.ownerB[id] as number;
    if (level !== Infinity) {
      const loads = w.loads;
      const roles = w.roles;
      for (let i = 0; i < roles.length; i++) {
        const load = loads[i] as number;
        if (load === 0) continue;
        const x = this.resourceId(roles[i] as number, a, b);
        const c = (this.count[x] as number) - 1;
        this.count[x] = c;
        // Back to exactly zero when the last one leaves, so rounding cannot pile up.
        this.use[x] = c === 0 ? 0 : (this.use[x] as number) - load * level;
      }
    }
    this.removeFromOwner(a, id);
    if (b >= 0) this.removeFromOwner(b, id);
  }

  /** Report [t0, t1] of `id` and count `fraction` of its work as done. */
  private progress(id: number, t0: number, t1: number, fraction: number): void {
    const w = this.work[id] as UncontendedWork;
    if (t1 > t0) this.listener.onUncontendedSegment(this.data[id] as number, w.label, t0, t1, this.bottleneck[id] as number);
    const a = this.ownerA[id] as number;
    const b = this.ownerB[id] as number;
    const roles = w.roles;
    for (let i = 0; i < roles.length; i++) {
      const x = this.resourceId(roles[i] as number, a, b);
      this.workDone[x] = (this.workDone[x] as number) + (w.amounts[i] as number) * fraction;
    }
  }

  /** The work is over (at its due time): count it and free its resources; its event still comes. */
  private over(id: number): void {
    this.progress(id, this.start[id] as number, this.due[id] as number, 1);
    this.counted[id] = 1;
    this.release(id);
  }

  /** Its event fired: settle it and free its record (read data, kind, tail, due before). */
  end(id: number): void {
    if (this.counted[id] === 0) {
      // As over(), written out: this ends most call chains of a full step (perf P40).
      this.progress(id, this.start[id] as number, this.due[id] as number, 1);
      this.release(id);
    }
    this.work[id] = null;
    this.event[id] = -1;
    this.free[this.freeCount++] = id;
  }

  /** Whether `id` still waits for the shared event `handle`. */
  waitsOn(id: number, handle: number): boolean {
    return id >= 0 && this.work[id] !== null && this.shared[id] === 1 && this.event[id] === handle;
  }

  /** Something it would share with is about to start: `id` continues in the fluid model from here. */
  private toFluid(id: number, spec: FluidSpec): void {
    if (this.counted[id] === 1) return;
    const now = this.queue.now;
    const t0 = this.start[id] as number;
    // Settled as the fluid model settles an activity: remaining -= rate·dt.
    let remaining = 1;
    if (now > t0) remaining -= (this.rateOf[id] as number) * (now - t0);
    if (!(remaining > 0)) {
      // Its work ends at this very instant: its completion event is queued already.
      this.over(id);
      return;
    }
    if (this.shared[id] === 0) this.queue.cancel(this.event[id] as number);
    this.progress(id, t0, now, 1 - remaining);
    this.release(id);
    const w = this.work[id] as UncontendedWork;
    const a = this.ownerA[id] as number;
    const b = this.ownerB[id] as number;
    const data = this.data[id] as number;
    const kind = this.kind[id] as number;
    this.work[id] = null;
    this.event[id] = -1;
    this.free[this.freeCount++] = id;
    this.startFluid(w, a, b, data, kind, remaining, spec);
  }

  /** Move every work timed here that uses resource `x` into the fluid model. */
  clear(x: number, spec: FluidSpec): void {
    const o = Math.floor(x / this.perOwner);
    while ((this.count[x] as number) > 0) {
      let found = -1;
      const b = o * this.maxPerOwner;
      for (let k = 0; k < (this.ownerCount[o] as number) && found < 0; k++) {
        const id = this.ownerWorks[b + k] as number;
        const w = this.work[id] as UncontendedWork;
        for (let i = 0; i < w.roles.length; i++) {
          if ((w.loads[i] as number) > 0 && this.resourceId(w.roles[i] as number, this.ownerA[id] as number, this.ownerB[id] as number) === x) {
            found = id;
            break;
          }
        }
      }
      if (found < 0) throw new Error(`uncontended: resource ${x} counts work that nothing holds`);
      this.toFluid(found, spec);
    }
  }

  /** Start `w` (a `scale` of it) of owners `a`, `b` in the fluid model, moving out of here what it shares with. */
  startFluid(w: UncontendedWork, a: number, b: number, data: number, kind: number, scale: number, spec: FluidSpec): void {
    const roles = w.roles;
    const n = roles.length;
    for (let i = 0; i < n; i++) {
      const x = this.resourceId(roles[i] as number, a, b);
      if ((this.count[x] as number) > 0) this.clear(x, spec);
    }
    // Filled only now: moving works into the fluid model above uses the same spec.
    const work = spec.scratch(n);
    const resources = this.fluid.resources;
    for (let i = 0; i < n; i++) {
      const t = work[i] as [Resource, number];
      t[0] = resources[this.resourceId(roles[i] as number, a, b)] as Resource;
      t[1] = (w.amounts[i] as number) * scale;
    }
    spec.work = work;
    spec.label = w.label;
    spec.data = data;
    spec.size = w.size === w.size ? w.size * scale : undefined;
    spec.onComplete = spec.done[kind] as (a: Activity) => void;
    for (const r of this.fluid.start(spec).resources) this.fluidCount[r.id] = (this.fluidCount[r.id] as number) + 1;
  }

  /** An activity started by startFluid completed: call from its onComplete. */
  fluidDone(a: Activity): void {
    for (const r of a.resources) this.fluidCount[r.id] = (this.fluidCount[r.id] as number) - 1;
  }

  /** Change a capacity: work timed here on it moves into the fluid model first. */
  setCapacity(r: Resource, capacity: number, spec: FluidSpec): void {
    if (capacity === this.capacity[r.id]) return;
    this.clear(r.id, spec);
    this.fluid.setCapacity(r, capacity);
    this.capacity[r.id] = capacity;
  }
}

// perf P36
/**
 * The reused spec of the activities started in the fluid model (the engine copies the
 * work out of it), with their completion handlers by kind and scratch work lists.
 */
export class FluidSpec {
  work: [Resource, number][] = [];
  label = "";
  data = 0;
  size: number | undefined = undefined;
  onComplete: (a: Activity) => void = () => {};
  private readonly lists: [Resource, number][][] = [];
  constructor(
    /** onComplete per kind. */
    readonly done: ((a: Activity) => void)[],
    private readonly filler: Resource,
  ) {}

  scratch(n: number): [Resource, number][] {
    let w = this.lists[n];
    if (w === undefined) {
      w = Array.from({ length: n }, (): [Resource, number] => [this.filler, 0]);
      this.lists[n] = w;
    }
    return w;
  }
}
