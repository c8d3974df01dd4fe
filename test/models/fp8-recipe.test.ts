import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scenarioFromObject } from "../../experiments/load.ts";
import type { Kernel } from "../../models/compute/kernel.ts";
import { quantizeBytesPerElement, type Fp8Recipe } from "../../models/workload/fp8.ts";
import { headKernels, layerBackwardKernels, layerForwardKernels, layerRecomputeKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { scenario } from "../helpers/scenario.ts";
import { smallFp8Layer } from "../helpers/fp8-layer.ts";

// The small layer of test/helpers/fp8-layer.ts; four micro-batches per step (weights are cast on one of them).
const shape = (recipe?: Fp8Recipe, attention = false): LayerShape => smallFp8Layer({ recipe, fp8Attention: attention, microBatches: 4, gradAccumulationFusion: true });

function byName(list: Kernel[], name: string): Kernel {
  const k = list.find((x) => x.name === name);
  if (!k) throw new Error(`no kernel ${name} in ${list.map((x) => x.name).join(", ")}`);
  return k;
}

const T = 2048;
const H = 1024;

describe("FP8 recipes: the quantization kernels, by hand", () => {
  it("bytes per source element: delayed 2+2, current adds an amax pass (+2), blockwise and mxfp8 add their scales", () => {
    expect(quantizeBytesPerElement("delayed", 2)).toBe(4);
    expect(quantizeBytesPerElement("current", 2)).toBe(6);
    expect(quantizeBytesPerElement("blockwise", 2)).toBe(4 + (2 * 4) / 128);
    expect(quantizeBytesPerElement("mxfp8", 2)).toBe(4 + (2 * 1) / 32);
  });

  it("delayed scaling on the small layer: input, weight and gradient casts of the QKV projection", () => {
    const fwd = layerForwardKernels(shape("delayed")).kernels;
    // Input: T·h = 2,097,152 elements, read 2 B, write FP8 and its transpose (1 + 1 B).
    expect(byName(fwd, "qkv.fp8-cast-input").bytes).toBe(4 * 2_097_152);
    expect(byName(fwd, "qkv.fp8-cast-input").launches).toBe(1);
    // Weight: h·3h = 3,145,728 elements, once per step of four micro-batches.
    expect(byName(fwd, "qkv.fp8-cast-weight").bytes).toBe((4 * 3_145_728) / 4);
    expect(byName(fwd, "qkv.fp8-cast-weight").launches).toBe(0.25);
    // The GEMM reads FP8 inputs (1 B) and writes BF16 (2 B): T·h + h·3h + 2·T·3h.
    const qkv = byName(fwd, "qkv");
    expect(qkv.precision).toBe("fp8");
    expect(qkv.bytes).toBe(T * H + H * 3 * H + 2 * T * 3 * H);
    const bwd = layerBackwardKernels(shape("delayed")).kernels;
    // Output gradient of the QKV projection: T·3h = 6,291,456 elements.
    expect(byName(bwd, "qkv.fp8-cast-grad").bytes).toBe(4 * 6_291_456);
    expect(byName(bwd, "qkv.dgrad").precision).toBe("fp8");
    expect(byName(bwd, "qkv.wgrad").precision).toBe("fp8");
    // Every linear layer quantizes; nothing else does.
    const casts = fwd.filter((k) => k.name.includes("fp8-cast")).map((k) => k.name);
    expect(casts).toEqual([
      "qkv.fp8-cast-input",
      "qkv.fp8-cast-weight",
      "proj.fp8-cast-input",
      "proj.fp8-cast-weight",
      "fc1.fp8-cast-input",
      "fc1.fp8-cast-weight",
      "fc2.fp8-cast-input",
      "fc2.fp8-cast-weight",
    ]);
    // The forward's extra traffic, all four layers: inputs T·(h + h + h + 4h), weights (3h² + h² + 4h² + 4h²)/4.
    const total = fwd.filter((k) => k.name.includes("fp8-cast")).reduce((a, k) => a + k.bytes, 0);
    expect(total).toBe(4 * (T * 7 * H) + (4 * 12 * H * H) / 4);
  });

  it("full recompute re-casts the inputs but reuses the cached FP8 weights", () => {
    const again = layerRecomputeKernels(shape("delayed"), "full").kernels.map((k) => k.name);
    expect(again).toContain("qkv.fp8-cast-input");
    expect(again.some((n) => n.endsWith(".fp8-cast-weight"))).toBe(false);
  });

  it("current scaling: the same casts plus an amax pass each (read 2 B more, one more launch)", () => {
    const fwd = layerForwardKernels(shape("current")).kernels;
    expect(byName(fwd, "fc2.fp8-cast-input").bytes).toBe(6 * T * 4 * H);
    expect(byName(fwd, "fc2.fp8-cast-input").launches).toBe(2);
    const bwd = layerBackwardKernels(shape("current")).kernels;
    expect(byName(bwd, "fc1.fp8-cast-grad").bytes).toBe(6 * T * 4 * H);
  });

  it("blockwise and mxfp8: scales per block, written for both the row-wise and the column-wise copy", () => {
    const block = byName(layerForwardKernels(shape("blockwise")).kernels, "proj.fp8-cast-input");
    expect(block.bytes).toBe((2 + 2) * T * H + 2 * ((T * H) / 128) * 4);
    const mx = byName(layerForwardKernels(shape("mxfp8")).kernels, "proj.fp8-cast-input");
    expect(mx.bytes).toBe((2 + 2) * T * H + 2 * ((T * H) / 32) * 1);
  });

  it("attention stays in BF16 unless fp8Attention; the output layer stays in BF16", () => {
    const bf16Attn = byName(layerForwardKernels(shape("delayed")).kernels, "attention.flash");
    expect(bf16Attn.precision).toBe("bf16");
    const fp8Attn = byName(layerForwardKernels(shape("delayed", true)).kernels, "attention.flash");
    expect(fp8Attn.precision).toBe("fp8");
    // FP8 Q, K, V, O: half the bytes apart from the fp32 softmax statistics (4 B per query row and head).
    const stats = 4 * T * 8;
    expect(fp8Attn.bytes - stats).toBe((bf16Attn.bytes - stats) / 2);
    expect(byName(layerBackwardKernels(shape("delayed")).kernels, "attention.flash.bwd").precision).toBe("bf16");
    expect(byName(headKernels(shape("delayed"), "forward").kernels, "logits").precision).toBe("bf16");
  });

  it("a BF16 run has no casts and no precision tags (unchanged kernels)", () => {
    const all = [...layerForwardKernels(shape()).kernels, ...layerBackwardKernels(shape()).kernels];
    expect(all.some((k) => k.name.includes("fp8"))).toBe(false);
    expect(all.some((k) => k.precision !== undefined)).toBe(false);
  });
});

describe("FP8 in a step", () => {
  it("an FP8 step is faster than BF16 but far from the 2x of the peaks; FP8 attention is faster still", () => {
    const base = { nodes: 1, model: "llama3-8b", seqLength: 8192, globalBatch: 64, plan: { tp: 2, zero: 1 as const } };
    const bf16 = simulateStep(scenario(base)).stepSeconds;
    const s8 = scenario({ ...base, precision: "fp8" });
    const fp8 = simulateStep(s8).stepSeconds;
    const fp8Attn = simulateStep({ ...s8, workload: { ...s8.workload, fp8Attention: true } }).stepSeconds;
    expect(fp8).toBeLessThan(bf16);
    expect(bf16 / fp8).toBeLessThan(1.5);
    expect(fp8Attn).toBeLessThan(fp8);
    expect(layerShape(s8).fp8).toEqual({ recipe: "delayed", attention: false, weightCastShare: 1 / layerShapeMicroBatches(s8) });
  });
});

function layerShapeMicroBatches(s: ReturnType<typeof scenario>): number {
  const p = s.parallelism;
  return s.workload.globalBatch / (p.dp * p.microBatch);
}

describe("workload.fp8Recipe in configs", () => {
  const config = (gpu: string, workload: Record<string, unknown>) => ({
    cluster: { gpu, nodes: 1 },
    workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64, ...workload },
    parallelism: { tp: 2 },
  });

  it("loads the recipe and fp8Attention for an FP8 run, and leaves BF16 runs as they were", () => {
    const s = scenarioFromObject(config("B200", { precision: "fp8", fp8Recipe: "mxfp8", fp8Attention: true }), { baseDir: import.meta.dirname });
    expect(s.workload.fp8Recipe).toBe("mxfp8");
    expect(s.workload.fp8Attention).toBe(true);
    const d = scenarioFromObject(config("H100-SXM", { precision: "fp8" }), { baseDir: import.meta.dirname });
    expect(d.workload.fp8Recipe).toBe("delayed");
    expect(d.workload.fp8Attention).toBe(false);
    const b = scenarioFromObject(config("H100-SXM", {}), { baseDir: import.meta.dirname });
    expect(b.workload).not.toHaveProperty("fp8Recipe");
  });

  it("an unknown recipe names the field, the value and what is allowed", () => {
    expect(() => scenarioFromObject(config("H100-SXM", { precision: "fp8", fp8Recipe: "e4m3" }), { baseDir: import.meta.dirname })).toThrow(
      /workload\.fp8Recipe: "e4m3" is not allowed; expected one of "delayed", "current", "mxfp8", "blockwise"/,
    );
  });

  it("mxfp8 is refused on hardware without microscaling tensor cores, naming the allowed recipes", () => {
    expect(() => scenarioFromObject(config("H100-SXM", { precision: "fp8", fp8Recipe: "mxfp8" }), { baseDir: import.meta.dirname })).toThrow(
      /workload\.fp8Recipe: "mxfp8" is not allowed on H100-SXM: .*expected one of "delayed", "current", "blockwise"/,
    );
  });

  it("an inline or overridden GPU can declare MXFP8 tensor cores; overrides keep and change the base's capability and calibration", () => {
    const own = scenarioFromObject({ ...config("B200", { precision: "fp8", fp8Recipe: "mxfp8" }), cluster: { gpu: { base: "H100-SXM", mxfp8: true, efficiency: { fp8GemmPeakFraction: 0.7 } }, nodes: 1 } }, { baseDir: import.meta.dirname });
    expect(own.cluster.gpu.mxfp8).toBe(true);
    expect(own.cluster.gpu.efficiency.fp8GemmPeakFraction).toBe(0.7);
    expect(own.cluster.gpu.efficiency.attentionBackwardPeakFraction).toBe(0.325);
    expect(scenarioFromObject({ ...config("B200", { precision: "fp8", fp8Recipe: "mxfp8" }), cluster: { gpu: { base: "B200" }, nodes: 1 } }, { baseDir: import.meta.dirname }).cluster.gpu.mxfp8).toBe(true);
  });

  it("FP8 attention needs the fused kernel", () => {
    expect(() => scenarioFromObject(config("H100-SXM", { precision: "fp8", fp8Attention: true, attention: "unfused" }), { baseDir: import.meta.dirname })).toThrow(
      /workload\.fp8Attention: true is not allowed with attention: unfused/,
    );
  });

  it("the CLI exits 2 on it, with no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-fp8-"));
    const file = join(dir, "mx.yaml");
    writeFileSync(file, "cluster: { gpu: H100-SXM, nodes: 1 }\nworkload: { model: llama3-8b, seqLength: 4096, globalBatch: 64, precision: fp8, fp8Recipe: mxfp8 }\nparallelism: { tp: 2 }\n");
    const r = spawnSync(process.execPath, [join(import.meta.dirname, "../../bin/trainsim.js"), "run", file], { encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/workload\.fp8Recipe: "mxfp8" is not allowed on H100-SXM/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
