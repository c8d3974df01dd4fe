/**
 * FlashAttention-2 on B200 (workload.attentionBackend: flash-attention): PyTorch SDPA's flash
 * backend or Dao's flash_attn 2 on Blackwell run sm80-style kernels at about a sixth of cuDNN's
 * level. The catalog's fa2* levels against the table they were fitted to (meta-pytorch/tritonbench
 * PR #171: flash_v2 on B200, batch 8, 16 heads, head dim 128, forward, non-causal).
 */
import { describe, expect, it } from "vitest";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { attentionBackendsOf, withAttentionBackend } from "../../models/hardware/attention-backend.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";

const b200 = CATALOG["B200"] as Accelerator;
const fa2 = withAttentionBackend(b200, "flash-attention");

/** One forward over batch 8 × 16 heads × head dim 128, non-causal, as the benchmark counts it (4·s²·h·d per sequence). */
function forward(seq: number): Kernel {
  return { name: "attention.flash", kind: "attention", flops: 4 * 8 * 16 * 128 * seq * seq, bytes: 0, attentionBlocks: 8 * 16 * Math.ceil(seq / 128), attentionKeys: seq, launches: 0 };
}

describe("FlashAttention-2 levels on B200", () => {
  it("B200 offers both kernels; cuDNN stays its own", () => {
    expect(attentionBackendsOf(b200)).toEqual(["cudnn", "flash-attention"]);
    expect(withAttentionBackend(b200, "cudnn")).toBe(b200);
    expect(fa2.attentionBackend).toBe("flash-attention");
  });

  it("swaps in the fa2 levels and fills, and drops the FP8 attention levels FA2 has no kernel for", () => {
    expect(fa2.efficiency.attentionPeakFraction).toBe(0.159);
    expect(fa2.efficiency.attentionBackwardPeakFraction).toBe(0.148);
    expect(fa2.efficiency.attentionFillKeys).toBe(128);
    expect(fa2.efficiency.attentionBackwardFillKeys).toBe(256);
    expect(fa2.efficiency.fp8AttentionPeakFraction).toBeUndefined();
    expect(fa2.efficiency.fp8AttentionBackwardPeakFraction).toBeUndefined();
    expect(fa2.sources["efficiency.attentionPeakFraction"]).toContain("tritonbench PR #171");
    // The backward is derived: the forward level times FA2's backward/forward on H100 (0.325 / 0.35).
    expect(0.159 * (0.325 / 0.35)).toBeCloseTo(0.148, 3);
  });

  it("reproduces tritonbench's flash_v2 forward on B200 within 8 % from 512 to 16k", () => {
    const measured: Record<number, number> = { 512: 245.259, 1024: 315.111, 2048: 352.104, 4096: 353.912, 8192: 361.591, 16384: 330.587 };
    for (const [s, tflops] of Object.entries(measured)) {
      const k = forward(Number(s));
      const predicted = k.flops / kernelCost(k, fa2, "bf16").seconds / 1e12;
      expect(Math.abs(predicted / tflops - 1), `seq ${s}: ${predicted.toFixed(1)} vs ${tflops}`).toBeLessThan(0.081);
    }
  });

  it("an 8k forward runs about a fourth as fast as on cuDNN", () => {
    const k = forward(8192);
    // Both tables as timed: cuDNN's free-clock levels without the sustained-clock ratio (the FA2 levels carry none).
    const { attentionClockRatio: _ratio, ...timed } = b200.efficiency;
    const ratio = kernelCost(k, { ...b200, efficiency: timed }, "bf16").seconds / kernelCost(k, fa2, "bf16").seconds;
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.3);
  });
});
