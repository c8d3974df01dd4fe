/** parallelism.recomputeModules in the loader: accepted as written, refused with the field, the value and what is allowed. */
import { describe, expect, it } from "vitest";
import { oneProblem } from "../helpers/config-problems.ts";
import { scenarioFromObject } from "../../experiments/load.ts";

const MOE_MODEL = { base: "llama3-8b", layers: 4, experts: 8, topK: 2, expertFfn: 1024, sharedExperts: 1 };

function load(parallelism: Record<string, unknown>, workload: Record<string, unknown> = {}) {
  const obj = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: MOE_MODEL, seqLength: 4096, globalBatch: 8, ...workload }, parallelism: { tp: 1, ep: 8, ...parallelism } };
  return scenarioFromObject(obj, { name: "test", baseDir: "." });
}

const one = oneProblem;

describe("parallelism.recomputeModules", () => {
  it("is taken as written with recompute selective, and absent otherwise", () => {
    expect(load({ recompute: "selective", recomputeModules: ["layernorm", "moe"] }).parallelism.recomputeModules).toEqual(["layernorm", "moe"]);
    expect(load({ recompute: "selective" }).parallelism.recomputeModules).toBeUndefined();
  });

  it("refuses a name Megatron-Core does not have, listing the allowed ones", () => {
    const p = one(() => load({ recompute: "selective", recomputeModules: ["moe", "attention"] }));
    expect(p.path).toBe("parallelism.recomputeModules.1");
    expect(p.message).toContain("attention");
    for (const m of ["core_attn", "layernorm", "mla_up_proj", "mlp", "moe", "moe_act", "shared_experts"]) expect(p.message).toContain(m);
  });

  it("refuses the list without recompute selective", () => {
    const p = one(() => load({ recompute: "full", recomputeModules: ["moe"] }));
    expect(p.path).toBe("parallelism.recomputeModules");
    expect(p.message).toContain("recompute full");
    expect(p.message).toContain("recompute: selective");
    expect(one(() => load({ recomputeModules: ["moe"] })).message).toContain("recompute none");
  });

  it("refuses the list beside a MaxText remat policy, naming both keys", () => {
    const p = one(() => load({ remat: { policy: "minimal" }, recomputeModules: ["core_attn"] }));
    expect(p.path).toBe("parallelism.recomputeModules");
    expect(p.message).toBe('parallelism.recomputeModules: ["core_attn"] is not allowed with parallelism.remat: a remat policy names the tensors a fully recomputed layer keeps (MaxText), recomputeModules the modules recompute selective re-runs (Megatron-Core); give one of them');
  });

  it("refuses a module listed twice", () => {
    expect(one(() => load({ recompute: "selective", recomputeModules: ["moe", "moe"] })).message).toContain("moe is listed twice");
  });

  it("refuses modules for layers the model lacks", () => {
    const dense = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8 }, parallelism: { tp: 1, recompute: "selective", recomputeModules: ["core_attn", "moe_act"] } };
    const p = one(() => scenarioFromObject(dense, { name: "t", baseDir: "." }));
    expect(p.path).toBe("parallelism.recomputeModules.1");
    expect(p.message).toContain("no mixture-of-experts layers");
    const mla = one(() => scenarioFromObject({ ...dense, parallelism: { ...dense.parallelism, recomputeModules: ["mla_up_proj"] } }, { name: "t", baseDir: "." }));
    expect(mla.message).toContain("multi-latent attention");
    expect(one(() => load({ recompute: "selective", recomputeModules: ["mlp"] })).message).toContain("no dense MLP layers");
    const noShared = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: { ...MOE_MODEL, sharedExperts: 0 }, seqLength: 4096, globalBatch: 8 }, parallelism: { tp: 1, ep: 8, recompute: "selective", recomputeModules: ["shared_experts"] } };
    expect(one(() => scenarioFromObject(noShared, { name: "t", baseDir: "." })).message).toContain("no shared experts");
    // A MoE model with dense first layers has an MLP to recompute.
    const withDense = { ...noShared, workload: { ...noShared.workload, model: { ...MOE_MODEL, denseLayers: 1 } }, parallelism: { ...noShared.parallelism, recomputeModules: ["mlp", "moe"] } };
    expect(scenarioFromObject(withDense, { name: "t", baseDir: "." }).parallelism.recomputeModules).toEqual(["mlp", "moe"]);
  });

  it("refuses what Megatron-Core's TransformerConfig refuses", () => {
    expect(one(() => load({ recompute: "selective", recomputeModules: ["moe"], moeOverlap: "attention" })).message).toContain("--overlap-moe-expert-parallel-comm");
    expect(one(() => load({ recompute: "selective", recomputeModules: ["shared_experts"], moeOverlap: "shared-experts" })).message).toContain("--moe-shared-expert-overlap");
    expect(one(() => load({ recompute: "selective", recomputeModules: ["layernorm"] }, { precision: "fp8" })).message).toContain("delayed scaling");
    expect(load({ recompute: "selective", recomputeModules: ["layernorm", "moe_act"] }, { precision: "fp8", fp8Recipe: "current" }).parallelism.recomputeModules).toEqual(["layernorm", "moe_act"]);
    // Hugging Face's eager layers are not Megatron-Core's modules.
    const eager = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8, layerImplementation: "eager" }, parallelism: { tp: 1, recompute: "selective", recomputeModules: ["core_attn"] } };
    expect(one(() => scenarioFromObject(eager, { name: "t", baseDir: "." })).message).toContain("layerImplementation eager");
  });
});
