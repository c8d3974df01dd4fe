/** SMs an overlapped expert-parallel all-to-all takes from the compute beside it (models/step/ep-comm-sms.ts). */
import { describe, expect, it } from "vitest";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { commSmFraction } from "../../models/step/comm-interference.ts";
import { besideCommSmWork, DEEPEP_SMS, epCommSmFraction } from "../../models/step/ep-comm-sms.ts";

const H100 = CATALOG["H100-SXM"] as Accelerator;

describe("an overlapped EP all-to-all holds SMs", () => {
  it("DeepEP: Megatron-Core's 20 SMs; NCCL: the accelerator's channel count", () => {
    expect(DEEPEP_SMS).toBe(20);
    expect(epCommSmFraction(H100, true, 0)).toBe(20 / H100.smCount);
    expect(epCommSmFraction(H100, false, 0)).toBe(commSmFraction(H100, 0));
    expect(epCommSmFraction(H100, false, 4)).toBe(commSmFraction(H100, 4));
    // As the run set them (parallelism.moeDispatchSms: --moe-hybridep-num-sms 32), whatever the library.
    expect(epCommSmFraction(H100, true, 0, 32)).toBe(32 / H100.smCount);
    expect(epCommSmFraction(H100, false, 0, 32)).toBe(32 / H100.smCount);
  });

  it("compute that fits within the collective stretches by 1/(1 − f); longer compute loses f × the collective's time (hand-computed)", () => {
    const peak = 1e15;
    // 1 ms of math beside a 2 ms collective holding a quarter of the SMs: 1/0.75 ms of SM time, still within 2 ms.
    expect(besideCommSmWork(1e12, peak, 2e-3, 0.25)).toBeCloseTo(1e12 / 0.75, 3);
    // 4 ms of math beside a 1 ms collective holding a quarter: 4 + 0.25 ms.
    expect(besideCommSmWork(4e12, peak, 1e-3, 0.25)).toBeCloseTo(4.25e12, 3);
    // Nothing held, or no collective: unchanged.
    expect(besideCommSmWork(4e12, peak, 1e-3, 0)).toBe(4e12);
    expect(besideCommSmWork(4e12, peak, 0, 0.25)).toBe(4e12);
  });

  it("the pair is never faster than the longer of the two, and never slower than both in sequence", () => {
    const peak = 1e15;
    for (const [math, comm, f] of [[1e12, 2e-3, 0.1], [3e12, 1e-3, 0.2], [2e12, 2e-3, 0.5]] as const) {
      const t = Math.max(comm, besideCommSmWork(math, peak, comm, f) / peak);
      expect(t).toBeGreaterThanOrEqual(Math.max(comm, math / peak));
      expect(t).toBeLessThanOrEqual(comm + math / peak);
    }
  });
});
