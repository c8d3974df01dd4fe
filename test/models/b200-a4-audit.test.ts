/**
 * Second audit of B200's levels against kernel-level measurements taken on B200 itself, made while
 * diagnosing why Google's A4 runs (NeMo and MaxText) come out ~10 % too fast (docs/calibration.md,
 * "A4 residual: second audit"). Both checks pass with the catalog as it was: neither level moved.
 */
import { describe, expect, it } from "vitest";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { ACTIVITY_SHARE, dvfsExponentOf } from "../../models/power/gpu-power.ts";

const B200 = CATALOG["B200"] as Accelerator;
const GB200 = CATALOG["GB200"] as Accelerator;

describe("B200 HBM level against cub::DeviceTransform babelstream on B200 (NVIDIA/cccl PR #9481, #7391)", () => {
  // nvbench's B200 peak, from PR #7391: 6.721 TB/s is 87.60 % of it.
  const nvbenchPeak = 6.721e12 / 0.876;

  it("0.893 of 8 TB/s lies in the measured 2^28-element range, 92.2-93.1 % of nvbench's 7.672 TB/s", () => {
    const level = B200.hbmBandwidth * B200.efficiency.hbmPeakFraction;
    expect(nvbenchPeak / 1e12).toBeCloseTo(7.672, 3);
    expect(level).toBeGreaterThanOrEqual(0.9219 * nvbenchPeak);
    expect(level).toBeLessThanOrEqual(0.9308 * nvbenchPeak * 1.001);
  });

  it("an F16 elementwise add of 2^28 elements (1.61 GB moved) is modelled within 6 % of its measured 239.6 us", () => {
    // PR #7391, 'add', F16, 2^28: GPU time 239.643 us, 6.721 TB/s (two reads and a write of 2 B each).
    const bytes = 3 * 2 * 2 ** 28;
    const k: Kernel = { name: "add", kind: "memory", flops: 2 ** 28, bytes, launches: 1 };
    const seconds = kernelCost(k, B200, "bf16").seconds;
    // 1.611 GB / 7.144 TB/s + 2.7 us launch = 228.2 us: the model is 4.8 % fast for this kernel.
    expect(seconds * 1e6).toBeCloseTo(bytes / (8e12 * 0.893) * 1e6 + 2.7, 3);
    expect(Math.abs(seconds / 239.643e-6 - 1)).toBeLessThan(0.06);
  });
});

describe("B200 GEMM level: the sustained best-shape figure stands for 8192^3", () => {
  const gemm8192: Kernel = {
    name: "g",
    kind: "gemm",
    flops: 2 * 8192 ** 3,
    bytes: 3 * 2 * 8192 ** 2,
    gemm: { m: 8192, n: 8192, k: 8192 },
    launches: 0,
  };

  it("GB200's 10,000-iteration cuBLASLt 8192^3 over its burst best shape (FP8, 0.796) matches B200's MSMF over MAMF (BF16, 0.815) within 3 %", () => {
    // Azure ND GB200 v6, cuBLASLt FP8: 4096^3 2834.6, 8192^3 2876.6, 16384^3 2906.9 TFLOP/s (flat under a
    // sustained clock); mamf-finder's burst best shape on GB200 FP8: 3615.6. B200 BF16: MSMF 1426.4, MAMF 1751.2.
    const gbRatio = 2876.6 / 3615.6;
    const bRatio = 1426.4 / 1751.2;
    expect(gbRatio).toBeCloseTo(0.796, 3);
    expect(Math.abs(gbRatio / bRatio - 1)).toBeLessThan(0.03);
    // GB200's catalog level is its burst figure (no sustained BF16 run), so only the ratio carries over.
    expect(GB200.efficiency.gemmPeakFraction).toBeGreaterThan(B200.efficiency.gemmPeakFraction);
  });

  it("the modelled 8192^3 BF16 rate equals torchao's B200 bench_matmul figure for 8192^3 (1.42e15 FLOP/s) within 1 %", () => {
    // pytorch/ao PR #2427 (Jun 2025), benchmarks/float8/bench_matmul.py on one B200: torch.bfloat16
    // 3072^3 1.51e15, 4096^3 1.41e15, 6144^3 1.45e15, 8192^3 1.42e15 (0.774 ms a call): consistent with a
    // loop of 8192^3 calls running at the power-limited rate; the best-shape burst (1751) is 23 % above it.
    const rate = gemm8192.flops / kernelCost(gemm8192, B200, "bf16").seconds;
    expect(Math.abs(rate / 1.42e15 - 1)).toBeLessThan(0.01);
    expect(1751.2e12 / 1.42e15).toBeGreaterThan(1.2);
  });
});

describe("B200 A4 residual, third pass: MSMF's timing loop and shape (docs/calibration.md, 'A4 residual, third pass')", () => {
  // stas00/ml-engineering compute/accelerator/benchmarks: mamf-finder.py measure_window runs, per iteration,
  // l2_cache.zero_() (256 MiB), C.copy_(C_rand) and the timed matmul; the README's B200 headline example is
  // 9472x6144x12288 ("985W 1360MHz"). Only the matmul is timed; the clock follows the whole loop's power.
  const [m, n, k] = [9472, 6144, 12288];
  const gemm: Kernel = { name: "g", kind: "gemm", flops: 2 * m * n * k, bytes: 2 * (m * k + k * n + m * n), gemm: { m, n, k }, launches: 0 };
  const zero: Kernel = { name: "zero", kind: "memory", flops: 0, bytes: 256 * 2 ** 20, launches: 0 };
  const copy: Kernel = { name: "copy", kind: "memory", flops: 0, bytes: 2 * 2 * m * n, launches: 0 };

  it("the GEMM holds 93.5 % of the MSMF loop, and a step with 88-96 % of its time in GEMMs and attention sustains a clock within 2 % of it", () => {
    const tGemm = kernelCost(gemm, B200, "bf16").seconds;
    const tMem = kernelCost(zero, B200, "bf16").seconds + kernelCost(copy, B200, "bf16").seconds;
    // 1.43e12 FLOP at ~1.43 PFLOP/s = 1.00 ms; 268 MB + 233 MB at 7.144 TB/s = 38 + 33 us.
    expect(tGemm * 1e3).toBeCloseTo(1.0, 1);
    expect(tMem * 1e6).toBeCloseTo(70.2, 0);
    const share = tGemm / (tGemm + tMem);
    expect(share).toBeCloseTo(0.935, 2);
    // Same power, P = idle + (TDP - idle) s c^gamma, copies at activity 0.6 (models/power/gpu-power.ts):
    // the clock ratio is (s_msmf / s_step)^(1/gamma).
    const mem = ACTIVITY_SHARE.memory;
    const sMsmf = share + (1 - share) * mem;
    for (const busy of [0.88, 0.94, 0.96]) {
      const c = (sMsmf / (busy + (1 - busy) * mem)) ** (1 / dvfsExponentOf(B200));
      expect(Math.abs(c - 1)).toBeLessThan(0.02);
    }
  });

  it("the model gives the MSMF shape and 8192^3 the same rate; its own shape factor puts 8192^3 1.7 % below the MSMF shape, the most the 8192^3 reference makes a GEMM fast", () => {
    const g8192: Kernel = { name: "g", kind: "gemm", flops: 2 * 8192 ** 3, bytes: 3 * 2 * 8192 ** 2, gemm: { m: 8192, n: 8192, k: 8192 }, launches: 0 };
    const rate = (kk: Kernel) => kk.flops / kernelCost(kk, B200, "bf16").seconds;
    // 9472x6144 is 12 full waves of 128x256 tiles on 148 SMs, K fill 12288/12416; 8192^3: waves 0.988, K fill 0.985.
    // The model caps every shape at the level, so the MSMF shape reads the level: 8192^3 / MSMF shape = 0.983.
    expect(rate(gemm) / rate(g8192)).toBeCloseTo(1, 3);
    expect(((2048 / (14 * 148)) * (8192 / 8320)) / (12288 / 12416)).toBeCloseTo(0.983, 3);
  });
});
