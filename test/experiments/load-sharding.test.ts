/**
 * Loading the ZeRO/FSDP keys (parallelism.fsdpUnit, reshardAfterForward, fsdpPrefetch,
 * shardGroup, offloadOptimizer, offloadActivations) and Megatron-style vocabulary padding
 * (workload.vocabDivisibleBy).
 */
import { describe, expect, it } from "vitest";
import { problemsOf as problemsOfCall } from "../helpers/config-problems.ts";
import type { ConfigProblem } from "../../experiments/errors.ts";
import { formatRun } from "../../experiments/format-run.ts";
import { scenarioFromObject, type LoadedScenario } from "../../experiments/load.ts";
import type { RunResult } from "../../models/run.ts";
import { modelFlopsPerStep } from "../../models/workload/flops.ts";
import { memoryByStage } from "../../models/workload/memory.ts";
import { paddedVocab } from "../../models/workload/params.ts";

const fromObject = (obj: unknown): LoadedScenario => scenarioFromObject(obj, { baseDir: ".", name: "test" });

function problemsOf(obj: unknown): ConfigProblem[] {
  return problemsOfCall(() => fromObject(obj));
}

function fsdp(parallelism: Record<string, unknown>, model: unknown = "llama3-8b"): Record<string, unknown> {
  return {
    cluster: { gpu: "H100-SXM", nodes: 2 },
    workload: { model, seqLength: 4096, globalBatch: 64 },
    parallelism: { tp: 1, zero: 3, ...parallelism },
  };
}

describe("ZeRO/FSDP keys", () => {
  it("are absent from the plan unless written (the memory model holds the defaults)", () => {
    const p = fromObject(fsdp({})).parallelism;
    for (const k of ["fsdpUnitLayers", "reshardAfterForward", "fsdpPrefetch", "fsdpPrefetchParams", "shardGroup", "offloadOptimizer", "offloadParams", "offloadActivationLayers", "offloadActivationShare"]) {
      expect(p, k).not.toHaveProperty(k);
    }
  });

  it("reads every key", () => {
    const p = fromObject(fsdp({ fsdpUnit: 4, reshardAfterForward: false, fsdpPrefetch: 2, shardGroup: 8, offloadOptimizer: true, offloadActivations: "25 %" })).parallelism;
    expect(p).toMatchObject({ dp: 16, fsdpUnitLayers: 4, reshardAfterForward: false, fsdpPrefetch: 2, shardGroup: 8, offloadOptimizer: true, offloadActivationShare: 0.25 });
    expect(fromObject(fsdp({ fsdpUnit: "layer", offloadActivations: 6 })).parallelism).toMatchObject({ fsdpUnitLayers: 1, offloadActivationLayers: 6 });
    expect(fromObject(fsdp({ offloadActivations: 1 })).parallelism).toMatchObject({ offloadActivationShare: 1 });
    expect(fromObject(fsdp({ fsdpPrefetchParams: 50000000 })).parallelism).toMatchObject({ fsdpPrefetchParams: 5e7 });
    expect(problemsOf(fsdp({ fsdpPrefetchParams: -1 }))[0]!.path).toBe("parallelism.fsdpPrefetchParams");
  });

  it("HSDP halves nothing it should not: shardGroup 8 of dp 16 shards the optimizer over 8", () => {
    const s = fromObject(fsdp({ shardGroup: 8 }));
    const m = memoryByStage(s)[0]!;
    // ZeRO-3 with fp32 master weights: the fp32 parameter shard is the master, the optimizer adds two fp32 moments.
    expect(m.optimizer).toBeCloseTo((8 * m.params) / 8, 0);
    expect(m.weights).toBeCloseTo((4 * m.params) / 8, 0);
  });

  it("refuses a shard group that does not divide dp, naming the field, the value and the choices", () => {
    const [p, ...rest] = problemsOf(fsdp({ shardGroup: 3 }));
    expect(rest).toEqual([]);
    expect(p!.path).toBe("parallelism.shardGroup");
    expect(p!.message).toBe("parallelism.shardGroup: 3 is not allowed; shardGroup must divide dp = 16: one of 1, 2, 4, 8, 16");
  });

  it("refuses a wrap unit that is neither \"layer\" nor a layer count of the model", () => {
    const [bad] = problemsOf(fsdp({ fsdpUnit: "block" }));
    expect(bad!.path).toBe("parallelism.fsdpUnit");
    expect(bad!.message).toBe('parallelism.fsdpUnit: "block" is not allowed; expected one of "layer", "module"');
    const [big] = problemsOf(fsdp({ fsdpUnit: 40 }));
    expect(big!.message).toBe('parallelism.fsdpUnit: 40 is not allowed; expected "layer", "module" or a number of layers from 1 to the model\'s 32');
    const [zero] = problemsOf(fsdp({ fsdpUnit: 0 }));
    expect(zero!.path).toBe("parallelism.fsdpUnit");
    const [prefetch] = problemsOf(fsdp({ fsdpPrefetch: -1 }));
    expect(prefetch!.path).toBe("parallelism.fsdpPrefetch");
  });

  it("reads offloadParams and refuses it below ZeRO-3, naming the field, the value and what is allowed", () => {
    expect(fromObject(fsdp({ offloadParams: true, offloadOptimizer: true })).parallelism).toMatchObject({ offloadParams: true, offloadOptimizer: true });
    expect(fromObject(fsdp({ zero: 2, offloadParams: false })).parallelism).toMatchObject({ offloadParams: false });
    const [p, ...rest] = problemsOf(fsdp({ zero: 2, offloadParams: true }));
    expect(rest).toEqual([]);
    expect(p!.path).toBe("parallelism.offloadParams");
    expect(p!.message).toBe("parallelism.offloadParams: true is not allowed with zero 2; parameter offload needs zero 3 (sharded parameters), or set offloadParams: false");
  });

  it("refuses an activation offload that is neither a share nor a whole number of layers", () => {
    const [p] = problemsOf(fsdp({ offloadActivations: 2.5 }));
    expect(p!.path).toBe("parallelism.offloadActivations");
    expect(p!.message).toBe(
      "parallelism.offloadActivations: 2.5 is not allowed; expected a share of each stage's layers from 0 to 1 (e.g. 0.5 or \"50 %\") or a whole number of layers from 2 to the model's 32",
    );
    expect(problemsOf(fsdp({ offloadActivations: 33 }))[0]!.path).toBe("parallelism.offloadActivations");
    expect(problemsOf(fsdp({ offloadActivations: -0.5 }))[0]!.path).toBe("parallelism.offloadActivations");
  });
});

describe("vocabulary padding (Megatron-LM --make-vocab-size-divisible-by)", () => {
  it("pads to a multiple of 128 × tp", () => {
    expect(paddedVocab(50257, 128, 1)).toBe(50304);
    expect(paddedVocab(50257, 128, 4)).toBe(50688);
    expect(paddedVocab(50257, 128, 8)).toBe(51200); // Narayanan et al. 2021's V = 51,200
    expect(paddedVocab(128256, 128, 8)).toBe(129024);
    expect(paddedVocab(128256, 128, 2)).toBe(128256);
    expect(paddedVocab(128256, 1, 8)).toBe(128256);
    expect(paddedVocab(32000, 1, 3)).toBe(32001);
  });

  const gpt3 = (tp: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cluster: { gpu: "A100-80GB", nodes: 16 },
    workload: { model: { base: "gpt3-175b", vocab: 50257 }, seqLength: 2048, globalBatch: 64, ...extra },
    parallelism: { tp, pp: 16 / (tp / 4), recompute: "full" },
  });

  it("GPT-3's real 50,257 runs at tp 4, padded to 50,688, and FLOPs and memory use the padded rows", () => {
    const s = fromObject(gpt3(4));
    expect(s.workload.model.vocab).toBe(50688);
    expect(s.workload.model.unpaddedVocab).toBe(50257);
    const unpadded = { ...s, workload: { ...s.workload, model: { ...s.workload.model, vocab: 50257 } } };
    // Head FLOPs: 3 passes × 2·tokens·h per vocabulary row.
    expect(modelFlopsPerStep(s.workload) - modelFlopsPerStep(unpadded.workload)).toBeCloseTo(3 * 2 * 64 * 2048 * 12288 * (50688 - 50257), -3);
    // The first stage holds the embedding's tp-slice of the padded table.
    const stage0 = memoryByStage(s)[0]!.params - memoryByStage(unpadded)[0]!.params;
    expect(stage0).toBeCloseTo(((50688 - 50257) * 12288) / 4, 6);
  });

  it("vocabDivisibleBy 1 pads only to a multiple of tp; an already aligned vocabulary is left alone", () => {
    expect(fromObject(gpt3(4, { vocabDivisibleBy: 1 })).workload.model).toMatchObject({ vocab: 50260, unpaddedVocab: 50257 });
    const aligned = fromObject({ ...gpt3(4), workload: { model: "gpt3-175b", seqLength: 2048, globalBatch: 64 } }).workload.model;
    expect(aligned.vocab).toBe(51200);
    expect(aligned).not.toHaveProperty("unpaddedVocab");
  });

  it("refuses vocabDivisibleBy 0", () => {
    const [p] = problemsOf(gpt3(4, { vocabDivisibleBy: 0 }));
    expect(p!.path).toBe("workload.vocabDivisibleBy");
  });

  it("the run output says so", () => {
    const s = fromObject(gpt3(4));
    const memory = memoryByStage(s)[0]!;
    const fake = {
      gpus: 128,
      stepSeconds: 1,
      wallclockSeconds: 1,
      steps: 1,
      tokensPerSecond: 1,
      tflopsPerGpu: 1,
      mfu: 0.5,
      hfu: 0.5,
      memoryBytesPerGpu: memory.total,
      memoryCapacityBytes: 80 * 2 ** 30,
      memory,
      breakdown: { compute: 1, hbm: 0, nvlink: 0, network: 0, power: 0, bubble: 0, data: 0, failure: 0, checkpoint: 0 },
      gpuPowerWatts: 1,
      facilityPowerWatts: { mean: 1, peak: 1 },
      energyJoulesPerStep: 1,
      power: { facilityMeanWatts: 1, energyJoulesPerToken: 1, swings: [] },
      simulation: { mode: "folded", reason: "test", events: 1, activities: 1 },
    } as unknown as RunResult;
    expect(formatRun(s, fake)).toContain("vocabulary       50,257 padded to 50,688 (a multiple of workload.vocabDivisibleBy × tp 4, as Megatron-LM pads it)");
  });
});
