/**
 * Megatron-Core's fine-grained activation offloading (parallelism.offloadModules,
 * models/workload/offload-modules.ts): offloaded bytes of a small MoE layer by hand, host and HBM
 * bytes per stage, nothing changes without it, the copies never speed a step up and cost nothing
 * on an unlimited host link, and the loader's refusals.
 */
import { describe, expect, it, vi } from "vitest";
import { oneProblem } from "../helpers/config-problems.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import type { ModelSpec, OffloadModule, Scenario } from "../../models/scenario.ts";
import { offloadSettings } from "../../models/step/offload.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { layerShape, memoryByStage, moduleOffloadBytes } from "../../models/workload/memory.ts";
import { denseModel, scenario } from "../helpers/scenario.ts";

// The host link's bandwidth scaled by `scale` (1: as modelled), to test the two ends.
const link = vi.hoisted(() => ({ scale: 1 }));
vi.mock("../../models/network/host.ts", async (original) => {
  const m = await original<typeof import("../../models/network/host.ts")>();
  return { ...m, hostCopyBandwidth: (gpu: Parameters<typeof m.hostCopyBandwidth>[0]) => m.hostCopyBandwidth(gpu) * link.scale };
});

// h 256, 4 experts of a gated 512-wide MLP, top-2; bf16, one GPU (tp 1, ep 1, balanced routing).
const MOE: ModelSpec = denseModel({ name: "small-moe", layers: 4, hidden: 256, heads: 4, kvHeads: 4, ffn: 1024, vocab: 64, gatedMlp: true, experts: 4, topK: 2, expertFfn: 512 });

const run = (offloadModules: readonly OffloadModule[] | undefined, seqLength = 2048, plan: Partial<Scenario["parallelism"]> = {}): Scenario => {
  const s = scenario({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 1, model: MOE, seqLength, globalBatch: 1, gpuVariability: 0, plan: { recompute: "selective", ...plan } });
  return offloadModules === undefined ? s : { ...s, parallelism: { ...s.parallelism, offloadModules } };
};

// 2048 tokens × top-2 = 4096 routed copies. fc1's input: 4096 × 256 = 2^20 elements, 2 B each = 2 097 152 B.
// fc1's output (gate and up): 4096 × 512 × 2 = 4 194 304 elements = 8 388 608 B.
const FC1_INPUT = 2 * 4096 * 256;
const FC1_OUTPUT = 2 * 4096 * 512 * 2;

describe("offloaded bytes of one MoE layer, by hand", () => {
  it("expert_fc1 moves fc1's input, moe_act the activation's input (fc1's output)", () => {
    expect(moduleOffloadBytes(layerShape(run(["expert_fc1"])), run(["expert_fc1"]).parallelism)).toBe(FC1_INPUT);
    expect(moduleOffloadBytes(layerShape(run(["moe_act"])), run(["moe_act"]).parallelism)).toBe(FC1_OUTPUT);
    expect(moduleOffloadBytes(layerShape(run(["expert_fc1", "moe_act"])), run(["expert_fc1", "moe_act"]).parallelism)).toBe(FC1_INPUT + FC1_OUTPUT);
  });
  it("a tensor under 1024·1024 elements stays (1024 tokens: fc1's input is 2^19 elements)", () => {
    const s = run(["expert_fc1", "moe_act"], 1024);
    expect(moduleOffloadBytes(layerShape(s), s.parallelism)).toBe(FC1_OUTPUT / 2);
  });
  it("FP8: fc1's input leaves as its MXFP8 copy (1 + 1/32 B per element), under other recipes as the BF16 original", () => {
    const fp8 = (fp8Recipe: "mxfp8" | "current"): Scenario => {
      const s = run(["expert_fc1"]);
      return { ...s, workload: { ...s.workload, precision: "fp8", fp8Recipe } };
    };
    expect(moduleOffloadBytes(layerShape(fp8("mxfp8")), fp8("mxfp8").parallelism)).toBe((1 + 1 / 32) * 4096 * 256);
    expect(moduleOffloadBytes(layerShape(fp8("current")), fp8("current").parallelism)).toBe(FC1_INPUT);
    // Counted in HBM as the FP8 copy without offload (1 B per element with current scaling), as offloaded: the BF16 original.
    expect(moduleOffloadBytes(layerShape(fp8("current")), fp8("current").parallelism, "counted")).toBe(4096 * 256);
    const plain = memoryByStage({ ...fp8("current"), parallelism: { ...fp8("current").parallelism, offloadModules: [] } })[0]!;
    const off = memoryByStage(fp8("current"))[0]!;
    // 4 stored layers' FP8 copies leave HBM, two layers' BF16 originals are in transit: 4·2^20 − 2·2^21 = 0 here.
    expect(plain.activations - off.activations).toBe(4 * 4096 * 256 - 2 * FC1_INPUT);
    expect(off.hostBytes).toBe(4 * FC1_INPUT);
  });
  it("moe_act also recomputed: its input is still offloaded (the checkpoint keeps it), the recompute drops the output", () => {
    const both = run(["moe_act"], 2048, { recomputeModules: ["moe_act"] });
    expect(moduleOffloadBytes(layerShape(both), both.parallelism)).toBe(FC1_OUTPUT);
    const recomputed = run(undefined, 2048, { recomputeModules: ["moe_act"] });
    // 4 stored layers, 2 in transit: HBM loses 2 layers' fc1 output, the host holds 4.
    expect(memoryByStage(recomputed)[0]!.activations - memoryByStage(both)[0]!.activations).toBe(2 * FC1_OUTPUT);
    expect(memoryByStage(both)[0]!.hostBytes).toBe(4 * FC1_OUTPUT);
  });
});

describe("memory and step", () => {
  it("absent or empty: memory and step identical", () => {
    expect(memoryByStage(run([]))).toEqual(memoryByStage(run(undefined)));
    expect(simulateStep(run([])).stepSeconds).toBe(simulateStep(run(undefined)).stepSeconds);
    expect(offloadSettings(run([])).activationBytesPerLayer([4], 0)).toBe(0);
  });
  it("each stored layer's bytes on the host, two layers' in transit on the GPU", () => {
    const off = memoryByStage(run(["expert_fc1", "moe_act"]))[0]!;
    const none = memoryByStage(run(undefined))[0]!;
    expect(off.hostBytes).toBe(4 * (FC1_INPUT + FC1_OUTPUT));
    expect(none.activations - off.activations).toBe(2 * (FC1_INPUT + FC1_OUTPUT));
    expect(none.total - off.total).toBe(2 * (FC1_INPUT + FC1_OUTPUT));
  });
  it("the copies cross the host link each way per layer and micro-batch", () => {
    expect(offloadSettings(run(["expert_fc1", "moe_act"])).activationBytesPerLayer([4], 0)).toBe(FC1_INPUT + FC1_OUTPUT);
  });
  it("an unlimited host link: the step equals the step without offload", () => {
    link.scale = 1e9;
    try {
      expect(simulateStep(run(["expert_fc1", "moe_act"])).stepSeconds).toBeCloseTo(simulateStep(run(undefined)).stepSeconds, 12);
    } finally {
      link.scale = 1;
    }
  });
  it("a slower host link makes the step slower, never faster", () => {
    const base = simulateStep(run(undefined)).stepSeconds;
    const times = [1, 1e-2, 1e-4].map((scale) => {
      link.scale = scale;
      try {
        return simulateStep(run(["expert_fc1", "moe_act"])).stepSeconds;
      } finally {
        link.scale = 1;
      }
    });
    expect(times[0]!).toBeGreaterThanOrEqual(base);
    expect(times[1]!).toBeGreaterThanOrEqual(times[0]!);
    expect(times[2]!).toBeGreaterThan(times[1]!);
    // At 1e-4 the link sets the pace: 8 copies of 10 MiB per step (4 layers × 2 ways) at the scaled bandwidth, at least.
    expect(times[2]!).toBeGreaterThan(base);
  });
});

const MOE_CONFIG = { base: "llama3-8b", layers: 4, experts: 8, topK: 2, expertFfn: 1024 };
function load(parallelism: Record<string, unknown>, workload: Record<string, unknown> = {}) {
  const obj = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: MOE_CONFIG, seqLength: 4096, globalBatch: 8, ...workload }, parallelism: { tp: 1, ep: 8, ...parallelism } };
  return scenarioFromObject(obj, { name: "test", baseDir: "." });
}
const one = oneProblem;

describe("loading parallelism.offloadModules", () => {
  it("is taken as written, also beside recomputeModules [moe_act], and absent otherwise", () => {
    expect(load({ offloadModules: ["expert_fc1", "moe_act"] }).parallelism.offloadModules).toEqual(["expert_fc1", "moe_act"]);
    expect(load({ recompute: "selective", recomputeModules: ["moe_act"], offloadModules: ["moe_act"] }).parallelism.offloadModules).toEqual(["moe_act"]);
    expect(load({}).parallelism.offloadModules).toBeUndefined();
  });
  it("refuses a name it does not model, listing the allowed ones", () => {
    const p = one(() => load({ offloadModules: ["core_attn"] }));
    expect(p.path).toBe("parallelism.offloadModules.0");
    expect(p.message).toContain("core_attn");
    expect(p.message).toContain("expert_fc1");
    expect(p.message).toContain("moe_act");
  });
  it("refuses a module listed twice", () => {
    const p = one(() => load({ offloadModules: ["moe_act", "moe_act"] }));
    expect(p.path).toBe("parallelism.offloadModules");
    expect(p.message).toContain("twice");
  });
  it("refuses a model without MoE layers", () => {
    const p = one(() => scenarioFromObject({ cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8 }, parallelism: { tp: 1, offloadModules: ["expert_fc1"] } }, { name: "t", baseDir: "." }));
    expect(p.path).toBe("parallelism.offloadModules.0");
    expect(p.message).toContain("experts 1");
  });
  it("refuses what Megatron-Core refuses: moe in recomputeModules, whole-layer offload", () => {
    const moe = one(() => load({ recompute: "selective", recomputeModules: ["moe"], offloadModules: ["expert_fc1"] }));
    expect(moe.path).toBe("parallelism.offloadModules.0");
    expect(moe.message).toContain("moe in --recompute-modules");
    const layers = one(() => load({ offloadActivations: 2, offloadModules: ["moe_act"] }));
    expect(layers.path).toBe("parallelism.offloadModules.0");
    expect(layers.message).toContain("offloadActivations");
  });
  it("refuses recompute full (nothing inside the experts is kept)", () => {
    const p = one(() => load({ recompute: "full", offloadModules: ["moe_act"] }));
    expect(p.message).toContain("recompute full");
  });
});
