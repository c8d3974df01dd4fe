/**
 * The fluid model's state: two arenas of 128-byte records, one for activities and
 * one for resources, plus the facades that name them (perf P1).
 *
 * - A resource record holds its numbers, its solver scratch and, inline, the list of
 *   the activities on it (up to INLINE_ADJ; a longer list moves to blocks of its own
 *   in the same arena, doubling).
 * - An activity record holds its numbers, its solver scratch and, inline, its terms
 *   (resource, position in that resource's list, load per unit of level) for up to
 *   INLINE_TERMS resources (more go to a block of their own).
 *
 * Records name each other by their int offsets in the arenas, so following a link is
 * one read. A freed block goes on a free list of its size, last in first out (perf P4).
 * Field offsets are in layout.ts.
 */

import { alignedBuffer, alignedFloat64 } from "../aligned-buffer.ts";
import * as L from "./layout.ts";

// perf P2
const BLOCK = L.BLOCK;
const BLOCK_SHIFT = L.BLOCK_SHIFT;
const A_REMAINING = L.A_REMAINING;
const A_RATE = L.A_RATE;
const A_LAST = L.A_LAST;
const A_NRES = L.A_NRES;
const A_TERMS = L.A_TERMS;
const A_INLINE = L.A_INLINE;
const INLINE_TERMS = L.INLINE_TERMS;
const TERM = L.TERM;
const C_WORK = L.C_WORK;
const COLD = L.COLD;
const R_USAGE = L.R_USAGE;
const R_LAST = L.R_LAST;
const R_WORK = L.R_WORK;
const R_BUSY = L.R_BUSY;
const R_ADJ = L.R_ADJ;
const R_ADJ_COUNT = L.R_ADJ_COUNT;
const R_ADJ_CAP = L.R_ADJ_CAP;
const R_STAMP = L.R_STAMP;
const R_INLINE = L.R_INLINE;

/** An empty array that holds objects from the start (perf P8). */
export function objectList<T extends object>(): T[] {
  const list: (T | null)[] = [null];
  list.pop();
  return list as T[];
}

/**
 * One ArrayBuffer seen as Int32 and Float64, allocated in blocks of 128 B.
 * Size class c is 2^c blocks; freed blocks are kept per class, last in first out.
 */
export class Arena {
  buf: ArrayBuffer;
  i32: Int32Array;
  f64: Float64Array;
  /** Blocks handed out from the top. */
  top = 0;
  /** Head of the free list of each size class (the next is in the block's first slot), -1: empty. perf P9 */
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

/** Size class (2^cls blocks) that holds `ints` int32 slots: the bit length of blocks − 1 (perf P9). */
export function classOf(ints: number): number {
  const blocks = (ints + BLOCK - 1) >> BLOCK_SHIFT;
  return 32 - Math.clz32(Math.max(blocks, 1) - 1);
}

/**
 * The records of one model and the facades (`A`: activity, `R`: resource) that name
 * them. The Float64 and Int32 views are copied into fields here (and refreshed when an
 * arena grows), so that hot code reads them with one load.
 */
export class FluidStore<A = unknown, R = unknown> {
  aI: Int32Array;
  aF: Float64Array;
  rI: Int32Array;
  rF: Float64Array;
  /** Per activity block: the numbers the solver does not touch (see C_* in layout.ts). */
  cold: Float64Array;
  /** The facade of the activity holding each activity block. */
  readonly activityOf: (A | undefined)[] = [];
  /** The facade of each resource, by block. */
  readonly resourceOf: (R | undefined)[] = [];
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

  /** Bring resource `row`'s busy time and work done up to `now` at its current usage. */
  settleRow(row: number, now: number): void {
    const F = this.rF;
    const o = row >> 1;
    const dt = now - (F[o + R_LAST] as number);
    if (dt > 0) {
      const usage = F[o + R_USAGE] as number;
      F[o + R_WORK] = (F[o + R_WORK] as number) + usage * dt;
      if (usage > 0) F[o + R_BUSY] = (F[o + R_BUSY] as number) + dt;
    }
    F[o + R_LAST] = now;
  }

  /** Bring activity `rec`'s remaining fraction up to `now` at its current rate. */
  settleActivity(rec: number, now: number): void {
    const F = this.aF;
    const f = rec >> 1;
    const dt = now - (F[f + A_LAST] as number);
    const rate = F[f + A_RATE] as number;
    if (dt > 0 && rate > 0) {
      const remaining = (F[f + A_REMAINING] as number) - rate * dt;
      F[f + A_REMAINING] = remaining < 0 ? 0 : remaining;
    }
    F[f + A_LAST] = now;
  }
}
