// Issue 24: the power series' uniform grid stays bounded however long the step is (a 100 kb/s NIC
// made a step of ~1e6 s and a 1 ms grid of 4 GB); a coarser grid keeps each cell's mean.
import { describe, expect, it } from "vitest";
import { gridStep, MAX_GRID_SAMPLES, summarisePower } from "../../models/power/analysis.ts";
import { resampleMean } from "../../models/power/swing.ts";
import type { StepPowerReport } from "../../models/power/step-power.ts";
import { scenario } from "../helpers/scenario.ts";

const series = (points: [number, number][]) => ({ time: Float64Array.from(points.map((p) => p[0])), watts: Float64Array.from(points.map((p) => p[1])), length: points.length });

describe("power grid", () => {
  it("keeps 0.1-1 ms steps up to 4,194 s, then at most 2^22 samples", () => {
    expect(gridStep(1)).toBe(1e-4);
    expect(gridStep(10)).toBe(5e-4);
    expect(gridStep(4000)).toBe(1e-3);
    expect(gridStep(1e7)).toBe(1e7 / MAX_GRID_SAMPLES);
    expect(Math.ceil(1e7 / gridStep(1e7))).toBeLessThanOrEqual(MAX_GRID_SAMPLES);
  });

  it("a coarse cell holds the time-weighted mean (hand-computed)", () => {
    // 100 W on [0, 1), 400 W on [1, 2.5), 200 W from 2.5 on; cells of 2 s over 6 s.
    const grid = resampleMean(series([[0, 100], [1, 400], [2.5, 200]]), 6, 2);
    expect(Array.from(grid)).toEqual([(100 * 1 + 400 * 1) / 2, (400 * 0.5 + 200 * 1.5) / 2, 200]);
  });

  it("summarises a step of 1e7 s without a grid of 1e10 samples", () => {
    const s = scenario({ nodes: 1, model: "llama3-8b", seqLength: 2048, globalBatch: 8, plan: { dp: 8 } });
    const step = 1e7;
    const report = { gpuMeanWatts: 500, facilityMeanWatts: 1000, facilityPeakWatts: 2000, energyJoules: 1e10, series: series([[0, 2000], [step / 2, 0.5]]), controlIntervals: [] } as unknown as StepPowerReport;
    const out = summarisePower(s, report, step);
    expect(out.series.length).toBeLessThanOrEqual(3000);
    expect(out.swings.map((w) => w.windowSeconds)).toEqual([0.01, 0.1, 1]);
    // The drop from 2000 W to 0.5 W shows in every window (within one cell).
    for (const w of out.swings) expect(w.dropWatts).toBeCloseTo(2000 - 0.5, 6);
  });
});
