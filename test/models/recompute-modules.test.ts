/**
 * Megatron-Core's --recompute-modules (parallelism.recomputeModules): what each module stops
 * keeping, by hand on a small layer; [core_attn] is recompute selective exactly; moe re-runs the
 * token dispatcher's all-to-alls; recomputing more is never faster.
 */
import { describe, expect, it } from "vitest";
import type { ModelSpec, ParallelPlan, RecomputeModule, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { hardwareFlopsPerStep, modelFlopsPerStep } from "../../models/workload/flops.ts";
import { layerRecomputeKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { layerActivationBytes, layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { denseModel, scenario } from "../helpers/scenario.ts";

// A small gated layer: h 64, 4 heads, T = 16 tokens per micro-batch, BF16 (2 bytes).
const DENSE: ModelSpec = denseModel({ name: "dense", layers: 4, hidden: 64, heads: 4, kvHeads: 4, ffn: 128, vocab: 256, gatedMlp: true });
// 4 routed experts of 32, top-2, one shared expert.
const MOE: ModelSpec = { ...DENSE, name: "moe", experts: 4, topK: 2, expertFfn: 32, sharedExperts: 1 };
// MLA: q latent 32, kv latent 16, nope 16 + rope 8 per head, v 16.
const MLA: ModelSpec = { ...DENSE, name: "mla", kvLoraRank: 16, qLoraRank: 32, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vHeadDim: 16 };

function withModules(s: Scenario, modules: readonly RecomputeModule[] | undefined, extra: Partial<ParallelPlan> = {}): Scenario {
  const p: ParallelPlan = { ...s.parallelism, recompute: "selective", ...extra };
  if (modules !== undefined) p.recomputeModules = modules;
  return { ...s, parallelism: p };
}

function shape(model: ModelSpec, modules: readonly RecomputeModule[], attention: "flash" | "unfused" = "flash"): LayerShape {
  const s = scenario({ nodes: 1, gpusPerNode: 1, model, seqLength: 16, globalBatch: 1, attention });
  return layerShape(withModules(s, modules));
}

/** Bytes the modules save against keeping everything (recompute none). */
const saved = (model: ModelSpec, modules: readonly RecomputeModule[]): number => layerActivationBytes(shape(model, []), "none") - layerActivationBytes(shape(model, modules), "selective");

describe("activation bytes per module, by hand (h 64, T 16, BF16)", () => {
  it("MoE layer: layernorm drops the pre-MLP norm output, 2·16·64", () => {
    expect(saved(MOE, ["layernorm"])).toBe(2 * 16 * 64);
  });
  it("MoE layer: moe_act drops the experts' activation outputs, 2 bytes × 32 copies (16 tokens × top-2) × 32", () => {
    expect(saved(MOE, ["moe_act"])).toBe(2 * 32 * 32);
  });
  it("MoE layer: shared_experts drops the shared fc1 (gated, 2·32) and activation outputs, 16·32·(2·2 + 2)", () => {
    expect(saved(MOE, ["shared_experts"])).toBe(16 * 32 * 6);
  });
  it("MoE layer: moe keeps only its input: router scores 4·16·4, expert inputs 2·32·64, expert fc1/act 32·32·6, shared 16·32·6", () => {
    const whole = 4 * 16 * 4 + 2 * 32 * 64 + 32 * 32 * 6 + 16 * 32 * 6;
    expect(saved(MOE, ["moe"])).toBe(whole);
    // moe_act and shared_experts are inside the checkpoint: nothing more; layernorm adds the norm output.
    expect(saved(MOE, ["moe", "moe_act", "shared_experts"])).toBe(whole);
    expect(saved(MOE, ["layernorm", "moe"])).toBe(whole + 2 * 16 * 64);
  });
  it("dense layer: mlp drops fc1's input 2·16·64 and the fc1/act outputs 16·128·6; layernorm drops nothing (both norms fused into TE linears)", () => {
    expect(saved(DENSE, ["mlp"])).toBe(2 * 16 * 64 + 16 * 128 * 6);
    expect(saved(DENSE, ["layernorm"])).toBe(0);
  });
  it("MLA layer: layernorm drops the input norm's output 2·16·64; mla_up_proj drops Q, K, V: 2·16·4·(24 + 24 + 16)", () => {
    expect(saved(MLA, ["layernorm"])).toBe(2 * 16 * 64);
    expect(saved(MLA, ["mla_up_proj"])).toBe(2 * 16 * 4 * 64);
  });
  it("unfused attention: core_attn drops the softmax output 2·b·a·s² (no dropout), as selective does", () => {
    const none = layerActivationBytes(shape(DENSE, [], "unfused"), "selective");
    expect(none - layerActivationBytes(shape(DENSE, ["core_attn"], "unfused"), "selective")).toBe(2 * 4 * 16 * 16);
    expect(layerActivationBytes(shape(DENSE, ["core_attn"], "unfused"), "selective")).toBe(layerActivationBytes(shape(DENSE, [], "unfused"), "selective") - 2 * 4 * 16 * 16);
  });
});

describe("[core_attn] is recompute selective", () => {
  const cases: [string, Scenario][] = [
    ["dense, unfused attention, tp 2", scenario({ nodes: 1, gpusPerNode: 4, model: DENSE, seqLength: 256, globalBatch: 8, attention: "unfused", plan: { tp: 2, pp: 2, microBatch: 1 } })],
    ["MoE, ep 2, tp 2", scenario({ nodes: 1, gpusPerNode: 8, model: MOE, seqLength: 256, globalBatch: 16, plan: { tp: 2, ep: 2, pp: 2 } })],
  ];
  for (const [name, s] of cases) {
    it(`${name}: the same memory and step time, to the byte and the bit`, () => {
      const selective = withModules(s, undefined);
      const coreAttn = withModules(s, ["core_attn"]);
      expect(memoryByStage(coreAttn)).toEqual(memoryByStage(selective));
      expect(simulateStep(coreAttn).stepSeconds).toBe(simulateStep(selective).stepSeconds);
      expect(hardwareFlopsPerStep(coreAttn.workload, "selective", { modules: ["core_attn"] })).toBe(hardwareFlopsPerStep(selective.workload, "selective"));
    });
  }
});

describe("what the backward re-runs", () => {
  const s = scenario({ nodes: 1, gpusPerNode: 8, model: MOE, seqLength: 256, globalBatch: 16, plan: { tp: 2, ep: 2, pp: 2 } });
  const rec = (modules: readonly RecomputeModule[]) => layerRecomputeKernels(layerShape(withModules(s, modules)), "selective");

  it("moe: router, permute, experts and shared experts, with the dispatch and combine all-to-alls over ep (custom_forward runs the dispatcher inside the checkpoint)", () => {
    const r = rec(["moe"]);
    const names = r.kernels.map((k) => k.name);
    for (const n of ["router", "expert.permute", "expert.fc1", "expert.act", "expert.fc2", "expert.unpermute", "shared.fc1", "shared.fc2"]) expect(names).toContain(n);
    expect(names).not.toContain("attention.flash");
    expect(r.collectives.filter((c) => c.op === "all-to-all" && c.group === "ep").map((c) => c.count)).toEqual([2]);
    // The shared experts' sequence-parallel gather and reduce-scatter.
    expect(r.collectives.filter((c) => c.group === "tp").map((c) => c.op)).toEqual(["all-gather", "reduce-scatter"]);
  });
  it("moe_act re-runs only the experts' activation; layernorm the pre-MLP norm; neither any collective", () => {
    expect(rec(["moe_act"]).kernels.map((k) => k.name)).toEqual(["expert.act"]);
    expect(rec(["layernorm"]).kernels.map((k) => k.name)).toEqual(["ln2"]);
    expect(rec(["moe_act", "layernorm"]).collectives).toEqual([]);
  });
  it("in an FP8 run the re-run GEMMs cast their inputs again but not their weights (TE keeps the first forward's)", () => {
    const f = withModules(scenario({ nodes: 1, gpusPerNode: 8, model: MOE, seqLength: 256, globalBatch: 16, precision: "fp8", plan: { tp: 2, ep: 2, pp: 2 } }), ["moe"]);
    const names = layerRecomputeKernels(layerShape({ ...f, workload: { ...f.workload, fp8Recipe: "current" } }), "selective").kernels.map((k) => k.name);
    expect(names).toContain("expert.fc1.fp8-cast-input");
    expect(names).toContain("shared.fc2.fp8-cast-input");
    expect(names.filter((n) => n.endsWith(".fp8-cast-weight"))).toEqual([]);
  });
  it("mlp on a dense layer: the fused norm, fc1, activation, fc2 and their tensor-parallel gather and reduce-scatter", () => {
    const d = scenario({ nodes: 1, gpusPerNode: 2, model: DENSE, seqLength: 256, globalBatch: 4, plan: { tp: 2 } });
    const r = layerRecomputeKernels(layerShape(withModules(d, ["mlp"])), "selective");
    expect(r.kernels.map((k) => k.name)).toEqual(["ln2", "fc1", "act", "fc2"]);
    expect(r.collectives.map((c) => c.op)).toEqual(["all-gather", "reduce-scatter"]);
  });

  it("a step that recomputes more modules is never faster", () => {
    const chain: RecomputeModule[][] = [[], ["core_attn"], ["core_attn", "layernorm"], ["core_attn", "layernorm", "moe_act"], ["core_attn", "layernorm", "moe_act", "shared_experts"], ["core_attn", "layernorm", "moe"]];
    const times = chain.map((m) => simulateStep(withModules(s, m)).stepSeconds);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    expect(times[times.length - 1]).toBeGreaterThan(times[0] as number);
    // An empty list recomputes nothing: recompute none's step and memory.
    const none = { ...s, parallelism: { ...s.parallelism, recompute: "none" as const } };
    expect(times[0]).toBe(simulateStep(none).stepSeconds);
    expect(memoryByStage(withModules(s, []))).toEqual(memoryByStage(none));
  });

  it("moe under moeOverlap shared-experts: the re-run all-to-alls overlap the re-run shared experts, as in forward", () => {
    const o = withModules(s, ["moe"], { moeOverlap: "shared-experts" });
    const r = layerRecomputeKernels(layerShape(o), "selective");
    expect(r.collectives.find((c) => c.op === "all-to-all")?.overlap?.kernels).toEqual(["shared.fc1", "shared.fc2"]);
    const none = { ...o, parallelism: { ...o.parallelism, recompute: "none" as const } };
    expect(simulateStep(o).stepSeconds).toBeGreaterThan(simulateStep(none).stepSeconds);
  });

  it("hardware FLOPs add the recomputed matrices: moe the router and the active and shared experts of every MoE layer", () => {
    const w = s.workload;
    const tokens = w.globalBatch * w.seqLength;
    const perLayer = 64 * 4 + (2 + 1) * 3 * 64 * 32;
    expect(hardwareFlopsPerStep(w, "selective", { modules: ["moe"] }) - modelFlopsPerStep(w)).toBe(2 * tokens * 4 * perLayer);
    expect(hardwareFlopsPerStep(w, "selective", { modules: ["moe_act", "layernorm"] })).toBe(modelFlopsPerStep(w));
  });
});
