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
