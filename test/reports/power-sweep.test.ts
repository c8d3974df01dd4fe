import { describe, expect, it } from "vitest";
import type { SweepPointResult } from "../../models/results.ts";
import type { RunResult } from "../../models/run.ts";
import { hasPowerSeries, powerSweepChart } from "../../reports/charts/power-sweep.ts";

function point(index: number, params: Record<string, unknown>, series: { time: number; watts: number }[], dropWatts: number): SweepPointResult {
  const swing = { windowSeconds: 0.1, dropWatts, riseWatts: 0, dropShare: 0, riseShare: 0, dropRate: 0, riseRate: 0, dropAt: 0, riseAt: 0 };
  const result = { name: "s", power: { series, swings: [swing] } } as unknown as RunResult;
  return { index, seed: 1, params, experiment: "e", status: "ok", result };
}

describe("sweep power chart", () => {
  const series = [
    { time: 0, watts: 1e6 },
    { time: 0.5, watts: 6e5 },
    { time: 1, watts: 1e6 },
  ];

  it("draws one line per point that carries a series, named by its own params and its 100 ms drop", () => {
    const results = [point(0, {}, series, 4e5), point(1, { "cluster.power.powerFloor": 0.8 }, series, 1.5e5)];
    expect(hasPowerSeries(results)).toBe(true);
    const spec = powerSweepChart(results) as unknown as { layer: { data: { values: { point: string; p: number }[] } }[] };
    const names = [...new Set(spec.layer[0]!.data.values.map((v) => v.point))];
    expect(names).toEqual(["base scenario (drop 400 kW in 100 ms)", "power.powerFloor=0.8 (drop 150 kW in 100 ms)"]);
    // megawatts on the axis
    expect(Math.max(...spec.layer[0]!.data.values.map((v) => v.p))).toBeCloseTo(1, 9);
  });

  it("says there is nothing to draw when sweep points dropped their series", () => {
    const results = [point(0, {}, [], 4e5)];
    expect(hasPowerSeries(results)).toBe(false);
    expect(() => powerSweepChart(results)).toThrow(/no point carries a power series/);
  });
});
