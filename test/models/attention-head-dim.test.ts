/**
 * Flash attention's compiled head dims (models/compute/attention-head-dim.ts): a head dim between two
 * kernels runs the next one up and computes its padded columns. FlashAttention-2 compiles multiples of
 * 32 (Dao-AILab/flash-attention 4f285b35 flash_api.cpp, static_switch.h); FlashAttention 1 only 32, 64
 * and 128 (4a6eaa9f fmha_api.cpp). Hand-computed: an attention kernel alone (no bytes, no launches) is
 * pure math, so its time scales by padded / actual head dim exactly.
 */
import { describe, expect, it } from "vitest";
import { flashKernel } from "../helpers/flash-kernel.ts";
import { FA1_HEAD_DIMS, FA2_HEAD_DIMS, headDimPadding, kernelHeadDim } from "../../models/compute/attention-head-dim.ts";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { withAttentionBackend } from "../../models/hardware/attention-backend.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { ConfigError } from "../../experiments/errors.ts";
import { layerForwardKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { denseModel } from "../helpers/scenario.ts";

const gpu = (name: string): Accelerator => CATALOG[name] as Accelerator;

/** One causal attention kernel of 8 sequences × 16 heads × 2k, head dim `hd`. */
function attention(hd: number, dims?: readonly [number, number], backward = false): Kernel {
  return flashKernel({ batchHeads: 8 * 16, seq: 2048, headDim: hd, causal: true, backward, ...(dims ? { headDims: dims } : {}) });
}

describe("flash attention head-dim kernels", () => {
  it("the grids: FA2 every multiple of 32 to 256, FA1 32/64/128", () => {
    expect(FA2_HEAD_DIMS).toEqual([32, 64, 96, 128, 160, 192, 224, 256]);
    expect(FA1_HEAD_DIMS).toEqual([32, 64, 128]);
    const a100 = gpu("A100-80GB");
    expect([16, 64, 80, 96, 100, 128, 192, 200].map((d) => kernelHeadDim(a100, d))).toEqual([32, 64, 96, 96, 128, 128, 192, 224]);
    const fa1 = withAttentionBackend(a100, "flash-attention-1");
    expect(fa1.attentionBackend).toBe("flash-attention-1");
    expect(fa1.efficiency).toEqual(a100.efficiency); // FA2's levels (an upper bound)
    expect([64, 80, 96, 128].map((d) => kernelHeadDim(fa1, d))).toEqual([64, 128, 128, 128]);
    // cuDNN and non-NVIDIA kernels: no grid known, unpadded; past the last kernel: unpadded.
    expect(kernelHeadDim(withAttentionBackend(gpu("H100-SXM"), "cudnn"), 80)).toBe(80);
    expect(kernelHeadDim(gpu("B200"), 80)).toBe(80);
    expect(kernelHeadDim(gpu("MI300X"), 80)).toBe(80);
    expect(kernelHeadDim(a100, 320)).toBe(320);
  });

  it("padding factor: 80 -> 96 is 1.2; 96 on FA1 is 4/3; MLA's 192/128 on one 192 kernel is 384/320", () => {
    const a100 = gpu("A100-80GB");
    expect(headDimPadding(a100, 80, 80)).toBeCloseTo(1.2, 12);
    expect(headDimPadding(a100, 96, 96)).toBe(1);
    expect(headDimPadding(a100, 128, 128)).toBe(1);
    expect(headDimPadding(withAttentionBackend(a100, "flash-attention-1"), 96, 96)).toBeCloseTo(4 / 3, 12);
    expect(headDimPadding(gpu("H100-SXM"), 192, 128)).toBeCloseTo(1.2, 12);
    // cuDNN (Blackwell's own, or chosen on H100) takes MLA's 192/128 as they are.
    expect(headDimPadding(gpu("GB200"), 192, 128)).toBe(1);
    expect(headDimPadding(withAttentionBackend(gpu("H100-SXM"), "cudnn"), 192, 128)).toBe(1);
    expect(headDimPadding(gpu("MI300X"), 80, 80)).toBe(1);
  });

  it("TPU: each head dim tiled by the 128-wide MXU apart (splash keeps qk and v apart): MLA's 192/128 costs (256 + 128)/320", () => {
    const v5p = gpu("TPU-v5p");
    expect(v5p.matrixUnitDim).toBe(128);
    expect(v5p.sources["matrixUnitDim"]).toMatch(/128x128/);
    expect(headDimPadding(v5p, 192, 128)).toBeCloseTo(384 / 320, 12);
    // Multiples of 128 (Llama's 128, the MaxText README models' 256) fill whole tiles; 80 fills 128.
    expect(headDimPadding(v5p, 128, 128)).toBe(1);
    expect(headDimPadding(v5p, 256, 256)).toBe(1);
    expect(headDimPadding(v5p, 80, 80)).toBeCloseTo(1.6, 12);
    expect(headDimPadding(gpu("TPU-v4"), 192, 128)).toBeCloseTo(1.2, 12);
    for (const backward of [false, true]) {
      const plain = kernelCost(attention(160, undefined, backward), v5p, "bf16").seconds;
      expect(kernelCost(attention(160, [192, 128], backward), v5p, "bf16").seconds / plain).toBeCloseTo(1.2, 10);
    }
  });

  it("a pure-math attention kernel takes padded / actual times as long, forward and backward", () => {
    const a100 = gpu("A100-80GB");
    for (const backward of [false, true]) {
      const plain = kernelCost(attention(80, undefined, backward), a100, "bf16").seconds;
      expect(kernelCost(attention(80, [80, 80], backward), a100, "bf16").seconds / plain).toBeCloseTo(1.2, 10);
      const fa1 = withAttentionBackend(a100, "flash-attention-1");
      const plain96 = kernelCost(attention(96, undefined, backward), fa1, "bf16").seconds;
      expect(kernelCost(attention(96, [96, 96], backward), fa1, "bf16").seconds / plain96).toBeCloseTo(4 / 3, 10);
      // Head dim 128 runs its own kernel: unchanged.
      expect(kernelCost(attention(128, [128, 128], backward), a100, "bf16").seconds).toBe(kernelCost(attention(128, undefined, backward), a100, "bf16").seconds);
    }
  });

  it("the layer builder hands the head dims to the flash kernel (GPT-3 2.7B: hidden 2560 over 32 heads = 80)", () => {
    const model = denseModel({ name: "m", layers: 2, hidden: 2560, heads: 32, kvHeads: 32, ffn: 10240, vocab: 50304 });
    const x: LayerShape = { model, microBatch: 1, seqLength: 2048, tp: 1, cp: 1, ep: 1, sequenceParallel: false, attention: "flash", elementBytes: 2, gradBytes: 4, gradAccumulationFusion: true, gradAccumulateShare: 0 };
    const fa = layerForwardKernels(x).kernels.find((k) => k.name === "attention.flash");
    expect(fa?.attentionHeadDims).toEqual([80, 80]);
  });

  it("workload.attentionBackend: flash-attention-1 is accepted on NVIDIA flash-attention GPUs, refused elsewhere", () => {
    const scenario = (gpuName: string) =>
      scenarioFromObject(
        {
          name: "fa1",
          cluster: { gpu: gpuName, nodes: 1 },
          workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8, attentionBackend: "flash-attention-1" },
          parallelism: { tp: 1, pp: 1, dp: 8, microBatch: 1 },
        },
        { baseDir: ".", name: "test" },
      );
    expect(scenario("A100-80GB").cluster.gpu.attentionBackend).toBe("flash-attention-1");
    for (const name of ["B200", "MI300X"]) {
      try {
        scenario(name);
        expect.unreachable(`${name} accepted flash-attention-1`);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).problems.map((p) => p.message).join("\n")).toContain("workload.attentionBackend");
      }
    }
  });
});
