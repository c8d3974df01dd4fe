/**
 * ZeRO / FSDP memory: hand-computed footprints of the gathered units, HSDP shard groups and
 * CPU offload, and the published per-GPU model-state figures they must reproduce.
 */
import { describe, expect, it } from "vitest";
import type { ModelSpec } from "../../models/scenario.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { gatheredUnitBytes, layerActivationBytes, layerShape, memoryByStage, outOfMemory, RUNTIME_BYTES } from "../../models/workload/memory.ts";
import { paramsPerLayer, totalParams } from "../../models/workload/params.ts";
import { denseModel, scenario, TINY_MODEL } from "../helpers/scenario.ts";

const GiB = 2 ** 30;
// TINY_MODEL: 8 GPT layers of h = 4096 without biases: 12h² + 2h (norm weights) each.
const U = 12 * 4096 * 4096 + 2 * 4096; // 201,334,784
const HEAD = 8 * 4096 + 4096; // vocab 8 × h, plus the final norm
const EMB = 8 * 4096;

const tiny = (plan: Parameters<typeof scenario>[0]["plan"]) =>
  memoryByStage(scenario({ nodes: 1, model: TINY_MODEL, seqLength: 2048, globalBatch: 8, plan: { tp: 1, dp: 8, zero: 3, gradReduceDtype: "bf16", ...plan } }))[0]!;

describe("ZeRO-3 / FSDP gathered units", () => {
  it("hold the unit computing, one prefetched and two units' gradients, not the whole model", () => {
    expect(paramsPerLayer(TINY_MODEL)).toBe(U);
    const m = tiny({});
    // Mid-backward: blocks i and i−1 gathered (2·U·2 B), i's fresh bf16 gradient (U·2 B),
    // i+1's gradient in its reduce-scatter (U·2 B): 8·U bytes.
    expect(m.gatheredUnits).toBe(8 * U);
    // The shards: 4 + 4 + 8 bytes per parameter over the 8 ranks (fp32 shard = master, fp32 sharded gradient, two moments).
    const params = 8 * U + HEAD + EMB;
    expect(m.params).toBe(params);
    expect(m.weights + m.gradients + m.optimizer).toBeCloseTo((16 * params) / 8, 0);
    expect(m.buffers).toBe(RUNTIME_BYTES);
    expect(m.total).toBeCloseTo(m.weights + m.gradients + m.optimizer + m.activations + m.buffers + 8 * U, 0);
  });

  it("an fp32 reduce-scatter holds the previous unit's gradient at 4 bytes", () => {
    expect(tiny({ gradReduceDtype: "fp32" }).gatheredUnits).toBe(2 * U * 2 + U * 2 + U * 4);
  });

  it("prefetch depth, unit size and reshardAfterForward change it as hand-computed", () => {
    expect(tiny({ fsdpPrefetch: 0 }).gatheredUnits).toBe(U * 2 + U * 2 + U * 2);
    expect(tiny({ fsdpPrefetch: 2 }).gatheredUnits).toBe(3 * U * 2 + U * 2 + U * 2);
    // Units of 4 blocks, backward order [head, 4U, 4U, embedding]: at the first 4U unit the
    // second is prefetched and the head's gradient is in its reduce-scatter.
    expect(tiny({ fsdpUnitLayers: 4 }).gatheredUnits).toBe(8 * U * 2 + 4 * U * 2 + HEAD * 2);
    // Kept from forward: at the last block every block and the embedding are still gathered.
    expect(tiny({ reshardAfterForward: false }).gatheredUnits).toBe((8 * U + EMB) * 2 + U * 2 + HEAD * 2);
  });

  it("a DeepSpeed prefetch budget (fsdpPrefetchParams) holds the units the step program prefetches (fsdpLookahead)", () => {
    // Backward order [10, 100 × 4, 1], budget 250: at the third unit the next 100 (sum 100 < 250),
    // the last 100 (200 < 250) and the 1 (the list ends) are in flight.
    expect(gatheredUnitBytes([10, 100, 100, 100, 100, 1], 1, true, 2, 4, 250)).toBe(2 * (3 * 100 + 1) + 2 * 100 + 4 * 100);
    // Budget 0: nothing ahead, as fsdpPrefetch 0.
    expect(gatheredUnitBytes([10, 100, 100, 100, 100, 1], 1, true, 2, 4, 0)).toBe(2 * 100 + 2 * 100 + 4 * 100);
    // The budget overrides fsdpPrefetch; a budget of exactly one block is one block ahead, one element more two.
    expect(tiny({ fsdpPrefetch: 3, fsdpPrefetchParams: U }).gatheredUnits).toBe(tiny({ fsdpPrefetch: 1 }).gatheredUnits);
    expect(tiny({ fsdpPrefetchParams: U + 1 }).gatheredUnits).toBe(3 * U * 2 + U * 2 + U * 2);
    expect(tiny({ fsdpPrefetchParams: 0 }).gatheredUnits).toBe(U * 2 + U * 2 + U * 2);
  });

  it("walks units in backward order", () => {
    // At the third unit: it and the next gathered, its own gradient at 2 B, the second's at 4 B.
    expect(gatheredUnitBytes([10, 100, 100, 1], 1, true, 2, 4)).toBe(2 * (100 + 1) + 2 * 100 + 4 * 100);
    expect(gatheredUnitBytes([10, 100, 100, 100, 1], 1, true, 2, 4)).toBe(2 * (100 + 100) + 2 * 100 + 4 * 100);
    // Nothing resharded: at the third unit everything from it on is still gathered.
    expect(gatheredUnitBytes([10, 100, 100, 100, 1], 1, false, 2, 4)).toBe(2 * (100 + 100 + 1) + 2 * 100 + 4 * 100);
    expect(gatheredUnitBytes([], 1, true, 2, 4)).toBe(0);
  });

  it("llama3-8b on 8 GPUs: params/8 plus the output layer and two blocks, where the issue saw 25 GiB of buffers", () => {
    const model = BUILTIN_MODELS["llama3-8b"] as ModelSpec;
    const s = scenario({ nodes: 1, model, seqLength: 8192, globalBatch: 8, plan: { tp: 1, dp: 8, zero: 3 } });
    const m = memoryByStage(s)[0]!;
    const block = 218_112_000; // QKV 4096·6144 + proj 4096² + SwiGLU 3·4096·14336 + norms 2·4096
    const head = 128256 * 4096 + 4096;
    expect(paramsPerLayer(model)).toBe(block);
    // At the last block's backward: it and the block before gathered (bf16), its bf16 gradient,
    // the output layer's fp32 gradient in its reduce-scatter.
    expect(m.gatheredUnits).toBe(2 * block * 2 + block * 2 + head * 4);
    expect(m.gatheredUnits! / GiB).toBeCloseTo(3.18, 2);
    // The fp32 shard is the parameter (and the master): 4 B over 8.
    expect(m.weights).toBeCloseTo((4 * totalParams(model)) / 8, 0);
    expect(m.buffers).toBe(RUNTIME_BYTES);
    expect(outOfMemory(s)).toBe(null);
  });

  it("GPT-3 175B fully sharded over 512 A100-80GB fits (it was refused with 649 GiB of buffers)", () => {
    const s = scenario({ gpu: "A100-80GB", nodes: 64, model: "gpt3-175b", seqLength: 2048, globalBatch: 512, plan: { tp: 1, dp: 512, zero: 3, recompute: "full" } });
    const m = memoryByStage(s)[0]!;
    // Mid-backward: two blocks gathered, one fresh bf16 gradient, one fp32 gradient in reduce-scatter.
    const block = paramsPerLayer(BUILTIN_MODELS["gpt3-175b"] as ModelSpec);
    expect(m.gatheredUnits).toBe(2 * block * 2 + block * 2 + block * 4);
    expect(m.gatheredUnits! / GiB).toBeCloseTo(16.88, 2);
    expect(outOfMemory(s)).toBe(null);
  });

  it("keeping every unit gathered (reshardAfterForward false) refuses GPT-3 175B and says why", () => {
    const s = scenario({ gpu: "A100-80GB", nodes: 64, model: "gpt3-175b", seqLength: 2048, globalBatch: 512, plan: { tp: 1, dp: 512, zero: 3, recompute: "full", reshardAfterForward: false } });
    expect(outOfMemory(s)).toMatch(/largest parts gathered FSDP units 3\d\d\.\d GiB, .*try a smaller fsdpUnit or fsdpPrefetch, reshardAfterForward: true, or more tp$/);
  });

  it("HSDP shards within the shard group and replicates across groups", () => {
    const base = { nodes: 8, model: "llama3-8b", seqLength: 4096, globalBatch: 64, plan: { tp: 1, dp: 64, zero: 3 as const } };
    const full = memoryByStage(scenario(base))[0]!;
    const hsdp = memoryByStage(scenario({ ...base, plan: { ...base.plan, shardGroup: 8 } }))[0]!;
    // FSDP's fp32 shard is the master: the optimizer adds the two fp32 moments.
    expect(full.optimizer).toBeCloseTo((8 * full.params) / 64, 0);
    expect(hsdp.optimizer).toBeCloseTo((8 * full.params) / 8, 0);
    expect(hsdp.weights).toBeCloseTo((4 * full.params) / 8, 0);
    expect(hsdp.gradients).toBeCloseTo((4 * full.params) / 8, 0);
    expect(hsdp.gatheredUnits).toBe(full.gatheredUnits);
  });
});

describe("ZeRO-1/2 and CPU offload", () => {
  const base = { nodes: 1, model: "llama3-8b", seqLength: 4096, globalBatch: 8, plan: { tp: 1, dp: 8 } };

  it("ZeRO-1/2 keep full parameters and no gathered-unit entry", () => {
    for (const zero of [0, 1, 2] as const) {
      const m = memoryByStage(scenario({ ...base, plan: { ...base.plan, zero } }))[0]!;
      expect(m.gatheredUnits).toBeUndefined();
      expect(m.weights).toBe(2 * m.params);
      expect(m.hostBytes).toBeUndefined();
    }
  });

  it("offloadOptimizer moves Adam state and fp32 master to the host; from ZeRO-2 the gradient shard too", () => {
    const on = memoryByStage(scenario({ ...base, plan: { ...base.plan, zero: 1, offloadOptimizer: true } }))[0]!;
    expect(on.optimizer).toBe(0);
    expect(on.gradients).toBe(4 * on.params);
    expect(on.hostBytes).toBeCloseTo((12 * on.params) / 8, 0);
    const two = memoryByStage(scenario({ ...base, plan: { ...base.plan, zero: 2, offloadOptimizer: true } }))[0]!;
    expect(two.gradients).toBe(0);
    expect(two.hostBytes).toBeCloseTo((16 * two.params) / 8, 0);
    expect(two.total).toBeCloseTo(two.weights + two.activations + two.buffers, 0);
  });

  it("offloadActivations keeps the rest of the layers plus two staging layers on the GPU", () => {
    const s = scenario({ nodes: 1, model: TINY_MODEL, seqLength: 2048, globalBatch: 8, plan: { tp: 1, dp: 8 } });
    const A = layerActivationBytes(layerShape(s), "none");
    const none = memoryByStage(s)[0]!;
    const logits = none.activations - 8 * A;
    expect(logits).toBeCloseTo((2 + 4) * 2048 * 8, 0);
    const half = memoryByStage({ ...s, parallelism: { ...s.parallelism, offloadActivationShare: 0.5 } })[0]!;
    expect(half.activations).toBeCloseTo(4 * A + 2 * A + logits, 0);
    expect(half.hostBytes).toBeCloseTo(4 * A, 0);
    const one = memoryByStage({ ...s, parallelism: { ...s.parallelism, offloadActivationLayers: 1 } })[0]!;
    expect(one.activations).toBeCloseTo(7 * A + A + logits, 0);
    const all = memoryByStage({ ...s, parallelism: { ...s.parallelism, offloadActivationLayers: 8 } })[0]!;
    expect(all.activations).toBeCloseTo(2 * A + logits, 0);
    expect(all.hostBytes).toBeCloseTo(8 * A, 0);
  });
});

describe("published per-GPU model-state memory", () => {
  // Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
  // Models" (SC'20, arXiv 1910.02054), Table 1: per-device memory of model states in GB for
  // Ψ = 7.5B parameters, mixed-precision Adam (2Ψ fp16 weights + 2Ψ fp16 gradients + KΨ, K = 12),
  // by DP degree Nd, for P_os (ZeRO-1), P_os+g (ZeRO-2), P_os+g+p (ZeRO-3).
  const TABLE1: [number, number, number, number][] = [
    [1, 120, 120, 120],
    [4, 52.5, 41.3, 30],
    [16, 35.6, 21.6, 7.5],
    [64, 31.4, 16.6, 1.88],
    [256, 30.4, 15.4, 0.47],
    [1024, 30.1, 15.1, 0.12],
  ];
  const model = BUILTIN_MODELS["gpt-7.5b"] as ModelSpec;

  it("ZeRO paper Table 1: GPT 7.5B (Narayanan's shape, 7.47B parameters) within 1 % at every DP degree and stage", () => {
    expect(totalParams(model) / 1e9).toBeCloseTo(7.47, 2);
    for (const [dp, os, osg, osgp] of TABLE1) {
      const gpus = dp;
      const nodes = Math.max(1, gpus / 8);
      for (const [zero, published] of [
        [1, os],
        [2, osg],
        [3, osgp],
      ] as const) {
        const m = memoryByStage(
          scenario({ nodes, gpusPerNode: Math.min(8, gpus), model, seqLength: 1024, globalBatch: dp, precision: "fp16", plan: { tp: 1, dp, zero, gradReduceDtype: "fp16" } }),
        )[0]!;
        const states = (m.weights + m.gradients + m.optimizer) / 1e9;
        expect(Math.abs(states / published - 1), `Nd ${dp}, ZeRO-${zero}: ${states.toFixed(2)} GB vs ${published} GB`).toBeLessThan(0.01 + 0.006 / published);
      }
    }
  });

  it("Megatron-LM distributed optimizer: 18 → 6 + 12/d bytes per parameter (bf16 params, fp32 grads), 16 → 8 + 8/d (fp32)", () => {
    // Megatron-LM docs, "Distributed Optimizer" (docs/source/api-guide/dist_optimizer.md), memory table.
    for (const d of [1, 8, 64]) {
      const bf16 = memoryByStage(scenario({ nodes: Math.max(1, d / 8), gpusPerNode: Math.min(8, d), model, seqLength: 1024, globalBatch: d, plan: { tp: 1, dp: d, zero: 1 } }))[0]!;
      expect((bf16.weights + bf16.gradients + bf16.optimizer) / bf16.params).toBeCloseTo(6 + 12 / d, 9);
      const fp32 = memoryByStage(scenario({ nodes: Math.max(1, d / 8), gpusPerNode: Math.min(8, d), model, seqLength: 1024, globalBatch: d, precision: "fp32", plan: { tp: 1, dp: d, zero: 1 } }))[0]!;
      expect((fp32.weights + fp32.gradients + fp32.optimizer) / fp32.params).toBeCloseTo(8 + 8 / d, 9);
      const plain = memoryByStage(scenario({ nodes: Math.max(1, d / 8), gpusPerNode: Math.min(8, d), model, seqLength: 1024, globalBatch: d, plan: { tp: 1, dp: d, zero: 0 } }))[0]!;
      expect((plain.weights + plain.gradients + plain.optimizer) / plain.params).toBeCloseTo(18, 9);
    }
  });

  it("ZeRO paper Table 2: largest model whose states fit a 32 GB V100 at MP 1 on 64 GPUs — 2B, 7.6B, 14.4B, 128B", () => {
    // Bytes per parameter per GPU at Nd = 64, from the same accounting as Table 1.
    const perParam = (zero: 0 | 1 | 2 | 3): number => {
      const m = memoryByStage(scenario({ nodes: 8, model, seqLength: 1024, globalBatch: 64, precision: "fp16", plan: { tp: 1, dp: 64, zero, gradReduceDtype: "fp16" } }))[0]!;
      return (m.weights + m.gradients + m.optimizer) / m.params;
    };
    const published = { 0: 2, 1: 7.6, 2: 14.4, 3: 128 } as const;
    for (const zero of [0, 1, 2, 3] as const) {
      const maxBillions = 32 / perParam(zero);
      expect(Math.abs(maxBillions / published[zero] - 1), `ZeRO-${zero}`).toBeLessThan(0.01);
    }
  });
});

describe("published peak memory of FSDP runs", () => {
  // Llama 2 7B as torchtitan builds it (flavor "7B": 32 layers, dim 4096, 32 heads, SwiGLU 11,008,
  // Llama 2 tokenizer of 32,000; train_configs/llama_7b.toml: local batch 8, seq 2048).
  const llama2_7b = denseModel({ name: "llama2-7b", layers: 32, hidden: 4096, heads: 32, kvHeads: 32, ffn: 11008, vocab: 32000, gatedMlp: true, source: "torchtitan llama 7B flavor (2024-03)" });
  // pytorch/torchtitan PR #165 (A. Gu, 2024-03-26, "Used per-parameter FSDP"): 8 H100 with
  // 95.04 GiB each, local batch 8, seq 2048, bf16 mixed precision, fp32 reduce-scatter, FSDP2.
  const H100_GIB = 95.0396;
  const run = (recompute: "full" | "none") =>
    memoryByStage(scenario({ nodes: 1, model: llama2_7b, seqLength: 2048, globalBatch: 64, plan: { tp: 1, dp: 8, zero: 3, microBatch: 8, recompute } }))[0]!;

  it("full activation checkpointing: peak active 23.92 % of 95.04 GiB = 22.73 GiB; trainsim within 15 %", () => {
    // PyTorch's peak active counts tensors only: leave out the CUDA context and NCCL buffers.
    const m = run("full");
    const tensors = (m.total - RUNTIME_BYTES) / GiB;
    const published = 0.2392 * H100_GIB;
    expect(Math.abs(tensors / published - 1), `${tensors.toFixed(2)} GiB vs ${published.toFixed(2)} GiB`).toBeLessThan(0.15);
  });

  it("no activation checkpointing ran at 90.28 GiB peak reserved: trainsim fits it on the 95 GiB GPU, within 15 % of reserved", () => {
    const m = run("none");
    expect(m.total / GiB).toBeLessThan(H100_GIB);
    expect(Math.abs(m.total / GiB / 90.28 - 1)).toBeLessThan(0.15);
  });
});

describe("published activation memory", () => {
  it("Korthikanti et al. 2022 (arXiv 2205.05198), abstract: sequence parallelism with selective recompute cuts activation memory about 5× (530B and 1T, tp 8)", () => {
    // Table 3 shapes: 530B h 20480, 128 heads; 1T h 25600, 160 heads; seq 2048, tp 8.
    for (const [h, a] of [
      [20480, 128],
      [25600, 160],
    ] as const) {
      const model: ModelSpec = { ...(BUILTIN_MODELS["gpt3-175b"] as ModelSpec), hidden: h, heads: a, kvHeads: a, ffn: 4 * h };
      const shape = (sp: boolean) => ({ model, microBatch: 1, seqLength: 2048, tp: 8, cp: 1, ep: 1, sequenceParallel: sp, attention: "unfused" as const, elementBytes: 2, gradBytes: 4, gradAccumulationFusion: true, gradAccumulateShare: 0 });
      const ratio = layerActivationBytes(shape(false), "none") / layerActivationBytes(shape(true), "selective");
      expect(Math.abs(ratio / 5 - 1), `h ${h}: ${ratio.toFixed(2)}×`).toBeLessThan(0.15);
    }
  });
});
