/**
 * Communication kernels take SMs from compute (models/step/comm-interference.ts):
 * hand-computed times of a compute op overlapping a collective, the catalog's NCCL CTA
 * counts, and the step model with and without it.
 */
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../experiments/load.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import type { Scenario } from "../../models/scenario.ts";
import { CATEGORIES, CATEGORY_INDEX } from "../../models/categories.ts";
import { CommSms, commSmFraction } from "../../models/step/comm-interference.ts";
import { COLLECTIVE, compileStep, Op, ROLES, SM } from "../../models/step/program.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import type { Resource } from "../../sim/fluid.ts";
import { Simulation } from "../../sim/simulation.ts";
import { FluidSpec, Uncontended } from "../../sim/uncontended.ts";
import { IDEAL_ACCELERATOR as IDEAL, scenario, TINY_MODEL as TINY } from "../helpers/scenario.ts";

const gpuWith = (base: Accelerator, smCount: number, up: number, perNic: number): Accelerator => ({ ...base, smCount, efficiency: { ...base.efficiency, commSmsScaleUp: up, commSmsPerNic: perNic } });

/** A collective within one node (perNode 0) or across nodes with `perNode` of its members on each. */
function collective(perNode: number): Op {
  const op = new Op();
  op.kind = COLLECTIVE;
  op.linkCategory = CATEGORY_INDEX[perNode > 0 ? "network" : "nvlink"];
  op.groupPerNode = perNode;
  return op;
}

/**
 * One GPU of peak C: a compute op of F flops starts at 0; its data-parallel stream runs a
 * collective over [t0, t1] (CommSms told as the executor tells it); returns when compute ends.
 */
function overlapped(gpu: Accelerator, C: number, F: number, t0: number, t1: number, perNode = 0): number {
  const sim = new Simulation({ seed: 1 });
  const fluid = sim.fluid;
  const res: Resource[] = [];
  for (let k = 0; k < ROLES; k++) res.push(fluid.addResource({ name: `r${k}`, kind: k === SM ? "sm" : "hbm", capacity: k === SM ? C : 1e12 }));
  const spec = new FluidSpec([], res[0] as Resource);
  const u = new Uncontended(sim.queue, fluid, 1, ROLES, 6, { onUncontendedSegment: () => {} });
  const comm = new CommSms(gpu, 1, 2, u, res, Float64Array.of(C), spec);
  let end = NaN;
  fluid.start({ work: [[res[SM] as Resource, F]], onComplete: () => (end = sim.queue.now) });
  sim.queue.scheduleCall(t0, () => comm.dpOp(0, collective(perNode)), undefined);
  sim.queue.scheduleCall(t1, () => comm.dpOp(0, undefined), undefined);
  sim.run();
  return end;
}

describe("a compute op overlapping a collective, by hand", () => {
  const C = 1e15;
  const gpu = gpuWith(IDEAL, 132, 24, 2);

  it("runs at C·(1 − c/S) while the collective holds c of S SMs: F/(C·(1 − 24/132)) when the collective outlasts it", () => {
    const F = 1e13; // 10 ms alone
    expect(overlapped(gpu, C, F, 0, 1) / (F / (C * (1 - 24 / 132))) - 1).toBeCloseTo(0, 12);
  });

  it("only the overlapped part is slowed: T + (F − C·(1 − c/S)·T)/C for a collective of T from 0", () => {
    const F = 1e13;
    const T = 4e-3;
    expect(overlapped(gpu, C, F, 0, T) / (T + (F - C * (1 - 24 / 132) * T) / C) - 1).toBeCloseTo(0, 12);
    // A collective that starts later: [2 ms, 6 ms] of a 10 ms op.
    expect(overlapped(gpu, C, F, 2e-3, 6e-3) / (2e-3 + 4e-3 + (F - C * 2e-3 - C * (1 - 24 / 132) * 4e-3) / C) - 1).toBeCloseTo(0, 12);
  });

  it("across nodes it holds commSmsPerNic SMs per member on a node: 16 of 132 spanning 8-GPU nodes, 2 for one GPU per node", () => {
    const F = 1e13;
    expect(overlapped(gpu, C, F, 0, 1, 8) / (F / (C * (1 - 16 / 132))) - 1).toBeCloseTo(0, 12);
    expect(overlapped(gpu, C, F, 0, 1, 1) / (F / (C * (1 - 2 / 132))) - 1).toBeCloseTo(0, 12);
  });

  it("a rank's two data-parallel streams (reductions, FSDP gathers) each holding a kernel take the sum of their SMs", () => {
    const sim = new Simulation({ seed: 1 });
    const res: Resource[] = [];
    for (let k = 0; k < ROLES; k++) res.push(sim.fluid.addResource({ name: `r${k}`, kind: k === SM ? "sm" : "hbm", capacity: k === SM ? C : 1e12 }));
    const u = new Uncontended(sim.queue, sim.fluid, 1, ROLES, 6, { onUncontendedSegment: () => {} });
    const comm = new CommSms(gpu, 1, 2, u, res, Float64Array.of(C), new FluidSpec([], res[0] as Resource));
    const capacity = (): number => (res[SM] as Resource).capacity;
    comm.dpOp(0, collective(0)); // stream 0, within the node: 24 SMs
    expect(capacity()).toBeCloseTo(C * (1 - 24 / 132), 3);
    comm.dpOp(1, collective(8)); // stream 1 (slot rank + 1 × ranks), across 8-GPU nodes: 16 more
    expect(capacity()).toBeCloseTo(C * (1 - 40 / 132), 3);
    comm.dpOp(0, undefined);
    expect(capacity()).toBeCloseTo(C * (1 - 16 / 132), 3);
    comm.dpOp(1, undefined);
    expect(capacity()).toBe(C);
  });

  it("a GPU without CTA counts (or with 0) loses nothing", () => {
    expect(overlapped(IDEAL, C, 1e13, 0, 1)).toBe(1e13 / C);
    expect(overlapped(gpuWith(IDEAL, 132, 0, 0), C, 1e13, 0, 1)).toBe(1e13 / C);
  });

  it("the SM fraction: c/S, never all of the SMs", () => {
    expect(commSmFraction(CATALOG["H100-SXM"] as Accelerator, 0)).toBe(24 / 132);
    expect(commSmFraction(CATALOG["H100-SXM"] as Accelerator, 8)).toBe(16 / 132);
    expect(commSmFraction(CATALOG["H100-SXM"] as Accelerator, 1)).toBe(2 / 132);
    expect(commSmFraction(CATALOG["A100-80GB"] as Accelerator, 0)).toBe(24 / 108);
    expect(commSmFraction(gpuWith(IDEAL, 8, 100, 100), 0)).toBe(7 / 8);
    for (const [name, gpu] of Object.entries(CATALOG)) {
      for (const k of ["commSmsScaleUp", "commSmsPerNic"] as const) if (gpu.efficiency[k] !== undefined) expect(gpu.sources[`efficiency.${k}`], `${name} ${k}`).toBeTruthy();
    }
  });
});

const tiny = (gpu: Accelerator, plan: Partial<Scenario["parallelism"]>, globalBatch = 8): Scenario =>
  scenario({ gpu, nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch, gpuVariability: 0, plan: { gradReduceDtype: "bf16", ...plan } });

describe("the step with communication kernels on SMs", () => {
  // The ideal GPU (only SMs cost time), with NVLink slow enough that FSDP's gathers and
  // reduce-scatters last about as long as the compute they overlap (~20 ms against ~30 ms).
  const slowLinks = (sms: number, scaleUpBandwidth = 1e12): Accelerator => ({ ...gpuWith(IDEAL, 100, sms, sms), scaleUpBandwidth });

  it("FSDP with overlapped gathers is slower, by at most 1/(1 − c/S) of the step without it", () => {
    const off = simulateStep(tiny(slowLinks(0), { dp: 4, zero: 3, fsdpPrefetch: 1 })).stepSeconds;
    const on = simulateStep(tiny(slowLinks(25), { dp: 4, zero: 3, fsdpPrefetch: 1 })).stepSeconds;
    expect(on).toBeGreaterThan(off * 1.05);
    expect(on).toBeLessThanOrEqual(off / (1 - 25 / 100) + 1e-12);
    // Communication-bound (links 50× slower): the gathers set the pace, compute hides under them.
    const offSlow = simulateStep(tiny(slowLinks(0, 2e10), { dp: 4, zero: 3, fsdpPrefetch: 1 })).stepSeconds;
    const onSlow = simulateStep(tiny(slowLinks(25, 2e10), { dp: 4, zero: 3, fsdpPrefetch: 1 })).stepSeconds;
    expect(onSlow).toBeGreaterThanOrEqual(offSlow);
    expect(onSlow / offSlow - 1).toBeLessThan((on / off - 1) / 5);
  });

  it("with unlimited bandwidth the FSDP step equals its compute: the kernels hold SMs for no time", () => {
    const off = simulateStep(tiny(gpuWith(IDEAL, 100, 0, 0), { dp: 4, zero: 3 })).stepSeconds;
    const on = simulateStep(tiny(gpuWith(IDEAL, 100, 25, 25), { dp: 4, zero: 3 })).stepSeconds;
    expect(Math.abs(on / off - 1)).toBeLessThan(1e-9);
  });

  it("communication alone changes nothing: a reduction that overlaps no compute (overlapGradReduce off) leaves the step bit for bit", () => {
    const a = simulateStep(tiny(slowLinks(0), { dp: 4, overlapGradReduce: false }));
    const b = simulateStep(tiny(slowLinks(25), { dp: 4, overlapGradReduce: false }));
    expect(b.stepSeconds).toBe(a.stepSeconds);
    for (const c of CATEGORIES) expect(b.breakdown[c]).toBe(a.breakdown[c]);
  });

  it("a step with no data-parallel communication is unchanged bit for bit on a catalog GPU", () => {
    const s = scenario({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch: 4, gpuVariability: 0, plan: { tp: 4, dp: 1 } });
    const none = { ...s, cluster: { ...s.cluster, gpu: gpuWith(CATALOG["H100-SXM"] as Accelerator, 132, 0, 0) } };
    const a = simulateStep(none);
    const b = simulateStep(s);
    expect(b.stepSeconds).toBe(a.stepSeconds);
    for (const c of CATEGORIES) expect(b.breakdown[c]).toBe(a.breakdown[c]);
  });

  it("moves no bytes: SM and HBM work over the step are the same with and without it", () => {
    const a = simulateStep(tiny(slowLinks(0), { dp: 4, zero: 3, fsdpPrefetch: 1 }));
    const b = simulateStep(tiny(slowLinks(25), { dp: 4, zero: 3, fsdpPrefetch: 1 }));
    // Busy shares are work / (capacity · step): the same work over a longer step.
    expect((b.smBusyShare * b.stepSeconds) / (a.smBusyShare * a.stepSeconds) - 1).toBeCloseTo(0, 9);
    expect((b.hbmBusyShare * b.stepSeconds) / (a.hbmBusyShare * a.stepSeconds) - 1).toBeCloseTo(0, 9);
  });

  it("full mode agrees with folded (DDP on 2 nodes, FSDP on one, catalog CTA counts on slow links)", () => {
    const cases: Scenario[] = [
      scenario({ gpu: { ...gpuWith(IDEAL, 100, 24, 4), nicBandwidth: 1e9 }, nodes: 2, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch: 16, gpuVariability: 0, plan: { dp: 8, gradReduceDtype: "bf16" } }),
      tiny(slowLinks(25), { dp: 4, zero: 3, fsdpPrefetch: 2 }, 16),
    ];
    for (const s of cases) {
      const folded = simulateStep(s);
      const full = simulateStepFull(s);
      expect(full.stepSeconds).toBeCloseTo(folded.stepSeconds, 9);
      for (const c of CATEGORIES) expect(full.breakdown[c]).toBeCloseTo(folded.breakdown[c], 9);
    }
  }, 120_000);

  it("a published FSDP run is slower with it than with the CTA counts overridden to 0", () => {
    const s = loadScenario("experiments/published/kempnerforge2026/08-13b-8gpu-fsdp8.yaml");
    const gpu = s.cluster.gpu;
    const off = simulateStep({ ...s, cluster: { ...s.cluster, gpu: gpuWith(gpu, gpu.smCount, 0, 0) } }).stepSeconds;
    const on = simulateStep(s).stepSeconds;
    expect(on).toBeGreaterThan(off);
    expect(on).toBeLessThan(off / (1 - 24 / 132));
  }, 60_000);

  it("the CTAs across nodes follow the group's members per node (program.ts: groupPerNode)", () => {
    // 8 nodes of 4 GPUs, tp 4 × FSDP 8: a shard group has one member on each node (rail-aligned: 2 CTAs).
    const s = loadScenario("experiments/published/kempnerforge2026/12-7b-32gpu-tp4-fsdp8.yaml");
    const gathers = compileStep(s).dpLists.flat().filter((op) => op.label === "fsdp:gather");
    expect(gathers.length).toBeGreaterThan(0);
    for (const op of gathers) expect(op.groupPerNode).toBe(1);
    // 13B FSDP over 8 GPUs on two 4-GPU nodes: 4 members on each; 4 GPUs on one node: within it, 0.
    // (The lists also hold FSDP2's copy-in kernels, which are not collectives.)
    const collectives = (prog: ReturnType<typeof compileStep>) => prog.dpLists.flat().filter((op) => op.kind === COLLECTIVE);
    for (const op of collectives(compileStep(loadScenario("experiments/published/kempnerforge2026/08-13b-8gpu-fsdp8.yaml")))) expect(op.groupPerNode).toBe(4);
    const one = compileStep(loadScenario("experiments/published/kempnerforge2026/04-7b-4gpu-fsdp4.yaml"));
    expect(collectives(one).length).toBeGreaterThan(0);
    for (const op of collectives(one)) expect(op.groupPerNode).toBe(0);
  }, 60_000);
});
