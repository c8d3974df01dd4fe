/**
 * Property: on seeded random instances, FluidModel (arenas, components, heap, read-ahead)
 * and the plain reference solver (sim/fluid/reference.ts) agree on every rate and
 * bottleneck after every change, and on every end time and final bottleneck, to 1e-9
 * relative. Instances mix resource and activity multiplicities, weights, explicit sizes,
 * maxRates, infinite capacities, resources named twice, capacity changes (some to 0),
 * cancels, and activities started by completions.
 */
import { describe, expect, it } from "vitest";
import { Simulation } from "../../sim/simulation.ts";
import type { Activity, Resource } from "../../sim/fluid.ts";
import { ReferenceModel, type RefActivity, type RefResource } from "../../sim/fluid/reference.ts";
import { RandomStreams, type RandomStream } from "../../sim/random.ts";

interface SpecData {
  label: string;
  work: [number, number][];
  weight?: number;
  multiplicity?: number;
  size?: number;
  maxRate?: number;
  /** Index of the spec its completion starts, if any. */
  followUp?: number;
}

type Action =
  | { time: number; kind: "start"; spec: number }
  | { time: number; kind: "cancel"; label: string }
  | { time: number; kind: "capacity"; resource: number; capacity: number };

interface Instance {
  resources: { name: string; capacity: number; multiplicity: number }[];
  specs: SpecData[];
  initial: number[];
  actions: Action[];
}

function drawSpec(rng: RandomStream, label: string, nres: number): SpecData {
  const work: [number, number][] = [];
  const k = 1 + rng.int(0, Math.min(4, nres));
  for (let i = 0; i < k; i++) work.push([rng.int(0, nres), 0.1 + 3 * rng.uniform()]);
  const spec: SpecData = { label, work };
  if (rng.uniform() < 0.5) spec.weight = 0.5 + 2.5 * rng.uniform();
  if (rng.uniform() < 0.4) spec.multiplicity = 1 + rng.int(0, 4);
  if (rng.uniform() < 0.15) spec.size = 0.5 + 2 * rng.uniform();
  if (rng.uniform() < 0.2) spec.maxRate = 0.1 + 1.5 * rng.uniform();
  return spec;
}

function drawInstance(seed: number): Instance {
  const rng = new RandomStreams(seed).stream("fluid-reference");
  const nres = 2 + rng.int(0, 7);
  const resources = Array.from({ length: nres }, (_, i) => ({
    name: `r${i}`,
    capacity: rng.uniform() < 0.05 ? Infinity : 0.5 + 3.5 * rng.uniform(),
    multiplicity: rng.uniform() < 0.3 ? 1 + rng.int(1, 4) : 1,
  }));
  const specs: SpecData[] = [];
  const n = 4 + rng.int(0, 20);
  for (let i = 0; i < n; i++) specs.push(drawSpec(rng, `a${i}`, nres));
  // Follow-ups: started by a completion, some of which start further ones.
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < 0.4) {
      specs[i]!.followUp = specs.length;
      specs.push(drawSpec(rng, `f${i}`, nres));
      if (rng.uniform() < 0.3) {
        specs[specs.length - 1]!.followUp = specs.length;
        specs.push(drawSpec(rng, `g${i}`, nres));
      }
    }
  }
  const initial = Array.from({ length: n }, (_, i) => i).filter(() => rng.uniform() < 0.6);
  const later = Array.from({ length: n }, (_, i) => i).filter((i) => !initial.includes(i));
  const actions: Action[] = [];
  for (const spec of later) actions.push({ time: 6 * rng.uniform(), kind: "start", spec });
  const cancels = rng.int(0, 4);
  for (let i = 0; i < cancels; i++) actions.push({ time: 6 * rng.uniform(), kind: "cancel", label: specs[rng.int(0, specs.length)]!.label });
  const changes = rng.int(0, 6);
  for (let i = 0; i < changes; i++) {
    // Only r0 ever drops to 0: two resources at 0 would saturate at the same level, a tie
    // whose bottleneck either could be.
    const resource = rng.int(0, nres);
    const capacity = resource === 0 && rng.uniform() < 0.4 ? 0 : 0.3 + 4 * rng.uniform();
    actions.push({ time: 6 * rng.uniform(), kind: "capacity", resource, capacity });
  }
  actions.sort((a, b) => a.time - b.time);
  return { resources, specs, initial, actions };
}

/** What both engines report: rates and bottlenecks after each action, then each activity's end. */
interface Trace {
  /** Per action (and once after the start): label → [rate, bottleneck name]. */
  snapshots: Map<string, [number, string]>[];
  ends: Map<string, [string, number, string]>;
}

function runArena(inst: Instance): Trace {
  const sim = new Simulation();
  const res: Resource[] = inst.resources.map((r) => sim.fluid.addResource(r));
  const byLabel = new Map<string, Activity>();
  const ends = new Map<string, [string, number, string]>();
  const start = (i: number): void => {
    const s = inst.specs[i]!;
    const spec = {
      label: s.label,
      work: s.work.map(([r, w]) => [res[r]!, w] as const),
      weight: s.weight,
      multiplicity: s.multiplicity,
      size: s.size,
      maxRate: s.maxRate,
      onComplete: (a: Activity): void => {
        ends.set(a.label, ["done", a.endTime, a.bottleneck?.name ?? "-"]);
        if (s.followUp !== undefined) start(s.followUp);
      },
    };
    byLabel.set(s.label, sim.fluid.start(spec));
  };
  const snapshots: Map<string, [number, string]>[] = [];
  const snapshot = (): void => {
    sim.fluid.flush();
    const m = new Map<string, [number, string]>();
    for (const [label, a] of byLabel) if (a.state === "running") m.set(label, [a.rate, a.bottleneck?.name ?? "-"]);
    snapshots.push(m);
  };
  for (const i of inst.initial) start(i);
  snapshot();
  for (const act of inst.actions) {
    sim.at(act.time, () => {
      if (act.kind === "start") start(act.spec);
      else if (act.kind === "capacity") sim.fluid.setCapacity(res[act.resource]!, act.capacity);
      else {
        const a = byLabel.get(act.label);
        if (a !== undefined && a.state === "running") {
          sim.fluid.cancel(a);
          ends.set(a.label, ["cancelled", a.endTime, "-"]);
        }
      }
      snapshot();
    });
  }
  sim.run();
  return { snapshots, ends };
}

function runReference(inst: Instance): Trace {
  const ref = new ReferenceModel();
  const res: RefResource[] = inst.resources.map((r) => ref.addResource(r.name, r.capacity, r.multiplicity));
  const byLabel = new Map<string, RefActivity>();
  const ends = new Map<string, [string, number, string]>();
  const start = (i: number): void => {
    const s = inst.specs[i]!;
    const a = ref.start({
      label: s.label,
      work: s.work.map(([r, w]) => [res[r]!, w] as const),
      weight: s.weight,
      multiplicity: s.multiplicity,
      size: s.size,
      maxRate: s.maxRate,
      onComplete: (x) => {
        ends.set(x.label, ["done", x.endTime, x.bottleneck?.name ?? "-"]);
        if (s.followUp !== undefined) start(s.followUp);
      },
    });
    byLabel.set(s.label, a);
  };
  const snapshots: Map<string, [number, string]>[] = [];
  const snapshot = (): void => {
    const m = new Map<string, [number, string]>();
    for (const [label, a] of byLabel) if (a.state === "running") m.set(label, [a.rate, a.bottleneck?.name ?? "-"]);
    snapshots.push(m);
  };
  for (const i of inst.initial) start(i);
  snapshot();
  for (const act of inst.actions) {
    ref.runUntil(act.time);
    if (act.kind === "start") start(act.spec);
    else if (act.kind === "capacity") ref.setCapacity(res[act.resource]!, act.capacity);
    else {
      const a = byLabel.get(act.label);
      if (a !== undefined && a.state === "running") {
        ref.cancel(a);
        ends.set(a.label, ["cancelled", a.endTime, "-"]);
      }
    }
    snapshot();
  }
  ref.runUntil(Infinity);
  return { snapshots, ends };
}

/** Equal to 1e-9 relative (infinities and zeros exactly). */
function close(a: number, b: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** The first disagreement between the two traces, or "" when they agree. */
function disagreement(arena: Trace, ref: Trace): string {
  if (arena.snapshots.length !== ref.snapshots.length) return `snapshots: ${arena.snapshots.length} vs ${ref.snapshots.length}`;
  for (let k = 0; k < arena.snapshots.length; k++) {
    const a = arena.snapshots[k]!;
    const r = ref.snapshots[k]!;
    if ([...a.keys()].sort().join() !== [...r.keys()].sort().join()) return `snapshot ${k}: running ${[...a.keys()]} vs ${[...r.keys()]}`;
    for (const [label, [rate, by]] of a) {
      const [refRate, refBy] = r.get(label)!;
      if (!close(rate, refRate) || by !== refBy) return `snapshot ${k}, ${label}: rate ${rate} by ${by} vs ${refRate} by ${refBy}`;
    }
  }
  if (arena.ends.size !== ref.ends.size) return `ends: ${arena.ends.size} vs ${ref.ends.size}`;
  for (const [label, [state, t, by]] of arena.ends) {
    const e = ref.ends.get(label);
    if (e === undefined) return `${label} ended only in the arena`;
    if (state !== e[0] || !close(t, e[1]) || by !== e[2]) return `${label}: ${state} at ${t} by ${by} vs ${e[0]} at ${e[1]} by ${e[2]}`;
  }
  return "";
}

describe("fluid model against the reference solver (sim/fluid/reference.ts)", () => {
  it("agrees on rates, bottlenecks and end times to 1e-9 on 300 seeded random instances", () => {
    let ended = 0;
    let cancelled = 0;
    let checked = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const inst = drawInstance(seed);
      const arena = runArena(inst);
      const ref = runReference(inst);
      expect(disagreement(arena, ref), `seed ${seed}`).toBe("");
      for (const [state] of arena.ends.values()) state === "done" ? ended++ : cancelled++;
      for (const s of arena.snapshots) checked += s.size;
    }
    // The instances exercise what they claim to: thousands of rates, completions and some cancels.
    expect(checked).toBeGreaterThan(5000);
    expect(ended).toBeGreaterThan(3000);
    expect(cancelled).toBeGreaterThan(50);
  });

  it("the reference alone: a textbook case (two flows on one link, one also on a slower one)", () => {
    // Link A (capacity 2) carries x and y; link B (capacity 0.5) carries y only.
    // Filling: B saturates first at y = 0.5; x takes the rest of A, 1.5.
    const ref = new ReferenceModel();
    const a = ref.addResource("A", 2);
    const b = ref.addResource("B", 0.5);
    const x = ref.start({ label: "x", work: [[a, 3]] });
    const y = ref.start({ label: "y", work: [[a, 1], [b, 1]] });
    expect(y.rate).toBe(0.5);
    expect(y.bottleneck).toBe(b);
    expect(x.rate).toBe(0.5); // 1.5 units/s of 3 units
    expect(x.bottleneck).toBe(a);
    ref.runUntil(Infinity);
    // y ends at 2; then x alone on A: 3 - 1.5·2 = 0 left at 2 as well.
    expect(y.endTime).toBe(2);
    expect(x.endTime).toBe(2);
  });
});
