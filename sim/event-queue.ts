/**
 * The clock and the pending-event set.
 *
 * A binary min-heap over parallel typed arrays keyed by (time, sequence). The
 * sequence number is the order of scheduling, so events at equal times fire in
 * the order they were scheduled: runs are deterministic without any tie-break
 * rule in user code.
 *
 * Each event lives in a slot that remembers the sequence number of its live
 * heap entry. Cancel and reschedule are lazy: cancel frees the slot, reschedule
 * gives it a new sequence number and pushes a new entry; entries whose sequence
 * no longer matches their slot are skipped when they surface, and the heap is
 * rebuilt if such dead entries come to dominate it. (Tracking every entry's
 * position for in-place updates costs ~20 % on every sift, which the common
 * case — schedule and fire — should not pay.) Events scheduled for the current
 * instant bypass the heap through a FIFO: they can only follow what is already
 * due now, so they need no sifting. Handles carry a slot generation, so a stale
 * handle cannot touch the event that later reuses its slot.
 */

export type EventHandler = () => void;
/** Opaque: slot + generation packed in one float64-safe integer. */
export type EventHandle = number;

const SLOT_BITS = 2 ** 26;
const INITIAL = 1024;
const KEEP_ARG: unique symbol = Symbol("keep");

export class EventQueue {
  /** Current simulated time, seconds. Never decreases. */
  now = 0;
  /** Events whose handlers ran. */
  processed = 0;

  private heapTime: Float64Array = new Float64Array(INITIAL);
  private heapSeq: Float64Array = new Float64Array(INITIAL);
  private heapSlot: Int32Array = new Int32Array(INITIAL);
  private heapSize = 0;

  private slotHandler: (((arg: unknown) => void) | undefined)[] = [];
  private slotArg: unknown[] = [];
  private slotSeq: Float64Array = new Float64Array(INITIAL);
  private slotGen: Int32Array = new Int32Array(INITIAL);
  private freeSlots: Int32Array = new Int32Array(INITIAL);
  private freeCount = 0;
  private slotCount = 0;

  // Ring buffer of (slot, seq) due at `now`; cancelled entries are skipped lazily.
  private fifoSlot: Int32Array = new Int32Array(INITIAL);
  private fifoSeq: Float64Array = new Float64Array(INITIAL);
  private fifoHead = 0;
  private fifoLen = 0;

  private nextSeq = 0;
  private live = 0;
  private stopped = false;

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

  /**
   * Schedule `fn(arg)`: lets hot paths pass one shared function and a payload
   * instead of allocating a closure per event.
   */
  scheduleCall<T>(time: number, fn: (arg: T) => void, arg: T): EventHandle {
    if (!(time >= this.now)) {
      throw new RangeError(`cannot schedule at t=${time}: it is before now (${this.now}) or not a number`);
    }
    const slot = this.allocSlot();
    const seq = this.nextSeq++;
    this.slotHandler[slot] = fn as (arg: unknown) => void;
    this.slotArg[slot] = arg;
    this.slotSeq[slot] = seq;
    if (time === this.now) this.fifoPush(slot, seq);
    else this.heapPush(time, seq, slot);
    this.live++;
    return slot + SLOT_BITS * (this.slotGen[slot] as number);
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
    if (!(time >= this.now)) {
      throw new RangeError(`cannot reschedule to t=${time}: it is before now (${this.now}) or not a number`);
    }
    if (arg !== KEEP_ARG) this.slotArg[slot] = arg;
    // The old entry (heap or FIFO) goes stale with the new sequence number.
    const seq = this.nextSeq++;
    this.slotSeq[slot] = seq;
    if (time === this.now) this.fifoPush(slot, seq);
    else this.heapPush(time, seq, slot);
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
    this.dropDead();
    let slot: number;
    if (this.fifoLen > 0) {
      const fs = this.fifoSeq[this.fifoHead] as number;
      if (this.heapSize > 0 && (this.heapTime[0] as number) === this.now && (this.heapSeq[0] as number) < fs) {
        slot = this.heapSlot[0] as number;
        this.popRoot();
      } else {
        slot = this.fifoSlot[this.fifoHead] as number;
        this.fifoPop();
      }
    } else if (this.heapSize > 0) {
      slot = this.heapSlot[0] as number;
      this.now = this.heapTime[0] as number;
      this.popRoot();
    } else {
      return false;
    }
    const handler = this.slotHandler[slot] as (arg: unknown) => void;
    const arg = this.slotArg[slot];
    this.releaseSlot(slot);
    this.live--;
    this.processed++;
    handler(arg);
    return true;
  }

  /**
   * Run until the queue is empty, `stop()` is called, or the next event lies
   * beyond `until` (then the clock is advanced to `until`).
   */
  run(until = Infinity): void {
    this.stopped = false;
    while (!this.stopped) {
      const next = this.peekTime();
      if (next === Infinity) break;
      if (next > until) {
        this.now = until;
        return;
      }
      this.step();
    }
    if (!this.stopped && until !== Infinity && until > this.now) this.now = until;
  }

  /** Make `run` return after the current handler. */
  stop(): void {
    this.stopped = true;
  }

  // ---- slots ----

  private liveSlot(handle: EventHandle): number {
    const slot = handle % SLOT_BITS;
    const gen = (handle - slot) / SLOT_BITS;
    if (!(slot >= 0) || slot >= this.slotCount || this.slotGen[slot] !== gen || this.slotHandler[slot] === undefined) return -1;
    return slot;
  }

  private allocSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount] as number;
    const slot = this.slotCount++;
    if (slot >= SLOT_BITS) throw new RangeError("more than 2^26 events pending at once");
    if (slot >= this.slotSeq.length) {
      this.slotSeq = grow(this.slotSeq);
      this.slotGen = growInt(this.slotGen);
      this.freeSlots = growInt(this.freeSlots);
    }
    return slot;
  }

  private releaseSlot(slot: number): void {
    this.slotHandler[slot] = undefined;
    this.slotArg[slot] = undefined;
    this.slotSeq[slot] = -1;
    // Generations wrap; a handle kept through 2^26 reuses of its slot is the only way to alias.
    this.slotGen[slot] = ((this.slotGen[slot] as number) + 1) & (SLOT_BITS - 1);
    this.freeSlots[this.freeCount++] = slot;
  }

  // ---- FIFO for events due now ----

  private fifoPush(slot: number, seq: number): void {
    if (this.fifoLen === this.fifoSlot.length) {
      const n = this.fifoLen * 2;
      const s = new Int32Array(n);
      const q = new Float64Array(n);
      for (let i = 0; i < this.fifoLen; i++) {
        const j = (this.fifoHead + i) % this.fifoLen;
        s[i] = this.fifoSlot[j] as number;
        q[i] = this.fifoSeq[j] as number;
      }
      this.fifoSlot = s;
      this.fifoSeq = q;
      this.fifoHead = 0;
    }
    const tail = (this.fifoHead + this.fifoLen) % this.fifoSlot.length;
    this.fifoSlot[tail] = slot;
    this.fifoSeq[tail] = seq;
    this.fifoLen++;
  }

  private fifoPop(): void {
    this.fifoHead = (this.fifoHead + 1) % this.fifoSlot.length;
    this.fifoLen--;
  }

  /** Pop dead (cancelled or rescheduled) entries off the fronts of both queues. */
  private dropDead(): void {
    while (this.fifoLen > 0 && this.slotSeq[this.fifoSlot[this.fifoHead] as number] !== this.fifoSeq[this.fifoHead]) {
      this.fifoPop();
    }
    while (this.heapSize > 0 && this.slotSeq[this.heapSlot[0] as number] !== this.heapSeq[0]) {
      this.popRoot();
    }
  }

  private maybeCompact(): void {
    if (this.heapSize > 4096 && this.heapSize > 4 * this.live) this.compact();
  }

  /** Drop dead entries and re-heapify (Floyd's bottom-up build, O(n)). */
  private compact(): void {
    const ht = this.heapTime;
    const hs = this.heapSeq;
    const hl = this.heapSlot;
    let n = 0;
    for (let i = 0; i < this.heapSize; i++) {
      const slot = hl[i] as number;
      if (this.slotSeq[slot] === hs[i]) {
        ht[n] = ht[i] as number;
        hs[n] = hs[i] as number;
        hl[n] = slot;
        n++;
      }
    }
    this.heapSize = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  // ---- heap ----

  private heapPush(time: number, seq: number, slot: number): void {
    if (this.heapSize === this.heapTime.length) {
      this.heapTime = grow(this.heapTime);
      this.heapSeq = grow(this.heapSeq);
      this.heapSlot = growInt(this.heapSlot);
    }
    const i = this.heapSize++;
    this.heapTime[i] = time;
    this.heapSeq[i] = seq;
    this.heapSlot[i] = slot;
    this.siftUp(i);
  }

  private popRoot(): void {
    const n = --this.heapSize;
    if (n === 0) return;
    this.heapTime[0] = this.heapTime[n] as number;
    this.heapSeq[0] = this.heapSeq[n] as number;
    this.heapSlot[0] = this.heapSlot[n] as number;
    this.siftDown(0);
  }

  private siftUp(start: number): void {
    const ht = this.heapTime;
    const hs = this.heapSeq;
    const hl = this.heapSlot;
    const time = ht[start] as number;
    const seq = hs[start] as number;
    const slot = hl[start] as number;
    let i = start;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = ht[p] as number;
      if (pt < time || (pt === time && (hs[p] as number) < seq)) break;
      ht[i] = pt;
      hs[i] = hs[p] as number;
      hl[i] = hl[p] as number;
      i = p;
    }
    ht[i] = time;
    hs[i] = seq;
    hl[i] = slot;
  }

  private siftDown(start: number): void {
    const n = this.heapSize;
    const ht = this.heapTime;
    const hs = this.heapSeq;
    const hl = this.heapSlot;
    const time = ht[start] as number;
    const seq = hs[start] as number;
    const slot = hl[start] as number;
    let i = start;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let ct = ht[c] as number;
      const r = c + 1;
      if (r < n) {
        const rt = ht[r] as number;
        // Sequence numbers are read only on ties: most comparisons touch one array.
        if (rt < ct || (rt === ct && (hs[r] as number) < (hs[c] as number))) {
          c = r;
          ct = rt;
        }
      }
      if (time < ct || (time === ct && seq < (hs[c] as number))) break;
      ht[i] = ct;
      hs[i] = hs[c] as number;
      hl[i] = hl[c] as number;
      i = c;
    }
    ht[i] = time;
    hs[i] = seq;
    hl[i] = slot;
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
