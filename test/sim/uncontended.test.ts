import { describe, expect, it } from "vitest";
import type { Activity, Resource } from "../../sim/fluid.ts";
import { RandomStreams, type RandomStream } from "../../sim/random.ts";
import { Simulation } from "../../sim/simulation.ts";
import { FluidSpec, Uncontended, type UncontendedWork } from "../../sim/uncontended.ts";

/** Three resources per owner (think SM, HBM, link); a work uses some of its owner's, or spans two owners. */
const PER_OWNER = 3;

interface Case {
  owners: number;
  capacities: number[];
  /** Roles: k < PER_OWNER is owner a's k-th resource, PER_OWNER + k owner b's. */
  works: { at: number; a: number; b: number; roles: number[]; amounts: number[] }[];
  changes: { at: number; id: number; capacity: number }[];
}

function randomCase(rng: RandomStream, owners: number, works: number): Case {
  const capacities = Array.from({ length: owners * PER_OWNER }, () => 1 + 9 * rng.uniform());
  const out: Case = { owners, capacities, works: [], changes: [] };
  for (let w = 0; w < works; w++) {
    const a = Math.floor(rng.uniform() * owners);
    const at = Math.floor(rng.uniform() * 20) / 10;
    if (rng.uniform() < 0.3 && owners > 1) {
      const b = (a + 1 + Math.floor(rng.uniform() * (owners - 1))) % owners;
      const amount = 0.5 + rng.uniform();
      out.works.push({ at, a, b, roles: [2, PER_OWNER + 2, 1, PER_OWNER + 1], amounts: [amount, amount, 0.1 * amount, 0.1 * amount] });
    } else {
      const roles: number[] = [];
      const amounts: number[] = [];
      for (let k = 0; k < PER_OWNER; k++) {
        if (rng.uniform() < 0.6 || (k === PER_OWNER - 1 && roles.length === 0)) {
          roles.push(k);
          amounts.push(rng.uniform() < 0.1 ? 0 : 0.2 + 2 * rng.uniform());
        }
      }
      if (Math.max(...amounts) === 0) amounts[0] = 1;
      out.works.push({ at, a, b: -1, roles, amounts });
    }
  }
  for (let c = 0; c < 3 * owners; c++) out.changes.push({ at: 0.05 + Math.floor(rng.uniform() * 20) / 10, id: Math.floor(rng.uniform() * owners * PER_OWNER), capacity: 1 + 9 * rng.uniform() });
  return out;
}

function work(label: string, roles: number[], amounts: number[]): UncontendedWork {
  const a = Float64Array.from(amounts);
  const fairSize = Math.max(0, ...a) || 1;
  return { label, roles: Int8Array.from(roles), amounts: a, loads: a.map((x) => x / fairSize), fairSize, size: NaN };
}

const idOf = (w: Case["works"][number], k: number): number => (k < PER_OWNER ? w.a * PER_OWNER + k : w.b * PER_OWNER + k - PER_OWNER);

interface Outcome {
  ends: number[];
  /** Seconds reported per work (segments). */
  reported: number[];
  workDone: number[];
}

function plain(c: Case): Outcome {
  const sim = new Simulation();
  const res = c.capacities.map((capacity, i) => sim.fluid.addResource({ name: `r${i}`, capacity }));
  const ends = c.works.map(() => NaN);
  const reported = c.works.map(() => 0);
  sim.fluid.segmentListener = { onSegment: (a, t0, t1) => (reported[a.data as number]! += t1 - t0) };
  c.works.forEach((w, i) => sim.at(w.at, () => sim.fluid.start({ work: w.roles.map((role, k): [Resource, number] => [res[idOf(w, role)]!, w.amounts[k]!]), data: i, onComplete: () => (ends[i] = sim.now) })));
  for (const ch of c.changes) sim.at(ch.at, () => sim.fluid.setCapacity(res[ch.id]!, ch.capacity));
  sim.run();
  for (const r of res) sim.fluid.settleResource(r);
  return { ends, reported, workDone: res.map((r) => r.workDone) };
}

function withUncontended(c: Case, maxPerOwner: number): Outcome & { timedAlone: number } {
  const sim = new Simulation();
  const res = c.capacities.map((capacity, i) => sim.fluid.addResource({ name: `r${i}`, capacity }));
  const ends = c.works.map(() => NaN);
  const reported = c.works.map(() => 0);
  sim.fluid.segmentListener = { onSegment: (a, t0, t1) => (reported[a.data as number]! += t1 - t0) };
  let u: Uncontended;
  const done = (a: Activity): void => {
    u.fluidDone(a);
    ends[a.data as number] = sim.now;
    sim.fluid.recycle(a);
  };
  const spec = new FluidSpec([done], res[0]!);
  u = new Uncontended(sim.queue, sim.fluid, c.owners, PER_OWNER, maxPerOwner, {
    onUncontendedSegment: (data, _label, t0, t1) => (reported[data]! += t1 - t0),
  });
  const end = (id: number): void => {
    ends[u.data[id] as number] = sim.now;
    u.end(id);
  };
  let timedAlone = 0;
  c.works.forEach((w, i) =>
    sim.at(w.at, () => {
      const op = work(`w${i}`, w.roles, w.amounts);
      const rate = u.rate(op, w.a, w.b);
      if (rate === 0) {
        u.startFluid(op, w.a, w.b, i, 0, 1, spec);
        return;
      }
      timedAlone++;
      const id = u.begin(op, w.a, w.b, i, 0, rate);
      u.event[id] = sim.queue.scheduleCall(u.due[id] as number, end, id);
    }),
  );
  for (const ch of c.changes) sim.at(ch.at, () => u.setCapacity(res[ch.id]!, ch.capacity, spec));
  sim.run();
  for (const r of res) sim.fluid.settleResource(r);
  return { ends, reported, workDone: res.map((r) => r.workDone + (u.workDone[r.id] as number)), timedAlone };
}

function expectClose(actual: number[], expected: number[], what: string): void {
  actual.forEach((x, i) => expect(Math.abs(x - expected[i]!), `${what} ${i}: ${x} vs ${expected[i]}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected[i]!))));
}

describe("uncontended work agrees with the plain fluid model", () => {
  it("alone on its resources: its rate alone, min over resources of capacity / load", () => {
    const c: Case = { owners: 1, capacities: [2, 4, 1], works: [{ at: 0, a: 0, b: -1, roles: [0, 1], amounts: [3, 2] }], changes: [] };
    const r = withUncontended(c, 4);
    expect(r.timedAlone).toBe(1);
    expect(r.ends[0]).toBeCloseTo(1.5, 12);
    expect(plain(c).ends[0]).toBeCloseTo(1.5, 12);
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seeded case ${seed}: completion times, reported seconds and work done within 1e-9`, () => {
      const rng = new RandomStreams(seed).stream("uncontended");
      const c = randomCase(rng, 2 + (seed % 4), 12 + 4 * seed);
      const ref = plain(c);
      for (const maxPerOwner of [1, 3, 6]) {
        const r = withUncontended(c, maxPerOwner);
        expect(r.timedAlone).toBeGreaterThan(0);
        expectClose(r.ends, ref.ends, `end (max ${maxPerOwner})`);
        expectClose(r.reported, ref.reported, `reported (max ${maxPerOwner})`);
        expectClose(r.workDone, ref.workDone, `work done (max ${maxPerOwner})`);
      }
    });
  }
});
