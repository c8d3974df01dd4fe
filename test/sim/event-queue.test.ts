import { describe, expect, it } from "vitest";
import { EventQueue } from "../../sim/event-queue.ts";
import { RandomStreams } from "../../sim/random.ts";

describe("EventQueue", () => {
  it("fires events in time order and equal times in schedule order", () => {
    const q = new EventQueue();
    const seen: string[] = [];
    q.schedule(2, () => seen.push("c"));
    q.schedule(1, () => seen.push("a"));
    q.schedule(1, () => seen.push("b"));
    q.schedule(2, () => seen.push("d"));
    q.schedule(0, () => seen.push("z"));
    q.run();
    expect(seen).toEqual(["z", "a", "b", "c", "d"]);
    expect(q.now).toBe(2);
    expect(q.processed).toBe(5);
    expect(q.pending).toBe(0);
  });

  it("runs events scheduled at the current time after those already queued for it", () => {
    const q = new EventQueue();
    const seen: number[] = [];
    q.schedule(1, () => {
      seen.push(1);
      q.schedule(1, () => seen.push(3));
    });
    q.schedule(1, () => seen.push(2));
    q.run();
    expect(seen).toEqual([1, 2, 3]);
  });

  it("cancel removes a pending event, and is a no-op on fired or cancelled ones", () => {
    const q = new EventQueue();
    const seen: number[] = [];
    const h1 = q.schedule(1, () => seen.push(1));
    const h2 = q.schedule(2, () => seen.push(2));
    expect(q.cancel(h2)).toBe(true);
    expect(q.cancel(h2)).toBe(false);
    expect(q.pending).toBe(1);
    q.run();
    expect(seen).toEqual([1]);
    expect(q.cancel(h1)).toBe(false);
    // A stale handle must not cancel the event that now occupies its slot.
    const h3 = q.schedule(5, () => seen.push(5));
    expect(q.cancel(h1)).toBe(false);
    expect(q.cancel(h2)).toBe(false);
    q.run();
    expect(seen).toEqual([1, 5]);
    expect(q.cancel(h3)).toBe(false);
  });

  it("run(until) stops before later events and advances the clock", () => {
    const q = new EventQueue();
    const seen: number[] = [];
    q.schedule(1, () => seen.push(1));
    q.schedule(3, () => seen.push(3));
    q.run(2);
    expect(seen).toEqual([1]);
    expect(q.now).toBe(2);
    q.run();
    expect(seen).toEqual([1, 3]);
  });

  it("refuses to schedule in the past", () => {
    const q = new EventQueue();
    q.schedule(5, () => undefined);
    q.run();
    expect(() => q.schedule(4, () => undefined)).toThrow(/before now/);
    expect(() => q.schedule(Number.NaN, () => undefined)).toThrow(RangeError);
  });

  it("matches a sorted reference under random schedules and cancels (seeded property test)", () => {
    for (let trial = 0; trial < 20; trial++) {
      const rng = new RandomStreams(trial).stream("heap");
      const q = new EventQueue();
      type Ref = { time: number; seq: number; id: number; cancelled: boolean };
      const ref: Ref[] = [];
      const handles: number[] = [];
      const fired: number[] = [];
      let seq = 0;
      const n = 2000;
      for (let i = 0; i < n; i++) {
        // Coarse times make many ties.
        const time = Math.floor(rng.uniform() * 200) / 4;
        const id = i;
        handles.push(q.schedule(time, () => fired.push(id)));
        ref.push({ time, seq: seq++, id, cancelled: false });
        if (rng.uniform() < 0.3) {
          const victim = rng.int(0, i + 1);
          const ok = q.cancel(handles[victim] as number);
          const r = ref[victim] as Ref;
          expect(ok).toBe(!r.cancelled);
          r.cancelled = true;
        }
      }
      let last = -Infinity;
      while (q.step()) {
        expect(q.now).toBeGreaterThanOrEqual(last);
        last = q.now;
      }
      const expected = ref
        .filter((r) => !r.cancelled)
        .sort((a, b) => a.time - b.time || a.seq - b.seq)
        .map((r) => r.id);
      expect(fired).toEqual(expected);
    }
  });

  it("interleaves scheduling from handlers with a reference (time never goes back)", () => {
    const rng = new RandomStreams(7).stream("nested");
    const q = new EventQueue();
    const times: number[] = [];
    let budget = 20000;
    const spawn = (): void => {
      times.push(q.now);
      const k = rng.int(0, 3);
      for (let i = 0; i < k && budget > 0; i++, budget--) {
        const h = q.scheduleIn(rng.uniform() < 0.2 ? 0 : rng.exponential(1), spawn);
        if (rng.uniform() < 0.1) q.cancel(h);
      }
    };
    for (let i = 0; i < 50; i++) q.schedule(rng.uniform(), spawn);
    q.run();
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    expect(q.pending).toBe(0);
    expect(q.processed).toBe(times.length);
  });

  it("stays correct after heavy cancellation triggers compaction", () => {
    const q = new EventQueue();
    const handles: number[] = [];
    for (let i = 0; i < 20000; i++) handles.push(q.schedule(20000 - i, () => undefined));
    for (let i = 0; i < 19990; i++) q.cancel(handles[i] as number);
    expect(q.pending).toBe(10);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) q.schedule(0.5 + i, () => seen.push(q.now));
    let fired = 0;
    while (q.step()) fired++;
    expect(fired).toBe(20);
    expect(seen).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5]);
  });
});

describe("EventQueue.reschedule", () => {
  it("moves an event earlier or later in place, ordering it as if scheduled now", () => {
    const q = new EventQueue();
    const seen: string[] = [];
    const a = q.schedule(5, () => seen.push("a"));
    q.schedule(2, () => seen.push("b"));
    q.schedule(3, () => seen.push("c"));
    expect(q.reschedule(a, 1)).toBe(a);
    q.schedule(3, () => seen.push("d"));
    const e = q.schedule(9, () => seen.push("e"));
    // To t=3: after c and d, which were scheduled before the move.
    q.reschedule(e, 3);
    q.run();
    expect(seen).toEqual(["a", "b", "c", "d", "e"]);
    expect(q.reschedule(a, 10)).toBe(-1);
  });

  it("matches a reference under random schedule / cancel / reschedule mixes", () => {
    for (let trial = 0; trial < 10; trial++) {
      const rng = new RandomStreams(100 + trial).stream("resched");
      const q = new EventQueue();
      type Ref = { time: number; seq: number; id: number; alive: boolean; handle: number };
      const ref: Ref[] = [];
      let seq = 0;
      const fired: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const op = rng.uniform();
        const live = ref.filter((r) => r.alive);
        if (op < 0.6 || live.length === 0) {
          const time = Math.floor(rng.uniform() * 100) / 2;
          const id = ref.length;
          ref.push({ time, seq: seq++, id, alive: true, handle: q.schedule(time, () => fired.push(id)) });
        } else if (op < 0.8) {
          const r = live[rng.int(0, live.length)]!;
          expect(q.cancel(r.handle)).toBe(true);
          r.alive = false;
        } else {
          const r = live[rng.int(0, live.length)]!;
          r.time = Math.floor(rng.uniform() * 100) / 2;
          r.seq = seq++;
          r.handle = q.reschedule(r.handle, r.time);
          expect(r.handle).toBeGreaterThanOrEqual(0);
        }
      }
      expect(q.pending).toBe(ref.filter((r) => r.alive).length);
      q.run();
      const expected = ref.filter((r) => r.alive).sort((a, b) => a.time - b.time || a.seq - b.seq).map((r) => r.id);
      expect(fired).toEqual(expected);
    }
  });

  it("events due now, scheduled from a handler, run after earlier-scheduled events at the same time", () => {
    const q = new EventQueue();
    const seen: string[] = [];
    q.schedule(1, () => {
      seen.push("x");
      q.schedule(1, () => seen.push("now-1"));
      const h = q.schedule(1, () => seen.push("cancelled"));
      q.schedule(1, () => seen.push("now-2"));
      q.cancel(h);
    });
    q.schedule(1, () => seen.push("y"));
    q.schedule(2, () => seen.push("z"));
    q.run();
    expect(seen).toEqual(["x", "y", "now-1", "now-2", "z"]);
  });
});

describe("EventQueue: the fired event's root entry and the fused run loop", () => {
  it("a handler that schedules nothing, cancels, peeks or reschedules sees the true next event", () => {
    const q = new EventQueue();
    const seen: string[] = [];
    let laterHandle = -1;
    let selfHandle = -1;
    const peeks: number[] = [];
    selfHandle = q.schedule(1, () => {
      seen.push("a");
      // Its own entry is still at the root, dead: neither the peek nor the count may show it.
      peeks.push(q.peekTime());
      expect(q.pending).toBe(4);
      expect(q.cancel(selfHandle)).toBe(false);
      expect(q.cancel(laterHandle)).toBe(true);
      expect(q.pending).toBe(3);
      peeks.push(q.peekTime());
    });
    q.schedule(2, () => seen.push("b"));
    laterHandle = q.schedule(3, () => seen.push("cancelled"));
    const moved = q.schedule(4, () => seen.push("moved"));
    q.schedule(2, () => {
      seen.push("c");
      // Reschedule from a handler: its new entry replaces this handler's root entry.
      expect(q.reschedule(moved, 2.5)).toBe(moved);
    });
    q.run();
    expect(seen).toEqual(["a", "b", "c", "moved"]);
    expect(peeks).toEqual([2, 2]);
    expect(q.now).toBe(2.5);
    expect(q.processed).toBe(4);
    expect(q.pending).toBe(0);
  });

  it("run(until) fires events due exactly at `until`, stops before later ones, and counts what it fired", () => {
    const q = new EventQueue();
    const seen: number[] = [];
    q.schedule(1, () => {
      seen.push(1);
      q.schedule(1, () => seen.push(1.1)); // due now: through the FIFO
      q.schedule(2, () => seen.push(2));
    });
    q.schedule(3, () => seen.push(3));
    q.run(2);
    expect(seen).toEqual([1, 1.1, 2]);
    expect(q.now).toBe(2);
    expect(q.processed).toBe(3);
    q.run(2.5);
    expect(q.now).toBe(2.5);
    expect(q.pending).toBe(1);
    expect(q.step()).toBe(true);
    expect(q.now).toBe(3);
    expect(q.step()).toBe(false);
    expect(q.processed).toBe(4);
  });

  it("an event due now waits for heap events at the same time scheduled before it, and the root left vacant for it is filled by the next push", () => {
    const q = new EventQueue();
    const seen: string[] = [];
    q.schedule(1, () => {
      seen.push("a");
      // Due now, in the FIFO: "b" (same time, scheduled earlier) still goes first.
      q.schedule(1, () => {
        seen.push("c");
        // The heap's root is vacant here ("a", then "b" fired): this push fills it.
        q.schedule(1.5, () => seen.push("e"));
        q.schedule(1.25, () => seen.push("d"));
        expect(q.peekTime()).toBe(1.25);
      });
    });
    q.schedule(1, () => seen.push("b"));
    q.schedule(2, () => {
      seen.push("f");
      // Later heap events only: the FIFO's event runs first, with the root left vacant.
      q.schedule(2, () => {
        seen.push("g");
        q.schedule(2.5, () => seen.push("i"));
      });
      q.schedule(2.25, () => seen.push("h"));
    });
    q.schedule(3, () => seen.push("j"));
    q.run();
    expect(seen).toEqual(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
  });

  it("fires in exact (time, schedule order) when handlers schedule now and later, cancel and reschedule (seeded, checked at every event)", () => {
    for (let trial = 0; trial < 8; trial++) {
      const rng = new RandomStreams(300 + trial).stream("handlers");
      const q = new EventQueue(trial % 2 === 0 ? undefined : 64);
      type Ref = { time: number; seq: number; alive: boolean; handle: number };
      const ref: Ref[] = [];
      let seq = 0;
      let budget = 4000;
      let fired = 0;
      let cancelled = 0;
      const add = (time: number): void => {
        const id = ref.length;
        ref.push({ time, seq: seq++, alive: true, handle: q.schedule(time, () => handler(id)) });
      };
      const handler = (id: number): void => {
        // The reference's next: the live entry with the least (time, seq).
        let best = -1;
        for (let i = 0; i < ref.length; i++) {
          const r = ref[i] as Ref;
          if (!r.alive) continue;
          const b = ref[best] as Ref | undefined;
          if (b === undefined || r.time < b.time || (r.time === b.time && r.seq < b.seq)) best = i;
        }
        expect(id).toBe(best);
        expect(q.now).toBe((ref[id] as Ref).time);
        (ref[id] as Ref).alive = false;
        fired++;
        const k = rng.int(0, 4);
        for (let i = 0; i < k && budget > 0; i++, budget--) {
          const u = rng.uniform();
          // Due now (the FIFO), on a coarse grid (ties in the heap) or anywhere later.
          add(u < 0.3 ? q.now : u < 0.7 ? q.now + Math.floor(rng.uniform() * 4) / 2 : q.now + rng.exponential(1));
        }
        const live = ref.filter((r) => r.alive);
        if (live.length > 0 && rng.uniform() < 0.2) {
          const r = live[rng.int(0, live.length)] as Ref;
          expect(q.cancel(r.handle)).toBe(true);
          r.alive = false;
          cancelled++;
        }
        if (live.length > 0 && rng.uniform() < 0.15) {
          const r = live[rng.int(0, live.length)] as Ref;
          if (r.alive) {
            r.time = q.now + Math.floor(rng.uniform() * 4) / 2;
            r.seq = seq++;
            expect(q.reschedule(r.handle, r.time)).toBe(r.handle);
          }
        }
      };
      for (let i = 0; i < 40; i++) add(Math.floor(rng.uniform() * 8) / 2);
      q.run();
      expect(ref.every((r) => !r.alive)).toBe(true);
      expect(fired + cancelled).toBe(ref.length);
      expect(q.pending).toBe(0);
      expect(fired).toBeGreaterThan(3000);
    }
  });

  it("stop() inside a handler returns from run with the clock at that event", () => {
    const q = new EventQueue();
    const seen: number[] = [];
    q.schedule(1, () => seen.push(1));
    q.schedule(2, () => {
      seen.push(2);
      q.stop();
    });
    q.schedule(3, () => seen.push(3));
    q.run(10);
    expect(seen).toEqual([1, 2]);
    expect(q.now).toBe(2);
    q.run(10);
    expect(seen).toEqual([1, 2, 3]);
    expect(q.now).toBe(10);
  });
});

describe("EventQueue: sequence numbers renumbered when they run out", () => {
  it("rejects a limit outside [2, 2^27]", () => {
    expect(() => new EventQueue(1)).toThrow(RangeError);
    expect(() => new EventQueue(2 ** 27 + 1)).toThrow(RangeError);
  });

  it("keeps time and schedule order across many renumberings (random schedule / cancel / reschedule, from handlers too)", () => {
    for (let trial = 0; trial < 10; trial++) {
      const rng = new RandomStreams(500 + trial).stream("renumber");
      // A limit this small renumbers every few schedules.
      const q = new EventQueue(2 + trial * 3);
      type Ref = { time: number; seq: number; id: number; alive: boolean; handle: number };
      const ref: Ref[] = [];
      let seq = 0;
      const fired: number[] = [];
      const add = (time: number): void => {
        const id = ref.length;
        const r: Ref = { time, seq: seq++, id, alive: true, handle: -1 };
        ref.push(r);
        r.handle = q.schedule(time, () => {
          fired.push(id);
          r.alive = false;
          // Handlers schedule more, some due now (FIFO), with many ties.
          if (ref.length < 1500) {
            const k = rng.int(1, 3);
            for (let i = 0; i < k; i++) add(rng.uniform() < 0.3 ? q.now : q.now + Math.floor(rng.uniform() * 8) / 4);
          }
          const live = ref.filter((x) => x.alive);
          if (live.length > 0 && rng.uniform() < 0.3) {
            const v = live[rng.int(0, live.length)]!;
            expect(q.cancel(v.handle)).toBe(true);
            v.alive = false;
          }
          if (live.length > 1 && rng.uniform() < 0.3) {
            const v = live[rng.int(0, live.length)]!;
            if (v.alive) {
              v.time = q.now + Math.floor(rng.uniform() * 8) / 4;
              v.seq = seq++;
              expect(q.reschedule(v.handle, v.time)).toBe(v.handle);
            }
          }
        });
      };
      for (let i = 0; i < 30; i++) add(Math.floor(rng.uniform() * 40) / 4);
      // Each firing must be the live event with the least (time, seq) at that moment.
      const before = q.step.bind(q);
      let checked = 0;
      q.step = (): boolean => {
        const live = ref.filter((x) => x.alive);
        if (live.length === 0) return before();
        const next = live.reduce((m, x) => (x.time < m.time || (x.time === m.time && x.seq < m.seq) ? x : m));
        const n = fired.length;
        const ok = before();
        expect(fired[n]).toBe(next.id);
        checked++;
        return ok;
      };
      while (q.step());
      expect(checked).toBe(fired.length);
      expect(fired.length).toBeGreaterThan(500);
      expect(q.pending).toBe(0);
      expect(q.processed).toBe(fired.length);
      expect(new Set(fired).size).toBe(fired.length);
    }
  });

  it("fires exactly as a queue that never renumbers", () => {
    const trace = (limit: number | undefined): string[] => {
      const rng = new RandomStreams(77).stream("same");
      const q = limit === undefined ? new EventQueue() : new EventQueue(limit);
      const out: string[] = [];
      const handles: number[] = [];
      let n = 0;
      const spawn = (): void => {
        out.push(`${n}@${q.now}`);
        if (n++ > 4000) return;
        const k = rng.int(0, 3);
        for (let i = 0; i <= k; i++) handles.push(q.scheduleIn(rng.uniform() < 0.25 ? 0 : Math.floor(rng.uniform() * 6) / 2, spawn));
        const h = handles[rng.int(0, handles.length)]!;
        const u = rng.uniform();
        if (u < 0.15) q.cancel(h);
        else if (u < 0.3) q.reschedule(h, q.now + Math.floor(rng.uniform() * 6) / 2);
      };
      for (let i = 0; i < 20; i++) q.schedule(Math.floor(rng.uniform() * 10) / 2, spawn);
      q.run();
      out.push(`processed ${q.processed} pending ${q.pending}`);
      return out;
    };
    const plain = trace(undefined);
    expect(plain.length).toBeGreaterThan(1000);
    for (const limit of [2, 3, 7, 64, 1000]) expect(trace(limit)).toEqual(plain);
  });
});

describe("EventQueue.upcomingArgs (prefetch hints)", () => {
  const f = (_arg: number): void => undefined;
  const g = (_arg: number): void => undefined;

  it("names the earliest heap events of one handler, earliest first, skipping other handlers and non-number arguments", () => {
    const q = new EventQueue();
    q.scheduleCall(5, f, 50);
    q.scheduleCall(1, g, 10); // another handler: not named
    q.scheduleCall(3, f, 30);
    q.scheduleCall(2, f, { not: "a number" } as unknown as number); // not a number: not named
    q.scheduleCall(4, f, 40);
    q.scheduleCall(9, f, 90);
    q.scheduleCall(0.5, f, 5);
    const out = [0, 0, 0, 0];
    const at = new Int32Array(8);
    // The four earliest heap entries are t = 0.5 (f), 1 (g), 2 (f, object), 3 (f): two are named.
    expect(q.upcomingArgs(f, out, at)).toBe(2);
    expect(out.slice(0, 2)).toEqual([5, 30]);
    // After the first fires (its root entry left vacant), the search starts below it.
    q.step();
    expect(q.upcomingArgs(f, out, at)).toBe(2);
    expect(out.slice(0, 2)).toEqual([30, 40]);
    // A cancelled event is not named.
    const h = q.scheduleCall(3.5, f, 35);
    q.cancel(h);
    q.step(); // t = 1 (g)
    q.step(); // t = 2
    expect(q.upcomingArgs(f, out, at)).toBe(3);
    expect(out.slice(0, 3)).toEqual([30, 40, 50]);
  });

  it("matches the time order of a sorted reference on random heaps (seeded)", () => {
    for (let trial = 0; trial < 20; trial++) {
      const rng = new RandomStreams(trial).stream("upcoming");
      const q = new EventQueue();
      const times: number[] = [];
      for (let i = 0; i < 500; i++) {
        const t = 1 + rng.uniform() * 100;
        times.push(t);
        q.scheduleCall(t, f, i);
      }
      // Fire some, so that the root is vacant and the heap has been reshaped.
      const fired = rng.int(0, 50);
      for (let k = 0; k < fired; k++) q.step();
      const out = [0, 0, 0, 0];
      const count = q.upcomingArgs(f, out, new Int32Array(8));
      const expected = times
        .map((t, i) => ({ t, i }))
        .sort((a, b) => a.t - b.t)
        .slice(fired, fired + 4)
        .map((e) => e.i);
      expect(count).toBe(4);
      expect(out).toEqual(expected);
    }
  });

  it("sees an event pushed into the root left vacant by the one that fired, before anything else looks at the heap", () => {
    for (let trial = 0; trial < 20; trial++) {
      const rng = new RandomStreams(50 + trial).stream("upcoming-push");
      const q = new EventQueue();
      const pending = new Map<number, number>();
      let next = 0;
      const out = [0, 0, 0, 0];
      let checked = 0;
      const fire = (arg: number): void => {
        pending.delete(arg);
        // The push fills the root this event left; the search must see the heap in order.
        const t = q.now + rng.uniform() * 10;
        pending.set(next, t);
        q.scheduleCall(t, fire, next++);
        const count = q.upcomingArgs(fire, out, new Int32Array(8));
        const expected = [...pending.entries()].sort((a, b) => a[1] - b[1]).slice(0, 4).map((e) => e[0]);
        expect(count).toBe(expected.length);
        expect(out.slice(0, count)).toEqual(expected);
        checked++;
      };
      for (let i = 0; i < 200; i++) {
        const t = rng.uniform() * 10;
        pending.set(next, t);
        q.scheduleCall(t, fire, next++);
      }
      for (let k = 0; k < 300; k++) q.step();
      expect(checked).toBe(300);
    }
  });
});
