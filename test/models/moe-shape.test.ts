/**
 * MoE model shape: expertFfn, sharedExperts, denseLayers in the parameter counts, the memory
 * model (expert state under EP and ZeRO sharding) and the step program (dense first layers on
 * the first stage); HuggingFace MoE keys; the MoE built-ins against their published sizes.
 */
import { describe, expect, it } from "vitest";
import type { ModelSpec, Scenario } from "../../models/scenario.ts";
import { compileStep, SM, type Op } from "../../models/step/program.ts";
import { modelFromHfConfig } from "../../models/workload/hf-config.ts";
import { layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape, memoryByStage, stateBytesPerParam } from "../../models/workload/memory.ts";
import { denseLayersPerStage } from "../../models/workload/moe.ts";
import { activeMatrixParamsPerLayer, embeddingParams, headParams, layerParams, mtpParams, totalParams } from "../../models/workload/params.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { balancedRouting, scenario } from "../helpers/scenario.ts";

const model = (name: string): ModelSpec => BUILTIN_MODELS[name] as ModelSpec;
const active = (m: ModelSpec): number => activeMatrixParamsPerLayer(m) * m.layers + embeddingParams(m) + headParams(m);

describe("MoE built-ins against their published sizes", () => {
  it("Mixtral 8x22B: 141B parameters, 39B active (Mistral AI, 'Cheaper, Better, Faster, Stronger', Apr 2024)", () => {
    expect(totalParams(model("mixtral-8x22b")) / 141e9).toBeCloseTo(1, 2);
    expect(active(model("mixtral-8x22b")) / 39e9).toBeCloseTo(1, 1);
  });

  // DeepSeek-V3's MLA attention block (test/models/attention-variants.test.ts works it out from the config):
  // q down 7168·1536, q norm 1536, q up 1536·128·192, kv down 7168·(512+64), kv norm 512, kv up 512·128·256, out 128·128·7168.
  const MLA_BLOCK = 11_010_048 + 1_536 + 37_748_736 + 4_128_768 + 512 + 16_777_216 + 117_440_512;

  it("DeepSeek-V3: 671B main-model parameters (arXiv 2412.19437, abstract; MTP module excluded) within 0.05 %, 37B activated within 2 %", () => {
    const m = model("deepseek-v3");
    expect(Math.abs((totalParams(m) - mtpParams(m)) / 671e9 - 1)).toBeLessThan(0.0005);
    expect(Math.abs(active(m) / 37e9 - 1)).toBeLessThan(0.02);
    // The released checkpoint: 671B + 14B MTP, the MTP module storing its own copies of the embedding and head (HF model card).
    expect(Math.abs((totalParams(m) + embeddingParams(m) + headParams(m)) / 685e9 - 1)).toBeLessThan(0.005);
  });

  it("DeepSeek-V3's layers: 3 dense MLPs of 18432, 58 MoE layers of 256 routed + 1 shared experts of 2048, MLA attention, one MTP depth", () => {
    const m = model("deepseek-v3");
    const dense = 3 * (3 * 7168 * 18432);
    const moeLayer = (256 + 1) * 3 * 7168 * 2048 + 7168 * 256;
    const norms = 2 * 7168;
    const embeddingAndHead = 2 * 129280 * 7168 + 7168;
    expect(totalParams(m) - mtpParams(m)).toBe(dense + 58 * moeLayer + 61 * (MLA_BLOCK + norms) + embeddingAndHead);
    // MTP: one MoE block, the 2h → h projection and three RMSNorms (DeepSeek-V3 §2.2).
    expect(mtpParams(m)).toBe(moeLayer + MLA_BLOCK + norms + 2 * 7168 * 7168 + 3 * 7168);
  });
});

describe("dense first layers and expert sharding in memory and the step", () => {
  // DeepSeek-V3 on 256 GPUs: pp 8 with 5 layers on the first stage (3 dense + 2 MoE), ep 32.
  const s: Scenario = balancedRouting(scenario({ nodes: 32, model: "deepseek-v3", seqLength: 4096, globalBatch: 1024, plan: { tp: 1, pp: 8, ep: 32, zero: 1, recompute: "full", firstStageLayers: 5 } }));
  const m = model("deepseek-v3");

  it("the dense layers sit on the first virtual stage", () => {
    expect(denseLayersPerStage(m, [5, 8, 8, 8, 8, 8, 8, 8])).toEqual([3, 0, 0, 0, 0, 0, 0, 0]);
    expect(denseLayersPerStage(m, [2, 2, 57])).toEqual([2, 1, 0]);
  });

  it("stage 0 holds the embedding, 3 dense and 2 MoE layers; routed experts are 1/ep per rank and their ZeRO-1 state is sharded over dp/ep", () => {
    const lp = layerParams(m);
    // MLA attention block as above (tp 1: its duplicated down projections count once).
    const denseLayer = 11_010_048 + 1_536 + 37_748_736 + 4_128_768 + 512 + 16_777_216 + 117_440_512 + 3 * 7168 * 18432 + 2 * 7168;
    const moeNonExpert = lp.attention + lp.shared + lp.router + lp.norms;
    const expert = (256 * lp.mlpPerExpert) / 32;
    const row = memoryByStage(s)[0]!;
    expect(row.expertParams).toBe(2 * expert);
    expect(row.params).toBe(3 * denseLayer + 2 * moeNonExpert + 129280 * 7168 + 2 * expert);
    // ZeRO-1 over dp 32: non-expert state /32, expert state over the expert data-parallel group 32/32 = 1.
    const state = stateBytesPerParam(s);
    expect(row.optimizer).toBeCloseTo(((row.params - 2 * expert) * state.optimizer) / 32 + 2 * expert * state.optimizer, 0);
  });

  it("only stage 0's work changes when the first layers turn dense", () => {
    const allMoe: Scenario = { ...s, workload: { ...s.workload, model: { ...m, denseLayers: 0 } } };
    const sm = (sc: Scenario, stage: number): number => {
      const prog = compileStep(sc);
      let total = 0;
      for (const op of prog.plans[prog.forwardPlan[stage] as number] as Op[]) op.roles.forEach((r, i) => (total += r === SM ? (op.amounts[i] as number) : 0));
      return total;
    };
    expect(sm(s, 1)).toBe(sm(allMoe, 1));
    expect(sm(s, 7)).toBe(sm(allMoe, 7));
    expect(sm(s, 0)).not.toBe(sm(allMoe, 0));
  });

  it("a MoE layer's routed experts use expertFfn, its dense MLP layers ffn", () => {
    const k = layerForwardKernels(layerShape(s)).kernels;
    // 4096 tokens · top-8 · ep 32 / 256 experts = 4096 per expert, 8 local experts.
    expect(k.find((x) => x.name === "expert.fc1")!.gemm).toEqual({ m: 4096, n: 2 * 2048, k: 7168, batch: 8, grouped: true });
    expect(k.find((x) => x.name === "shared.fc1")!.gemm).toEqual({ m: 4096, n: 2 * 2048, k: 7168, batch: 1 });
  });
});

describe("HuggingFace MoE keys", () => {
  const base = { hidden_size: 7168, num_hidden_layers: 61, num_attention_heads: 128, num_key_value_heads: 128, vocab_size: 129280, hidden_act: "silu", rope_theta: 10000 };

  it("DeepSeek-V3's config.json: n_routed_experts, moe_intermediate_size, n_shared_experts, first_k_dense_replace, scoring_func", () => {
    const { model: m, problems } = modelFromHfConfig(
      { ...base, intermediate_size: 18432, moe_intermediate_size: 2048, n_routed_experts: 256, num_experts_per_tok: 8, n_shared_experts: 1, first_k_dense_replace: 3, scoring_func: "sigmoid", n_group: 8, topk_group: 4, moe_layer_freq: 1, norm_topk_prob: true, kv_lora_rank: 512, q_lora_rank: 1536, qk_rope_head_dim: 64, qk_nope_head_dim: 128, v_head_dim: 128, num_nextn_predict_layers: 1 },
      "deepseek-v3",
    );
    expect(problems).toEqual([]);
    expect(m).toMatchObject({ ffn: 18432, expertFfn: 2048, experts: 256, topK: 8, sharedExperts: 1, denseLayers: 3, routerScoring: "sigmoid", expertGroups: 8, expertGroupsPerToken: 4 });
    expect(totalParams(m!)).toBe(totalParams(model("deepseek-v3")));
  });

  it("Mixtral's num_local_experts with experts of intermediate_size; Qwen2-MoE's shared_expert_intermediate_size in experts", () => {
    const mix = modelFromHfConfig({ ...base, intermediate_size: 14336, num_local_experts: 8, num_experts_per_tok: 2 }, "mix").model!;
    expect(mix).toMatchObject({ ffn: 14336, experts: 8, topK: 2 });
    expect(mix.expertFfn).toBeUndefined();
    const qwen = modelFromHfConfig({ ...base, intermediate_size: 18944, moe_intermediate_size: 2560, shared_expert_intermediate_size: 20480, num_experts: 64, num_experts_per_tok: 8 }, "qwen2-moe").model!;
    expect(qwen).toMatchObject({ experts: 64, expertFfn: 2560, sharedExperts: 8 });
  });

  it("refuses layer patterns it cannot express, by key", () => {
    const r = modelFromHfConfig({ ...base, intermediate_size: 1024, num_experts: 8, num_experts_per_tok: 2, decoder_sparse_step: 2, mlp_only_layers: [3], scoring_func: "sparsemixer" }, "x");
    expect(r.problems.map((p) => p.key)).toEqual(["decoder_sparse_step", "mlp_only_layers", "scoring_func"]);
  });
});
