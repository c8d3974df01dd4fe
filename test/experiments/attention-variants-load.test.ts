import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { problemsOf } from "../helpers/config-problems.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { modelFromHfConfig } from "../../models/workload/hf-config.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";

const LLAMA_LIKE = { hidden_size: 4096, num_hidden_layers: 12, num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 14336, vocab_size: 32000, rope_theta: 10000, hidden_act: "silu" };

/** A scenario with this model (inline object, or an HF config written to a temporary folder). */
function withModel(model: unknown, config?: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), "trainsim-attn-"));
  if (config) writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const obj = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: config ? { hf: "./config.json" } : model, seqLength: 4096, globalBatch: 8 }, parallelism: { tp: 8 } };
  return () => scenarioFromObject(obj, { baseDir: dir, name: "test" });
}

describe("HuggingFace config.json keys of the attention and layer variants", () => {
  it("reads DeepSeek-V3's MLA and MTP keys (deepseek-ai/DeepSeek-V3 config.json values)", () => {
    const config = { ...LLAMA_LIKE, hidden_size: 7168, num_attention_heads: 128, num_key_value_heads: 128, intermediate_size: 18432, vocab_size: 129280, q_lora_rank: 1536, kv_lora_rank: 512, qk_rope_head_dim: 64, qk_nope_head_dim: 128, v_head_dim: 128, num_nextn_predict_layers: 1 };
    const { model } = modelFromHfConfig(config, "dsv3");
    expect(model).toMatchObject({ kvLoraRank: 512, qLoraRank: 1536, qkRopeHeadDim: 64, qkNopeHeadDim: 128, vHeadDim: 128, mtpLayers: 1 });
    // DeepSeek-V2-Lite: q_lora_rank null, a full query projection.
    const lite = modelFromHfConfig({ ...config, q_lora_rank: null, num_nextn_predict_layers: 0 }, "lite").model!;
    expect(lite.qLoraRank).toBeUndefined();
    expect(lite.mtpLayers).toBeUndefined();
    expect(withModel(undefined, config)().workload.model.kvLoraRank).toBe(512);
  });

  it("reads sliding windows: Mistral's on every layer, Gemma 3's period, layer_types, and none when Qwen2 switches it off", () => {
    expect(modelFromHfConfig({ ...LLAMA_LIKE, sliding_window: 4096 }, "m").model).toMatchObject({ slidingWindow: 4096 });
    expect(modelFromHfConfig({ ...LLAMA_LIKE, sliding_window: 4096 }, "m").model!.slidingWindowPattern).toBeUndefined();
    expect(modelFromHfConfig({ ...LLAMA_LIKE, sliding_window: 1024, sliding_window_pattern: 6 }, "g3").model).toMatchObject({ slidingWindow: 1024, slidingWindowPattern: 6 });
    const types = Array.from({ length: 12 }, (_, i) => ((i + 1) % 3 === 0 ? "full_attention" : "sliding_attention"));
    expect(modelFromHfConfig({ ...LLAMA_LIKE, sliding_window: 512, layer_types: types }, "lt").model).toMatchObject({ slidingWindowPattern: 3 });
    expect(modelFromHfConfig({ ...LLAMA_LIKE, sliding_window: 4096, model_type: "gemma2" }, "g2").model).toMatchObject({ slidingWindowPattern: 2 });
    expect(modelFromHfConfig({ ...LLAMA_LIKE, sliding_window: 32768, use_sliding_window: false }, "q").model!.slidingWindow).toBeUndefined();
    expect(modelFromHfConfig({ ...LLAMA_LIKE, sliding_window: null }, "m2").model!.slidingWindow).toBeUndefined();
  });

  it("names the config key of a wrong type or an irregular layer pattern", () => {
    const bad = problemsOf(withModel(undefined, { ...LLAMA_LIKE, kv_lora_rank: "512" }));
    expect(bad.map((p) => p.path)).toEqual(["workload.model.hf:kv_lora_rank"]);
    expect(bad[0]!.message).toBe('workload.model.hf:kv_lora_rank: "512" is not allowed; expected an integer of at least 1 (or null)');
    const types = Array.from({ length: 12 }, (_, i) => (i === 2 || i === 4 ? "full_attention" : "sliding_attention"));
    const irregular = problemsOf(withModel(undefined, { ...LLAMA_LIKE, sliding_window: 512, layer_types: types }));
    expect(irregular.map((p) => p.path)).toEqual(["workload.model.hf:layer_types"]);
    expect(irregular[0]!.message).toMatch(/do not recur every 3 layers/);
  });
});

describe("inline model keys", () => {
  const inline = { layers: 4, hidden: 4096, heads: 32, vocab: 32000 };

  it("keeps the variant keys and leaves them absent when not written", () => {
    const s = withModel({ ...inline, kvLoraRank: 512, qkRopeHeadDim: 64, mtpLayers: 1, slidingWindow: 1024, slidingWindowPattern: 2 })();
    expect(s.workload.model).toMatchObject({ kvLoraRank: 512, qkRopeHeadDim: 64, mtpLayers: 1, slidingWindow: 1024, slidingWindowPattern: 2 });
    const plain = withModel(inline)().workload.model;
    for (const k of ["kvLoraRank", "qLoraRank", "qkRopeHeadDim", "qkNopeHeadDim", "vHeadDim", "slidingWindow", "slidingWindowPattern", "mtpLayers"]) expect(k in plain, k).toBe(false);
  });

  it("refuses MLA dims without kvLoraRank, a pattern without a window, and a window that is not a positive integer", () => {
    const a = problemsOf(withModel({ ...inline, qkRopeHeadDim: 64 }));
    expect(a.map((p) => p.path)).toEqual(["workload.model.qkRopeHeadDim"]);
    expect(a[0]!.message).toMatch(/without workload\.model\.kvLoraRank/);
    const b = problemsOf(withModel({ ...inline, slidingWindowPattern: 2 }));
    expect(b.map((p) => p.path)).toEqual(["workload.model.slidingWindowPattern"]);
    const c = problemsOf(withModel({ ...inline, slidingWindow: 0.5 }));
    expect(c.map((p) => p.path)).toEqual(["workload.model.slidingWindow"]);
  });

  it("mistral-7b is built in with its 4096-token window", () => {
    expect(BUILTIN_MODELS["mistral-7b"]).toMatchObject({ layers: 32, hidden: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 32000, slidingWindow: 4096 });
  });
});
