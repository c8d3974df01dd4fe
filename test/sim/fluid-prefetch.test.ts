import { describe, expect, it } from "vitest";
import { Simulation } from "../../sim/simulation.ts";
import type { Activity, Resource, SegmentListener } from "../../sim/fluid.ts";
import { RandomStreams } from "../../sim/random.ts";
import { ALIGNED_MIN_BYTES, alignedBuffer } from "../../sim/aligned-buffer.ts";

interface Store {
  acts: { top: number; blocks: number; buf: ArrayBuffer };
  res: { buf: ArrayBuffer };
  cold: Float64Array;
}
const storeOf = (sim: Simulation): Store => (sim.fluid as unknown as { store: Store }).store;

/**
 * A workload that exercises every path prefetch reads along: small components that
 * finish and restart in random order, activities on more resources than fit inline
 * (terms in a block of their own), resources with more activities than fit inline
 * (lists out of line), cancels, recycled and kept activities, capacity changes.
 * Returns everything observable: each completion, each rate segment, each resource's
 * final accounting.
 */
function trace(prefetchMinBlocks: number, seed: number): string[] {
  const sim = new Simulation();
  sim.fluid.prefetchMinBlocks = prefetchMinBlocks;
  const rng = new RandomStreams(seed).stream("prefetch");
  const out: string[] = [];
  const listener: SegmentListener = {
    onSegment(a: Activity, t0: number, t1: number, bottleneck: Resource | null): void {
      out.push(`seg ${a.id} ${t0} ${t1} ${bottleneck?.name ?? "-"}`);
    },
  };
  sim.fluid.segmentListener = listener;
  const groups = 300;
  const links: [Resource, Resource][] = [];
  for (let g = 0; g < groups; g++) {
    links.push([
      sim.fluid.addResource({ name: `a${g}`, capacity: 1 + rng.uniform() }),
      sim.fluid.addResource({ name: `b${g}`, capacity: 2, multiplicity: 1 + (g % 3) }),
    ]);
  }
  const hub = sim.fluid.addResource({ name: "hub", capacity: 40 });
  let left = 4000;
  const restart = (done: Activity): void => {
    out.push(`end ${done.id} ${done.endTime} ${done.bottleneck?.name ?? "-"}`);
    const g = done.data as number;
    if (g % 5 === 0) sim.fluid.recycle(done);
    if (--left > 0) start(g);
  };
  const start = (g: number): void => {
    const [a, b] = links[g] as [Resource, Resource];
    const work: [Resource, number][] = [
      [a, 0.5 + rng.uniform()],
      [b, 0.5 + rng.uniform()],
    ];
    // Every 7th also crosses the hub and three other groups: terms out of line, and the
    // hub's list grows past what fits in its record.
    if (g % 7 === 0) {
      work.push([hub, rng.uniform()]);
      for (let k = 1; k <= 3; k++) work.push([(links[(g + 11 * k) % groups] as [Resource, Resource])[0], 0.25 * rng.uniform()]);
    }
    const act = sim.fluid.start({ work, onComplete: restart, data: g, weight: 1 + (g % 2), multiplicity: 1 + (g % 4) });
    if (g % 13 === 0 && rng.uniform() < 0.3) sim.after(0.1 * rng.uniform(), () => sim.fluid.cancel(act));
  };
  for (let i = 0; i < groups * 4; i++) start(i % groups);
  for (let k = 1; k <= 20; k++) sim.at(k * 0.37, () => sim.fluid.setCapacity(hub, 10 + 30 * rng.uniform()));
  sim.run();
  for (const r of sim.fluid.resources) {
    sim.fluid.settleResource(r);
    out.push(`res ${r.name} ${r.workDone} ${r.busySeconds}`);
  }
  out.push(`now ${sim.now} processed ${sim.queue.processed} solves ${sim.fluid.solves}`);
  return out;
}

describe("fluid model: prefetching the next completions' records", () => {
  it("changes no number: the same completions, segments and accounting with it on every solve and with it off", () => {
    for (const seed of [1, 2]) {
      const on = trace(0, seed);
      const off = trace(Infinity, seed);
      expect(on.filter((l) => l.startsWith("end")).length).toBeGreaterThan(3000);
      expect(on).toEqual(off);
    }
  });

  it("changes no number when activities on its list end together and their blocks are reused before the next read", () => {
    // Pieces finishing at one instant all fire before the solve that prefetches: the list
    // it reads still names them. Every third is kept (its record freed after its callback);
    // the others restart on four resources, whose terms take freed blocks (records before).
    const run = (prefetchMinBlocks: number): string[] => {
      const sim = new Simulation();
      sim.fluid.prefetchMinBlocks = prefetchMinBlocks;
      const res = Array.from({ length: 400 }, (_, i) => sim.fluid.addResource({ name: `r${i}`, capacity: 1 }));
      const out: string[] = [];
      let started = 0;
      const done = (a: Activity): void => {
        out.push(`${a.id} ${a.endTime} ${a.bottleneck?.name ?? "-"}`);
        if ((a.data as number) % 3 === 1) return;
        sim.fluid.recycle(a);
        if (started >= 3000) return;
        const w = 1 + (started % 5) / 4;
        const k = started++ % 400;
        const on = (d: number): Resource => res[(k + d) % 400] as Resource;
        sim.fluid.start({ work: [[on(0), w], [on(101), w / 2], [on(202), w / 4], [on(303), w / 8]], onComplete: done, data: started });
      };
      for (let i = 0; i < 300; i++) sim.fluid.start({ work: [[res[i] as Resource, 1]], onComplete: done, data: i });
      sim.run();
      return out;
    };
    const on = run(0);
    expect(on.length).toBeGreaterThan(800);
    expect(on).toEqual(run(Infinity));
  });

  it("is on by default only once the activity records outgrow a core's L2 (512 KB)", () => {
    expect(new Simulation().fluid.prefetchMinBlocks).toBe(1 << 12);
  });
});

describe("page-aligned buffers for large arenas", () => {
  it("small buffers are plain and exact; large ones are zeroed, whole WebAssembly pages, at least as long as asked", () => {
    const small = alignedBuffer(1000);
    expect(small.byteLength).toBe(1000);
    const bytes = ALIGNED_MIN_BYTES + 12345;
    const large = alignedBuffer(bytes);
    expect(large.byteLength).toBeGreaterThanOrEqual(bytes);
    expect(large.byteLength % 65536).toBe(0);
    const view = new Float64Array(large, 0, bytes >> 3);
    expect(view.every((x) => x === 0)).toBe(true);
    view[view.length - 1] = 1.5;
    expect(view[view.length - 1]).toBe(1.5);
  });

  it("a model whose arenas grow into aligned buffers keeps every number (20,000 activities, ends known exactly)", () => {
    const sim = new Simulation();
    const n = 20000;
    const acts: Activity[] = [];
    for (let i = 0; i < n; i++) {
      const a = sim.fluid.addResource({ name: `a${i}`, capacity: 1 });
      const b = sim.fluid.addResource({ name: `b${i}`, capacity: 2 });
      // Work 1 + k/8 on both: `a` (capacity 1) is the bottleneck, so it ends at 1 + k/8.
      const w = 1 + (i % 7) / 8;
      acts.push(sim.fluid.start({ work: [[a, w], [b, w]] }));
    }
    sim.run();
    const store = storeOf(sim);
    expect(store.acts.buf.byteLength).toBeGreaterThanOrEqual(ALIGNED_MIN_BYTES);
    expect(store.acts.buf.byteLength % 65536).toBe(0);
    expect(store.res.buf.byteLength % 65536).toBe(0);
    for (let i = 0; i < n; i++) {
      const a = acts[i] as Activity;
      expect(a.endTime).toBe(1 + (i % 7) / 8);
      expect(a.bottleneck?.name).toBe(`a${i}`);
      expect(a.multiplicity).toBe(1);
      expect(a.startTime).toBe(0);
    }
    expect(sim.now).toBe(1 + 6 / 8);
  });
});
