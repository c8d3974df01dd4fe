/**
 * Pipeline sends that do not hold their sender (parallelism.overlapP2P). A rank's sends go
 * out one at a time in order, as on one communication stream (Megatron waits for a send's
 * handle before posting the next), while its compute goes on. Each in flight gets an id
 * that travels as its activity's data, naming who sent what to whom.
 */
import type { Op } from "./program.ts";

export class AsyncSends {
  from: number[] = [];
  to: number[] = [];
  key: number[] = [];
  op: Op[] = [];
  private free: number[] = [];
  /** Per sending rank: its sends not yet transferred, the first one in flight. */
  private queues = new Map<number, number[]>();

  /** `start(id)` starts send id's transfer. */
  constructor(private readonly start: (id: number) => void) {}

  send(from: number, to: number, key: number, op: Op): void {
    const id = this.free.pop() ?? this.from.length;
    this.from[id] = from;
    this.to[id] = to;
    this.key[id] = key;
    this.op[id] = op;
    let q = this.queues.get(from);
    if (q === undefined) this.queues.set(from, (q = []));
    q.push(id);
    if (q.length === 1) this.start(id);
  }

  /** Send id's transfer is done: the rank's next send starts. */
  transferred(id: number): void {
    const q = this.queues.get(this.from[id] as number) as number[];
    q.shift();
    if (q.length > 0) this.start(q[0] as number);
  }

  /** Send id has arrived; its id may be reused. */
  release(id: number): void {
    this.free.push(id);
  }
}
