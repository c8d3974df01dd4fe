/**
 * Memory-bound kernels by class (models/hardware/catalog/memory-kernels.ts): norms, norm backwards,
 * fused RoPE, fused gated activations and FP8 casts stream at a measured share of the STREAM
 * bandwidth; other memory-bound kernels at all of it. Sources: the catalog's evidence strings.
 */
import { describe, expect, it } from "vitest";
import { kernelCost, streamRelative, type Kernel } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import { FRAMEWORK_STREAM, FRAMEWORK_STREAM_EVIDENCE, NORM_KERNELS, withNormKernel } from "../../models/hardware/catalog/memory-kernels.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { spreadOf } from "../../models/uncertainty/spreads.ts";
import { smallFp8Layer } from "../helpers/fp8-layer.ts";
import { denseModel } from "../helpers/scenario.ts";
import { testLayerShape } from "../helpers/layer-shape.ts";
import { loadScenario, scenarioFromObject } from "../../experiments/load.ts";
import { problemsOf } from "../helpers/config-problems.ts";

const gpu = (name: string): Accelerator => CATALOG[name] as Accelerator;
const byName = (list: Kernel[], name: string): Kernel => {
  const k = list.find((x) => x.name === name);
  if (k === undefined) throw new Error(`no kernel ${name}`);
  return k;
};

describe("a kernel's share of STREAM", () => {
  it("an H100 norm backward of 1 GB takes 1 GB / (3.35 TB/s x 0.887 x 0.41) plus one launch", () => {
    const h100 = gpu("H100-SXM");
    const k: Kernel = { name: "ln.bwd", kind: "memory", flops: 0, bytes: 1e9, launches: 1, streamClass: "normBackward" };
    const expected = 1e9 / (3.35e12 * 0.887 * 0.41) + h100.efficiency.kernelLaunchSeconds;
    expect(kernelCost(k, h100, "bf16").seconds).toBeCloseTo(expected, 12);
    // The same bytes as an untagged elementwise kernel stream at STREAM: 0.41 of the time.
    const plain = kernelCost({ ...k, streamClass: undefined }, h100, "bf16").seconds - h100.efficiency.kernelLaunchSeconds;
    expect(plain / (expected - h100.efficiency.kernelLaunchSeconds)).toBeCloseTo(0.41, 12);
  });

  it("NVIDIA and AMD parts carry the five shares with sources; TPUs have none and stream every class at STREAM", () => {
    for (const name of ["A100-80GB", "H100-SXM", "H200", "B200", "GB200", "GB300", "MI300X", "MI325X"]) {
      const g = gpu(name);
      for (const [field, value] of Object.entries(FRAMEWORK_STREAM)) {
        expect((g.efficiency as unknown as Record<string, number>)[field]).toBe(value);
        expect(g.sources[`efficiency.${field}`]).toMatch(/median|Megatron|Transformer Engine/);
      }
    }
    for (const name of ["TPU-v4", "TPU-v5p"]) for (const cls of ["norm", "normBackward", "rope", "gatedActivation", "fp8Cast"] as const) expect(streamRelative(gpu(name), cls)).toBe(1);
  });

  it("each value lies inside its evidence's range, and the spread is that range", () => {
    const h100 = gpu("H100-SXM");
    for (const [field, e] of Object.entries(FRAMEWORK_STREAM_EVIDENCE)) {
      const value = FRAMEWORK_STREAM[field as keyof typeof FRAMEWORK_STREAM];
      expect(value).toBeGreaterThanOrEqual(e.range[0]);
      expect(value).toBeLessThanOrEqual(e.range[1]);
      const s = spreadOf(h100, `efficiency.${field}`);
      expect(value * (1 + s.low)).toBeCloseTo(e.range[0], 12);
      expect(value * (1 + s.high)).toBeCloseTo(e.range[1], 12);
    }
  });
});

describe("which kernels of a fused layer belong to which class", () => {
  const gated = testLayerShape({ model: denseModel({ name: "g", layers: 2, hidden: 2048, heads: 16, kvHeads: 4, ffn: 8192, vocab: 32000, gatedMlp: true }), microBatch: 1, seqLength: 4096, tp: 1 });
  const fwd = layerForwardKernels(gated).kernels;
  const bwd = layerBackwardKernels(gated).kernels;

  it("norms, their backwards, RoPE both ways and the gated activation both ways are tagged; residual adds are not", () => {
    expect(byName(fwd, "ln1").streamClass).toBe("norm");
    expect(byName(fwd, "ln2").streamClass).toBe("norm");
    expect(byName(bwd, "ln1.bwd").streamClass).toBe("normBackward");
    expect(byName(fwd, "rope").streamClass).toBe("rope");
    expect(byName(bwd, "rope.bwd").streamClass).toBe("rope");
    expect(byName(fwd, "act").streamClass).toBe("gatedActivation");
    expect(byName(bwd, "act.bwd").streamClass).toBe("gatedActivation");
    expect(byName(fwd, "attn.residual").streamClass).toBeUndefined();
  });

  it("a plain (ungated) activation streams like any elementwise kernel", () => {
    const plain = testLayerShape({ model: denseModel({ name: "p", layers: 2, hidden: 1024, heads: 8, kvHeads: 8, ffn: 4096, vocab: 32000 }), microBatch: 1, seqLength: 2048, tp: 1 });
    expect(byName(layerForwardKernels(plain).kernels, "act").streamClass).toBeUndefined();
  });

  it("an FP8 layer's casts are fp8Cast kernels", () => {
    const casts = layerForwardKernels(smallFp8Layer({ recipe: "delayed", microBatches: 1, gradAccumulationFusion: true })).kernels.filter((k) => k.name.includes(".fp8-cast-"));
    expect(casts.length).toBeGreaterThan(0);
    for (const k of casts) expect(k.streamClass).toBe("fp8Cast");
  });
});

describe("workload.normKernel: a run's own norm kernel", () => {
  it("apex-persistent puts Apex FastLayerNorm's measured shares in place of the median: 1258 and 1163 GB/s of a 1555 GB/s part whose STREAM is 0.886 of it", () => {
    const g = withNormKernel(gpu("A100-80GB"), "apex-persistent");
    expect(g.efficiency.normStreamRelative).toBeCloseTo(1258 / (1555 * 0.886), 2);
    expect(g.efficiency.normBackwardStreamRelative).toBeCloseTo(1163 / (1555 * 0.886), 2);
    expect(NORM_KERNELS["apex-fused"].normStreamRelative).toBeCloseTo(896 / (1555 * 0.886), 2);
    expect(NORM_KERNELS["apex-fused"].normBackwardStreamRelative).toBeCloseTo(572 / (1555 * 0.886), 2);
    // A part without the class values (a TPU) is left as it is.
    expect(withNormKernel(gpu("TPU-v5p"), "apex-fused")).toBe(gpu("TPU-v5p"));
  });

  it("the loader applies it (the Narayanan 2021 runs state Apex's FusedLayerNorm), and refuses a kernel it does not know by name", () => {
    const s = loadScenario("experiments/published/narayanan2021/gpt-1.7b.yaml");
    expect(s.workload).toHaveProperty("normKernel", "apex-fused");
    expect(s.cluster.gpu.efficiency.normStreamRelative).toBe(NORM_KERNELS["apex-fused"].normStreamRelative);
    expect(s.cluster.gpu.efficiency.normBackwardStreamRelative).toBe(NORM_KERNELS["apex-fused"].normBackwardStreamRelative);
    const problems = problemsOf(() =>
      scenarioFromObject({ name: "nk", cluster: { gpu: "A100-80GB", nodes: 1 }, workload: { model: "gpt-1.7b", seqLength: 2048, globalBatch: 8, normKernel: "apex-persistant" } }, { baseDir: ".", name: "test" }),
    );
    const message = problems.map((p) => p.message).join("\n");
    expect(message).toMatch(/workload\.normKernel: "apex-persistant" is not allowed; expected one of "apex-persistent", "apex-fused"/);
  });
});
