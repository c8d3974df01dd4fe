/**
 * FSDP gathers run on a stream of their own, as FSDP1 (unshard vs post-backward stream), FSDP2
 * and DeepSpeed ZeRO-3 with overlap_comm run them: a slow gradient reduction (HSDP's
 * all-reduce across nodes) delays the step's end, never the next unit's gather. Hand-computed
 * bounds on the tiny model, where every block is one equal unit.
 */
import { describe, expect, it } from "vitest";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { idealSlowdowns } from "../../models/network/group-slowdown.ts";
import { compileStep, NIC_TX, type Op } from "../../models/step/program.ts";
import { fsdpLookahead } from "../../models/workload/memory.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { embeddingKernels, headKernels, layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { IDEAL_ACCELERATOR as IDEAL, scenario, TINY_MODEL as TINY } from "../helpers/scenario.ts";

// dp 8 on 2 nodes of 4, shardGroup 4: gathers and reduce-scatters on NVLink (free), the
// gradient shard's all-reduce across the 2 replicas on the NIC.
const hsdp = (nicBandwidth: number): Scenario =>
  scenario({ gpu: IDEAL, nodes: 2, gpusPerNode: 4, nicBandwidth, model: TINY, seqLength: 2048, globalBatch: 8, gpuVariability: 0, plan: { dp: 8, shardGroup: 4, zero: 3, gradReduceDtype: "bf16" } });

// The ideal GPU's 1e21 B/s links make the fabric probe's ratio meaningless: no topology slowdown.
const ideal = idealSlowdowns();
const sm = (s: Scenario, kernels: Kernel[], times = 1): number => (times * kernels.reduce((a, k) => a + kernelCost(k, IDEAL, "bf16").smWork, 0)) / 1e15;

/** The replica all-reduces of one step: NIC bytes and latency, summed over units. */
function replicaReduce(s: Scenario): { bytes: number; latency: number; units: number } {
  const prog = compileStep(s, ideal);
  const out = { bytes: 0, latency: 0, units: 0 };
  const backward = prog.plans[prog.backwardPlan[0] as number] as Op[];
  for (const op of backward) {
    if (op.gradList < 0 || op.token >= 0) continue;
    for (const r of prog.dpLists[op.gradList] as Op[]) {
      if (r.label !== "fsdp:grads-replicas") continue;
      out.bytes += r.amounts[Array.from(r.roles).indexOf(NIC_TX)] as number;
      out.latency += r.latency;
      out.units++;
    }
  }
  return out;
}

describe("FSDP gathers on their own stream", () => {
  const shape = layerShape(hsdp(1e9));
  const F = sm(hsdp(1e9), embeddingKernels(shape, "forward").kernels) + sm(hsdp(1e9), layerForwardKernels(shape).kernels, TINY.layers) + sm(hsdp(1e9), headKernels(shape, "forward").kernels);
  const b = sm(hsdp(1e9), layerBackwardKernels(shape).kernels);
  const B = sm(hsdp(1e9), headKernels(shape, "backward").kernels) + TINY.layers * b + sm(hsdp(1e9), embeddingKernels(shape, "backward").kernels);

  /** The replica all-reduces' time alone at a NIC speed (their link work depends on it through the fabric's group slowdown). */
  const reduceAt = (nic: number): number => {
    const { bytes, latency } = replicaReduce(hsdp(nic));
    return bytes / nic + latency;
  };
  // A NIC speed at which the reductions take about twice the backward: each block's reduction outlasts the next block's backward.
  const nics = [2e10, 3e10, 5e10, 7e10, 1e11].map((nic) => ({ nic, r: reduceAt(nic) / B }));
  const nic = nics.reduce((best, x) => (Math.abs(Math.log(x.r / 2)) < Math.abs(Math.log(best.r / 2)) ? x : best)).nic;

  it("a slow all-reduce across replicas trails the backward instead of stalling it", () => {
    const s = hsdp(nic);
    const probe = replicaReduce(s);
    expect(probe.units).toBe(TINY.layers + 2);
    const reduce = reduceAt(nic);
    expect(reduce / B).toBeGreaterThan(1.3);
    expect(reduce / B).toBeLessThan(3);
    // The embedding's and the head's shards are tiny (vocabulary 8): the blocks carry the reductions.
    const perBlock = reduce / TINY.layers;
    const step = simulateStep(s, { slowdown: ideal }).stepSeconds;
    // After the reductions: Adam on the 1/4 shard, 12 flops per parameter.
    const opt = (12 * memoryByStage(s)[0]!.params) / 4 / 1e15;
    // Never faster than the links or the compute allow.
    expect(step).toBeGreaterThanOrEqual(Math.max(F + B, reduce) + opt);
    // Two streams: the reductions start after the head's and the first block's backward and run
    // back to back, or (if faster than the blocks) trail the backward by one block's reduction.
    const head = sm(s, headKernels(shape, "backward").kernels);
    expect(step).toBeLessThanOrEqual(Math.max(F + head + b + reduce, F + B + perBlock + probe.latency) * (1 + 1e-3) + opt);
    // One stream: each block's gather would wait behind the previous block's reduction.
    expect(step).toBeLessThan(F + B + reduce + opt - 0.5 * Math.min(B, reduce));
  });

  it("full mode agrees with folded", () => {
    const s = hsdp(nic);
    expect(simulateStepFull(s, { slowdown: ideal }).stepSeconds).toBeCloseTo(simulateStep(s, { slowdown: ideal }).stepSeconds, 9);
  });
});

describe("DeepSpeed's prefetch budget (fsdpPrefetchParams)", () => {
  const units = [10, 20, 30, 40, 50].map((params) => ({ params }));
  it("gathers the next units while fewer than the budget's parameters are in flight, at least one", () => {
    // Beyond unit 0: 20 < 25, 20 + 30 ≥ 25 → two units; a budget of 1 → one; 0 → none; beyond the last → none.
    expect(fsdpLookahead(units, 0, 1, 25)).toBe(2);
    expect(fsdpLookahead(units, 0, 1, 1)).toBe(1);
    expect(fsdpLookahead(units, 0, 1, 0)).toBe(0);
    expect(fsdpLookahead(units, 4, 1, 1e9)).toBe(0);
    expect(fsdpLookahead(units, 1, 1, 1e9)).toBe(3);
    // Without a budget, the count.
    expect(fsdpLookahead(units, 0, 3, undefined)).toBe(3);
  });

  it("a budget worth k whole blocks runs the step as fsdpPrefetch k; DeepSpeed's default 5e7 below a block is prefetch 1", () => {
    // TINY's blocks hold 4h² + 2h·ffn = 201,326,592 parameters; its embedding and head 32,768.
    const block = 4 * 4096 * 4096 + 2 * 4096 * 16384;
    const slow = (plan: Partial<ParallelPlan>): Scenario => scenario({ gpu: { ...IDEAL, scaleUpBandwidth: 3e10 }, nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch: 8, gpuVariability: 0, plan: { dp: 4, zero: 3, gradReduceDtype: "bf16", ...plan } });
    const step = (plan: Partial<ParallelPlan>): number => simulateStep(slow(plan), { slowdown: ideal }).stepSeconds;
    expect(step({ fsdpPrefetchParams: 5e7 })).toBe(step({ fsdpPrefetch: 1 }));
    expect(step({ fsdpPrefetchParams: 2 * block })).toBe(step({ fsdpPrefetch: 2 }));
    expect(step({ fsdpPrefetchParams: 0 })).toBe(step({ fsdpPrefetch: 0 }));
    expect(step({ fsdpPrefetch: 0 })).toBeGreaterThan(step({ fsdpPrefetch: 1 }));
  });
});
