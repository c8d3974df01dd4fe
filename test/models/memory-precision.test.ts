/**
 * What stays resident per parameter by optimizer precision and sharding, FSDP's unsharded
 * gradient accumulation, and the loss's logits: hand-computed cases.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, type ConfigProblem } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import type { ModelSpec, Scenario, WorkloadSpec } from "../../models/scenario.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { hardwareFlopsPerStep, modelFlopsPerStep } from "../../models/workload/flops.ts";
import { layerRecomputeKernels } from "../../models/workload/layer-kernels.ts";
import { layerActivationBytes, layerShape, fp8SavedBytesPerElement, lossBytes, memoryByStage, optimizerBytesPerParam, RUNTIME_BYTES } from "../../models/workload/memory.ts";
import { compileStep } from "../../models/step/program.ts";
import type { Op } from "../../models/step/ops.ts";
import { layerParams, totalParams } from "../../models/workload/params.ts";
import { scenario, type ScenarioParts } from "../helpers/scenario.ts";

const llama8b = BUILTIN_MODELS["llama3-8b"] as ModelSpec;
const P = totalParams(llama8b);

function withWorkload(parts: ScenarioParts, extra: Partial<WorkloadSpec>): Scenario {
  const s = scenario(parts);
  return { ...s, workload: { ...s.workload, ...extra } };
}

const state = (s: Scenario): number => {
  const m = memoryByStage(s)[0]!;
  return m.weights + m.gradients + m.optimizer;
};

describe("bytes per parameter between steps", () => {
  const base: ScenarioParts = { nodes: 1, gpusPerNode: 1, model: "llama3-8b", seqLength: 256, globalBatch: 1, plan: { dp: 1, zero: 0 } };

  it("pure bf16 (masterWeights none): bf16 weights, bf16 gradients, two bf16 Adam moments = 8 B", () => {
    const m = memoryByStage(withWorkload(base, { masterWeights: "none" }))[0]!;
    expect(m.weights).toBeCloseTo(2 * P, 0);
    expect(m.gradients).toBeCloseTo(2 * P, 0);
    expect(m.optimizer).toBeCloseTo(4 * P, 0);
  });

  it("mixed precision: 2 + 4 + 12 B with fp32 gradient buffers; under ZeRO-3 / FSDP on n GPUs 4 + 4 + 8 over n", () => {
    expect(state(scenario(base))).toBeCloseTo(2 * P + 4 * P + 12 * P, 0);
    const fsdp = scenario({ ...base, gpusPerNode: 8, plan: { dp: 8, zero: 3 } });
    const m = memoryByStage(fsdp)[0]!;
    expect(m.weights).toBeCloseTo((4 * P) / 8, 0);
    expect(m.gradients).toBeCloseTo((4 * P) / 8, 0);
    expect(m.optimizer).toBeCloseTo((8 * P) / 8, 0);
    // Whatever the reduce dtype: FSDP2 casts the reduce-scattered gradient back to the fp32 parameter's dtype.
    const bf16Reduce = scenario({ ...base, gpusPerNode: 8, plan: { dp: 8, zero: 3, gradReduceDtype: "bf16" } });
    expect(state(bf16Reduce)).toBeCloseTo((16 * P) / 8, 0);
  });

  it("pure bf16 under FSDP on 8 GPUs: 8 B / 8", () => {
    const s = withWorkload({ ...base, gpusPerNode: 8, plan: { dp: 8, zero: 3 } }, { masterWeights: "none" });
    expect(state(s)).toBeCloseTo((8 * P) / 8, 0);
  });

  it("fp32 training has no master either way: 4 + 4 + 8", () => {
    const s = withWorkload({ ...base, precision: "fp32" }, { masterWeights: "none" });
    expect(state(s)).toBeCloseTo(16 * P, 0);
    expect(state(scenario({ ...base, precision: "fp32" }))).toBeCloseTo(16 * P, 0);
  });
});

describe("FSDP gradient sync only on the last micro-batch", () => {
  const parts: ScenarioParts = { nodes: 1, gpusPerNode: 4, model: "llama3-8b", seqLength: 4096, globalBatch: 16, plan: { dp: 4, zero: 3, microBatch: 2 } };

  const lastOnly = (s: Scenario): Scenario => ({ ...s, parallelism: { ...s.parallelism, fsdpGradSync: "last-micro-batch" } });

  it("holds the stage's unsharded gradients in the reduce dtype (fp32: 4 B per parameter) instead of the 4 B / n shards, nothing else", () => {
    const every = memoryByStage(scenario(parts))[0]!;
    const last = memoryByStage(lastOnly(scenario(parts)))[0]!;
    expect(every.gradients).toBeCloseTo((4 * P) / 4, 0);
    expect(last.gradients).toBeCloseTo(4 * P, 0);
    expect(last.total - every.total).toBeCloseTo(4 * P - P, 0);
    const bf16Parts = { ...parts, plan: { ...parts.plan, gradReduceDtype: "bf16" as const } };
    expect(memoryByStage(lastOnly(scenario(bf16Parts)))[0]!.gradients).toBeCloseTo(2 * P, 0);
  });

  it("changes nothing with one micro-batch per step", () => {
    const one = { ...parts, globalBatch: 8 };
    expect(memoryByStage(lastOnly(scenario(one)))[0]!.total).toBe(memoryByStage(scenario(one))[0]!.total);
  });
});

describe("the loss's logits at the start of backward", () => {
  // One micro-batch of 2 × 4096 tokens, Llama 3's 128,256-entry vocabulary: 1,050,673,152 logits.
  const parts: ScenarioParts = { nodes: 1, gpusPerNode: 4, model: "llama3-8b", seqLength: 4096, globalBatch: 2, plan: { tp: 4, dp: 1, microBatch: 2 } };
  const logits = 2 * 4096 * 128256;
  const bytes = (extra: Partial<WorkloadSpec>, lossParallel?: boolean): number => {
    const s = withWorkload(parts, extra);
    const t = lossParallel === undefined ? s : { ...s, parallelism: { ...s.parallelism, lossParallel } };
    return lossBytes(t, layerShape(t));
  };

  it("holds 2 + 4, 12, 2 · 2 or 4 · 2 bytes per logit by implementation, over the vocabulary shard", () => {
    expect(bytes({})).toBe((6 * logits) / 4);
    expect(bytes({ crossEntropy: "fused-fp32" })).toBe((6 * logits) / 4);
    expect(bytes({ crossEntropy: "eager-fp32" })).toBe((12 * logits) / 4);
    expect(bytes({ crossEntropy: "compiled-fp32" })).toBe((4 * logits) / 4);
    expect(bytes({ crossEntropy: "eager" })).toBe((8 * logits) / 4);
  });

  it("holds the full vocabulary on every tensor rank when the logits are gathered (lossParallel false)", () => {
    expect(bytes({ crossEntropy: "eager" }, false)).toBe(8 * logits);
    expect(bytes({ crossEntropy: "eager" }, false)).toBe(4 * bytes({ crossEntropy: "eager" }, true));
  });

  it("counts on the last pipeline stage only", () => {
    const s = withWorkload({ ...parts, gpusPerNode: 8, plan: { tp: 4, pp: 2, dp: 1, microBatch: 2 } }, { crossEntropy: "eager-fp32" });
    const plain = scenario({ ...parts, gpusPerNode: 8, plan: { tp: 4, pp: 2, dp: 1, microBatch: 2 } });
    const [a0, a1] = memoryByStage(s);
    const [b0, b1] = memoryByStage(plain);
    expect(a0!.activations).toBe(b0!.activations);
    expect(a1!.activations - b1!.activations).toBeCloseTo(((12 - 6) * logits) / 4, 0);
  });
});

describe("the new keys in a scenario file", () => {
  const minimal = (workload: Record<string, unknown> = {}, parallelism: Record<string, unknown> = {}) => ({
    cluster: { gpu: "H100-SXM", nodes: 1 },
    workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8, ...workload },
    parallelism: { zero: 3, ...parallelism },
  });
  const problemsOf = (obj: unknown): string[] => {
    try {
      scenarioFromObject(obj, { baseDir: ".", name: "test" });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p: ConfigProblem) => p.message);
      throw err;
    }
    return [];
  };

  it("load as written and default to mixed precision, the fused loss, per-micro-batch sync and a vocab-parallel loss", () => {
    const s = scenarioFromObject(minimal({ masterWeights: "none", crossEntropy: "eager" }, { fsdpGradSync: "last-micro-batch", lossParallel: false }), { baseDir: ".", name: "t" });
    expect(s.workload.masterWeights).toBe("none");
    expect(s.workload.crossEntropy).toBe("eager");
    expect(s.parallelism.fsdpGradSync).toBe("last-micro-batch");
    expect(s.parallelism.lossParallel).toBe(false);
    const d = scenarioFromObject(minimal(), { baseDir: ".", name: "t" });
    expect(d.workload.masterWeights ?? "fp32").toBe("fp32");
    expect(d.parallelism.fsdpGradSync ?? "every-micro-batch").toBe("every-micro-batch");
    expect(memoryByStage(d)[0]!.optimizer).toBeCloseTo((8 * P) / 8, 0);
  });

  it("refuse an unknown value naming the field, the value and what is allowed", () => {
    expect(problemsOf(minimal({ masterWeights: "bf16" }))).toEqual(['workload.masterWeights: "bf16" is not allowed; expected one of "fp32", "none"']);
    expect(problemsOf(minimal({ crossEntropy: "chunked" }))).toEqual(['workload.crossEntropy: "chunked" is not allowed; expected one of "fused-fp32", "eager-fp32", "compiled-fp32", "eager"']);
    expect(problemsOf(minimal({}, { fsdpGradSync: "never" }))).toEqual(['parallelism.fsdpGradSync: "never" is not allowed; expected one of "every-micro-batch", "last-micro-batch"']);
    expect(problemsOf(minimal({}, { lossParallel: "yes" }))[0]).toMatch(/^parallelism\.lossParallel: "yes" is not allowed; expected true or false/);
  });
});

describe("per-op selective recompute (torchtitan's selective_ac_option op)", () => {
  // Llama 3 8B, one sequence of 8192 tokens, tp 1: the layer input, Q (4096), V (1024), attention
  // output (4096) and its fp32 logsumexp per head (32), gate (14,336) and down (4096) outputs.
  const parts: ScenarioParts = { nodes: 1, gpusPerNode: 8, model: "llama3-8b", seqLength: 8192, globalBatch: 8, plan: { dp: 8, zero: 3, recompute: "per-op" } };
  const T = 8192;

  it("keeps 2·(4096 + 4096 + 1024 + 4096 + 14336 + 4096) + 4·32 bytes per token and layer", () => {
    const x = layerShape(scenario(parts));
    expect(layerActivationBytes(x, "per-op")).toBe(T * (2 * (4096 + 4096 + 1024 + 4096 + 14336 + 4096) + 4 * 32));
    // Between selective (everything but the attention core, which flash does not store) and full.
    expect(layerActivationBytes(x, "per-op")).toBeLessThan(layerActivationBytes(x, "selective"));
    expect(layerActivationBytes(x, "per-op")).toBeGreaterThan(layerActivationBytes(x, "full"));
  });

  it("stores 32 layers of that plus one layer's full set during its recompute", () => {
    const s = scenario(parts);
    const x = layerShape(s);
    const none = memoryByStage(scenario({ ...parts, plan: { ...parts.plan, recompute: "none" } }))[0]!;
    const perOp = memoryByStage(s)[0]!;
    expect(perOp.activations - none.activations).toBeCloseTo(32 * (layerActivationBytes(x, "per-op") - layerActivationBytes(x, "none")) + layerActivationBytes(x, "none"), 0);
  });

  it("re-runs the K, output and up projections: 2·T·(1024 + 4096 + 14336)·4096 FLOPs of GEMMs per layer, and counts them in hardware FLOPs", () => {
    const x = layerShape(scenario(parts));
    const gemmFlops = layerRecomputeKernels(x, "per-op")
      .kernels.filter((k) => k.kind === "gemm")
      .reduce((a, k) => a + k.flops, 0);
    expect(gemmFlops).toBe(2 * T * (1024 + 4096 + 14336) * 4096);
    const names = layerRecomputeKernels(x, "per-op").kernels.map((k) => k.name);
    expect(names).toEqual(expect.arrayContaining(["ln1", "ln2", "act"]));
    expect(names.some((n) => n.startsWith("rope"))).toBe(true);
    expect(names.some((n) => n.startsWith("attn") || n.startsWith("flash"))).toBe(false);
    const w = scenario(parts).workload;
    expect(hardwareFlopsPerStep(w, "per-op") - modelFlopsPerStep(w)).toBe(32 * 8 * gemmFlops);
  });
});

describe("validate compares like with like", () => {
  it("an allocator peak (published.memoryMeasure: allocator) is compared without the runtime allowance", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { validateCase } = await import("../../experiments/validate.ts");
    const dir = mkdtempSync(join(tmpdir(), "trainsim-mem-"));
    const write = (measure: string): string => {
      const file = join(dir, `${measure}.yaml`);
      writeFileSync(
        file,
        [
          "cluster: {gpu: H100-SXM, nodes: 1, gpusPerNode: 1}",
          "workload: {model: {name: tiny, layers: 2, hidden: 1024, heads: 8, vocab: 32000}, seqLength: 512, globalBatch: 1}",
          "parallelism: {dp: 1, zero: 0}",
          `published: {metric: stepSeconds, value: 0.01, memoryPerGpu: 4 GiB, memoryMeasure: ${measure}}`,
        ].join("\n"),
      );
      return file;
    };
    const device = validateCase(write("device"));
    const allocator = validateCase(write("allocator"));
    expect(device.memory!.published).toBe(4 * 2 ** 30);
    expect(device.memory!.predicted - allocator.memory!.predicted).toBe(RUNTIME_BYTES);
  });
});

describe("ZeRO-3 with the optimizer offloaded", () => {
  it("keeps the bf16 shard on the GPU and moves the fp32 master, moments and gradient shard to the host (2 / n on the GPU, 16 / n on the host)", () => {
    const s = scenario({ nodes: 1, gpusPerNode: 8, model: "llama3-8b", seqLength: 2048, globalBatch: 8, plan: { dp: 8, zero: 3, offloadOptimizer: true } });
    const m = memoryByStage(s)[0]!;
    expect(m.weights).toBeCloseTo((2 * P) / 8, 0);
    expect(m.optimizer).toBe(0);
    expect(m.gradients).toBe(0);
    expect(m.hostBytes).toBeCloseTo((16 * P) / 8, 0);
  });
});

describe("the optimizer step's HBM traffic per parameter (fused AdamW: read g, p, m, v; write p, m, v)", () => {
  const base: ScenarioParts = { nodes: 1, gpusPerNode: 1, model: "llama3-8b", seqLength: 256, globalBatch: 1, plan: { dp: 1, zero: 0 } };
  const optimizerOp = (s: Scenario): Op => {
    const prog = compileStep(s);
    const ops = (prog.plans[prog.afterPlan[0] as number] as Op[]).filter((o) => o.label.startsWith("optimizer") && o.size > 0);
    expect(ops.length).toBe(1);
    return ops[0]!;
  };

  it("mixed precision: 42 B with fp32 main grads (norm 4, Adam 28, master → bf16 copy 6, zeroing 4), 46 B with bf16 grads (+ 2 + 4 upcast, zeroing 2)", () => {
    expect(optimizerBytesPerParam(scenario(base))).toBe(4 + 28 + 6 + 4);
    expect(optimizerBytesPerParam(scenario({ ...base, plan: { dp: 1, zero: 0, gradReduceDtype: "bf16" } }))).toBe(6 + 4 + 28 + 6 + 2);
  });

  it("pure bf16 (masterWeights none): norm 2 + Adam 7 · 2 = 16 B, no master copy, no upcast; fp16 adds the unscale (2 + 2)", () => {
    expect(optimizerBytesPerParam(withWorkload(base, { masterWeights: "none" }))).toBe(16);
    expect(optimizerBytesPerParam(withWorkload({ ...base, precision: "fp16" }, { masterWeights: "none" }))).toBe(20);
  });

  it("the step's optimizer kernel moves that many bytes over the parameters: none / mixed = 16 / 42", () => {
    const mixed = optimizerOp(scenario(base));
    const none = optimizerOp(withWorkload(base, { masterWeights: "none" }));
    expect(none.size / mixed.size).toBeCloseTo(16 / 42, 12);
  });
});

describe("ZeRO-3 with the parameters offloaded (offloadParams)", () => {
  const parts = (plan: Record<string, unknown>): ScenarioParts => ({ nodes: 1, gpusPerNode: 8, model: "llama3-8b", seqLength: 2048, globalBatch: 8, plan: { dp: 8, zero: 3, ...plan } });

  it("with the optimizer offloaded too, the GPU keeps no state: 0 weights, the host 2 / n + 16 / n; gathered units and activations unchanged", () => {
    const off = memoryByStage(scenario(parts({ offloadOptimizer: true, offloadParams: true })))[0]!;
    const on = memoryByStage(scenario(parts({ offloadOptimizer: true })))[0]!;
    expect(off.weights).toBeCloseTo(0, 0);
    expect(off.hostBytes).toBeCloseTo((18 * P) / 8, 0);
    expect(off.gatheredUnits).toBe(on.gatheredUnits);
    expect(off.activations).toBe(on.activations);
    expect(on.total - off.total).toBeCloseTo((2 * P) / 8, 0);
  });

  it("alone, the bf16 shard moves and the fp32 master stays (4 − 2 B / n as weights)", () => {
    const m = memoryByStage(scenario(parts({ offloadParams: true })))[0]!;
    expect(m.weights).toBeCloseTo((2 * P) / 8, 0);
    expect(m.hostBytes).toBeCloseTo((2 * P) / 8, 0);
    expect(m.weights + m.gradients + m.optimizer).toBeCloseTo((14 * P) / 8, 0);
  });
});

describe("FP8 saved activations (Transformer Engine keeps the FP8 cast of each linear layer's input)", () => {
  const parts = (precision: "bf16" | "fp8", recompute: "none" | "per-op" = "none"): ScenarioParts => ({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 1, model: "llama3-8b", seqLength: 256, globalBatch: 1, precision, plan: { dp: 1, zero: 0, recompute } });
  const h = 4096;
  const kv = 1024;
  const ffn = 14336;
  const T = 256;

  it("llama3-8b layer, 256 tokens: norm inputs 2 · 2h, QKV and fc1 inputs 2 · 1h, Q/K/V 2 · (h + 2 · 1024), attention output 2h + its FP8 copy 1h, SwiGLU 2 · 2 · ffn + FP8 fc2 input 1 · ffn, logsumexp 4 · 32", () => {
    const x = layerShape(scenario(parts("fp8")));
    expect(layerActivationBytes(x, "none")).toBe(T * (4 * h + 2 * h + 2 * (h + 2 * kv) + 3 * h + 5 * ffn) + 4 * 32 * T);
    // Against BF16: the QKV, fc1 and fc2 inputs save a byte per element each, the projection's FP8 copy costs one.
    const bf16 = layerActivationBytes(layerShape(scenario(parts("bf16"))), "none");
    expect(layerActivationBytes(x, "none") - bf16).toBe(-T * (h + ffn));
  });

  it("block recipes keep their scales with the copy: mxfp8 1 + 1/32, blockwise 1 + 4/128 bytes per element", () => {
    expect(fp8SavedBytesPerElement("delayed")).toBe(1);
    expect(fp8SavedBytesPerElement("current")).toBe(1);
    expect(fp8SavedBytesPerElement("mxfp8")).toBe(1 + 1 / 32);
    expect(fp8SavedBytesPerElement("blockwise")).toBe(1 + 4 / 128);
  });

  it("torchtitan's per-op policy (torchao Float8Linear saves BF16 inputs) stores what a BF16 run stores, recomputed layer included", () => {
    const fp8 = memoryByStage(scenario(parts("fp8", "per-op")))[0]!;
    const bf16 = memoryByStage(scenario(parts("bf16", "per-op")))[0]!;
    expect(fp8.activations).toBe(bf16.activations);
  });
});

describe("FP8 weight workspaces and gradients freed between steps", () => {
  const lp = layerParams(llama8b);
  const linear = lp.attention + lp.mlpPerExpert; // 218,103,808 per layer: qkv, proj, gate/up, down
  const parts = (precision: "bf16" | "fp8", plan: Record<string, unknown> = {}, seqLength = 256, globalBatch = 1): ScenarioParts => ({ gpu: "H100-SXM", nodes: 1, gpusPerNode: plan["dp"] === 2 ? 2 : 1, model: "llama3-8b", seqLength, globalBatch, precision, plan: { dp: 1, zero: 0, ...plan } });

  it("an FP8 run keeps each FP8 linear weight's FP8 copy and its transpose: 2 B per linear parameter of every layer (mxfp8 with its E8M0 scales 2 + 2/32)", () => {
    expect(linear).toBe(4096 * (4096 + 2 * 1024) + 4096 * 4096 + 3 * 4096 * 14336);
    const bf16 = memoryByStage(scenario(parts("bf16")))[0]!;
    expect(memoryByStage(scenario(parts("fp8")))[0]!.weights - bf16.weights).toBe(2 * 32 * linear);
    const mx = withWorkload(parts("fp8"), { fp8Recipe: "mxfp8" });
    expect(memoryByStage(mx)[0]!.weights - bf16.weights).toBeCloseTo((2 + 2 / 32) * 32 * linear, 0);
  });

  it("under FSDP (zero 3) TE keeps no copies: weights as in BF16", () => {
    const plan = { dp: 2, zero: 3 };
    expect(memoryByStage(scenario(parts("fp8", plan, 256, 2)))[0]!.weights).toBe(memoryByStage(scenario(parts("bf16", plan, 256, 2)))[0]!.weights);
  });

  it("pure bf16, one micro-batch, one GPU: no gradients at the start of backward; short sequences peak at the optimizer step (8 B/param)", () => {
    const m = memoryByStage(withWorkload(parts("bf16"), { masterWeights: "none" }))[0]!;
    expect(m.total).toBeCloseTo(8 * P + RUNTIME_BYTES, 0);
    expect(m.activations).toBe(0);
    expect(m.weights + m.gradients + m.optimizer + m.buffers).toBeCloseTo(m.total, 0);
  });

  it("long sequences peak at the start of backward without the gradients: 2 + 4 B/param, activations, copies", () => {
    const s = withWorkload(parts("fp8", {}, 8192), { masterWeights: "none" });
    const m = memoryByStage(s)[0]!;
    expect(m.gradients).toBe(0);
    expect(m.weights).toBeCloseTo(2 * P + 2 * 32 * linear, 0);
    expect(m.optimizer).toBeCloseTo(4 * P, 0);
    expect(m.total).toBeCloseTo(m.weights + m.optimizer + m.activations + m.buffers, 0);
  });

  it("keeps the gradients when they exist at the peak: gradient accumulation, DDP's buckets, mixed precision", () => {
    const none = { masterWeights: "none" as const };
    expect(memoryByStage(withWorkload(parts("bf16", { microBatch: 1 }, 256, 2), none))[0]!.gradients).toBeCloseTo(2 * P, 0);
    expect(memoryByStage(withWorkload(parts("bf16", { dp: 2 }, 256, 2), none))[0]!.gradients).toBeCloseTo(2 * P, 0);
    expect(memoryByStage(scenario(parts("bf16")))[0]!.gradients).toBeCloseTo(4 * P, 0);
  });
});
