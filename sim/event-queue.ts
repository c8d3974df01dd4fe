/**
 * The clock and the pending-event set.
 *
 * A binary min-heap over two parallel typed arrays keyed by (time, sequence).
 * The sequence number is the order of scheduling, so events at equal times fire
 * in the order they were scheduled: runs are deterministic without any
 * tie-break rule in user code. A heap entry's second number is its key,
 * sequence · 2^26 + slot: ordering keys orders sequences, and the key also names
 * the event's slot (perf P21).
 * Sequence numbers restart (renumbered in order) every 2^27 schedules, which
 * keeps keys exact integers in a float64.
 *
 * Each event lives in a slot that remembers the key of its live entry. Cancel
 * and reschedule are lazy: cancel frees the slot, reschedule gives it a new key
 * and pushes a new entry; entries whose key no longer matches their slot are
 * skipped when they surface, and the heap is rebuilt if such dead entries come
 * to dominate it (perf P22). The entry of the event just fired stays at the root
 * until the next push replaces it with one sift-down, also while events due now
 * run from the FIFO if nothing in the heap comes before them (perf P23); the pushed
 * entry is sifted down only when the heap's order is next needed (perf P20). Events
 * scheduled for the current instant bypass the heap through a FIFO (perf P24).
 * Handles carry a slot generation, so a stale handle cannot touch the event that
 * later reuses its slot. A slot's numbers (key, generation) sit side by side in one
 * array, and its handler and argument in another (perf P25).
 */

export type EventHandler = () => void;
/** Opaque: slot + generation packed in one float64-safe integer. */
export type EventHandle = number;

/** Slots, i.e. events pending at once (the low part of handles and keys). */
const SLOT_BITS = 2 ** 26;
/** Sequence numbers handed out before they are renumbered: keys stay below 2^53. */
const SEQ_LIMIT = 2 ** 27;
const INITIAL = 1024;
const KEEP_ARG: unique symbol = Symbol("keep");
// What fire() did.
const FIRED = 1;
const EMPTY = 0;
const BEYOND = -1;

/** The slot named by a key (exact: keys are integers below 2^53). perf P27 */
function slotOf(key: number): number {
  return key & (SLOT_BITS - 1);
}

export class EventQueue {
  /** The clock (perf P13). */
  private readonly clock = new Float64Array(1);
  /** Events whose handlers ran. */
  processed = 0;

  private heapTime: Float64Array = new Float64Array(INITIAL);
  private heapKey: Float64Array = new Float64Array(INITIAL);
  private heapSize = 0;
  /**
   * The root entry belongs to the event `step` just fired: it is left in place
   * (dead, its slot released) so that the next push can take its place with one
   * sift-down. Whoever needs the true root pops it.
   */
  private rootVacant = false;
  /**
   * The root holds an entry pushed into the vacant root and not yet sifted down: the
   * sift waits for the next look at the heap's order (perf P20).
   */
  private rootUnsifted = false;

  /** Slot s: its handler at 2s, its argument at 2s + 1 (one cache line for both). */
  private slotCall: unknown[] = [];
  /** Slot s: the key of its live entry at 2s (-1 when the slot is free), its generation at 2s + 1. */
  private slotMeta: Float64Array = new Float64Array(2 * INITIAL);
  private freeSlots: Int32Array = new Int32Array(INITIAL);
  private freeCount = 0;
  private slotCount = 0;

  // Ring buffer of the keys of events due at `now`; cancelled entries are skipped lazily.
  private fifoKey: Float64Array = new Float64Array(INITIAL);
  private fifoHead = 0;
  private fifoLen = 0;

  private nextSeq = 0;
  private readonly seqLimit: number;
  private live = 0;
  private stopped = false;

  /** @param seqLimit internal: sequence numbers before a renumbering (tests lower it). */
  constructor(seqLimit: number = SEQ_LIMIT) {
    if (!(seqLimit >= 2 && seqLimit <= SEQ_LIMIT)) throw new RangeError(`seqLimit must be in [2, ${SEQ_LIMIT}]`);
    this.seqLimit = seqLimit;
  }

  /** Current simulated time, seconds. Never decreases. */
  get now(): number {
    return this.clock[0] as number;
  }

  /** Events scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Schedule `handler` at absolute time `time` (>= now). */
  schedule(time: number, handler: EventHandler): EventHandle {
    return this.scheduleCall(time, handler as (arg: unknown) => void, undefined);
  }

  /** Schedule `handler` after `delay` seconds. */
  scheduleIn(delay: number, handler: EventHandler): EventHandle {
    return this.scheduleCall(this.now + delay, handler as (arg: unknown) => void, undefined);
  }

  /** Schedule `fn(arg)`: one shared function and a payload, no closure per event (perf P28). */
  scheduleCall<T>(time: number, fn: (arg: T) => void, arg: T): EventHandle {
    const now = this.clock[0] as number;
    if (!(time >= now)) {
      throw new RangeError(`cannot schedule at t=${time}: it is before now (${now}) or not a number`);
    }
    const slot = this.allocSlot();
    const key = this.nextKey(slot);
    this.slotCall[2 * slot] = fn;
    this.slotCall[2 * slot + 1] = arg;
    this.slotMeta[2 * slot] = key;
    if (time === now) this.fifoPush(key);
    else this.heapPush(time, key);
    this.live++;
    return slot + SLOT_BITS * (this.slotMeta[2 * slot + 1] as number);
  }

  /** Cancel a pending event. Returns false if it already fired or was cancelled. */
  cancel(handle: EventHandle): boolean {
    const slot = this.liveSlot(handle);
    if (slot < 0) return false;
    this.releaseSlot(slot);
    this.live--;
    this.maybeCompact();
    return true;
  }

  /**
   * Move a pending event to a new time (>= now), as if it had been scheduled
   * now: among equal times it runs after events already scheduled. With `arg`,
   * the handler will receive that instead. Returns the handle to use from here
   * on (always the same one), or -1 if the event is no longer pending.
   */
  reschedule(handle: EventHandle, time: number, arg: unknown = KEEP_ARG): EventHandle {
    const slot = this.liveSlot(handle);
    if (slot < 0) return -1;
    const now = this.clock[0] as number;
    if (!(time >= now)) {
      throw new RangeError(`cannot reschedule to t=${time}: it is before now (${now}) or not a number`);
    }
    if (arg !== KEEP_ARG) this.slotCall[2 * slot + 1] = arg;
    // The old entry (heap or FIFO) goes stale with the new key.
    const key = this.nextKey(slot);
    this.slotMeta[2 * slot] = key;
    if (time === now) this.fifoPush(key);
    else this.heapPush(time, key);
    this.maybeCompact();
    return handle;
  }

  /** Time of the next event, or Infinity. */
  peekTime(): number {
    this.dropDead();
    if (this.fifoLen > 0) return this.now;
    return this.heapSize > 0 ? (this.heapTime[0] as number) : Infinity;
  }

  /** Fire the next event. Returns false when none is left. */
  step(): boolean {
    return this.fire(Infinity) === FIRED;
  }

  /**
   * Run until the queue is empty, `stop()` is called, or the next event lies
   * beyond `until` (then the clock is advanced to `until`).
   */
  run(until = Infinity): void {
    this.stopped = false;
    if (this.runLoop(until) === BEYOND) {
      this.clock[0] = until;
      return;
    }
    if (!this.stopped && until !== Infinity && until > (this.clock[0] as number)) this.clock[0] = until;
  }

  /**
   * Fires events until the queue is empty (EMPTY), the next one lies beyond `until`
   * (BEYOND) or `stop()` was called (FIRED). Nothing but `return` follows its loop (perf P11).
   */
  private runLoop(until: number): number {
    for (;;) {
      if (this.stopped) return FIRED;
      const r = this.fire(until);
      if (r !== FIRED) return r;
    }
  }

  /**
   * Fire the next event if it is due by `until`. One pass finds the fronts of
   * both queues (past dead entries) for the check and for the firing.
   */
  private fire(until: number): number {
    if (this.rootUnsifted) this.siftRoot();
    let fifoKey = -1;
    while (this.fifoLen > 0) {
      const k = this.fifoKey[this.fifoHead] as number;
      if (this.slotMeta[2 * slotOf(k)] === k) {
        fifoKey = k;
        break;
      }
      this.fifoPop();
    }
    let heapSlot = -1;
    while (this.heapSize > 0) {
      const k = this.heapKey[0] as number;
      const s = slotOf(k);
      if (this.slotMeta[2 * s] === k) {
        heapSlot = s;
        break;
      }
      // The root just fired and an event due now waits in the FIFO: if nothing left in
      // the heap comes before it, the root stays vacant for the next push to fill (perf P23).
      if (this.rootVacant && fifoKey >= 0 && this.heapAfter(fifoKey)) break;
      this.popRoot();
    }
    let slot: number;
    if (fifoKey >= 0) {
      if (this.now > until) return BEYOND;
      if (heapSlot >= 0 && (this.heapTime[0] as number) === this.now && (this.heapKey[0] as number) < fifoKey) {
        slot = heapSlot;
        this.rootVacant = true;
      } else {
        slot = slotOf(fifoKey);
        this.fifoPop();
      }
    } else if (heapSlot >= 0) {
      const time = this.heapTime[0] as number;
      if (time > until) return BEYOND;
      slot = heapSlot;
      this.clock[0] = time;
      this.rootVacant = true;
    } else {
      return EMPTY;
    }
    const handler = this.slotCall[2 * slot] as (arg: unknown) => void;
    const arg = this.slotCall[2 * slot + 1];
    this.releaseSlot(slot);
    this.live--;
    this.processed++;
    handler(arg);
    return FIRED;
  }

  /**
   * Whether every entry below the root comes after the FIFO entry `fifoKey` (due now):
   * by the heap order it is enough that the root's children do.
   */
  private heapAfter(fifoKey: number): boolean {
    const now = this.clock[0] as number;
    const n = this.heapSize;
    const ht = this.heapTime;
    const hk = this.heapKey;
    for (let c = 1; c <= 2 && c < n; c++) {
      const t = ht[c] as number;
      if (t < now || (t === now && (hk[c] as number) < fifoKey)) return false;
    }
    return true;
  }

  /** Make `run` return after the current handler. */
  stop(): void {
    this.stopped = true;
  }

  // ---- slots ----

  /**
   * Hints for prefetching: the arguments of the earliest events in the heap whose
   * handler is `fn` and whose argument is a number, earliest first (by time; ties in
   * any order), into `out` (at most `out.length`); returns how many. It searches the
   * heap best-first from the root, so it finds only what is in the heap: events at
   * the current instant wait in the FIFO and are not named. The order is found from
   * the heap arrays, and only then are the entries' slots read, each independently of
   * the others (perf P17). `at` is scratch of at least 2 · out.length entries.
   */
  upcomingArgs(fn: (arg: never) => void, out: number[], at: Int32Array): number {
    if (this.rootUnsifted) this.siftRoot();
    const max = out.length;
    const n = this.heapSize;
    const ht = this.heapTime;
    // Best-first down the heap: the k-th earliest is a child of one of the k - 1 before it.
    // `at` holds the frontier (heap indices); the earliest found so far are moved to its front.
    let frontier = 0;
    if (this.rootVacant) {
      if (n > 1) at[frontier++] = 1;
      if (n > 2) at[frontier++] = 2;
    } else if (n > 0) at[frontier++] = 0;
    let found = 0;
    while (found < max && frontier > found) {
      let best = found;
      let bestTime = ht[at[found] as number] as number;
      for (let k = found + 1; k < frontier; k++) {
        const t = ht[at[k] as number] as number;
        if (t < bestTime) {
          bestTime = t;
          best = k;
        }
      }
      const node = at[best] as number;
      at[best] = at[found] as number;
      at[found++] = node;
      if (found === max) break;
      const child = 2 * node + 1;
      if (child < n) at[frontier++] = child;
      if (child + 1 < n) at[frontier++] = child + 1;
    }
    const hk = this.heapKey;
    const call = this.slotCall;
    let count = 0;
    const meta = this.slotMeta;
    for (let k = 0; k < found; k++) {
      const key = hk[at[k] as number] as number;
      const s = slotOf(key);
      const arg = call[2 * s + 1];
      // The liveness test also brings in the slot's numbers, which firing it reads.
      if (meta[2 * s] === key && call[2 * s] === fn && typeof arg === "number") out[count++] = arg;
    }
    return count;
  }

  private liveSlot(handle: EventHandle): number {
    const slot = handle % SLOT_BITS;
    const gen = (handle - slot) / SLOT_BITS;
    if (!(slot >= 0) || slot >= this.slotCount || this.slotMeta[2 * slot + 1] !== gen || this.slotCall[2 * slot] === undefined) return -1;
    return slot;
  }

  private allocSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount] as number;
    const slot = this.slotCount++;
    if (slot >= SLOT_BITS) throw new RangeError("more than 2^26 events pending at once");
    if (2 * slot >= this.slotMeta.length) {
      this.slotMeta = grow(this.slotMeta);
      this.freeSlots = growInt(this.freeSlots);
    }
    return slot;
  }

  private releaseSlot(slot: number): void {
    this.slotCall[2 * slot] = undefined;
    this.slotCall[2 * slot + 1] = undefined;
    this.slotMeta[2 * slot] = -1;
    // Generations wrap; a handle kept through 2^26 reuses of its slot is the only way to alias.
    this.slotMeta[2 * slot + 1] = ((this.slotMeta[2 * slot + 1] as number) + 1) & (SLOT_BITS - 1);
    this.freeSlots[this.freeCount++] = slot;
  }

  private nextKey(slot: number): number {
    if (this.nextSeq >= this.seqLimit) this.renumber();
    return this.nextSeq++ * SLOT_BITS + slot;
  }

  /**
   * Sequence numbers ran out: drop dead entries, then give the live ones new
   * sequence numbers 0, 1, … in their old order. Times are untouched and ties
   * keep their order, so the heap stays a heap and the FIFO stays in order.
   */
  private renumber(): void {
    this.compact();
    const f = this.fifoKey;
    const cap = f.length;
    let live = 0;
    for (let i = 0; i < this.fifoLen; i++) {
      const k = f[(this.fifoHead + i) % cap] as number;
      if (this.slotMeta[2 * slotOf(k)] === k) f[(this.fifoHead + live++) % cap] = k;
    }
    this.fifoLen = live;
    const n = this.heapSize + this.fifoLen;
    const keys = new Float64Array(n);
    keys.set(this.heapKey.subarray(0, this.heapSize));
    for (let i = 0; i < this.fifoLen; i++) keys[this.heapSize + i] = f[(this.fifoHead + i) % cap] as number;
    keys.sort();
    // Every pending event has exactly one entry left, so its slot names it.
    for (let seq = 0; seq < n; seq++) {
      const slot = slotOf(keys[seq] as number);
      this.slotMeta[2 * slot] = seq * SLOT_BITS + slot;
    }
    const hk = this.heapKey;
    for (let i = 0; i < this.heapSize; i++) hk[i] = this.slotMeta[2 * slotOf(hk[i] as number)] as number;
    for (let i = 0; i < this.fifoLen; i++) {
      const j = (this.fifoHead + i) % cap;
      f[j] = this.slotMeta[2 * slotOf(f[j] as number)] as number;
    }
    this.nextSeq = n;
  }

  // ---- FIFO for events due now ----

  private fifoPush(key: number): void {
    if (this.fifoLen === this.fifoKey.length) {
      const n = this.fifoLen * 2;
      const q = new Float64Array(n);
      for (let i = 0; i < this.fifoLen; i++) q[i] = this.fifoKey[(this.fifoHead + i) % this.fifoLen] as number;
      this.fifoKey = q;
      this.fifoHead = 0;
    }
    this.fifoKey[(this.fifoHead + this.fifoLen) % this.fifoKey.length] = key;
    this.fifoLen++;
  }

  private fifoPop(): void {
    this.fifoHead = (this.fifoHead + 1) % this.fifoKey.length;
    this.fifoLen--;
  }

  /** Pop dead (cancelled, rescheduled or just fired) entries off the fronts of both queues. */
  private dropDead(): void {
    if (this.rootUnsifted) this.siftRoot();
    while (this.fifoLen > 0) {
      const k = this.fifoKey[this.fifoHead] as number;
      if (this.slotMeta[2 * slotOf(k)] === k) break;
      this.fifoPop();
    }
    while (this.heapSize > 0) {
      const k = this.heapKey[0] as number;
      if (this.slotMeta[2 * slotOf(k)] === k) break;
      this.popRoot();
    }
  }

  private maybeCompact(): void {
    if (this.heapSize > 4096 && this.heapSize > 4 * this.live) this.compact();
  }

  /** Drop dead entries and re-heapify (Floyd's bottom-up build, O(n)). */
  private compact(): void {
    const ht = this.heapTime;
    const hk = this.heapKey;
    let n = 0;
    for (let i = 0; i < this.heapSize; i++) {
      const k = hk[i] as number;
      if (this.slotMeta[2 * slotOf(k)] === k) {
        ht[n] = ht[i] as number;
        hk[n] = k;
        n++;
      }
    }
    this.heapSize = n;
    this.rootVacant = false;
    this.rootUnsifted = false;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  // ---- heap ----

  private heapPush(time: number, key: number): void {
    if (this.rootUnsifted) this.siftRoot();
    if (this.rootVacant) {
      this.rootVacant = false;
      this.heapTime[0] = time;
      this.heapKey[0] = key;
      this.rootUnsifted = true;
      return;
    }
    if (this.heapSize === this.heapTime.length) {
      this.heapTime = grow(this.heapTime);
      this.heapKey = grow(this.heapKey);
    }
    const i = this.heapSize++;
    this.heapTime[i] = time;
    this.heapKey[i] = key;
    this.siftUp(i);
  }

  private popRoot(): void {
    this.rootVacant = false;
    this.rootUnsifted = false;
    const n = --this.heapSize;
    if (n === 0) return;
    this.heapTime[0] = this.heapTime[n] as number;
    this.heapKey[0] = this.heapKey[n] as number;
    this.siftDown(0);
  }

  private siftRoot(): void {
    this.rootUnsifted = false;
    this.siftDown(0);
  }

  private siftUp(start: number): void {
    const ht = this.heapTime;
    const hk = this.heapKey;
    const time = ht[start] as number;
    const key = hk[start] as number;
    let i = start;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = ht[p] as number;
      if (pt <= time && (pt < time || (hk[p] as number) < key)) break;
      ht[i] = pt;
      hk[i] = hk[p] as number;
      i = p;
    }
    ht[i] = time;
    hk[i] = key;
  }

  private siftDown(start: number): void {
    const n = this.heapSize;
    const ht = this.heapTime;
    const hk = this.heapKey;
    const time = ht[start] as number;
    const key = hk[start] as number;
    let i = start;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let ct = ht[c] as number;
      const r = c + 1;
      if (r < n) {
        const rt = ht[r] as number;
        // perf P26
        if (rt <= ct && (rt < ct || (hk[r] as number) < (hk[c] as number))) {
          c = r;
          ct = rt;
        }
      }
      if (time <= ct && (time < ct || key < (hk[c] as number))) break;
      ht[i] = ct;
      hk[i] = hk[c] as number;
      i = c;
    }
    ht[i] = time;
    hk[i] = key;
  }
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

function growInt(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
