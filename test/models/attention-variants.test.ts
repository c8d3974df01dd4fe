import { describe, expect, it } from "vitest";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import type { ModelSpec } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { isLocalLayer, windowBlockFraction } from "../../models/workload/attention-variants.ts";
import { modelFlopsPerStep, stepFlopCounts } from "../../models/workload/flops.ts";
import { headKernels, layerBackwardKernels, layerForwardKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { layerActivationBytes, layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { mlaDims, mlaParams } from "../../models/workload/mla.ts";
import { mtpInputKernels } from "../../models/workload/mtp.ts";
import { activeMatrixParamsPerLayer, layerParams, paramsPerLayer, totalParams } from "../../models/workload/params.ts";
import { denseModel, IDEAL_ACCELERATOR as IDEAL, TINY_MODEL as TINY, scenario } from "../helpers/scenario.ts";

// DeepSeek-V3's attention, from HF deepseek-ai/DeepSeek-V3 config.json: hidden_size 7168,
// num_attention_heads 128, q_lora_rank 1536, kv_lora_rank 512, qk_rope_head_dim 64,
// qk_nope_head_dim 128, v_head_dim 128. Its MoE MLP is left out here (a dense ffn instead).
const DSV3_ATTENTION = denseModel({ name: "dsv3-attn", layers: 4, hidden: 7168, heads: 128, kvHeads: 128, ffn: 18432, vocab: 129280, gatedMlp: true, kvLoraRank: 512, qLoraRank: 1536, qkRopeHeadDim: 64, qkNopeHeadDim: 128, vHeadDim: 128 });

describe("multi-head latent attention", () => {
  it("DeepSeek-V3's attention block holds 187,107,328 parameters, as computed from its config", () => {
    // q_a_proj 7168·1536 = 11,010,048; q_a_layernorm 1,536; q_b_proj 1536·128·(128+64) = 37,748,736;
    // kv_a_proj_with_mqa 7168·(512+64) = 4,128,768; kv_a_layernorm 512; kv_b_proj 512·128·(128+128) = 16,777,216;
    // o_proj 128·128·7168 = 117,440,512. Sum 187,107,328 (the HF checkpoint's per-layer self_attn tensors).
    const d = mlaDims(DSV3_ATTENTION)!;
    const p = mlaParams(DSV3_ATTENTION, d);
    expect(p.sharded).toBe(37_748_736 + 16_777_216 + 117_440_512);
    expect(p.duplicatedMatrices).toBe(11_010_048 + 4_128_768);
    expect(p.latentNorms).toBe(1_536 + 512);
    expect(p.sharded + p.duplicatedMatrices + p.latentNorms).toBe(187_107_328);
    // In the layer: the sharded part is the attention, the duplicated part rides with the (replicated) norms.
    const lp = layerParams(DSV3_ATTENTION);
    expect(lp.attention + lp.norms - 2 * 7168).toBe(187_107_328);
    const mlp = 3 * 7168 * 18432;
    expect(paramsPerLayer(DSV3_ATTENTION)).toBe(187_107_328 + mlp + 2 * 7168);
  });

  it("model FLOPs per token: 6 × the matrix parameters plus 6·s·heads·(dQK + dV) per layer", () => {
    const s = scenario({ nodes: 1, model: DSV3_ATTENTION, seqLength: 4096, globalBatch: 2 });
    const matrix = 187_107_328 - 2_048 + 3 * 7168 * 18432; // latent norms are not matmuls
    expect(activeMatrixParamsPerLayer(DSV3_ATTENTION)).toBe(matrix);
    const tokens = 2 * 4096;
    // Attention core per token and layer, forward: QK 2·s·128·192 + AV 2·s·128·128 = 2·4096·128·320 = 335,544,320.
    const core = 2 * 4096 * 128 * 320;
    expect(stepFlopCounts(s.workload).attentionForward / tokens).toBe(4 * core);
    expect(modelFlopsPerStep(s.workload) / tokens).toBe(3 * (4 * (2 * matrix + core) + 2 * 7168 * 129280));
  });

  it("a layer's forward GEMMs execute exactly the model's matrix FLOPs (tp 1), and tp splits the up and output projections only", () => {
    const x1 = layerShape(scenario({ nodes: 1, model: DSV3_ATTENTION, seqLength: 4096, globalBatch: 8 }));
    const gemmFlops = (x: LayerShape): number => layerForwardKernels(x).kernels.filter((k) => k.kind === "gemm").reduce((a, k) => a + k.flops, 0);
    expect(gemmFlops(x1)).toBe(2 * 4096 * (187_107_328 - 2_048 + 3 * 7168 * 18432));
    // tp 8 with sequence parallelism: down projections on the 512-token shard, the rest split 8 ways.
    const x8 = layerShape(scenario({ nodes: 1, model: DSV3_ATTENTION, seqLength: 4096, globalBatch: 8, plan: { tp: 8 } }));
    const down = 11_010_048 + 4_128_768;
    const split = 37_748_736 + 16_777_216 + 117_440_512 + 3 * 7168 * 18432;
    expect(gemmFlops(x8)).toBe((2 * 4096 * (down + split)) / 8);
    // The flash kernel runs QK over 192 and AV over 128 per head, causal by 128-row blocks (32 blocks: 33/64 of the square).
    const flash = layerForwardKernels(x8).kernels.find((k) => k.name === "attention.flash")!;
    expect(flash.flops).toBeCloseTo(2 * 4096 * 4096 * 16 * 320 * (33 / 64), 0);
    // The latents (1536 + 512 + 64 per token) are what sequence parallelism gathers for the attention half.
    const gathers = layerForwardKernels(x8).collectives.filter((c) => c.op === "all-gather").map((c) => c.bytes);
    expect(gathers).toEqual([2 * 4096 * 2112, 2 * 4096 * 7168]);
    // With TP communication overlap the output projection's reduce-scatter pipelines with it; the latents' gather stays exposed.
    const overlapped = layerForwardKernels({ ...x8, tpCommOverlap: true }).collectives;
    expect(overlapped.map((c) => [c.op, c.bytes, c.overlap?.kernels[0]])).toEqual([
      ["all-gather", 2 * 4096 * 2112, undefined],
      ["reduce-scatter", 2 * 4096 * 7168, "proj"],
      ["all-gather", 2 * 4096 * 7168, "fc1"],
      ["reduce-scatter", 2 * 4096 * 7168, "fc2"],
    ]);
    // Without sequence parallelism: forward all-reduces after proj and fc2; backward the latents' gradients and fc1's input.
    const noSp = { ...x8, sequenceParallel: false };
    expect(layerForwardKernels(noSp).collectives.map((c) => [c.op, c.bytes])).toEqual([["all-reduce", 2 * 4096 * 7168], ["all-reduce", 2 * 4096 * 7168]]);
    expect(layerBackwardKernels(noSp).collectives.map((c) => [c.op, c.bytes])).toEqual([["all-reduce", 2 * 4096 * 2112], ["all-reduce", 2 * 4096 * 7168]]);
    // Backward has a dgrad and a wgrad per weight GEMM: twice the forward GEMM FLOPs.
    const bwdGemm = layerBackwardKernels(x8).kernels.filter((k) => k.kind === "gemm").reduce((a, k) => a + k.flops, 0);
    expect(bwdGemm).toBe(2 * gemmFlops(x8));
  });

  it("saves the latents, Q and K at 192 and V at 128 per head for the backward (tp 8, sequence parallel, no recompute)", () => {
    const x = layerShape(scenario({ nodes: 1, model: DSV3_ATTENTION, seqLength: 4096, globalBatch: 8, plan: { tp: 8 } }));
    const T = 4096;
    const Tn = 512;
    const e = 2;
    const replicated = Tn * (2 * e + 2 * e) * 7168; // ln1 and ln2 inputs, the down projections' and fc1's inputs
    const latents = T * (2 * e * 1536 + 2 * e * 512 + e * 64); // q/kv latents before and after their norms, the rotary key
    const qkv = e * T * 16 * (192 + 192 + 128);
    const out = e * T * 16 * 128; // the output projection's input
    const mlp = T * (18432 / 8) * (2 * e + e); // gate and up outputs, the activation's output
    const lse = 4 * 16 * T; // flash's logsumexp
    expect(layerActivationBytes(x, "none")).toBe(replicated + latents + qkv + out + mlp + lse);
  });
});

describe("sliding-window attention", () => {
  it("a causal flash kernel with a 256-key window over 1,024 tokens visits 21 of the 64 key blocks", () => {
    // Query block i (128 rows) needs key blocks ⌊max(0, 128i − 255)/128⌋ … i: 1, 2, then 3 each for i = 2…7.
    expect(windowBlockFraction(1024, 256, 128)).toBe(21 / 64);
    // A window as long as the sequence is plain causal: (nb + 1) / (2·nb).
    expect(windowBlockFraction(1024, 1024, 128)).toBe(9 / 16);
    // The tiles cover every (query, key) pair the window admits: Σ min(r+1, w) = w(w+1)/2 + (s−w)·w = 229,504.
    expect(21 * 128 * 128).toBeGreaterThanOrEqual((256 * 257) / 2 + 768 * 256);
  });

  it("the windowed layer's flash kernel and the model FLOPs follow the window, layer by layer", () => {
    const model = denseModel({ name: "sw", layers: 6, hidden: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 32000, gatedMlp: true, slidingWindow: 256, slidingWindowPattern: 3 });
    expect([0, 1, 2, 3, 4, 5].map((i) => isLocalLayer(model, i))).toEqual([true, true, false, true, true, false]);
    const s = scenario({ nodes: 1, model, seqLength: 1024, globalBatch: 2 });
    const x = layerShape(s);
    const flash = (k: LayerShape): Kernel => layerForwardKernels(k).kernels.find((kn) => kn.name === "attention.flash")!;
    expect(flash({ ...x, window: 256 }).flops).toBe(4 * 1024 * 1024 * 32 * 128 * (21 / 64));
    expect(flash(x).flops).toBe(4 * 1024 * 1024 * 32 * 128 * (9 / 16));
    // Model FLOPs (PaLM convention): global layers 4·B·s²·h, windowed layers 4·B·s·w·h.
    const local = 4 * 2 * 1024 * 256 * 4096;
    const global = 4 * 2 * 1024 * 1024 * 4096;
    expect(stepFlopCounts(s.workload).attentionForward).toBe(4 * local + 2 * global);
  });

  it("mixes local and global layers in the step: half and half takes the mean of all-local and all-global", () => {
    const step = (m: ModelSpec): number => simulateStep(scenario({ gpu: IDEAL, nodes: 1, gpusPerNode: 1, model: m, seqLength: 4096, globalBatch: 1, gpuVariability: 0, plan: { dp: 1, zero: 0 } })).stepSeconds;
    const allLocal = step({ ...TINY, slidingWindow: 512 });
    const allGlobal = step(TINY);
    const alternating = step({ ...TINY, slidingWindow: 512, slidingWindowPattern: 2 });
    expect(allLocal).toBeLessThan(allGlobal);
    expect(alternating / ((allLocal + allGlobal) / 2) - 1).toBeCloseTo(0, 9);
    // A window as long as the sequence changes nothing.
    expect(step({ ...TINY, slidingWindow: 4096 })).toBe(allGlobal);
  });
});

describe("multi-token prediction", () => {
  const mtpModel: ModelSpec = { ...TINY, mtpLayers: 1 };
  const parts = { gpu: IDEAL, nodes: 1, gpusPerNode: 2, seqLength: 2048, globalBatch: 1, gpuVariability: 0, plan: { pp: 2, dp: 1, zero: 0 as const } };

  it("adds one block, its projection and norms, and the embedding copy to the last stage's parameters", () => {
    const without = memoryByStage(scenario({ ...parts, model: TINY }));
    const withMtp = memoryByStage(scenario({ ...parts, model: mtpModel }));
    expect(withMtp[0]!.params).toBe(without[0]!.params);
    const h = 4096;
    expect(withMtp[1]!.params - without[1]!.params).toBe(paramsPerLayer(TINY) + 2 * h * h + 3 * h + 8 * h);
    expect(totalParams(mtpModel) - totalParams(TINY)).toBe(paramsPerLayer(TINY) + 2 * h * h + 3 * h);
  });

  it("adds exactly one layer's, one projection's and one output head's FLOPs to the model count", () => {
    const tokens = 2048;
    const w = (m: ModelSpec) => scenario({ ...parts, model: m }).workload;
    const extra = modelFlopsPerStep(w(mtpModel)) - modelFlopsPerStep(w(TINY));
    const layer = 2 * tokens * activeMatrixParamsPerLayer(TINY) + 4 * tokens * tokens * 4096;
    expect(extra).toBe(3 * (layer + 2 * tokens * 2 * 4096 * 4096 + 2 * tokens * 4096 * 8));
  });

  it("costs the last stage exactly one more layer, projection and head pass, forward and backward", () => {
    const s0 = scenario({ ...parts, model: TINY });
    const s1 = scenario({ ...parts, model: mtpModel });
    const x = layerShape(s1);
    const sm = (kernels: Kernel[]): number => kernels.reduce((a, k) => a + kernelCost(k, IDEAL, "bf16").smWork, 0) / 1e15;
    const extra = sm([...layerForwardKernels(x).kernels, ...layerBackwardKernels(x).kernels, ...headKernels(x, "forward").kernels, ...headKernels(x, "backward").kernels, ...mtpInputKernels(x, "forward").kernels, ...mtpInputKernels(x, "backward").kernels]);
    // One micro-batch: F0 F1 B1 B0 then each stage's optimizer; the extra work sits on the critical path,
    // and stage 1's optimizer grows by 12 FLOPs per extra parameter.
    // Stage 1 ends at F0 + F1 + B1 + O1, stage 0 later at F0 + F1 + B1 + B0 + O0 (B0, four layers'
    // backward, outweighs stage 1's optimizer): the step grows by exactly the MTP work.
    const t0 = simulateStep(s0).stepSeconds;
    const t1 = simulateStep(s1).stepSeconds;
    expect(extra).toBeGreaterThan(0);
    expect((t1 - t0) / extra - 1).toBeCloseTo(0, 6);
  });
});
