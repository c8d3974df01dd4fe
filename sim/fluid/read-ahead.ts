/**
 * The fluid model's read-ahead (perf P17): software pipelining of cache misses across
 * events.
 *
 * A completion walks a chain of records: its own, then its resources' (and its
 * facade), then their other activities' (and the resources' facades), each found only
 * once the one before has arrived; when they do not fit in cache, each link is a miss
 * paid in series. The queue knows which completions come next (EventQueue.upcomingArgs).
 * After each solve, this reads one link further along each of their chains, following
 * only links an earlier call brought in, so the misses of one call overlap and when a
 * completion fires its chain is in cache. It only reads: results do not depend on it
 * (test/sim/fluid-prefetch.test.ts runs with it on and off).
 */

import type { EventQueue } from "../event-queue.ts";
import type { Activity, Resource, Store } from "./facades.ts";
import { objectList } from "./store.ts";
import * as L from "./layout.ts";

// perf P2
const BLOCK = L.BLOCK;
const BLOCK_SHIFT = L.BLOCK_SHIFT;
const A_NRES = L.A_NRES;
const A_TERMS = L.A_TERMS;
const TERM = L.TERM;
const COLD = L.COLD;
const R_ADJ = L.R_ADJ;
const R_ADJ_COUNT = L.R_ADJ_COUNT;
const INLINE_ADJ = L.INLINE_ADJ;

/**
 * Activity blocks (128 B each) in use from which each solve reads ahead: 512 KB, a
 * core's L2 (perf P17).
 */
export const PREFETCH_MIN_BLOCKS = 1 << 12;
/** Resources per activity whose records are read ahead (bounds the work for wide activities). */
const PREFETCH_TERMS = 4;
/** Records of activities sharing a resource with the next completion that one call reads at most. */
const PREFETCH_RECS = 24;

export class ReadAhead {
  /** Where a read-ahead leaves what it read, so that its reads are not optimized away. */
  touchSink = 0;
  private readonly store: Store;
  private readonly queue: EventQueue;
  /** The completion handler whose events name the records to read (FluidModel.complete). */
  private readonly completeHandler: (rec: number) => void;
  /** The records of the next completions, as the queue named them at the last call. */
  private readonly upcoming: number[] = [0, 0, 0, 0];
  /** Scratch for the queue's search (two heap nodes per record asked for). */
  private readonly upcomingAt = new Int32Array(8);
  private upcomingCount = 0;
  /** Scratch: what one call reads (records, resource rows, resource facades). */
  private readonly prefetchRecs = new Int32Array(PREFETCH_RECS + 1);
  private readonly prefetchRows = new Int32Array(PREFETCH_TERMS);
  private readonly prefetchResources: Resource[] = objectList<Resource>();

  constructor(store: Store, queue: EventQueue, completeHandler: (rec: number) => void) {
    this.store = store;
    this.queue = queue;
    this.completeHandler = completeHandler;
  }

  /**
   * Read one link further along the chain of each of the next completions than the
   * last call did: for the next completion, the records at the end of its chain and
   * the facades; for the one after, its resources' records; for the third, its own
   * record. Then ask the queue for the list the next call will use. Only reads.
   */
  run(): void {
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
      // perf P19: an entry equal to the first list's at the same place is not read twice.
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
    // perf P18: a field from every cache line of the facade, none a pointer followed.
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
    // perf P20: the queue's search last, while the reads above wait for memory.
    this.upcomingCount = this.queue.upcomingArgs(this.completeHandler, up, this.upcomingAt);
  }
}
