import { describe, expect, it } from "vitest";
import { collectiveLoad, linkWork } from "../../models/collectives/alpha-beta.ts";
import { kernelCost } from "../../models/compute/kernel.ts";
import { groupSlowdowns } from "../../models/network/group-slowdown.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { bucketRanges, DDP_BUCKET_PARAMS } from "../../models/step/param-gather.ts";
import { compileStep } from "../../models/step/program.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { embeddingKernels, headKernels, layerBackwardKernels, layerForwardKernels, type KernelList } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { embeddingParams, headParams, layerParamsPerRank } from "../../models/workload/params.ts";
import { IDEAL_ACCELERATOR, scenario, TINY_MODEL } from "../helpers/scenario.ts";

/**
 * dp 2 over two nodes of one GPU (the data-parallel collectives cross the NIC at `nic` bytes/s),
 * ZeRO-1 (gradients reduce-scattered, parameters all-gathered), 4 micro-batches of TINY_MODEL.
 */
function dpScenario(nic: number, plan: Partial<ParallelPlan>, nodes = 2): Scenario {
  const s = scenario({ gpu: IDEAL_ACCELERATOR, nodes, gpusPerNode: 2 / nodes, nicBandwidth: nic, model: TINY_MODEL, seqLength: 2048, globalBatch: 8, gpuVariability: 0, plan: { dp: 2, zero: 1, microBatch: 1 } });
  return { ...s, parallelism: { ...s.parallelism, ...plan } };
}
const step = (nic: number, plan: Partial<ParallelPlan>, nodes = 2): number => simulateStep(dpScenario(nic, plan, nodes)).stepSeconds;

/** Seconds of one data-parallel collective of `bytes` over the two ranks, as the step's alpha-beta model costs it. */
function dpSeconds(s: Scenario, op: "reduce-scatter" | "all-gather", bytes: number): number {
  const load = collectiveLoad(op, bytes, { size: 2, perNode: 1 });
  return load.latencySeconds + (linkWork(load).nic * groupSlowdowns(s).dp) / s.cluster.network.nicBandwidth;
}

const seconds = (s: Scenario, list: KernelList): number => list.kernels.reduce((a, k) => a + kernelCost(k, s.cluster.gpu, "bf16").seconds, 0);

// 100 GB/s: a layer's gradient reduce-scatter (and its parameter all-gather) outlasts its backward
// (forward) on the ideal accelerator, the head's and embedding's tiny ones do not.
const SLOW = 1e11;

describe("DDP buckets (param-gather.ts)", () => {
  it("fills buckets from the last piece backwards, closing each at the bucket size, the remainder first", () => {
    const pieces = [10, 50, 50, 50, 30].map((params) => ({ params, expertParams: 0 }));
    // From the end: 30 (< 40), +50 = 80 closes [3, 5); 50 closes [2, 3); 50 closes [1, 2); 10 is left: [0, 1).
    expect(bucketRanges(pieces, 40)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 5],
    ]);
    expect(bucketRanges(pieces, 1e9)).toEqual([[0, 5]]);
    expect(bucketRanges([], 40)).toEqual([]);
    expect(DDP_BUCKET_PARAMS).toBe(40e6);
  });
});

describe("overlapped data-parallel communication (ZeRO-1, Megatron-Core's DDP and distributed optimizer)", () => {
  it("with unlimited bandwidth the step equals its compute, whatever overlaps", () => {
    // dp 2 within one node of the ideal accelerator: NVLink at 1e21 B/s and no inter-node hop latency.
    const free = step(SLOW, { overlapGradReduce: false }, 1);
    expect(step(SLOW, { overlapGradReduce: true }, 1)).toBeCloseTo(free, 9);
    expect(step(SLOW, { overlapGradReduce: true, overlapParamGather: true }, 1)).toBeCloseTo(free, 9);
    // And that is the kernels: 4 micro-batches of forward and backward, and the optimizer over the rank's shard.
    const s = dpScenario(SLOW, {}, 1);
    const x = layerShape(s);
    const L = TINY_MODEL.layers;
    const pass = L * (seconds(s, layerForwardKernels(x)) + seconds(s, layerBackwardKernels(x))) + seconds(s, embeddingKernels(x, "forward")) + seconds(s, embeddingKernels(x, "backward")) + seconds(s, headKernels(x, "forward")) + seconds(s, headKernels(x, "backward"));
    const shard = (compileStep(s).memory[0]?.params ?? NaN) / 2;
    const optimizer = kernelCost({ name: "optimizer", kind: "memory", flops: 12 * shard, bytes: 0, launches: 0 }, s.cluster.gpu, "bf16").seconds;
    expect(free).toBeCloseTo(4 * pass + optimizer, 9);
  });

  it("a reduce-scatter longer than the last micro-batch's backward exposes exactly the remainder", () => {
    const s = dpScenario(SLOW, {});
    const x = layerShape(s);
    const L = TINY_MODEL.layers;
    const grad = 4; // fp32 gradients (gradReduceDtype's default with bf16)
    const layerBytes = layerParamsPerRank(TINY_MODEL, s.parallelism).dense * grad;
    const headBytes = headParams(TINY_MODEL) * grad;
    const embedBytes = embeddingParams(TINY_MODEL) * grad;
    const rs = (b: number): number => dpSeconds(s, "reduce-scatter", b);
    // Off: one reduce-scatter of every gradient after the last backward.
    const off = step(SLOW, { overlapGradReduce: false });
    // On: each layer's gradients go to the stream as its backward ends (the head's first, the
    // embedding's last). The head's tiny reduction is done before layer L-1's backward ends; from
    // then on the stream is busy: L layer reductions and the embedding's, while the compute still
    // has L-1 layer backwards and the embedding's to run.
    const chain = L * rs(layerBytes) + rs(embedBytes);
    const hidden = (L - 1) * seconds(s, layerBackwardKernels(x)) + seconds(s, embeddingKernels(x, "backward"));
    expect(rs(headBytes)).toBeLessThan(seconds(s, layerBackwardKernels(x)));
    const on = step(SLOW, { overlapGradReduce: true });
    expect(on - off).toBeCloseTo(chain - hidden - rs(L * layerBytes + headBytes + embedBytes), 9);
  });

  it("the parameter all-gather waits bucket by bucket in the first micro-batch's forward, one bucket in flight", () => {
    const s = dpScenario(SLOW, { overlapParamGather: true });
    const x = layerShape(s);
    const L = TINY_MODEL.layers;
    const w = 2; // bf16 weights
    const ag = (params: number): number => dpSeconds(s, "all-gather", params * w);
    const layer = layerParamsPerRank(TINY_MODEL, s.parallelism).dense;
    // Buckets of >= 40M parameters filled from the end: [layer L-1 + head], [layer L-2], ... [layer 0], [embedding].
    expect(layer).toBeGreaterThan(DDP_BUCKET_PARAMS);
    const blocking = step(SLOW, { overlapParamGather: false });
    // Blocking: one gather of every parameter after the optimizer. Overlapped: the embedding's
    // gather, then each layer's bucket while the previous bucket computes (always the longer),
    // so the forward runs only layer L-1 and the head after the last gather.
    const gathered = ag(embeddingParams(TINY_MODEL)) + (L - 1) * ag(layer) + ag(layer + headParams(TINY_MODEL));
    const hidden = seconds(s, embeddingKernels(x, "forward")) + (L - 1) * seconds(s, layerForwardKernels(x));
    expect(ag(layer)).toBeGreaterThan(seconds(s, layerForwardKernels(x)));
    const all = ag(embeddingParams(TINY_MODEL) + L * layer + headParams(TINY_MODEL));
    expect(step(SLOW, { overlapParamGather: true }) - blocking).toBeCloseTo(gathered - hidden - all, 9);
  });

  it("a communication-bound step is faster with overlap, never faster than max(compute, communication)", () => {
    for (const nic of [5e10, 1e11, 2e11]) {
      const free = step(nic, {}, 1);
      const off = step(nic, { overlapGradReduce: false });
      const on = step(nic, { overlapGradReduce: true, overlapParamGather: true });
      const s = dpScenario(nic, {});
      const params = compileStep(s).memory[0]?.params ?? NaN;
      const communication = dpSeconds(s, "reduce-scatter", params * 4) + dpSeconds(s, "all-gather", params * 2);
      expect(on).toBeLessThan(off);
      expect(on).toBeGreaterThanOrEqual(Math.max(free, communication) * (1 - 1e-9));
    }
  });

  it("interleaved pipeline: each chunk's first forward waits for its buckets, chained across chunks; full agrees with folded", () => {
    // pp 2 x 2 chunks x dp 2 on four single-GPU nodes, 4 micro-batches.
    const pipe = (nic: number, plan: Partial<ParallelPlan>): Scenario => {
      const s = scenario({ gpu: IDEAL_ACCELERATOR, nodes: 4, gpusPerNode: 1, nicBandwidth: nic, model: TINY_MODEL, seqLength: 2048, globalBatch: 8, gpuVariability: 0, plan: { pp: 2, dp: 2, zero: 1, microBatch: 1, virtualStages: 2 } });
      return { ...s, parallelism: { ...s.parallelism, ...plan } };
    };
    const prog = compileStep(pipe(SLOW, { overlapParamGather: true }));
    // Each virtual stage has its own first-forward plan (two layers, a bucket each, plus embedding or head).
    for (let v = 0; v < prog.V; v++) expect(prog.firstForwardPlan[v]).not.toBe(prog.forwardPlan[v]);
    expect(Array.from(prog.startList).every((l) => l >= 0)).toBe(true);
    const free = simulateStep(pipe(1e21, { overlapParamGather: false })).stepSeconds;
    const overlapped = simulateStep(pipe(SLOW, { overlapParamGather: true })).stepSeconds;
    expect(overlapped).toBeGreaterThan(free);
    expect(simulateStepFull(pipe(SLOW, { overlapParamGather: true })).stepSeconds).toBeCloseTo(overlapped, 12);
    // Off, nothing waits in the forward: the first-forward plans are the forward plans.
    const off = compileStep(pipe(SLOW, {}));
    for (let v = 0; v < off.V; v++) expect(off.firstForwardPlan[v]).toBe(off.forwardPlan[v]);
  });
});
