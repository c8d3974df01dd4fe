/**
 * One solve of the fluid model: the weighted max-min rates of the pieces that changed.
 *
 * `collect` gathers the connected components (resources linked through shared
 * activities) reachable from the changed resources, one piece at a time; `solve`
 * settles them at their old rates, then fills: a common level λ rises, every
 * unfrozen activity a runs at x_a = w_a · λ / size_a, and when a resource saturates
 * (its free capacity over the load of its unfrozen activities is the lowest level
 * left) the activities on it freeze; a maxRate freezes an activity at its own level.
 * The resource that froze an activity is its bottleneck. Each piece then gets one
 * completion event, held by its earliest activity (perf P15), with the activities due
 * at the same instant chained behind it (perf P16). reference.ts is the same algorithm
 * on plain objects.
 */

import type { EventQueue } from "../event-queue.ts";
import type { Activity, Resource, SegmentListener, Store } from "./facades.ts";
import { LevelHeap } from "./level-heap.ts";
import * as L from "./layout.ts";

// perf P2
const BLOCK_SHIFT = L.BLOCK_SHIFT;
const A_REMAINING = L.A_REMAINING;
const A_RATE = L.A_RATE;
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
const T_LOAD = L.T_LOAD;
const FROZEN = L.FROZEN;
const R_CAPACITY = L.R_CAPACITY;
const R_FREE = L.R_FREE;
const R_LOAD = L.R_LOAD;
const R_USAGE = L.R_USAGE;
const R_MARK = L.R_MARK;
const R_INDEX = L.R_INDEX;
const R_UNFROZEN = L.R_UNFROZEN;
const R_VERSION = L.R_VERSION;
const R_ADJ = L.R_ADJ;
const R_ADJ_COUNT = L.R_ADJ_COUNT;
/** Marks are epochs in Int32 slots: they are reset before the epoch would overflow. */
const EPOCH_LIMIT = 0x7fffff00;

export class Solver {
  /** Told of each rate segment that ends (FluidModel.segmentListener). */
  segmentListener: SegmentListener | null = null;
  /** Marks are epochs (A_MARK, R_MARK): a traversal marks what it reached with the current one. */
  epoch = 0;
  /** Records of cancelled activities, freed at the end of the next solve (see FluidModel.cancel). */
  readonly pendingFree: number[] = [];

  private readonly store: Store;
  private readonly queue: EventQueue;
  private readonly resources: readonly Resource[];
  /** The completion handler the events of pieces call (FluidModel.complete). */
  private readonly completeHandler: (rec: number) => void;
  // Scratch lists (records, or facades for loose activities) with their lengths kept apart (perf P12).
  private readonly seeds: number[] = [];
  private seedCount = 0;
  private readonly looseSeeds: Activity[] = [];
  private looseCount = 0;
  private readonly compRes: number[] = [];
  private resCount = 0;
  private readonly compActs: number[] = [];
  private actCount = 0;
  private readonly pieceEnds: number[] = [];
  private pieceCount = 0;
  private heap = new LevelHeap();
  /** [level, now] of the progressive filling in progress (perf P13). */
  private readonly filling = new Float64Array(2);

  constructor(store: Store, queue: EventQueue, resources: readonly Resource[], completeHandler: (rec: number) => void) {
    this.store = store;
    this.queue = queue;
    this.resources = resources;
    this.completeHandler = completeHandler;
  }

  /** Resource `row` changed (capacity, an activity came or went): its component is solved next. */
  seed(row: number): void {
    this.seeds[this.seedCount++] = row;
  }

  /** Activity `a` touches no resource: it is a piece of its own, solved next. */
  seedLoose(a: Activity): void {
    this.looseSeeds[this.looseCount++] = a;
  }

  /** Gather the pieces the seeds reach, in a fresh epoch; returns how many activities they hold. */
  collect(): number {
    this.nextEpoch();
    this.resCount = 0;
    this.actCount = 0;
    this.pieceCount = 0;
    this.collectSeeds();
    this.seedCount = 0;
    this.collectLoose();
    this.looseCount = 0;
    return this.actCount;
  }

  /**
   * Solve what `collect` gathered, at `now`: settle it at the old rates, fill, and
   * schedule each piece's next completion. A chain of one-loop methods (perf P11).
   */
  solve(now: number): void {
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
  }

  /** A fresh epoch for marks; marks are reset before it would overflow an Int32 slot. */
  nextEpoch(): number {
    if (this.epoch >= EPOCH_LIMIT) this.resetMarks();
    return ++this.epoch;
  }

  /** Clear every mark and restart epochs at 0 (tests reach `epoch` through FluidModel). */
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
   * (its earliest). perf P12
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
      this.store.settleRow(row, now);
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
      this.store.settleActivity(a, now);
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
