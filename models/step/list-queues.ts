/**
 * FIFO queues of op-list ids, one per data-parallel stream slot, in one typed array
 * (perf P31): slot s's waiting lists sit in a ring of `capacity` entries; `tail` counts
 * the lists ever pushed (an FSDP token remembers it), `head` those taken.
 */
export class ListQueues {
  readonly head: Int32Array;
  readonly tail: Int32Array;
  private ring: Int32Array;
  private capacity: number;

  constructor(private readonly slots: number, capacity: number) {
    this.head = new Int32Array(slots);
    this.tail = new Int32Array(slots);
    this.capacity = Math.max(1, capacity);
    this.ring = new Int32Array(slots * this.capacity);
  }

  push(s: number, list: number): void {
    if ((this.tail[s] as number) - (this.head[s] as number) === this.capacity) this.grow();
    this.ring[s * this.capacity + ((this.tail[s] as number) % this.capacity)] = list;
    this.tail[s] = (this.tail[s] as number) + 1;
  }

  empty(s: number): boolean {
    return this.head[s] === this.tail[s];
  }

  /** The oldest waiting list of slot `s` (not empty). */
  take(s: number): number {
    const list = this.ring[s * this.capacity + ((this.head[s] as number) % this.capacity)] as number;
    this.head[s] = (this.head[s] as number) + 1;
    return list;
  }

  /** Twice the room per slot, each slot's waiting lists at their positions in the larger ring. */
  private grow(): void {
    const cap = this.capacity;
    const next = new Int32Array(this.slots * cap * 2);
    for (let r = 0; r < this.slots; r++) for (let k = this.head[r] as number; k < (this.tail[r] as number); k++) next[r * cap * 2 + (k % (cap * 2))] = this.ring[r * cap + (k % cap)] as number;
    this.ring = next;
    this.capacity = cap * 2;
  }
}
