import { describe, expect, it } from "vitest";
import { sweepTable } from "../../experiments/sweep-table.ts";
import type { SweepPointResult } from "../../models/results.ts";
import { hbmSweep, withBreakdown } from "../reports/fixtures.ts";

describe("the table trainsim sweep prints", () => {
  const points = hbmSweep(["1 TB/s", "8 TB/s"]);
  const [slow, fast] = points as [SweepPointResult & { result: NonNullable<SweepPointResult["result"]> }, SweepPointResult & { result: NonNullable<SweepPointResult["result"]> }];

  it("has a row per point with its swept value, step time, MFU and the dominant category with its share", () => {
    const rows = [
      { ...slow, result: { ...withBreakdown(slow.result, { hbm: 0.6, compute: 0.3, nvlink: 0.1 }), stepSeconds: 4.5, tokensPerSecond: 452_000, mfu: 0.367 } },
      { ...fast, result: { ...withBreakdown(fast.result, { compute: 0.8, hbm: 0.05, nvlink: 0.15 }), stepSeconds: 2.84, tokensPerSecond: 739_000, mfu: 0.601 } },
    ];
    const lines = sweepTable(rows).split("\n");
    expect(lines[0]).toMatch(/^#\s+gpu\.hbmBandwidth\s+step\s+tokens\/s\s+MFU\s+bottleneck$/);
    expect(lines[1]).toMatch(/^0\s+1 TB\/s\s+4\.5 s\s+452000\s+36\.7 %\s+hbm 60\.0 %$/);
    expect(lines[2]).toMatch(/^1\s+8 TB\/s\s+2\.84 s\s+739000\s+60\.1 %\s+compute 80\.0 %$/);
    expect(lines).toHaveLength(3);
  });

  it("shows the status of points that did not run, and cuts long sweeps short", () => {
    const bad: SweepPointResult = { index: 2, seed: 1, params: { "cluster.gpu.hbmBandwidth": "0.5 TB/s" }, experiment: "x", status: "invalid", error: "out of memory" };
    const lines = sweepTable([slow, fast, bad], 2).split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe("... 1 more point in results.csv");
    expect(sweepTable([bad]).split("\n")[1]).toMatch(/^2\s+0\.5 TB\/s\s+invalid$/);
  });
});
