/**
 * Offload through the host path (models/step/offload.ts): hand-derived PCIe bytes per step for
 * ZeRO-3 with offloaded parameters and optimizer, the CPU-Adam step's time, activation copies
 * that hide under compute or set the pace, and nothing changed with offload off.
 */
import { describe, expect, it } from "vitest";
import { CPU_ADAM_PARAMS_PER_SECOND, hostCopyBandwidth, PCIE_GEN5_X16 } from "../../models/network/host.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { compileStep, DELAY, ENQUEUE, PCIE_D2H, PCIE_H2D, WORK, type Op, type StepProgram } from "../../models/step/program.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { layerActivationBytes, layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { IDEAL_ACCELERATOR as IDEAL, scenario, TINY_MODEL as TINY } from "../helpers/scenario.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";

/** Bytes stage 0's rank moves over each PCIe direction in one step: its passes, the lists they enqueue, the after-step plan. */
function hostBytes(prog: StepProgram): { h2d: number; d2h: number } {
  const sum = { h2d: 0, d2h: 0 };
  const add = (op: Op): void =>
    op.roles.forEach((r, i) => {
      if (r === PCIE_H2D) sum.h2d += op.amounts[i] as number;
      if (r === PCIE_D2H) sum.d2h += op.amounts[i] as number;
    });
  const fromList = (list: number): void => (prog.dpLists[list] as Op[]).forEach(add);
  const kinds = prog.schedKind[0] as Uint8Array;
  for (let i = 0; i < kinds.length; i++) {
    const vs = (prog.schedChunk[0] as Int32Array)[i]! * prog.p.pp;
    const plan = kinds[i] === 0 ? prog.forwardPlan[vs] : (prog.schedLastBackward[0] as Uint8Array)[i] === 1 ? prog.lastBackwardPlan[vs] : prog.backwardPlan[vs];
    for (const op of prog.plans[plan as number] as Op[]) {
      if (op.kind === ENQUEUE) fromList(op.gradList);
      else if (op.kind === WORK) add(op);
    }
  }
  if ((prog.finalGradList[0] as number) >= 0) fromList(prog.finalGradList[0] as number);
  (prog.plans[prog.afterPlan[0] as number] as Op[]).forEach(add);
  return sum;
}

const tiny = (plan: Partial<ParallelPlan>, globalBatch = 4, gpu = IDEAL): Scenario =>
  scenario({ gpu, nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch, gpuVariability: 0, plan: { dp: 4, zero: 3, gradReduceDtype: "bf16", ...plan } });

describe("ZeRO-3 offload: PCIe bytes per step, by hand", () => {
  // TINY: P parameters per GPU before sharding, n = 4 ranks, bf16 weights (2 B) and gradients (2 B), m micro-batches.
  it("offloadParams + offloadOptimizer: H2D = m × 2 gathers × 2P/n, D2H = m × 2P/n, nothing copied back after the step", () => {
    for (const m of [1, 3]) {
      const s = tiny({ offloadParams: true, offloadOptimizer: true }, 4 * m);
      const P = memoryByStage(s)[0]!.params;
      const { h2d, d2h } = hostBytes(compileStep(s));
      expect(h2d / (m * 2 * ((2 * P) / 4)) - 1).toBeCloseTo(0, 12);
      expect(d2h / (m * ((2 * P) / 4)) - 1).toBeCloseTo(0, 12);
    }
  });

  it("reshardAfterForward false: one shard copy per unit and micro-batch", () => {
    const s = tiny({ offloadParams: true, offloadOptimizer: true, reshardAfterForward: false });
    const P = memoryByStage(s)[0]!.params;
    expect(hostBytes(compileStep(s)).h2d / ((2 * P) / 4) - 1).toBeCloseTo(0, 12);
  });

  it("offloadOptimizer alone: gradient shards down every micro-batch, the updated shard (2P/n) up once after CPU-Adam", () => {
    const s = tiny({ offloadOptimizer: true }, 8);
    const P = memoryByStage(s)[0]!.params;
    const { h2d, d2h } = hostBytes(compileStep(s));
    expect(h2d / ((2 * P) / 4) - 1).toBeCloseTo(0, 12);
    expect(d2h / (2 * ((2 * P) / 4)) - 1).toBeCloseTo(0, 12);
  });

  it("ZeRO-2 with offloadOptimizer: the reduced gradient shard down once per step, the updated shard up once", () => {
    const s = tiny({ zero: 2, offloadOptimizer: true }, 8);
    const P = memoryByStage(s)[0]!.params;
    const { h2d, d2h } = hostBytes(compileStep(s));
    expect(h2d / ((2 * P) / 4) - 1).toBeCloseTo(0, 12);
    expect(d2h / ((2 * P) / 4) - 1).toBeCloseTo(0, 12);
  });

  it("offload off: no PCIe work anywhere", () => {
    const { h2d, d2h } = hostBytes(compileStep(tiny({})));
    expect(h2d).toBe(0);
    expect(d2h).toBe(0);
  });

  it("offloadParams is ignored below ZeRO-3 (the loader refuses it)", () => {
    expect(hostBytes(compileStep(tiny({ zero: 2, offloadParams: true }))).h2d).toBe(0);
  });
});

describe("CPU-Adam and the copy bandwidth", () => {
  it("copy bandwidth is 0.8 of the x16 link (nvbandwidth): A100 Gen4 25.2 GB/s, Hopper Gen5 50.4 GB/s", () => {
    expect(hostCopyBandwidth(scenario({ gpu: "A100-80GB", nodes: 1, model: TINY, seqLength: 128, globalBatch: 8 }).cluster.gpu)).toBeCloseTo(25.2e9, -6);
    expect(hostCopyBandwidth(scenario({ gpu: "H100-SXM", nodes: 1, model: TINY, seqLength: 128, globalBatch: 8 }).cluster.gpu)).toBeCloseTo(0.8 * PCIE_GEN5_X16, -6);
  });

  it("GB200 and GB300 copy over NVLink-C2C to Grace at Azure's nvbandwidth figure, not over PCIe", () => {
    // Azure/AI-benchmarking-guide ND_GB200_v6_results.md, 'NV Bandwidth': host to device 201 GB/s, device to host 193 GB/s.
    const gb200 = CATALOG["GB200"] as Accelerator;
    expect(hostCopyBandwidth(gb200)).toBe(197e9);
    for (const measured of [201e9, 193e9]) expect(Math.abs(hostCopyBandwidth(gb200) / measured - 1)).toBeLessThan(0.025);
    expect(hostCopyBandwidth(CATALOG["GB300"] as Accelerator)).toBe(197e9);
    // B200 (HGX, x86 host over PCIe Gen5) keeps the PCIe figure.
    expect(hostCopyBandwidth(CATALOG["B200"] as Accelerator)).toBeCloseTo(0.8 * PCIE_GEN5_X16, -6);
  });

  it("cluster.gpu.hostCopyBandwidth sets the copy rate of an overridden or inline GPU; absent, an override keeps its base's", () => {
    const config = (gpu: unknown) => ({ cluster: { gpu, nodes: 1 }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64 }, parallelism: { tp: 2 } });
    const own = scenarioFromObject(config({ base: "H100-SXM", hostCopyBandwidth: "120 GB/s" }), { baseDir: import.meta.dirname }).cluster.gpu;
    expect(hostCopyBandwidth(own)).toBe(120e9);
    expect(own.sources["hostCopyBandwidth"]).toMatch(/overridden/);
    expect(hostCopyBandwidth(scenarioFromObject(config({ base: "GB200" }), { baseDir: import.meta.dirname }).cluster.gpu)).toBe(197e9);
    expect(() => scenarioFromObject(config({ base: "H100-SXM", hostCopyBandwidth: "1 MB/s" }), { baseDir: import.meta.dirname })).toThrow(/cluster\.gpu\.hostCopyBandwidth/);
  });

  it("the after-step plan waits P/n × (ranks on the host) / rate for CPU-Adam instead of running Adam on the GPU", () => {
    const s = tiny({ offloadOptimizer: true });
    const P = memoryByStage(s)[0]!.params;
    const after = compileStep(s).plans[compileStep(s).afterPlan[0] as number] as Op[];
    const adam = after.filter((o) => o.kind === DELAY && o.label === "optimizer:cpu-adam");
    expect(adam.length).toBe(1);
    // 4 ranks on one host of 4.
    expect(adam[0]!.seconds / (((P / 4) * 4) / CPU_ADAM_PARAMS_PER_SECOND) - 1).toBeCloseTo(0, 12);
    expect(after.some((o) => o.label.startsWith("optimizer:") && o.kind === WORK)).toBe(false);
  });

  it("the step grows by CPU-Adam plus the shard's copy back, less the GPU optimizer, plus at most the tail of gradient copies", () => {
    const on = tiny({ offloadOptimizer: true });
    const off = tiny({});
    const P = memoryByStage(on)[0]!.params;
    const bw = compileStep(on).hostCopyBandwidth;
    const adam = ((P / 4) * 4) / CPU_ADAM_PARAMS_PER_SECOND;
    const upload = (2 * P) / 4 / bw;
    // The GPU's Adam it replaces: 12 flops per parameter of the shard on the ideal GPU (HBM and launches free).
    const gpuAdam = (12 * (P / 4)) / 1e15;
    const delta = simulateStep(on).stepSeconds - simulateStep(off).stepSeconds;
    expect(delta).toBeGreaterThanOrEqual(adam + upload - gpuAdam - 1e-9);
    // Gradient copies overlap the backward; at most all of them could trail it.
    expect(delta).toBeLessThanOrEqual(adam + upload + (2 * P) / 4 / bw + 1e-9);
  });
});

describe("activation offload", () => {
  // The ideal GPU (PCIe Gen5 at 0.8; HBM, links and launches practically free): SMs and copies are all that cost time.
  const act = (share: number): Scenario =>
    scenario({ gpu: IDEAL, nodes: 1, gpusPerNode: 1, model: TINY, seqLength: 2048, globalBatch: 1, gpuVariability: 0, plan: { zero: 0, offloadActivationShare: share, recompute: "none" } });

  it("a copy that fits under the GEMMs costs no time", () => {
    const base = simulateStep(act(0)).stepSeconds;
    const one = act(1 / 8);
    // One of 8 layers: its saved activations against the forward GEMMs of 8 layers.
    const bytes = layerActivationBytes(layerShape(one), "none");
    expect(bytes / compileStep(one).hostCopyBandwidth).toBeLessThan(base / 4);
    expect(simulateStep(one).stepSeconds).toBeCloseTo(base, 12);
  });

  it("a copy-bound pass lasts the copy: the step is never shorter than the activations' trip out and back", () => {
    const s = act(1);
    const prog = compileStep(s);
    const bytes = TINY.layers * layerActivationBytes(layerShape(s), "none");
    const { h2d, d2h } = hostBytes(prog);
    expect(d2h / bytes - 1).toBeCloseTo(0, 12);
    expect(h2d / bytes - 1).toBeCloseTo(0, 12);
    const r = simulateStep(s);
    // Out in forward, back in backward: two trips, one per direction, each bounding its pass.
    expect(r.stepSeconds).toBeGreaterThanOrEqual((2 * bytes) / prog.hostCopyBandwidth);
    expect(r.stepSeconds).toBeGreaterThan(simulateStep(act(0)).stepSeconds);
  });

  it("a faster host link shortens a copy-bound step to the trips at its rate (4× PCIe Gen5's copy rate: at least 2·bytes / 201.6 GB/s)", () => {
    const slow = act(1);
    const fast: Scenario = { ...slow, cluster: { ...slow.cluster, gpu: { ...IDEAL, hostCopyBandwidth: 4 * 0.8 * PCIE_GEN5_X16 } } };
    const prog = compileStep(fast);
    expect(prog.hostCopyBandwidth).toBeCloseTo(201.6e9, -6);
    const bytes = TINY.layers * layerActivationBytes(layerShape(fast), "none");
    const t = simulateStep(fast).stepSeconds;
    expect(t).toBeGreaterThanOrEqual((2 * bytes) / 201.6e9);
    expect(t).toBeLessThan(simulateStep(slow).stepSeconds);
    expect(t).toBeGreaterThanOrEqual(simulateStep(act(0)).stepSeconds - 1e-12);
  });
});

describe("full mode agrees with folded with offload on", () => {
  it("ZeRO-3, parameters and optimizer offloaded", () => {
    const s = tiny({ offloadParams: true, offloadOptimizer: true }, 8, { ...IDEAL, scaleUpBandwidth: 2e10 });
    const folded = simulateStep(s);
    const full = simulateStepFull(s);
    expect(full.stepSeconds).toBeCloseTo(folded.stepSeconds, 9);
    for (const c of CATEGORIES) expect(full.breakdown[c]).toBeCloseTo(folded.breakdown[c], 9);
  });
});
