import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import type { ParallelPlan } from "../../models/scenario.ts";
import { layerBackwardKernels, layerForwardKernels, layerRecomputeKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { IDEAL_ACCELERATOR, scenario, TINY_MODEL } from "../helpers/scenario.ts";

// ring-flash-attention's per-step merges (models/workload/ring-merge.ts), hand-computed from
// zhuzilin/ring-flash-attention 55ff66f zigzag_ring_flash_attn.py / utils.py.
describe("ring-flash-attention merges (cpRingImplementation ring-flash-attn)", () => {
  // 8192 tokens over cp 4: 2048 tokens a rank, 32 heads × 128: 2048 · 4096 output elements.
  const shape = (plan: Partial<ParallelPlan>, kvHeads = 32): LayerShape => {
    const s = scenario({ gpu: IDEAL_ACCELERATOR, nodes: 1, gpusPerNode: 4, model: { ...TINY_MODEL, kvHeads }, seqLength: 8192, globalBatch: 1, plan: { cp: 4, dp: 1, zero: 0 } });
    return layerShape({ ...s, parallelism: { ...s.parallelism, ...plan } });
  };
  const N = 2048 * 4096;
  const kernel = (x: LayerShape, name: string) => [...layerForwardKernels(x).kernels, ...layerBackwardKernels(x).kernels].find((k) => k.name === name);

  it("zigzag forward: casts in and out (2 + 4 bytes each), 1.5 all-rows merges (4 + 2 + 4) and 1.5 half-rows merges (5 + 4 of the slice written back)", () => {
    // cp 4: steps 1..3, half of them (on the mean rank) before the rank's own, half after.
    const merge = kernel(shape({ cpRingImplementation: "ring-flash-attn" }), "attention.ring-merge")!;
    expect(merge.kind).toBe("memory");
    expect(merge.bytes).toBe((6 + 6 + 1.5 * 10 + 1.5 * 9) * N);
  });

  it("zigzag backward: dQ, dK, dV cast in and out, and per step three quarters of them accumulated in fp32 (4 + 2 + 4)", () => {
    const merge = kernel(shape({ cpRingImplementation: "ring-flash-attn" }), "attention.ring-merge.bwd")!;
    expect(merge.backward).toBe(true);
    expect(merge.bytes).toBe((6 + 6 + 3 * 0.75 * 10) * 3 * N);
    // Grouped KV heads (8 of 32): dK and dV are a quarter of dQ each.
    expect(kernel(shape({ cpRingImplementation: "ring-flash-attn" }, 8), "attention.ring-merge.bwd")!.bytes).toBe((6 + 6 + 3 * 0.75 * 10) * 1.5 * N);
  });

  it("contiguous ring (ring_flash_attn_func): the last rank merges all rows at every step", () => {
    const x = shape({ cpRingImplementation: "ring-flash-attn", cpLayout: "contiguous" });
    expect(kernel(x, "attention.ring-merge")!.bytes).toBe((6 + 6 + 3 * 10) * N);
    expect(kernel(x, "attention.ring-merge.bwd")!.bytes).toBe((6 + 6 + 3 * 10) * 3 * N);
  });

  it("full recompute re-runs the forward merges; the backward ring carries K, V (bf16) and dK, dV (fp32)", () => {
    const x = shape({ cpRingImplementation: "ring-flash-attn" });
    expect(layerRecomputeKernels(x, "full").kernels.some((k) => k.name === "attention.ring-merge")).toBe(true);
    const f = layerForwardKernels(x).collectives.find((c) => c.group === "cp")!;
    const b = layerBackwardKernels(x).collectives.find((c) => c.group === "cp")!;
    // K and V of the 2048 local tokens, 2 × 4096 wide, 2 bytes, passed over the 4 ranks.
    expect(f.bytes).toBe(2 * 2048 * 2 * 4096 * 4);
    expect(b.bytes).toBe(3 * f.bytes);
  });

  it("absent, nothing changes: no merge kernels and K, V with their bf16-sized gradients", () => {
    const x = shape({});
    expect(kernel(x, "attention.ring-merge")).toBeUndefined();
    expect(kernel(x, "attention.ring-merge.bwd")).toBeUndefined();
    expect(layerBackwardKernels(x).collectives.find((c) => c.group === "cp")!.bytes).toBe(2 * layerForwardKernels(x).collectives.find((c) => c.group === "cp")!.bytes);
  });

  it("needs cpCommType p2p, and only ring-flash-attn is known: refused naming the field otherwise", () => {
    const raw = (parallelism: Record<string, unknown>) => ({ cluster: { gpu: "A100-80GB", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 65536, globalBatch: 1 }, parallelism: { cp: 8, dp: 1, ...parallelism } });
    expect(scenarioFromObject(raw({ cpRingImplementation: "ring-flash-attn" }), { baseDir: ".", name: "t" }).parallelism.cpRingImplementation).toBe("ring-flash-attn");
    for (const bad of [{ cpCommType: "a2a", cpRingImplementation: "ring-flash-attn" }, { cpRingImplementation: "te" }]) {
      try {
        scenarioFromObject(raw(bad), { baseDir: ".", name: "t" });
        throw new Error("expected a ConfigError");
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).problems.map((p) => p.path)).toContain("parallelism.cpRingImplementation");
      }
    }
  });
});
