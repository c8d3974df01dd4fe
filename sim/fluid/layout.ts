/**
 * The record layout of the fluid model's arenas (see store.ts): field offsets only.
 *
 * An arena is one ArrayBuffer seen as Int32Array and Float64Array, cut into 128-byte
 * blocks (32 int32 slots, two cache lines). A record's int offset `rec` names it:
 * Float64 field k is at `(rec >> 1) + k`, Int32 field k at `rec + k`.
 *
 * This module holds no code: the modules that use these numbers declare module-local
 * copies (`const A_RATE = L.A_RATE`), which V8 folds into their code (perf P2).
 */

/** Int32 slots per block (128 B). */
export const BLOCK = 32;
export const BLOCK_SHIFT = 5;

// ---- activity record ----
// Float64 fields:
export const A_REMAINING = 0;
export const A_RATE = 1;
export const A_LAST = 2;
export const A_WAIT = 3;
export const A_WEIGHT = 4;
export const A_SIZE = 5;
export const A_MAX_RATE = 6;
export const A_SEGMENT = 7;
export const A_EVENT = 8;
// Int32 fields:
/** Epoch of the last traversal that reached it (solver scratch). */
export const A_MARK = 18;
/** Bit 0: frozen in the filling in progress; bits 1-2: state (RUNNING, DONE, CANCELLED). */
export const A_FLAGS = 19;
/** Next activity (record) of its piece due at the same instant (set by the solve), -1: none. */
export const A_CO_DUE = 20;
/** Record of the resource that froze it in the last solve, -1: its maxRate or none. */
export const A_BOTTLENECK = 21;
export const A_NRES = 22;
/** Int offset of its first term (rec + A_INLINE when inline). */
export const A_TERMS = 23;
export const A_INLINE = 24;
/** Terms that fit in the record; more go to a block of their own: [size class, -, -, -, terms…, works…]. */
export const INLINE_TERMS = 2;
// A term: [resource record, position in its list, load per unit of level (Float64 at +2)], 4 int32.
export const TERM = 4;
export const T_POS = 1;
export const T_LOAD = 2;

// A_FLAGS bits.
export const FROZEN = 1;
export const RUNNING = 0;
export const DONE = 2;
export const CANCELLED = 4;
export const STATE_MASK = 6;

// Per activity block, the numbers the solver does not touch (one cache line, perf P5):
// [multiplicity, startTime, endTime, work per copy on its inline terms' resources, -].
// An activity with its terms in a block of their own keeps its works there, after the terms.
export const C_MULT = 0;
export const C_START = 1;
export const C_END = 2;
export const C_WORK = 3;
export const COLD = 8;

// The numbers an ended activity keeps once it gave its record back (Activity.kept).
export const K_REMAINING = 0;
export const K_LAST = 1;
export const K_WAIT = 2;
export const K_WEIGHT = 3;
export const K_SIZE = 4;
export const K_MAX_RATE = 5;
export const K_SEGMENT = 6;
export const K_MULT = 7;
export const K_START = 8;
export const K_END = 9;
/** Then its works, one per resource. */
export const KEPT = 10;

// ---- resource record ----
// Float64 fields:
export const R_CAPACITY = 0;
export const R_FREE = 1;
export const R_LOAD = 2;
export const R_USAGE = 3;
export const R_LAST = 4;
export const R_WORK = 5;
export const R_BUSY = 6;
export const R_MULT = 7;
// Int32 fields:
export const R_MARK = 16;
/** Its position in the component being solved. */
export const R_INDEX = 17;
/** Activities on it not frozen yet in the filling in progress. */
export const R_UNFROZEN = 18;
/** Version of its entry in the level heap. */
export const R_VERSION = 19;
/** Int offset of its activity list (row + R_INLINE while it fits there). */
export const R_ADJ = 20;
export const R_ADJ_COUNT = 21;
export const R_ADJ_CAP = 22;
/** Bumped whenever its list changes (for `Resource.activities`). */
export const R_STAMP = 23;
export const R_INLINE = 24;
/** Activities whose records fit in the resource's own record; a longer list moves to blocks of its own, doubling. */
export const INLINE_ADJ = 8;
