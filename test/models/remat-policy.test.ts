/**
 * Named-tensor remat (parallelism.remat, models/workload/remat-policy.ts): saved bytes per layer
 * by hand for MaxText's policies, the two ends (every tensor saved = recompute none; the input
 * alone = recompute full's memory), more saved never slower, offloaded bytes on the host and
 * over PCIe, and the loader's refusals.
 */
import { describe, expect, it } from "vitest";
import { problemsOf as problemsOfCall } from "../helpers/config-problems.ts";
import type { ConfigProblem } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import type { ModelSpec, Scenario } from "../../models/scenario.ts";
import { offloadSettings } from "../../models/step/offload.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { layerDims, layerForwardKernels, layerRecomputeKernels } from "../../models/workload/layer-kernels.ts";
import { layerActivationBytes, layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { rematPlan } from "../../models/workload/remat-policy.ts";
import { REMAT_TENSOR_NAMES, type RematSpec } from "../../models/workload/remat-names.ts";
import { rematFlopShare } from "../../models/workload/remat-flops.ts";
import { hardwareFlopsPerStep, modelFlopsPerStep } from "../../models/workload/flops.ts";
import { denseModel, IDEAL_ACCELERATOR, scenario } from "../helpers/scenario.ts";

// h 64, 4 query heads and 2 KV heads of 16, gated MLP of 128; one sequence of 8 tokens, bf16 (2 B), tp 1.
const SMALL: ModelSpec = denseModel({ name: "small", layers: 4, hidden: 64, heads: 4, kvHeads: 2, ffn: 128, vocab: 64, gatedMlp: true });

const withRemat = (remat: RematSpec | undefined, model: ModelSpec = SMALL, base: Partial<Scenario["parallelism"]> = {}): Scenario => {
  const s = scenario({ gpu: IDEAL_ACCELERATOR, nodes: 1, gpusPerNode: 1, model, seqLength: 8, globalBatch: 1, gpuVariability: 0, plan: { recompute: remat === undefined ? "none" : "full", ...base } });
  return remat === undefined ? s : { ...s, parallelism: { ...s.parallelism, remat } };
};
const plan = (remat: RematSpec, model: ModelSpec = SMALL): { deviceBytes: number; hostBytes: number } => {
  const x = layerShape(withRemat(remat, model));
  return rematPlan(x, layerDims(x), remat);
};

// Per tensor (e·tokens·width): input, norms, residual, out_proj 2·8·64 = 1024; Q 2·8·64 = 1024;
// K, V 2·8·32 = 512 each; context 2·8·64 + lse 4·1·4·8 = 1152; gate, up, activation 2·8·128 = 2048 each.
describe("saved bytes per layer, by hand (SMALL, one sequence of 8 tokens)", () => {
  it("full and custom keep the layer input only: 1024", () => {
    expect(plan({ policy: "full" })).toEqual({ deviceBytes: 1024, hostBytes: 0, recompute: expect.anything() });
    expect(plan({ policy: "custom" }).deviceBytes).toBe(1024);
  });
  it("save_qkv_proj: input + Q, K, V = 1024 + 2048", () => {
    expect(plan({ policy: "save_qkv_proj" }).deviceBytes).toBe(3072);
    expect(plan({ policy: "proj" }).deviceBytes).toBe(3072);
  });
  it("save_dot_except_mlpwi: input + Q, K, V + out_proj (mlpwo is never read) = 4096", () => {
    expect(plan({ policy: "save_dot_except_mlpwi" }).deviceBytes).toBe(4096);
    expect(plan({ policy: "save_dot_except_mlp" }).deviceBytes).toBe(4096);
  });
  it("save_dot_with_context_except_mlp: 4096 + context 1152", () => {
    expect(plan({ policy: "save_dot_with_context_except_mlp" }).deviceBytes).toBe(5248);
  });
  it("minimal: input + Q, K, V + out_proj + gate and up = 8192; with context 9344", () => {
    expect(plan({ policy: "minimal" }).deviceBytes).toBe(8192);
    expect(plan({ policy: "minimal_with_context" }).deviceBytes).toBe(9344);
    expect(plan({ policy: "minimal_flash" }).deviceBytes).toBe(9344);
  });
  it("offloaded tensors leave HBM: custom with context and mlpwo offloaded keeps 1024 on device, 1152 on the host", () => {
    expect(plan({ policy: "custom", offload: ["context", "mlpwo"] })).toMatchObject({ deviceBytes: 1024, hostBytes: 1152 });
    expect(plan({ policy: "custom", offload: ["decoder_layer_input", "out_proj"] })).toMatchObject({ deviceBytes: 0, hostBytes: 2048 });
    expect(plan({ policy: "minimal_offloaded" })).toMatchObject({ deviceBytes: 1024, hostBytes: 7168 });
  });
  it("a non-gated MLP: mlpwi is its one up projection, mlpwi_0 and mlpwi_1 name nothing", () => {
    const relu = { ...SMALL, gatedMlp: false };
    expect(plan({ policy: "custom", save: ["mlpwi"] }, relu).deviceBytes).toBe(1024 + 2048);
    expect(plan({ policy: "custom", save: ["mlpwi_0", "mlpwi_1"] }, relu).deviceBytes).toBe(1024);
  });
});

describe("the two ends", () => {
  const all: RematSpec = { policy: "custom", save: [...REMAT_TENSOR_NAMES] };

  it("every tensor saved is recompute none: the layer's bytes, nothing re-run, the same memory and step", () => {
    const x = layerShape(withRemat(all));
    expect(plan(all).deviceBytes).toBe(layerActivationBytes(layerShape(withRemat(undefined)), "none"));
    expect(plan(all).deviceBytes).toBe(13440);
    expect(layerRecomputeKernels(x, "full")).toEqual({ kernels: [], collectives: [] });
    expect(memoryByStage(withRemat(all))).toEqual(memoryByStage(withRemat(undefined)));
    expect(simulateStep(withRemat(all)).stepSeconds).toBe(simulateStep(withRemat(undefined)).stepSeconds);
  });

  it("a MoE layer with MLA and shared experts: every tensor saved is recompute none's bytes and the routed fc2 outputs", () => {
    const moe: ModelSpec = { ...SMALL, experts: 4, topK: 2, expertFfn: 32, sharedExperts: 1, kvLoraRank: 16, qLoraRank: 24, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vHeadDim: 16 };
    const x = layerShape(withRemat(all, moe));
    // The top-k weighted sum's VJP reads fc2's outputs for the router weights' cotangent (MaxText moe.py
    // unpermute, einsum 'BKE,BK -> BE'): mlpwo saved keeps them, 2 B · (8 tokens · top-2) copies · 64 = 2048
    // beyond what memory.ts counts for recompute none (which leaves them out).
    expect(rematPlan(x, layerDims(x), all).deviceBytes).toBe(layerActivationBytes(layerShape(withRemat(undefined, moe)), "none") + 2048);
    expect(layerRecomputeKernels(x, "full")).toEqual({ kernels: [], collectives: [] });
    // Policy full re-runs the router and its steps, the permute, the experts' up projections, activation,
    // down projection and the unsort (read by the weighted sum's backward); not the shared fc2 or the last residual.
    const full = layerShape(withRemat({ policy: "full" }, moe));
    const names = layerRecomputeKernels(full, "full").kernels.map((k) => k.name);
    const fwd = layerForwardKernels(full).kernels.map((k) => k.name);
    expect(names).toEqual(fwd.filter((n) => !["shared.fc2", "mlp.residual"].includes(n)));
    // mlpwo kept (save_dot_except_mlpwi): the routed fc2 is not re-run; the activation still is (fc2's weight gradient reads it).
    const wo = layerShape(withRemat({ policy: "save_dot_except_mlpwi" }, moe));
    const woNames = layerRecomputeKernels(wo, "full").kernels.map((k) => k.name);
    expect(woNames).not.toContain("expert.fc2");
    expect(woNames).toContain("expert.act");
  });

  it("policy full keeps what recompute full keeps; it re-runs the same kernels but the MLP's down projection and last residual add (dead code)", () => {
    expect(memoryByStage(withRemat({ policy: "full" }))).toEqual(memoryByStage(withRemat(undefined, SMALL, { recompute: "full" })));
    const x = layerShape(withRemat({ policy: "full" }));
    const names = layerRecomputeKernels(x, "full").kernels.map((k) => k.name);
    const full = layerForwardKernels(x).kernels.map((k) => k.name);
    expect(names).toEqual(full.filter((n) => n !== "fc2" && n !== "mlp.residual"));
  });
});

describe("memory at the start of backward", () => {
  it("minimal against full: 4 layers × (8192 − 1024) kept, less the 7168 a recomputed layer no longer rebuilds", () => {
    const act = (r: RematSpec): number => memoryByStage(withRemat(r))[0]!.activations;
    expect(act({ policy: "minimal" }) - act({ policy: "full" })).toBe(4 * 7168 - 7168);
  });
});

describe("more saved is never slower", () => {
  it("full ⊂ save_qkv_proj ⊂ save_dot_except_mlp ⊂ save_dot_with_context_except_mlp ⊂ minimal_with_context ⊂ everything: step time never rises", () => {
    const chain: RematSpec[] = [
      { policy: "full" },
      { policy: "save_qkv_proj" },
      { policy: "save_dot_except_mlp" },
      { policy: "save_dot_with_context_except_mlp" },
      { policy: "minimal_with_context" },
      { policy: "custom", save: [...REMAT_TENSOR_NAMES] },
    ];
    const model = denseModel({ name: "mid", layers: 2, hidden: 1024, heads: 8, kvHeads: 8, ffn: 4096, vocab: 1024, gatedMlp: true });
    const times = chain.map((r) => simulateStep({ ...withRemat(r, model), workload: { ...withRemat(r, model).workload, seqLength: 1024 } }).stepSeconds);
    for (let i = 1; i < times.length; i++) expect(times[i]!, `step ${i}`).toBeLessThanOrEqual(times[i - 1]!);
    expect(times[times.length - 1]!).toBeLessThan(times[0]!);
  });
});

describe("offloaded tensors cross PCIe every layer", () => {
  it("offloadSettings copies each layer's offloaded bytes; memory puts them on the host", () => {
    const s = withRemat({ policy: "custom", offload: ["context"] });
    expect(offloadSettings(s).activationBytesPerLayer([4], 0)).toBe(1152);
    expect(memoryByStage(s)[0]!.hostBytes).toBe(4 * 1152);
  });
});

const fromObject = (obj: unknown) => scenarioFromObject(obj, { baseDir: ".", name: "test" });
function problemsOf(obj: unknown): ConfigProblem[] {
  return problemsOfCall(() => fromObject(obj));
}
const config = (parallelism: Record<string, unknown>, workload: Record<string, unknown> = {}): Record<string, unknown> => ({
  cluster: { gpu: "TPU-v5p", nodes: 1, gpusPerNode: 4 },
  workload: { model: "llama3-8b", seqLength: 2048, globalBatch: 4, ...workload },
  parallelism: { tp: 1, zero: 3, ...parallelism },
});

describe("loading parallelism.remat", () => {
  it("sets recompute full and keeps the spec as written", () => {
    const p = fromObject(config({ remat: { policy: "custom", offload: ["context"] } })).parallelism;
    expect(p.recompute).toBe("full");
    expect(p.remat).toEqual({ policy: "custom", offload: ["context"] });
    expect(fromObject(config({})).parallelism).not.toHaveProperty("remat");
  });
  it("refuses an unknown policy, naming the field, the value and the allowed values", () => {
    const [p] = problemsOf(config({ remat: { policy: "selective" } }));
    expect(p!.path).toBe("parallelism.remat.policy");
    expect(p!.message).toContain("selective");
    expect(p!.message).toContain("save_dot_except_mlpwi");
  });
  it("refuses an unknown tensor name", () => {
    const [p] = problemsOf(config({ remat: { policy: "custom", offload: ["mlp_out"] } }));
    expect(p!.path).toMatch(/^parallelism\.remat\.offload/);
    expect(p!.message).toContain("mlp_out");
    expect(p!.message).toContain("decoder_layer_input");
  });
  it("refuses another recompute mode beside it, and FP8", () => {
    const [r] = problemsOf(config({ recompute: "selective", remat: { policy: "minimal" } }));
    expect(r!.path).toBe("parallelism.recompute");
    expect(r!.message).toContain("full");
    expect(fromObject(config({ recompute: "full", remat: { policy: "minimal" } })).parallelism.recompute).toBe("full");
    const [f] = problemsOf({ ...config({ remat: { policy: "minimal" } }), cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 2048, globalBatch: 8, precision: "fp8" } });
    expect(f!.path).toBe("parallelism.remat");
    expect(f!.message).toContain("fp8");
  });
});

describe("hardware FLOPs count what the policy re-runs", () => {
  it("policy full: the forward's FLOPs but fc2's and the last residual's; everything saved: model FLOPs", () => {
    const all = withRemat({ policy: "custom", save: [...REMAT_TENSOR_NAMES] });
    expect(rematFlopShare(all)).toBe(0);
    expect(hardwareFlopsPerStep(all.workload, "full", { rematShare: rematFlopShare(all) })).toBe(modelFlopsPerStep(all.workload));
    const full = withRemat({ policy: "full" });
    const x = layerShape(full);
    const fwd = layerForwardKernels(x).kernels;
    const flops = (ks: typeof fwd): number => ks.reduce((a, k) => a + k.flops, 0);
    expect(rematFlopShare(full)).toBeCloseTo(flops(fwd.filter((k) => k.name !== "fc2" && k.name !== "mlp.residual")) / flops(fwd), 12);
    expect(rematFlopShare(withRemat(undefined))).toBeUndefined();
  });
});
