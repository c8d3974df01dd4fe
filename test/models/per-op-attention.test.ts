/**
 * parallelism.perOpSavesAttention false: torchtitan's per-op policy before b39377f9f (December
 * 2025) saved only SDPA's flash and efficient ops, so with cuDNN's attention (torchtitan's first
 * choice on B200) backward runs the attention forward again and its output is not kept.
 */
import { describe, expect, it } from "vitest";
import { kernelCost } from "../../models/compute/kernel.ts";
import type { Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { stepHardwareFlops } from "../../models/workload/remat-flops.ts";
import { stepFlopCounts } from "../../models/workload/flops.ts";
import { layerForwardKernels, layerRecomputeKernels } from "../../models/workload/layer-kernels.ts";
import { layerActivationBytes, layerShape } from "../../models/workload/memory.ts";
import { IDEAL_ACCELERATOR, scenario, TINY_MODEL } from "../helpers/scenario.ts";
import { loadScenario } from "../../experiments/load.ts";

const run = (saves: boolean | undefined, recompute: "per-op" | "full" = "per-op"): Scenario => {
  const s = scenario({ gpu: IDEAL_ACCELERATOR, nodes: 1, gpusPerNode: 1, model: TINY_MODEL, seqLength: 4096, globalBatch: 1, gpuVariability: 0, plan: { dp: 1, recompute } });
  return saves === undefined ? s : { ...s, parallelism: { ...s.parallelism, perOpSavesAttention: saves } };
};

describe("per-op recompute of an attention op the policy does not save", () => {
  it("recompute list gains exactly the forward attention kernel", () => {
    const saved = layerRecomputeKernels(layerShape(run(true)), "per-op").kernels;
    const again = layerRecomputeKernels(layerShape(run(false)), "per-op").kernels;
    const attention = layerForwardKernels(layerShape(run(false))).kernels.filter((k) => k.kind === "attention");
    expect(attention).toHaveLength(1);
    expect(again).toEqual([...saved, ...attention]);
    // The default (absent) is torchtitan since December 2025: saved.
    expect(layerRecomputeKernels(layerShape(run(undefined)), "per-op").kernels).toEqual(saved);
    // Other modes ignore it.
    expect(layerShape(run(false, "full")).perOpRecomputesAttention).toBeUndefined();
  });

  it("memory: the attention output (bf16) and its fp32 logsumexp are no longer kept", () => {
    const T = 4096;
    const { heads } = TINY_MODEL;
    const hd = TINY_MODEL.hidden / heads;
    const kept = layerActivationBytes(layerShape(run(true)), "per-op") - layerActivationBytes(layerShape(run(false)), "per-op");
    expect(kept).toBe(2 * T * heads * hd + 4 * heads * T);
  });

  it("step: one more attention forward per layer; hardware FLOPs count it", () => {
    const s = run(false);
    const attention = layerForwardKernels(layerShape(s)).kernels.find((k) => k.kind === "attention")!;
    const perLayer = kernelCost(attention, IDEAL_ACCELERATOR, "bf16").seconds;
    const delta = simulateStep(s).stepSeconds - simulateStep(run(true)).stepSeconds;
    expect(delta / (TINY_MODEL.layers * perLayer)).toBeCloseTo(1, 6);
    expect(stepHardwareFlops(s) - stepHardwareFlops(run(true))).toBe(stepFlopCounts(s.workload).attentionForward);
  });

  it("the torchao MX B200 cases state it, with cuDNN's attention", () => {
    const s = loadScenario("experiments/published/torchao-mx-b200/bf16.yaml");
    expect(s.parallelism.perOpSavesAttention).toBe(false);
    expect(s.workload.attentionBackend).toBe("cudnn");
    expect(layerShape(s).perOpRecomputesAttention).toBe(true);
  });
});
