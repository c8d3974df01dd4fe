import { describe, expect, it } from "vitest";
import { Simulation } from "../../sim/simulation.ts";
import type { Activity, Resource } from "../../sim/fluid.ts";
import { RandomStreams } from "../../sim/random.ts";

const REL = 1e-9;
function close(actual: number, expected: number, rel = REL): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
}

function ends(sim: Simulation, specs: { label: string; work: [Resource, number][]; weight?: number; multiplicity?: number }[]): Map<string, number> {
  const done = new Map<string, number>();
  for (const s of specs) {
    sim.fluid.start({ ...s, onComplete: (a) => done.set(a.label, sim.now) });
  }
  sim.run();
  return done;
}

describe("fluid model: single activities", () => {
  it("one activity on {sm, hbm} takes max(F/C_sm, B/C_hbm) (the roofline)", () => {
    const sim = new Simulation();
    const sm = sim.fluid.addResource({ name: "sm", capacity: 989e12 });
    const hbm = sim.fluid.addResource({ name: "hbm", capacity: 3.35e12 });
    // Compute-bound GEMM: 2.1e12 FLOP, 3.4e9 B.
    let a: Activity | undefined;
    const t = ends(sim, [{ label: "gemm", work: [[sm, 2.1e12], [hbm, 3.4e9]] }]);
    close(t.get("gemm")!, Math.max(2.1e12 / 989e12, 3.4e9 / 3.35e12));
    // Memory-bound op: 1e9 FLOP, 8e9 B.
    const sim2 = new Simulation();
    const sm2 = sim2.fluid.addResource({ name: "sm", capacity: 989e12 });
    const hbm2 = sim2.fluid.addResource({ name: "hbm", capacity: 3.35e12 });
    a = sim2.fluid.start({ work: [[sm2, 1e9], [hbm2, 8e9]] });
    sim2.fluid.flush();
    expect(a.bottleneck).toBe(hbm2);
    sim2.run();
    close(a.endTime, 8e9 / 3.35e12);
  });

  it("halving HBM bandwidth leaves a compute-bound op unchanged and doubles a memory-bound one", () => {
    const time = (hbmBw: number, flop: number, bytes: number): number => {
      const sim = new Simulation();
      const sm = sim.fluid.addResource({ name: "sm", capacity: 1e15 });
      const hbm = sim.fluid.addResource({ name: "hbm", capacity: hbmBw });
      const a = sim.fluid.start({ work: [[sm, flop], [hbm, bytes]] });
      sim.run();
      return a.endTime;
    };
    close(time(1.5e12, 1e13, 1e9), time(3e12, 1e13, 1e9));
    close(time(1.5e12, 1e9, 1e10), 2 * time(3e12, 1e9, 1e10));
  });

  it("reports the resource that froze the activity", () => {
    const sim = new Simulation();
    const sm = sim.fluid.addResource({ name: "sm", capacity: 100 });
    const hbm = sim.fluid.addResource({ name: "hbm", capacity: 10 });
    const a = sim.fluid.start({ work: [[sm, 1000], [hbm, 50]] });
    sim.fluid.flush();
    expect(a.bottleneck).toBe(sm);
    close(a.rate, 0.1);
  });

  it("an activity with no finite resource completes at once; maxRate bounds the rate", () => {
    const sim = new Simulation();
    const inf = sim.fluid.addResource({ name: "inf", capacity: Infinity });
    const a = sim.fluid.start({ work: [[inf, 5]] });
    const b = sim.fluid.start({ work: [[inf, 5]], maxRate: 0.25 });
    sim.run();
    expect(a.endTime).toBe(0);
    close(b.endTime, 4);
    expect(b.bottleneck).toBe(null);
  });

  it("rejects bad work amounts, weights and capacities", () => {
    const sim = new Simulation();
    const r = sim.fluid.addResource({ name: "r", capacity: 1 });
    expect(() => sim.fluid.start({ work: [[r, -1]] })).toThrow(/finite number >= 0/);
    expect(() => sim.fluid.start({ work: [[r, Number.NaN]] })).toThrow(RangeError);
    expect(() => sim.fluid.start({ work: [[r, 1]], weight: 0 })).toThrow(/> 0/);
    expect(() => sim.fluid.addResource({ name: "x", capacity: -3 })).toThrow(/capacity/);
    expect(() => sim.fluid.setCapacity(r, Number.NaN)).toThrow(/capacity/);
  });
});

describe("fluid model: sharing", () => {
  it("n flows on one link each get C/n", () => {
    for (const n of [1, 2, 3, 7, 64]) {
      const sim = new Simulation();
      const link = sim.fluid.addResource({ name: "link", capacity: 100e9 });
      const acts: Activity[] = [];
      // Different byte counts: fairness is per byte/s, not per fraction.
      for (let i = 0; i < n; i++) acts.push(sim.fluid.start({ work: [[link, 1e9 * (i + 1)]] }));
      sim.fluid.flush();
      for (let i = 0; i < n; i++) close(acts[i]!.rate * 1e9 * (i + 1), 100e9 / n);
    }
  });

  it("solves a textbook max-min case over 3 links with flows of different lengths, to completion", () => {
    // Links L1=1, L2=2, L3=3 (bytes/s). Flows (path; bytes):
    //   f0: L1,L2,L3; 1.0   f1: L1; 0.25   f2: L2; 3   f3: L2,L3; 1.5   f4: L3; 3.5
    // Phase 1 (t=0): L1 saturates first at 1/2 (f0,f1); then L2 has 2-0.5 = 1.5 for f2,f3 -> 0.75;
    //   then L3 has 3-0.5-0.75 = 1.75 for f4.  Rates: .5 .5 .75 .75 1.75.  f1 ends at 0.25/.5 = 0.5.
    // Phase 2 (t=0.5): remaining f0 .75, f2 2.625, f3 1.125, f4 2.625.  L2 saturates first at 2/3
    //   (f0,f2,f3); L3 gives f4 3-4/3 = 5/3.  f0 ends after .75/(2/3) = 1.125 -> t=1.625.
    // Phase 3 (t=1.625): remaining f2 1.875, f3 .375, f4 .75.  L2: f2=f3=1; L3: f4=2.
    //   f3 ends after .375 -> t=2.0; f4 ends after .75/2 = .375 -> t=2.0.
    // Phase 4 (t=2.0): f2 has 1.5 left alone on L2 (2) -> ends at t=2.75.
    const sim = new Simulation();
    const L1 = sim.fluid.addResource({ name: "L1", capacity: 1 });
    const L2 = sim.fluid.addResource({ name: "L2", capacity: 2 });
    const L3 = sim.fluid.addResource({ name: "L3", capacity: 3 });
    const flows: [string, Resource[], number][] = [
      ["f0", [L1, L2, L3], 1.0],
      ["f1", [L1], 0.25],
      ["f2", [L2], 3],
      ["f3", [L2, L3], 1.5],
      ["f4", [L3], 3.5],
    ];
    const acts = new Map<string, Activity>();
    const done = new Map<string, number>();
    for (const [label, path, bytes] of flows) {
      acts.set(label, sim.fluid.start({ label, work: path.map((r) => [r, bytes] as [Resource, number]), onComplete: () => done.set(label, sim.now) }));
    }
    sim.fluid.flush();
    const bw = (l: string, bytes: number): number => acts.get(l)!.rate * bytes;
    close(bw("f0", 1.0), 0.5);
    close(bw("f1", 0.25), 0.5);
    close(bw("f2", 3), 0.75);
    close(bw("f3", 1.5), 0.75);
    close(bw("f4", 3.5), 1.75);
    expect(acts.get("f0")!.bottleneck).toBe(L1);
    expect(acts.get("f2")!.bottleneck).toBe(L2);
    expect(acts.get("f4")!.bottleneck).toBe(L3);
    sim.run();
    close(done.get("f1")!, 0.5);
    close(done.get("f0")!, 1.625);
    close(done.get("f3")!, 2.0);
    close(done.get("f4")!, 2.0);
    close(done.get("f2")!, 2.75);
    // Conservation: bytes through each link equal the bytes of the flows crossing it.
    for (const r of [L1, L2, L3]) sim.fluid.settleResource(r);
    close(L1.workDone, 1.25);
    close(L2.workDone, 5.5);
    close(L3.workDone, 6.0);
    close(L1.busySeconds, 1.625);
    close(L2.busySeconds, 2.75);
    close(L3.busySeconds, 2.0);
  });

  it("weights split a saturated link in proportion", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 12 });
    const a = sim.fluid.start({ work: [[link, 12]], weight: 1 });
    const b = sim.fluid.start({ work: [[link, 12]], weight: 3 });
    sim.fluid.flush();
    close(a.rate * 12, 3);
    close(b.rate * 12, 9);
    sim.run();
    // b ends at 12/9; a then runs alone: 12 - 3*(4/3) = 8 bytes at 12 B/s.
    close(b.endTime, 4 / 3);
    close(a.endTime, 4 / 3 + 8 / 12);
  });

  it("multiplicity m behaves exactly like m separate copies", () => {
    const folded = new Simulation();
    const l1 = folded.fluid.addResource({ name: "spine", capacity: 10 });
    const p1 = folded.fluid.addResource({ name: "nic", capacity: 4 });
    const big = folded.fluid.start({ work: [[l1, 6]], multiplicity: 4 });
    const other = folded.fluid.start({ work: [[l1, 3], [p1, 3]] });
    folded.run();

    const full = new Simulation();
    const l2 = full.fluid.addResource({ name: "spine", capacity: 10 });
    const p2 = full.fluid.addResource({ name: "nic", capacity: 4 });
    const copies = [0, 1, 2, 3].map(() => full.fluid.start({ work: [[l2, 6]] }));
    const other2 = full.fluid.start({ work: [[l2, 3], [p2, 3]] });
    full.run();

    for (const c of copies) close(c.endTime, big.endTime);
    close(other2.endTime, other.endTime);
    // Hand check: 5 flows on 10 B/s -> 2 B/s each; `other` (3 B) ends at 1.5; then 4 copies
    // share 10 -> 2.5 each with 3 B left -> 1.2 s more.
    close(other.endTime, 1.5);
    close(big.endTime, 2.7);
    folded.fluid.settleResource(l1);
    full.fluid.settleResource(l2);
    close(l1.workDone, l2.workDone);
    close(l1.workDone, 27);
  });

  it("a resource with multiplicity M gives each of m copies 1/M of them (private per-instance resources)", () => {
    // 8 folded ranks each with their own SM: one representative sm resource standing for 8.
    const sim = new Simulation();
    const sm = sim.fluid.addResource({ name: "sm", capacity: 100, multiplicity: 8 });
    const a = sim.fluid.start({ work: [[sm, 100]], multiplicity: 8 });
    sim.run();
    close(a.endTime, 1);
    sim.fluid.settleResource(sm);
    close(sm.workDone, 100);
  });

  it("re-solves when a capacity drops mid-flight", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 2 });
    const a = sim.fluid.start({ work: [[link, 10]] });
    sim.at(1, () => sim.fluid.setCapacity(link, 1));
    sim.run();
    // 2 bytes in the first second, 8 more at 1 B/s.
    close(a.endTime, 9);
  });

  it("a zero capacity stalls activities until it returns", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 1 });
    const a = sim.fluid.start({ work: [[link, 4]] });
    sim.at(1, () => sim.fluid.setCapacity(link, 0));
    sim.at(11, () => sim.fluid.setCapacity(link, 2));
    sim.run();
    close(a.endTime, 12.5);
  });

  it("cancel stops an activity and frees its share", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 2 });
    const a = sim.fluid.start({ work: [[link, 10]] });
    const b = sim.fluid.start({ work: [[link, 10]] });
    sim.at(2, () => sim.fluid.cancel(b));
    sim.run();
    expect(b.state).toBe("cancelled");
    expect(b.endTime).toBe(2);
    // a: 2 B in 2 s at 1 B/s, then 8 B at 2 B/s.
    close(a.endTime, 6);
  });

  it("only re-solves the component touched by a change", () => {
    const sim = new Simulation();
    const links = Array.from({ length: 100 }, (_, i) => sim.fluid.addResource({ name: `l${i}`, capacity: 1 }));
    for (const l of links) sim.fluid.start({ work: [[l, 1 + l.id]] });
    sim.fluid.flush();
    const before = sim.fluid.solvedActivities;
    sim.fluid.start({ work: [[links[3]!, 1]] });
    sim.fluid.flush();
    expect(sim.fluid.solvedActivities - before).toBe(2);
  });

  it("reports segments with their bottleneck when rates change", () => {
    const sim = new Simulation();
    const sm = sim.fluid.addResource({ name: "sm", capacity: 10, kind: "sm" });
    const hbm = sim.fluid.addResource({ name: "hbm", capacity: 10, kind: "hbm" });
    const segs: [string, number, number, string][] = [];
    sim.fluid.segmentListener = { onSegment: (a, t0, t1, b) => void segs.push([a.label, t0, t1, b?.kind ?? "none"]) };
    sim.fluid.start({ label: "k", work: [[sm, 20], [hbm, 10]] });
    sim.at(1, () => sim.fluid.setCapacity(sm, 100));
    sim.run();
    // 1 s sm-bound at 0.5/s; then 0.5 left, hbm-bound at 1/s -> ends at 1.5.
    expect(segs.length).toBe(2);
    expect(segs[0]).toEqual(["k", 0, 1, "sm"]);
    expect(segs[1]![3]).toBe("hbm");
    close(segs[1]![2], 1.5);
  });
});

describe("fluid model: invariants on random instances", () => {
  it("never exceeds a capacity, every activity is saturated somewhere with the top share there, and work is conserved", () => {
    for (let trial = 0; trial < 30; trial++) {
      const rng = new RandomStreams(trial).stream("fluid");
      const sim = new Simulation();
      const nr = 2 + rng.int(0, 12);
      const res = Array.from({ length: nr }, (_, i) => sim.fluid.addResource({ name: `r${i}`, capacity: 1 + rng.uniform() * 9 }));
      const requested = new Map<Resource, number>();
      const acts: Activity[] = [];
      const startOne = (): void => {
        const k = 1 + rng.int(0, 3);
        const work: [Resource, number][] = [];
        for (let j = 0; j < k; j++) {
          const r = res[rng.int(0, nr)]!;
          const amount = 0.1 + rng.uniform() * 5;
          work.push([r, amount]);
        }
        const weight = rng.uniform() < 0.3 ? 1 + rng.int(0, 4) : 1;
        const multiplicity = rng.uniform() < 0.3 ? 1 + rng.int(0, 4) : 1;
        const a = sim.fluid.start({ work, weight, multiplicity });
        for (const r of a.resources) requested.set(r, (requested.get(r) ?? 0) + a.workOn(r) * multiplicity);
        acts.push(a);
      };
      for (let i = 0; i < 20; i++) startOne();
      let checks = 0;
      const check = (): void => {
        sim.fluid.flush();
        checks++;
        for (const r of res) {
          let use = 0;
          for (const a of r.activities) use += a.rate * a.workOn(r) * a.multiplicity;
          expect(use).toBeLessThanOrEqual(r.capacity * (1 + 1e-9));
        }
        for (const a of acts) {
          if (a.state !== "running") continue;
          const b = a.bottleneck;
          expect(b).not.toBe(null);
          let use = 0;
          let top = 0;
          for (const o of b!.activities) {
            use += o.rate * o.workOn(b!) * o.multiplicity;
            top = Math.max(top, (o.rate * o.size) / o.weight);
          }
          // Saturated, and no activity there has a larger normalised share (max-min).
          close(use, b!.capacity, 1e-9);
          expect((a.rate * a.size) / a.weight).toBeGreaterThanOrEqual(top * (1 - 1e-9));
        }
      };
      for (let i = 0; i < 10; i++) sim.at(rng.uniform() * 3, () => { startOne(); check(); });
      sim.at(0.5, () => sim.fluid.setCapacity(res[0]!, res[0]!.capacity * 0.5));
      sim.run();
      expect(checks).toBe(10);
      for (const a of acts) expect(a.state).toBe("done");
      for (const r of res) {
        sim.fluid.settleResource(r);
        close(r.workDone, requested.get(r) ?? 0, 1e-9);
      }
    }
  });
});

describe("fluid model: numbers of ended and recycled activities (rows)", () => {
  it("an ended activity keeps its numbers: read in its callback and after", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 4 });
    const seenInCallback: number[][] = [];
    const record = (x: Activity): void => {
      seenInCallback.push([x.endTime, x.rate, x.remaining, x.lastSettle, x.event]);
    };
    // Weighted 1:3 on 4 B/s: a gets 1 B/s (0.25/s), b 3 B/s (0.5/s); b ends at 2, then a has 2 B at 4 B/s.
    const a = sim.fluid.start({ work: [[link, 4]], onComplete: record });
    const b = sim.fluid.start({ work: [[link, 6]], weight: 3, onComplete: record });
    expect(a.endTime).toBeNaN();
    expect(a.startTime).toBe(0);
    sim.run();
    expect(seenInCallback).toEqual([
      [2, 0, 0, 2, -1],
      [2.5, 0, 0, 2.5, -1],
    ]);
    for (const [x, end, size, weight] of [
      [a, 2.5, 4, 1],
      [b, 2, 6, 3],
    ] as const) {
      expect(x.state).toBe("done");
      expect(x.endTime).toBe(end);
      expect(x.lastSettle).toBe(end);
      expect(x.startTime).toBe(0);
      expect(x.rate).toBe(0);
      expect(x.remaining).toBe(0);
      expect(x.progress).toBe(1);
      expect(x.size).toBe(size);
      expect(x.weight).toBe(weight);
      expect(x.multiplicity).toBe(1);
      expect(x.maxRate).toBe(Infinity);
      expect(x.event).toBe(-1);
    }
    // Its last segment (alone on the link) began when b ended.
    expect(a.segmentStart).toBe(2);
    expect(a.bottleneck).toBe(link);
  });

  it("a cancelled activity keeps what it had left", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 1 });
    const c = sim.fluid.start({ work: [[link, 4]], multiplicity: 2, maxRate: 0.5 });
    sim.at(1, () => sim.fluid.cancel(c));
    sim.run();
    // 2 copies share 1 B/s: 0.125 of the work per second.
    expect(c.state).toBe("cancelled");
    expect(c.endTime).toBe(1);
    expect(c.remaining).toBe(0.875);
    expect(c.rate).toBe(0);
    expect(c.multiplicity).toBe(2);
    expect(c.maxRate).toBe(0.5);
    sim.fluid.settleResource(link);
    expect(link.workDone).toBe(1);
    expect(link.busySeconds).toBe(1);
  });

  it("an activity recycled in its callback and started again is the same object with fresh numbers", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 2 });
    const ends: [number, number][] = [];
    let second: Activity | undefined;
    const first = sim.fluid.start({
      work: [[link, 2]],
      onComplete: (x) => {
        ends.push([x.endTime, sim.now]);
        sim.fluid.recycle(x);
        second = sim.fluid.start({ work: [[link, 1]], weight: 2, onComplete: (y) => ends.push([y.endTime, sim.now]) });
      },
    });
    sim.run();
    expect(second).toBe(first);
    expect(ends).toEqual([
      [1, 1],
      [1.5, 1.5],
    ]);
    expect(second!.startTime).toBe(1);
    expect(second!.weight).toBe(2);
    expect(second!.size).toBe(1);
    expect(second!.state).toBe("done");
  });

  it("spec.recycle: the engine recycles the activity once its callback returns, and the next start reuses it", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 2 });
    const seen: [number, number, string][] = [];
    const objects = new Set<Activity>();
    let left = 3;
    const next = (): void => {
      if (left-- === 0) return;
      const a = sim.fluid.start({
        work: [[link, 4]],
        label: `a${left}`,
        recycle: true,
        // Its numbers are still its own while the callback runs.
        onComplete: (x) => {
          seen.push([x.startTime, x.endTime, x.label]);
          next();
        },
      });
      objects.add(a);
    };
    next();
    sim.run();
    expect(seen).toEqual([
      [0, 2, "a2"],
      [2, 4, "a1"],
      [4, 6, "a0"],
    ]);
    // The callback starts the next before the first is recycled: two objects in turn.
    expect(objects.size).toBe(2);
    // Not kept: nothing of the ended activity was copied out of its record.
    const pool = (sim.fluid as unknown as { pool: Activity[] }).pool;
    expect(pool.length).toBe(2);
    for (const a of pool) expect(a.rec).toBe(-1);
  });

  it("spec.recycle with a callback that recycles it itself: it goes back to the pool once, not twice", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 1 });
    const first = sim.fluid.start({ work: [[link, 1]], recycle: true, onComplete: (x) => sim.fluid.recycle(x) });
    sim.run();
    expect((sim.fluid as unknown as { pool: Activity[] }).pool).toEqual([first]);
    // Twice in the pool, it would be handed out to both.
    const second = sim.fluid.start({ work: [[link, 2]] });
    const third = sim.fluid.start({ work: [[link, 2]] });
    expect(second).toBe(first);
    expect(third).not.toBe(second);
    sim.run();
    expect(second.endTime).toBe(5);
    expect(third.endTime).toBe(5);
  });

  it("spec.recycle, restarted by its own callback without it: ends like any other and keeps its numbers", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 1 });
    let second: Activity | undefined;
    const first = sim.fluid.start({
      work: [[link, 1]],
      recycle: true,
      onComplete: (x) => {
        sim.fluid.recycle(x);
        second = sim.fluid.start({ work: [[link, 2]] });
      },
    });
    sim.run();
    expect(second).toBe(first);
    expect(second!.startTime).toBe(1);
    expect(second!.endTime).toBe(3);
    expect(second!.remaining).toBe(0);
    expect((sim.fluid as unknown as { pool: Activity[] }).pool.length).toBe(0);
  });

  it("rows are reused: a long chain of activities, recycled or not, keeps the row storage small", () => {
    for (const recycle of [false, true]) {
      const sim = new Simulation();
      const link = sim.fluid.addResource({ name: "link", capacity: 8 });
      const kept: Activity[] = [];
      let left = 10_000;
      const next = (x?: Activity): void => {
        if (x !== undefined && recycle) sim.fluid.recycle(x);
        if (--left < 0) return;
        const a = sim.fluid.start({ work: [[link, 1]], onComplete: next });
        if (!recycle && left % 1000 === 0) kept.push(a);
      };
      next();
      next();
      sim.run();
      // Two at a time at 4 B/s each: 0.25 s per pair, 5,000 pairs.
      expect(sim.now).toBe(1250);
      // Two running at a time: a handful of 128-byte records, reused (LIFO).
      const store = (sim.fluid as unknown as { store: { acts: { top: number; blocks: number } } }).store;
      expect(store.acts.top).toBeLessThanOrEqual(4);
      expect(store.acts.blocks).toBe(64);
      // Activities kept from long ago still read their own numbers.
      for (const a of kept) {
        expect(a.endTime - a.startTime).toBe(0.25);
        expect(a.remaining).toBe(0);
      }
    }
  });

  it("activities finishing together, some recycled by their callbacks, each keep or reuse their row", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 3 });
    const acts = [0, 1, 2].map((i) =>
      sim.fluid.start({
        work: [[link, 2]],
        data: i,
        onComplete: (x) => {
          if ((x.data as number) !== 1) return;
          sim.fluid.recycle(x);
          sim.fluid.start({ work: [[link, 4]], label: "again" });
        },
      }),
    );
    sim.fluid.flush();
    // All three end at 2 s, together (one event for the piece).
    sim.run();
    expect(acts[0]!.endTime).toBe(2);
    expect(acts[2]!.endTime).toBe(2);
    expect(acts[0]!.state).toBe("done");
    // The recycled one was started again: 4 B alone at 3 B/s.
    expect(acts[1]!.label).toBe("again");
    expect(acts[1]!.startTime).toBe(2);
    expect(acts[1]!.endTime).toBe(2 + 4 / 3);
  });

  it("a first solve over thousands of components, then updates one by one, gives exact times", () => {
    const sim = new Simulation();
    const n = 3000;
    const links = Array.from({ length: n }, (_, k) => sim.fluid.addResource({ name: `l${k}`, capacity: 2 ** (k % 8) }));
    const ends = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      sim.fluid.start({
        work: [[links[k]!, 2 ** (k % 5)]],
        onComplete: (x) => {
          sim.fluid.recycle(x);
          // A second activity of the same size: it ends twice as late.
          sim.fluid.start({ work: [[links[k]!, 2 ** (k % 5)]], onComplete: () => (ends[k] = sim.now) });
        },
      });
    }
    sim.fluid.flush();
    expect(sim.fluid.solvedActivities).toBe(n);
    sim.run();
    for (let k = 0; k < n; k++) expect(ends[k]).toBe(2 * 2 ** ((k % 5) - (k % 8)));
  });

  it("an activity on no resource ends at once, or at its maxRate", () => {
    const sim = new Simulation();
    const a = sim.fluid.start({ work: [] });
    const b = sim.fluid.start({ work: [], maxRate: 0.25 });
    sim.run();
    expect(a.endTime).toBe(0);
    expect(b.endTime).toBe(4);
    expect(b.bottleneck).toBe(null);
  });

  it("a capacity written directly (as a subclass's setCapacity does) reads back and is used by the next solve", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 1 });
    link.capacity = 4;
    expect(link.capacity).toBe(4);
    const a = sim.fluid.start({ work: [[link, 2]] });
    sim.run();
    expect(a.endTime).toBe(0.5);
  });
});

// Internals the following tests look at (see the memory layout in sim/fluid.ts).
interface Internals {
  store: { acts: { top: number; blocks: number }; res: { top: number; blocks: number } };
  epoch: number;
}
const internals = (sim: Simulation): Internals => sim.fluid as unknown as Internals;
const recOf = (a: Activity): number => (a as unknown as { rec: number }).rec;

describe("fluid model: records, lists and arenas", () => {
  it("a recycled activity's replacement takes the record it left (LIFO), also after a cancel's solve", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 1 });
    const recs: number[] = [];
    let left = 5;
    const next = (x: Activity): void => {
      recs.push(recOf(x));
      sim.fluid.recycle(x);
      if (--left > 0) recs.push(recOf(sim.fluid.start({ work: [[link, 1]], onComplete: next })));
    };
    const first = sim.fluid.start({ work: [[link, 1]], onComplete: next });
    const firstRec = recOf(first);
    sim.run();
    expect(sim.now).toBe(5);
    expect(new Set(recs)).toEqual(new Set([firstRec]));
    expect(internals(sim).store.acts.top).toBe(1);
    // A cancelled activity's record is freed once the solve at that instant has run.
    const c = sim.fluid.start({ work: [[link, 1]] });
    const cRec = recOf(c);
    sim.at(6, () => sim.fluid.cancel(c));
    sim.run();
    expect(c.state).toBe("cancelled");
    expect(c.remaining).toBe(0);
    expect(recOf(sim.fluid.start({ work: [[link, 1]] }))).toBe(cRec);
  });

  it("arenas grow while activities run: thousands on one link (its list moves out of line, doubling), many links each", () => {
    const sim = new Simulation();
    const n = 3000;
    const shared = sim.fluid.addResource({ name: "shared", capacity: n });
    const own = Array.from({ length: n }, (_, i) => sim.fluid.addResource({ name: `own${i}`, capacity: 2 }));
    const acts: Activity[] = [];
    for (let i = 0; i < n; i++) acts.push(sim.fluid.start({ work: [[shared, 1 + (i % 3)], [own[i]!, 1]] }));
    sim.fluid.flush();
    expect(internals(sim).store.acts.blocks).toBeGreaterThan(64);
    expect(internals(sim).store.res.blocks).toBeGreaterThan(64);
    expect(shared.activities.length).toBe(n);
    // Fair share of `shared` in units of each activity's size (its largest work): 1 per activity.
    for (let i = 0; i < n; i++) expect(acts[i]!.rate).toBe(1 / (1 + (i % 3)));
    sim.run();
    // Sizes 1 end at 1; then 2,000 share 3,000 (level 1.5): sizes 2 (0.5 left) end at 5/3;
    // sizes 3 have 1/3 left, alone at level 3: they end at 2.
    for (let i = 0; i < n; i++) close(acts[i]!.endTime, i % 3 === 0 ? 1 : i % 3 === 1 ? 5 / 3 : 2);
    expect(shared.activities.length).toBe(0);
    sim.fluid.settleResource(shared);
    close(shared.workDone, 6000);
    close(shared.busySeconds, 2);
  });

  it("activities on many resources keep their terms in blocks of their own; numbers and works read back exactly", () => {
    const sim = new Simulation();
    const links = Array.from({ length: 40 }, (_, i) => sim.fluid.addResource({ name: `l${i}`, capacity: 1 + i }));
    const acts: Activity[] = [];
    for (const k of [1, 2, 3, 7, 8, 9, 20, 40]) {
      const work: [Resource, number][] = links.slice(0, k).map((r, i) => [r, (i + 1) * 0.5]);
      // Named twice: one entry with the summed work.
      work.push([links[0]!, 0.25]);
      acts.push(sim.fluid.start({ work, label: `k${k}`, multiplicity: 2 }));
    }
    sim.fluid.flush();
    for (const a of acts) {
      const k = Number(a.label.slice(1));
      expect(a.resources).toEqual(links.slice(0, k));
      expect(a.workOn(links[0]!)).toBe(0.75);
      if (k > 1) expect(a.workOn(links[k - 1]!)).toBe(k * 0.5);
      expect(a.workOn(links[39]!)).toBe(k === 40 ? 20 : 0);
      expect(a.multiplicity).toBe(2);
    }
    sim.run();
    // Conservation on every link.
    for (const r of links) {
      sim.fluid.settleResource(r);
      let requested = 0;
      for (const a of acts) requested += a.workOn(r) * 2;
      close(r.workDone, requested);
    }
    // Ended activities (records given back) still read their links and works.
    for (const a of acts) {
      const k = Number(a.label.slice(1));
      expect(a.resources).toEqual(links.slice(0, k));
      expect(a.workOn(links[0]!)).toBe(0.75);
      expect(a.bottleneck === null || links.includes(a.bottleneck)).toBe(true);
    }
  });

  it("many independent components give each the times it has alone, bit for bit", () => {
    const groups = 2000;
    const draw = (g: number, k: number): number => 0.5 + (((g * 7919 + k * 104729) % 1000) / 1000);
    const run = (sim: Simulation, g: number, out: Float64Array): void => {
      const a = sim.fluid.addResource({ name: `a${g}`, capacity: 1 + (g % 7) / 7 });
      const b = sim.fluid.addResource({ name: `b${g}`, capacity: 2 });
      let k = 0;
      const start = (): void => {
        const i = k++;
        sim.fluid.start({ work: [[a, draw(g, 2 * i)], [b, draw(g, 2 * i + 1)]], onComplete: (x) => {
          out[g * 12 + i] = sim.now;
          sim.fluid.recycle(x);
          if (k < 12) start();
        } });
      };
      for (let j = 0; j < 4; j++) start();
    };
    const together = new Float64Array(groups * 12);
    const big = new Simulation();
    for (let g = 0; g < groups; g++) run(big, g, together);
    big.run();
    const alone = new Float64Array(groups * 12);
    for (let g = 0; g < groups; g += 97) {
      const sim = new Simulation();
      run(sim, g, alone);
      sim.run();
      for (let i = 0; i < 12; i++) expect(together[g * 12 + i]).toBe(alone[g * 12 + i]);
    }
    expect(big.fluid.activeCount).toBe(0);
    // 4 records per group at most, each reused by its replacements.
    expect(internals(big).store.acts.top).toBe(groups * 4);
  });

  it("completion callbacks that start many activities (growing the arenas) while a batch finishes", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 4 });
    const ends: string[] = [];
    const spawned: Activity[] = [];
    for (let i = 0; i < 4; i++) {
      sim.fluid.start({
        work: [[link, 2]],
        label: `a${i}`,
        onComplete: (x) => {
          ends.push(`${x.label}@${sim.now}`);
          for (let j = 0; j < 100; j++) spawned.push(sim.fluid.start({ work: [[link, 0.04]], label: `s${i}.${j}` }));
        },
      });
    }
    sim.run();
    // All four end together at 2 (one batch, in chain order); then 400 x 0.04 on 4/s: 4 s more.
    expect(ends).toEqual(["a0@2", "a3@2", "a2@2", "a1@2"]);
    for (const s of spawned) close(s.endTime, 6);
    expect(internals(sim).store.acts.blocks).toBeGreaterThan(64);
  });

  it("a cancel at the instant a chain of co-due activities completes skips it; recycled and restarted, it ends the chain", () => {
    // Numbers recorded from the object-based engine this layout replaced.
    for (const [variant, processed, solves, log] of [
      ["cancel", 4, 2, ["cancel a2@2", "a0@2", "a3@2", "a1@2"]],
      ["cancel+restart", 8, 4, ["cancel a2@2", "restart same object: true", "a0@2", "a3@2", "a1@2", "d@3"]],
    ] as const) {
      const sim = new Simulation();
      const link = sim.fluid.addResource({ name: "link", capacity: 4 });
      const other = sim.fluid.addResource({ name: "other", capacity: 1 });
      const seen: string[] = [];
      const acts = [0, 1, 2, 3].map((i) => sim.fluid.start({ work: [[link, 2]], label: `a${i}`, onComplete: (x) => seen.push(`${x.label}@${sim.now}`) }));
      sim.at(2, () => {
        const c = acts[2]!;
        sim.fluid.cancel(c);
        seen.push(`cancel a2@${sim.now}`);
        if (variant === "cancel+restart") {
          sim.fluid.recycle(c);
          const d = sim.fluid.start({ work: [[other, 1]], label: "d", onComplete: (x) => seen.push(`${x.label}@${sim.now}`) });
          seen.push(`restart same object: ${d === c}`);
        }
      });
      sim.run();
      expect(seen).toEqual(log);
      expect(sim.queue.processed).toBe(processed);
      expect(sim.fluid.solves).toBe(solves);
    }
  });

  it("a resource's activity list is a snapshot, rebuilt only when the list changed", () => {
    const sim = new Simulation();
    const link = sim.fluid.addResource({ name: "link", capacity: 1 });
    expect(link.activities).toEqual([]);
    const a = sim.fluid.start({ work: [[link, 1]] });
    const b = sim.fluid.start({ work: [[link, 3]] });
    const list = link.activities;
    expect(list).toEqual([a, b]);
    expect(link.activities).toBe(list);
    sim.run(2.5);
    expect(a.state).toBe("done");
    expect(link.activities).toEqual([b]);
    sim.run();
    expect(link.activities.length).toBe(0);
  });

  it("marks survive an epoch reset: the same run with epochs near the Int32 limit gives the same numbers", () => {
    const trace = (nearLimit: boolean): number[] => {
      const sim = new Simulation();
      if (nearLimit) internals(sim).epoch = 0x7fffff00 - 5;
      const rng = new RandomStreams(7).stream("epochs");
      const links = Array.from({ length: 6 }, (_, i) => sim.fluid.addResource({ name: `l${i}`, capacity: 1 + i }));
      const out: number[] = [];
      let left = 200;
      const next = (x?: Activity): void => {
        if (x !== undefined) {
          out.push(sim.now);
          sim.fluid.recycle(x);
        }
        if (--left < 0) return;
        const r1 = links[rng.int(0, 6)]!;
        const r2 = links[rng.int(0, 6)]!;
        sim.fluid.start({ work: [[r1, 0.5 + rng.uniform()], [r2, 0.5 + rng.uniform()]], onComplete: next });
      };
      for (let i = 0; i < 5; i++) next();
      sim.run();
      expect(internals(sim).epoch).toBeLessThan(nearLimit ? 2000 : 0x7fffff00);
      return out;
    };
    expect(trace(true)).toEqual(trace(false));
  });
});
