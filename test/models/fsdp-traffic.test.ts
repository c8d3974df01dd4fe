/**
 * ZeRO-3 / FSDP traffic as FSDP2 and DeepSpeed ZeRO-3 run it: per wrap unit an all-gather
 * before its forward and (reshardAfterForward) again before its backward, and a
 * reduce-scatter of its gradients after its backward, every micro-batch; hand-checked bytes,
 * overlap bounds, and full against folded.
 */
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../experiments/load.ts";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { COLLECTIVE, compileStep, ENQUEUE, NIC_TX, NV_TX, WAIT, type Op, type StepProgram } from "../../models/step/program.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { embeddingKernels, headKernels, layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { IDEAL_ACCELERATOR as IDEAL, scenario, TINY_MODEL as TINY } from "../helpers/scenario.ts";

/** Stage 0's data-parallel collectives over one step, in the order its schedule runs them. */
function dpCollectives(prog: StepProgram): Op[] {
  const out: Op[] = [];
  const fromList = (list: number): void => {
    for (const op of prog.dpLists[list] as Op[]) if (op.kind === COLLECTIVE) out.push(op);
  };
  const kinds = prog.schedKind[0] as Uint8Array;
  for (let i = 0; i < kinds.length; i++) {
    const vs = (prog.schedChunk[0] as Int32Array)[i]! * prog.p.pp;
    const plan = kinds[i] === 0 ? prog.forwardPlan[vs] : (prog.schedLastBackward[0] as Uint8Array)[i] === 1 ? prog.lastBackwardPlan[vs] : prog.backwardPlan[vs];
    for (const op of prog.plans[plan as number] as Op[]) if (op.kind === ENQUEUE) fromList(op.gradList);
  }
  if ((prog.finalGradList[0] as number) >= 0) fromList(prog.finalGradList[0] as number);
  for (const op of prog.plans[prog.afterPlan[0] as number] as Op[]) if (op.kind === COLLECTIVE && op.label.startsWith("dp")) out.push(op);
  return out;
}
/** Bytes a member sends over its links (nccl-tests' ring volume), summed. */
const linkBytes = (ops: Op[]): number => ops.reduce((a, op) => a + (op.size === op.size ? op.size : 0), 0);

const tiny = (parts: { plan?: Partial<ParallelPlan>; nodes?: number; gpusPerNode?: number; nicBandwidth?: number; globalBatch?: number; gpu?: typeof IDEAL; seqLength?: number }): Scenario =>
  scenario({
    gpu: parts.gpu ?? IDEAL,
    nodes: parts.nodes ?? 1,
    gpusPerNode: parts.gpusPerNode ?? 4,
    model: TINY,
    seqLength: parts.seqLength ?? 2048,
    globalBatch: parts.globalBatch ?? 4,
    gpuVariability: 0,
    ...(parts.nicBandwidth !== undefined ? { nicBandwidth: parts.nicBandwidth } : {}),
    plan: { zero: 3, gradReduceDtype: "bf16", ...parts.plan },
  });

describe("FSDP traffic per step, by hand", () => {
  // TINY: 8 blocks + embedding + head, all in bf16 (2 B) and reduced in bf16 (2 B).
  it("is 3 × parameter bytes × (n−1)/n per GPU for one micro-batch: two all-gathers and one reduce-scatter", () => {
    const s = tiny({ plan: { dp: 4 } });
    const prog = compileStep(s);
    const P = memoryByStage(s)[0]!.params;
    const ops = dpCollectives(prog);
    expect(linkBytes(ops) / (3 * P * 2 * (3 / 4)) - 1).toBeCloseTo(0, 12);
    // 10 units: 10 gathers in forward, 10 in backward, 10 reduce-scatters; no after-step all-gather.
    expect(ops.map((o) => o.label).filter((l) => l === "fsdp:gather").length).toBe(20);
    expect(ops.map((o) => o.label).filter((l) => l === "fsdp:grads").length).toBe(10);
    expect(ops.some((o) => o.label === "dp:params")).toBe(false);
  });

  it("m micro-batches move m times that (FSDP2's and ZeRO-3's default: gradients reduce-scattered every micro-batch)", () => {
    const s = tiny({ plan: { dp: 4 }, globalBatch: 12 });
    const P = memoryByStage(s)[0]!.params;
    expect(linkBytes(dpCollectives(compileStep(s))) / (3 * 3 * P * 2 * (3 / 4)) - 1).toBeCloseTo(0, 12);
  });

  it("reshardAfterForward false drops the backward gathers: 2 × P × (n−1)/n", () => {
    const s = tiny({ plan: { dp: 4, reshardAfterForward: false } });
    const P = memoryByStage(s)[0]!.params;
    expect(linkBytes(dpCollectives(compileStep(s))) / (2 * P * 2 * (3 / 4)) - 1).toBeCloseTo(0, 12);
  });

  it("fsdpUnitLayers 4 moves the same bytes in fewer, larger gathers", () => {
    const s = tiny({ plan: { dp: 4, fsdpUnitLayers: 4 } });
    const P = memoryByStage(s)[0]!.params;
    const ops = dpCollectives(compileStep(s));
    expect(linkBytes(ops) / (3 * P * 2 * (3 / 4)) - 1).toBeCloseTo(0, 12);
    expect(ops.filter((o) => o.label === "fsdp:gather").length).toBe(2 * 4);
  });

  it("HSDP: gathers and reduce-scatters within the shard group, the gradient shard all-reduced across replicas", () => {
    // dp 8 on 2 nodes of 4, shardGroup 4: s = 4 within a node, r = 2 replicas.
    const s = tiny({ plan: { dp: 8, shardGroup: 4 }, nodes: 2, globalBatch: 8 });
    const P = memoryByStage(s)[0]!.params;
    const ops = dpCollectives(compileStep(s));
    const shard = 3 * P * 2 * (3 / 4);
    const replicas = 2 * ((P * 2) / 4) * (1 / 2);
    expect(linkBytes(ops) / (shard + replicas) - 1).toBeCloseTo(0, 12);
    expect(linkBytes(ops.filter((o) => o.label === "fsdp:grads-replicas")) / replicas - 1).toBeCloseTo(0, 12);
  });

  it("ZeRO-1 and ZeRO-2 keep one gradient reduce-scatter and one parameter all-gather per step", () => {
    for (const zero of [1, 2] as const) {
      const s = tiny({ plan: { dp: 4, zero }, globalBatch: 12 });
      const P = memoryByStage(s)[0]!.params;
      const ops = dpCollectives(compileStep(s));
      // Gradients (2 B) reduce-scattered once, after the last micro-batch; parameters (2 B) gathered once.
      expect(linkBytes(ops) / (2 * P * 2 * (3 / 4)) - 1).toBeCloseTo(0, 12);
      expect(ops.filter((o) => o.label === "dp:params").length).toBe(1);
    }
  });
});

describe("FSDP overlap", () => {
  const peak = 1e15;
  /** The step's compute by hand: m × (forward + backward) of every unit, then the optimizer on the 1/n shard. */
  const computeSeconds = (s: Scenario, n: number): number => {
    const shape = layerShape(s);
    const sm = (kernels: Kernel[], times = 1): number => times * kernels.reduce((a, k) => a + kernelCost(k, IDEAL, "bf16").smWork, 0);
    const L = TINY.layers;
    const F = sm(embeddingKernels(shape, "forward").kernels) + sm(layerForwardKernels(shape).kernels, L) + sm(headKernels(shape, "forward").kernels);
    const B = sm(headKernels(shape, "backward").kernels) + sm(layerBackwardKernels(shape).kernels, L) + sm(embeddingKernels(shape, "backward").kernels);
    const m = s.workload.globalBatch / s.parallelism.dp;
    return (m * (F + B) + (12 * memoryByStage(s)[0]!.params) / n) / peak;
  };

  it("with unlimited bandwidth and no latency the step is its compute", () => {
    for (const prefetch of [0, 1, 2]) {
      const s = tiny({ plan: { dp: 4, fsdpPrefetch: prefetch }, globalBatch: 8 });
      const r = simulateStep(s);
      // Links at 1e21 B/s: each gather takes ~1e-13 s against a ~30 ms step.
      expect(Math.abs(r.stepSeconds / computeSeconds(s, 4) - 1), `prefetch ${prefetch}`).toBeLessThan(1e-9);
    }
  });

  // One node of 4, dp 4, the ideal GPU with slow NVLink: every gather and reduce-scatter on it.
  const slow = (scaleUpBandwidth: number, prefetch: number): Scenario => tiny({ plan: { dp: 4, fsdpPrefetch: prefetch }, globalBatch: 8, gpu: { ...IDEAL, scaleUpBandwidth } });
  /** The least time the links need: the busier of NIC and NVLink, at the work the ops put on them. */
  const commSeconds = (s: Scenario): number => {
    let nic = 0;
    let nv = 0;
    for (const op of dpCollectives(compileStep(s)))
      op.roles.forEach((r, i) => {
        if (r === NIC_TX) nic += op.amounts[i] as number;
        if (r === NV_TX) nv += op.amounts[i] as number;
      });
    return Math.max(nic / s.cluster.network.nicBandwidth, nv / s.cluster.gpu.scaleUpBandwidth);
  };

  it("a communication-bound step is slower than its compute and never faster than max(compute, communication)", () => {
    const s = slow(2e9, 1);
    const r = simulateStep(s);
    const C = computeSeconds(s, 4);
    const comm = commSeconds(s);
    expect(comm).toBeGreaterThan(C);
    expect(r.stepSeconds).toBeGreaterThan(C);
    expect(r.stepSeconds).toBeGreaterThanOrEqual(Math.max(C, comm));
    // And no slower than running the two one after the other (plus the ring latencies).
    expect(r.stepSeconds).toBeLessThan(C + comm + 1e-3);
  });

  it("prefetch 0 (each gather exposed) is slower than prefetch 1 when communication and compute are of a size", () => {
    const C = computeSeconds(slow(1e10, 1), 4);
    // NVLink bandwidth where the links need about as long as compute.
    const bw = (commSeconds(slow(1e10, 1)) * 1e10) / C;
    const none = simulateStep(slow(bw, 0)).stepSeconds;
    const one = simulateStep(slow(bw, 1)).stepSeconds;
    expect(none).toBeGreaterThan(one * 1.2);
    // Without prefetch no gather overlaps compute: at least compute plus every gather's link time.
    const gathers = dpCollectives(compileStep(slow(bw, 0))).filter((o) => o.label === "fsdp:gather");
    const gatherSeconds = gathers.reduce((t, op) => t + (op.amounts[op.roles.indexOf(NV_TX)] as number), 0) / bw;
    expect(none).toBeGreaterThanOrEqual(C + gatherSeconds);
    expect(one).toBeGreaterThanOrEqual(C);
  });

  it("the wait for a gather is charged to the links that carry it", () => {
    const r = simulateStep(slow(2e9, 1));
    expect(r.breakdown.nvlink).toBeGreaterThan(0.3);
    expect(CATEGORIES.reduce((a, c) => a + r.breakdown[c], 0)).toBeCloseTo(1, 9);
  });

  it("every unit's compute waits for its gather: one WAIT per gathered unit", () => {
    const prog = compileStep(tiny({ plan: { dp: 4 } }));
    expect((prog.plans[prog.forwardPlan[0] as number] as Op[]).filter((o) => o.kind === WAIT).length).toBe(10);
    expect((prog.plans[prog.backwardPlan[0] as number] as Op[]).filter((o) => o.kind === WAIT).length).toBe(10);
  });
});

describe("full mode agrees with folded on symmetric ZeRO-3 cases", () => {
  const symmetric = (s: Scenario): Scenario => ({ ...s, cluster: { ...s.cluster, gpuVariability: 0 } });
  const cases: [string, Scenario][] = [
    ["kempnerforge 13B FSDP over 8", symmetric(loadScenario("experiments/published/kempnerforge2026/08-13b-8gpu-fsdp8.yaml"))],
    ["kempnerforge 7B tp4 × FSDP 8 on 4 nodes", symmetric(loadScenario("experiments/published/kempnerforge2026/12-7b-32gpu-tp4-fsdp8.yaml"))],
    ["FSDP under a 2-stage pipeline with 4 micro-batches, an empty last chunk, slow NVLink", tiny({ plan: { pp: 2, dp: 2, lastStageLayers: 0 }, globalBatch: 8, gpu: { ...IDEAL, scaleUpBandwidth: 2e10 } })],
    ["HSDP on the tiny model, slow NVLink, prefetch 2", tiny({ plan: { dp: 8, shardGroup: 4, fsdpPrefetch: 2 }, gpusPerNode: 8, globalBatch: 16, gpu: { ...IDEAL, scaleUpBandwidth: 5e9 } })],
  ];
  for (const [name, s] of cases) {
    it(name, () => {
      const folded = simulateStep(s);
      const full = simulateStepFull(s);
      expect(full.stepSeconds).toBeCloseTo(folded.stepSeconds, 9);
      for (const c of CATEGORIES) expect(full.breakdown[c], `${name} ${c}`).toBeCloseTo(folded.breakdown[c], 9);
    }, 120_000);
  }
});
