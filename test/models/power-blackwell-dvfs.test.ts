/**
 * The Blackwell DVFS exponent (catalog dvfsExponent 1.3 on B200, GB200, GB300) against the
 * kernel-level GEMM power-limit sweeps it comes from (models/hardware/catalog/sources.ts
 * BLACKWELL_DVFS; docs/calibration.md "Power limits on Blackwell").
 */
import { describe, expect, it } from "vitest";
import { CATALOG } from "../../models/hardware/catalog.ts";
import { clockForLimit, dvfsExponentOf, DVFS_EXPONENT } from "../../models/power/gpu-power.ts";
import type { Accelerator } from "../../models/hardware/types.ts";

/** Throughput at `limit` over throughput at the default limit, for a GEMM (activity 1) at exponent γ. */
function predictedRatio(tdp: number, idle: number, limit: number, gamma: number): number {
  return ((limit - idle) / (tdp - idle)) ** (1 / gamma);
}

// 1a1a11a/gpu_power (commit a4f290c), figures/tflops_vs_power.png: RTX PRO 6000 Blackwell (600 W),
// 8192³, 20 warm-up + 2000 timed iterations per limit; TFLOP/s read off the plotted points.
const LIMITS = [600, 480, 400, 320, 280, 240];
const BF16 = [317, 259, 218, 170, 146, 120];
const FP8 = [513, 428, 369, 297, 260, 216];
// Idle at B200's share of its TDP (140 / 1000), as the model's idle term.
const IDLE = 0.14 * 600;

describe("Blackwell GEMMs under a power limit: γ = 1.3", () => {
  it("the catalog's Blackwell parts carry it, every other part keeps the default 2.5", () => {
    for (const name of ["B200", "GB200", "GB300"]) {
      const gpu = CATALOG[name] as Accelerator;
      expect(dvfsExponentOf(gpu)).toBe(1.3);
      expect(gpu.sources["dvfsExponent"]).toMatch(/gpu_power/);
    }
    for (const name of ["A100-80GB", "H100-SXM", "H200", "MI300X"]) expect(dvfsExponentOf(CATALOG[name] as Accelerator)).toBe(DVFS_EXPONENT);
    expect(DVFS_EXPONENT).toBe(2.5);
  });

  it("reproduces the RTX PRO 6000 Blackwell BF16 and FP8 sweeps within 7 % from 480 W down to 240 W; 2.5 is 8-64 % high", () => {
    for (const series of [BF16, FP8]) {
      const reference = series[0] as number;
      for (let i = 1; i < LIMITS.length; i++) {
        const measured = (series[i] as number) / reference;
        const at13 = predictedRatio(600, IDLE, LIMITS[i] as number, 1.3);
        const at25 = predictedRatio(600, IDLE, LIMITS[i] as number, 2.5);
        expect(Math.abs(at13 / measured - 1)).toBeLessThan(0.07);
        expect(at25 / measured).toBeGreaterThan(1.07);
      }
    }
    // e.g. BF16 at 400 W: measured 218 / 317 = 0.688; (316 / 516)^(1/1.3) = 0.686; ^(1/2.5) = 0.822
    expect(predictedRatio(600, IDLE, 400, 1.3)).toBeCloseTo(0.686, 3);
    expect(predictedRatio(600, IDLE, 400, 2.5)).toBeCloseTo(0.822, 3);
  });

  it("the GB300 cuBLAS GEMM at 500 of 1400 W (facebookexperimental/triton #2023: ~617 against ~1600-2174 TFLOP/s) falls in the range γ 1.3 gives", () => {
    const gb300 = CATALOG["GB300"] as Accelerator;
    const ratio = predictedRatio(gb300.tdpWatts, gb300.idleWatts, 500, dvfsExponentOf(gb300));
    // ((500 − 165) / (1400 − 165))^(1/1.3) = 0.27126^0.769 = 0.3666
    expect(ratio).toBeCloseTo(0.3666, 4);
    expect(ratio).toBeGreaterThan(617 / 2174);
    expect(ratio).toBeLessThan(617 / 1600);
    // the controller's clock floor (MIN_CLOCK 0.4 of the default-limit clock) stops it there
    expect(clockForLimit(gb300, 1, 500)).toBe(0.4);
    // the default exponent would have kept 0.593 of the throughput, 1.5-2.1x the measured
    expect(predictedRatio(1400, 165, 500, 2.5)).toBeGreaterThan((617 / 1600) * 1.5);
  });

  it("B200 at 750 W (the torchao MX rows' limit): a GEMM at 0.768, memory-bound kernels (activity 0.6) not throttled", () => {
    const b200 = CATALOG["B200"] as Accelerator;
    expect(clockForLimit(b200, 1, 750)).toBeCloseTo(0.7678, 4);
    // 140 + 860 × 0.6 = 656 W ≤ 750 W
    expect(clockForLimit(b200, 0.6, 750)).toBe(1);
    // at its own default limit nothing changes
    expect(clockForLimit(b200, 1, 1000)).toBe(1);
  });
});
