import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { kernelCost } from "../../models/compute/kernel.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { COLLECTIVE, compileStep, NV_TX, SM } from "../../models/step/program.ts";
import { embeddingKernels, headKernels, layerBackwardKernels, layerForwardKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { IDEAL_ACCELERATOR, scenario, TINY_MODEL } from "../helpers/scenario.ts";

/** One rank's tp-2 step on one node (no data parallelism, no pipeline): links at `linkBandwidth`. */
function tpStep(linkBandwidth: number, plan: Partial<ParallelPlan>): Scenario {
  const gpu: Accelerator = { ...IDEAL_ACCELERATOR, scaleUpBandwidth: linkBandwidth };
  const s = scenario({ gpu, nodes: 1, gpusPerNode: 2, model: TINY_MODEL, seqLength: 2048, globalBatch: 1, gpuVariability: 0, plan: { tp: 2, dp: 1, zero: 0 } });
  return { ...s, parallelism: { ...s.parallelism, ...plan } };
}

const stepSeconds = (s: Scenario): number => simulateStep(s).stepSeconds;

/** Σ of every kernel's time alone over the step's one micro-batch, and the optimizer's 12 FLOPs per parameter: the step with free communication. */
function computeSeconds(s: Scenario): number {
  const x: LayerShape = layerShape(s);
  const t = (ks: { kernels: Parameters<typeof kernelCost>[0][] }): number => ks.kernels.reduce((a, k) => a + kernelCost(k, s.cluster.gpu, "bf16").seconds, 0);
  const layers = s.workload.model.layers * (t(layerForwardKernels(x)) + t(layerBackwardKernels(x)));
  const optimizer = kernelCost({ name: "optimizer", kind: "memory", flops: 12 * compileStep(s).memory[0]!.params, bytes: 0, launches: 0 }, s.cluster.gpu, "bf16").seconds;
  return layers + t(embeddingKernels(x, "forward")) + t(embeddingKernels(x, "backward")) + t(headKernels(x, "forward")) + t(headKernels(x, "backward")) + optimizer;
}

describe("tensor-parallel communication overlap (tpCommOverlap)", () => {
  it("with unlimited bandwidth the step equals its compute, overlap on or off", () => {
    const on = tpStep(1e21, { tpCommOverlap: true });
    const compute = computeSeconds(on);
    expect(stepSeconds(on)).toBeCloseTo(compute, 9);
    expect(stepSeconds(tpStep(1e21, {}))).toBeCloseTo(compute, 9);
  });

  it("a communication-bound step is faster with overlap, never faster than max(compute, communication)", () => {
    // 2 GB/s NVLink: each layer's all-gathers and reduce-scatters take longer than its GEMMs.
    const bandwidth = 2e9;
    const off = stepSeconds(tpStep(bandwidth, {}));
    const on = stepSeconds(tpStep(bandwidth, { tpCommOverlap: true }));
    const compute = computeSeconds(tpStep(bandwidth, {}));
    // Off, communication is serial with compute on one stream: what is not compute is communication.
    const comm = off - compute;
    expect(comm).toBeGreaterThan(compute);
    expect(on).toBeLessThan(off);
    expect(on).toBeGreaterThanOrEqual(Math.max(compute, comm) * (1 - 1e-9));
  });

  it("a compute-bound step hides its communication: max(compute, comm) plus the pipeline fill", () => {
    // 400 GB/s: a TP collective of a layer is shorter than the GEMM it overlaps.
    const off = stepSeconds(tpStep(4e11, {}));
    const on = stepSeconds(tpStep(4e11, { tpCommOverlap: true }));
    const compute = computeSeconds(tpStep(4e11, {}));
    const comm = off - compute;
    expect(on).toBeGreaterThanOrEqual(compute * (1 - 1e-9));
    expect(on).toBeLessThan(compute + comm / 2);
  });

  it("off, or explicitly false, runs exactly as before", () => {
    expect(stepSeconds(tpStep(2e9, { tpCommOverlap: false }))).toBe(stepSeconds(tpStep(2e9, {})));
  });

  it("keeps the traffic on the links: the paired op carries SM work and NVLink work", () => {
    const prog = compileStep(tpStep(2e9, { tpCommOverlap: true }));
    const fwd = prog.plans[prog.forwardPlan[0] as number]!;
    const paired = fwd.filter((op) => op.kind === COLLECTIVE && op.roles.includes(SM) && op.roles.includes(NV_TX));
    // qkv + all-gather, proj + reduce-scatter, fc1 + all-gather, fc2 + reduce-scatter.
    expect(paired.map((op) => op.label.split(":")[1])).toEqual(["qkv+forward", "proj+forward", "fc1+forward", "fc2+forward"]);
  });

  it("is refused without sequence parallelism, naming the field", () => {
    try {
      scenarioFromObject(
        { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8 }, parallelism: { tp: 8, sequenceParallel: false, tpCommOverlap: true } },
        { baseDir: ".", name: "t" },
      );
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map((p) => p.path)).toContain("parallelism.tpCommOverlap");
    }
  });
});

describe("context parallelism: ring overlap and load balance", () => {
  const cpShape = (plan: Partial<ParallelPlan>): LayerShape => {
    const s = scenario({ gpu: IDEAL_ACCELERATOR, nodes: 1, gpusPerNode: 4, model: TINY_MODEL, seqLength: 8192, globalBatch: 1, plan: { cp: 4, dp: 1, zero: 0 } });
    return layerShape({ ...s, parallelism: { ...s.parallelism, ...plan } });
  };
  const attentionFlops = (x: LayerShape): number => layerForwardKernels(x).kernels.find((k) => k.name === "attention.flash")!.flops;

  it("a contiguous causal split costs (2·cp−1)/cp of the balanced (zigzag) attention", () => {
    expect(attentionFlops(cpShape({ cpLayout: "contiguous" })) / attentionFlops(cpShape({}))).toBeCloseTo(7 / 4, 12);
    expect(attentionFlops(cpShape({ cpLayout: "zigzag" }))).toBe(attentionFlops(cpShape({})));
  });

  it("p2p (default) overlaps the K/V ring with attention; backward moves K, V and their gradients", () => {
    const f = layerForwardKernels(cpShape({})).collectives.find((c) => c.group === "cp")!;
    const b = layerBackwardKernels(cpShape({})).collectives.find((c) => c.group === "cp")!;
    expect(f.overlap).toEqual({ kernels: ["attention.flash"], splits: 4 });
    expect(b.overlap).toEqual({ kernels: ["attention.flash.bwd"], splits: 4 });
    expect(b.bytes).toBe(2 * f.bytes);
  });

  it("all-gather and a2a (Ulysses) stay exposed; a2a moves Q, K, V and the output once", () => {
    const ag = layerForwardKernels(cpShape({ cpCommType: "all-gather" })).collectives.find((c) => c.group === "cp")!;
    expect(ag.overlap).toBeUndefined();
    const a2a = layerForwardKernels(cpShape({ cpCommType: "a2a" })).collectives.find((c) => c.group === "cp")!;
    // T = 8192 / 4 tokens, 32 heads and 32 KV heads of 128: Q, K, V and O, 2 bytes each.
    expect(a2a).toEqual({ op: "all-to-all", group: "cp", bytes: 4 * 2 * 2048 * 4096, count: 1 });
  });

  it("cpRepeatKv: with grouped-query attention K and V cross the all-to-all with every query head (XTuner)", () => {
    const gqa = (plan: Partial<ParallelPlan>): number => {
      const s = scenario({ gpu: IDEAL_ACCELERATOR, nodes: 1, gpusPerNode: 4, model: { ...TINY_MODEL, kvHeads: 8 }, seqLength: 8192, globalBatch: 1, plan: { cp: 4, dp: 1, zero: 0 } });
      const x = layerShape({ ...s, parallelism: { ...s.parallelism, cpCommType: "a2a", ...plan } });
      return layerForwardKernels(x).collectives.find((c) => c.group === "cp")!.bytes;
    };
    // T = 2048 tokens, 2 bytes: Q and O of 32 heads × 128, K and V of 8 heads × 128 ...
    expect(gqa({})).toBe(2 * 2048 * (2 * 4096 + 2 * 1024));
    // ... or, repeated to 32 heads before the all-to-all, 4096 wide like Q: 4·T·h·2 bytes.
    expect(gqa({ cpRepeatKv: true })).toBe(4 * 2 * 2048 * 4096);
    // Without grouped-query attention there is nothing to repeat.
    expect(layerForwardKernels(cpShape({ cpCommType: "a2a", cpRepeatKv: true })).collectives.find((c) => c.group === "cp")!.bytes).toBe(4 * 2 * 2048 * 4096);
  });

  it("cpRepeatKv needs cpCommType a2a: refused naming the field otherwise", () => {
    const raw = (parallelism: Record<string, unknown>) => ({ cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 8192, globalBatch: 1 }, parallelism: { cp: 8, dp: 1, ...parallelism } });
    expect(scenarioFromObject(raw({ cpCommType: "a2a", cpRepeatKv: true }), { baseDir: ".", name: "t" }).parallelism.cpRepeatKv).toBe(true);
    try {
      scenarioFromObject(raw({ cpRepeatKv: true }), { baseDir: ".", name: "t" });
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map((p) => p.path)).toContain("parallelism.cpRepeatKv");
    }
  });
});

describe("interleaved 1F1B: overlapped pipeline sends (overlapP2P)", () => {
  /** pp 2 on one node, 8 micro-batches; NVLink at `linkBandwidth`. */
  const ppScenario = (linkBandwidth: number, virtualStages: number, overlapP2P?: boolean): Scenario => {
    const gpu: Accelerator = { ...IDEAL_ACCELERATOR, scaleUpBandwidth: linkBandwidth };
    const s = scenario({ gpu, nodes: 1, gpusPerNode: 4, model: TINY_MODEL, seqLength: 2048, globalBatch: 16, gpuVariability: 0, plan: { pp: 2, dp: 2, zero: 0, virtualStages } });
    return { ...s, parallelism: { ...s.parallelism, ...(overlapP2P !== undefined ? { overlapP2P } : {}) } };
  };
  const ppStep = (linkBandwidth: number, virtualStages: number, overlapP2P?: boolean): number => stepSeconds(ppScenario(linkBandwidth, virtualStages, overlapP2P));

  it("slow links: the sender no longer waits for its send, so the step is shorter, never shorter than with free sends", () => {
    const sync = ppStep(5e9, 2);
    const overlapped = ppStep(5e9, 2, true);
    const free = ppStep(1e21, 2);
    expect(overlapped).toBeLessThan(sync);
    expect(overlapped).toBeGreaterThanOrEqual(free * (1 - 1e-9));
  });

  it("every GPU simulated (full mode) gives the folded step when the GPUs are identical", () => {
    const s = ppScenario(5e9, 2, true);
    expect(simulateStep(s, { mode: "full" }).stepSeconds).toBeCloseTo(simulateStep(s, { mode: "folded" }).stepSeconds, 9);
  });

  it("with unlimited bandwidth, and without interleaving (Megatron forces it off there), it changes nothing", () => {
    expect(ppStep(1e21, 2, true)).toBeCloseTo(ppStep(1e21, 2), 9);
    expect(ppStep(5e9, 1, true)).toBe(ppStep(5e9, 1));
    expect(ppStep(5e9, 2, false)).toBe(ppStep(5e9, 2));
  });
});

describe("ZeRO-1 parameter all-gather overlapped with the forward (overlapParamGather)", () => {
  /** dp 2 on two nodes (the gather crosses the NIC at `nicBandwidth`), ZeRO-1, 4 micro-batches. */
  const dpStep = (nicBandwidth: number, overlapParamGather?: boolean): number => {
    const s = scenario({ gpu: IDEAL_ACCELERATOR, nodes: 2, gpusPerNode: 1, nicBandwidth, model: TINY_MODEL, seqLength: 2048, globalBatch: 8, gpuVariability: 0, plan: { dp: 2, zero: 1, microBatch: 1 } });
    return stepSeconds({ ...s, parallelism: { ...s.parallelism, ...(overlapParamGather !== undefined ? { overlapParamGather } : {}) } });
  };

  it("hides the gather behind compute when the links allow, never below the step with free communication", () => {
    const exposed = dpStep(2.5e10);
    const overlapped = dpStep(2.5e10, true);
    const free = dpStep(1e21, true);
    expect(overlapped).toBeLessThan(exposed);
    expect(overlapped).toBeGreaterThanOrEqual(free * (1 - 1e-9));
    expect(dpStep(2.5e10, false)).toBe(exposed);
  });
});
