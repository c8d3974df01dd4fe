import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { problemsOf } from "../helpers/config-problems.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import type { ModelSpec } from "../../models/scenario.ts";
import { modelFlopsPerStep, stepFlopCounts } from "../../models/workload/flops.ts";
import { modelFromHfConfig } from "../../models/workload/hf-config.ts";
import { layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerActivationBytes, layerShape } from "../../models/workload/memory.ts";
import { activeMatrixParamsPerLayer, layerParams, paramsPerLayer, totalParams } from "../../models/workload/params.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { scenario } from "../helpers/scenario.ts";

// HF Qwen/Qwen3-32B config.json (transformers 4.51.0): 64 query heads × head_dim 128 = 8192 over
// hidden_size 5120, 8 KV heads, intermediate_size 25600, 64 layers, vocab 151936, untied.
const QWEN3_32B = {
  architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", attention_bias: false, attention_dropout: 0.0, head_dim: 128, hidden_act: "silu",
  hidden_size: 5120, intermediate_size: 25600, max_position_embeddings: 40960, num_attention_heads: 64, num_hidden_layers: 64,
  num_key_value_heads: 8, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: false, use_sliding_window: false, vocab_size: 151936,
};
// HF Qwen/Qwen3-8B config.json: 32 × 128 = hidden_size 4096, so its head_dim restates the default.
const QWEN3_8B = { ...QWEN3_32B, hidden_size: 4096, intermediate_size: 12288, num_attention_heads: 32, num_hidden_layers: 36 };

function loadHf(config: Record<string, unknown>, plan: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "trainsim-headdim-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const obj = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: { hf: "./config.json" }, seqLength: 4096, globalBatch: 8 }, parallelism: { tp: 8, ...plan } };
  return scenarioFromObject(obj, { baseDir: dir, name: "test" });
}

describe("headDim (heads × headDim ≠ hidden)", () => {
  const qwen32 = modelFromHfConfig(QWEN3_32B, "qwen3-32b").model!;

  it("reads head_dim from config.json only where it departs from hidden/heads", () => {
    expect(qwen32.headDim).toBe(128);
    expect(modelFromHfConfig(QWEN3_8B, "qwen3-8b").model!.headDim).toBeUndefined();
  });

  it("Qwen3-8B: head_dim 128 = 4096/32, so the attention block is the default one: 41,943,040 parameters", () => {
    // q_proj 4096·(32·128) = 16,777,216; k_proj and v_proj 4096·(8·128) = 4,194,304 each;
    // o_proj (32·128)·4096 = 16,777,216. Sum 41,943,040.
    const m8 = modelFromHfConfig(QWEN3_8B, "qwen3-8b").model!;
    expect(layerParams(m8).attention).toBe(16_777_216 + 2 * 4_194_304 + 16_777_216);
    expect(layerParams(m8).attention).toBe(41_943_040);
    expect(layerParams({ ...m8, headDim: 128 })).toEqual(layerParams(m8));
  });

  it("Qwen3-32B: the attention block holds 94,371,840 parameters, and the model 32.76 B (HF card: 32.8B, 31.2B non-embedding)", () => {
    // q_proj 5120·(64·128) = 41,943,040; k_proj and v_proj 5120·(8·128) = 5,242,880 each;
    // o_proj (64·128)·5120 = 41,943,040. Sum 94,371,840 (with hidden/heads = 80 it would be 58,982,400).
    expect(layerParams(qwen32).attention).toBe(41_943_040 + 2 * 5_242_880 + 41_943_040);
    expect(layerParams(qwen32).attention).toBe(94_371_840);
    expect(layerParams({ ...qwen32, headDim: undefined }).attention).toBe(58_982_400);
    // Layer: + SwiGLU MLP 3·5120·25600 = 393,216,000 + two RMSNorms 2·5120 (q_norm/k_norm, 2·128, not modelled).
    expect(paramsPerLayer(qwen32)).toBe(94_371_840 + 393_216_000 + 10_240);
    // 64 layers = 31,206,277,120 (non-embedding 31.2B); + embedding and untied head 2·151936·5120 + final norm 5120.
    expect(totalParams(qwen32)).toBe(64 * 487_598_080 + 2 * 151_936 * 5120 + 5120);
    expect(totalParams(qwen32)).toBe(32_762_106_880);
  });

  it("model FLOPs per token: 6 × matrix parameters + 12·s·heads·headDim per layer + 6·hidden·vocab", () => {
    const s = scenario({ nodes: 1, model: qwen32, seqLength: 4096, globalBatch: 2 });
    const tokens = 2 * 4096;
    const matrix = 94_371_840 + 393_216_000;
    expect(activeMatrixParamsPerLayer(qwen32)).toBe(matrix);
    // Attention core forward per token and layer: QK and AV, 2·s·(64·128) each = 4·4096·8192 = 134,217,728.
    expect(stepFlopCounts(s.workload).attentionForward / tokens).toBe(64 * 134_217_728);
    // 3 × (64·(2·487,587,840 + 134,217,728) + 2·5120·151936) = 3 × 72,557,002,752 = 217,671,008,256.
    expect(modelFlopsPerStep(s.workload) / tokens).toBe(3 * (64 * (2 * matrix + 134_217_728) + 2 * 5120 * 151_936));
    expect(modelFlopsPerStep(s.workload) / tokens).toBe(217_671_008_256);
  });

  it("the layer's GEMMs, flash kernel and saved activations use heads·headDim (HF-loaded, tp 8, sequence parallel)", () => {
    const loaded = loadHf(QWEN3_32B);
    expect(loaded.workload.model.headDim).toBe(128);
    const x = layerShape(loaded);
    const T = 4096; // micro-batch 1
    const fwd = layerForwardKernels(x).kernels;
    const g = (name: string) => fwd.find((k) => k.name === name)!.gemm;
    // QKV: hidden 5120 → (64 + 2·8)·128 / 8 = 1280 per rank; proj: 64·128 / 8 = 1024 per rank → 5120.
    expect(g("qkv")).toEqual({ m: T, n: 1280, k: 5120, batch: 1 });
    expect(g("proj")).toEqual({ m: T, n: 5120, k: 1024, batch: 1 });
    // Forward GEMMs = 2·T·matrix parameters / tp.
    const gemmFlops = fwd.filter((k) => k.kind === "gemm").reduce((a, k) => a + k.flops, 0);
    expect(gemmFlops).toBe((2 * T * (94_371_840 + 393_216_000)) / 8);
    // Flash: 8 heads per rank × (128 + 128), causal over 32 blocks of 128 (33/64 of the square).
    const flash = fwd.find((k) => k.name === "attention.flash")!;
    expect(flash.flops).toBeCloseTo(2 * T * T * 8 * 256 * (33 / 64), 0);
    const bwdGemm = layerBackwardKernels(x).kernels.filter((k) => k.kind === "gemm").reduce((a, k) => a + k.flops, 0);
    expect(bwdGemm).toBe(2 * gemmFlops);
    // Saved for backward (BF16, no recompute): per token, the 512-token shard's norm/QKV/fc1 inputs
    // (4·2·5120 each), then per rank Q, K, V (2·(8 + 2·1)·128), the attention output (2·8·128),
    // fc1 output and activation (2·3200·2 + 2·3200), and the flash logsumexp (4·8 per query).
    const expected = 512 * 4 * 2 * 5120 + T * (2 * 10 * 128 + 2 * 8 * 128 + 3200 * (2 * 2 + 2)) + 4 * 8 * T;
    expect(layerActivationBytes(x, "none")).toBe(expected);
  });

  it("an absent headDim and headDim = hidden/heads build the same kernels, bytes and FLOPs", () => {
    const base: ModelSpec = { ...modelFromHfConfig(QWEN3_8B, "q8").model! };
    const a = layerShape(scenario({ nodes: 1, model: base, seqLength: 4096, globalBatch: 8, plan: { tp: 4, cp: 2 } }));
    const b = layerShape(scenario({ nodes: 1, model: { ...base, headDim: 128 }, seqLength: 4096, globalBatch: 8, plan: { tp: 4, cp: 2 } }));
    expect({ ...layerForwardKernels(b), model: undefined }).toEqual({ ...layerForwardKernels(a), model: undefined });
    expect(layerBackwardKernels(b)).toEqual(layerBackwardKernels(a));
    expect(layerActivationBytes(b, "selective")).toBe(layerActivationBytes(a, "selective"));
  });

  it("head_dim lifts the hidden-multiple-of-heads rule and is refused by name when malformed", () => {
    // A Gemma-7B-like shape: 16 heads × 256 over hidden 3072; and one where hidden is no multiple of heads.
    expect(modelFromHfConfig({ ...QWEN3_8B, hidden_size: 3072, num_attention_heads: 16, num_key_value_heads: 16, head_dim: 256 }, "g").model!.headDim).toBe(256);
    expect(loadHf({ ...QWEN3_8B, hidden_size: 4100 }).workload.model.headDim).toBe(128);
    expect(problemsOf(() => loadHf({ ...QWEN3_8B, hidden_size: 4100, head_dim: null })).map((p) => p.path)).toEqual(["workload.model.hf:hidden_size"]);
    for (const bad of [0, 12.5, "128", -1]) {
      const problems = problemsOf(() => loadHf({ ...QWEN3_8B, head_dim: bad }));
      expect(problems.map((p) => p.path)).toEqual(["workload.model.hf:head_dim"]);
      expect(problems[0]!.message).toContain("head_dim");
    }
    const inline = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: { layers: 2, hidden: 1000, heads: 8, headDim: 0, vocab: 100 }, seqLength: 128, globalBatch: 8 } };
    expect(problemsOf(() => scenarioFromObject(inline, { baseDir: ".", name: "t" })).map((p) => p.path)).toContain("workload.model.headDim");
    const ok = { ...inline, workload: { ...inline.workload, model: { ...inline.workload.model, headDim: 128 } } };
    expect(scenarioFromObject(ok, { baseDir: ".", name: "t" }).workload.model.headDim).toBe(128);
  });

  it("the qwen3-235b-a22b built-in (64 heads × 128 over hidden 4096): 235.09 B parameters, 22.2 B active (HF card: 235B, 22B activated)", () => {
    const m = BUILTIN_MODELS["qwen3-235b-a22b"]!;
    expect(m.headDim).toBe(128);
    // q_proj 4096·8192 = 33,554,432; k_proj, v_proj 4096·(4·128) = 2,097,152 each; o_proj 8192·4096 = 33,554,432.
    expect(layerParams(m).attention).toBe(2 * 33_554_432 + 2 * 2_097_152);
    // + 128 experts of 3·4096·1536 = 18,874,368, router 4096·128 = 524,288, norms 2·4096 = 2,487,754,752 per layer;
    // × 94 + embedding and untied head 2·151936·4096 + final norm 4096.
    expect(paramsPerLayer(m)).toBe(71_303_168 + 128 * 18_874_368 + 524_288 + 8192);
    expect(totalParams(m)).toBe(94 * 2_487_754_752 + 2 * 151_936 * 4096 + 4096);
    expect(totalParams(m)).toBe(235_093_610_496);
    // Active per token: attention + 8 experts + router, 222,822,400 per layer; with embedding and head 22.19 B.
    expect(activeMatrixParamsPerLayer(m)).toBe(71_303_168 + 8 * 18_874_368 + 524_288);
    expect((94 * activeMatrixParamsPerLayer(m) + 2 * 151_936 * 4096) / 1e9).toBeCloseTo(22.19, 2);
  });

  it("under MLA, HF head_dim (transformers sets it to qk_rope_head_dim) is not taken as the head width", () => {
    const dsv3 = { ...QWEN3_8B, hidden_size: 7168, num_attention_heads: 128, num_key_value_heads: 128, head_dim: 64, kv_lora_rank: 512, q_lora_rank: 1536, qk_rope_head_dim: 64, qk_nope_head_dim: 128, v_head_dim: 128 };
    const m = modelFromHfConfig(dsv3, "dsv3").model!;
    expect(m.headDim).toBeUndefined();
    expect(m.qkNopeHeadDim).toBe(128);
  });
});
