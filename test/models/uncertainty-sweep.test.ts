import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { expandPoints, loadExperiment, pointScenario } from "../../experiments/experiment.ts";
import { evaluatePoint } from "../../experiments/runner.ts";
import type { SweepPointResult } from "../../models/results.ts";
import { bottleneckShiftChart } from "../../reports/charts/bottleneck-shift.ts";

const ROOT = join(import.meta.dirname, "../..");

describe("sweep --uncertainty: bands per point and on the bottleneck-shift chart", () => {
  const exp = loadExperiment(join(ROOT, "experiments/default.yaml"));
  const points = expandPoints(exp).slice(3, 5); // 3.35 and 4.8 TB/s
  const run = (samples?: number): SweepPointResult[] =>
    points.map((p) => evaluatePoint({ ...p, experiment: exp.name, scenario: pointScenario(exp, p), loadOptions: exp.loadOptions, ...(samples !== undefined ? { uncertaintySamples: samples } : {}) }));

  it("a point carries result.uncertainty only when asked; its step is the same either way", () => {
    const plain = run();
    const banded = run(10);
    for (let i = 0; i < points.length; i++) {
      expect(plain[i]!.result).not.toHaveProperty("uncertainty");
      const u = banded[i]!.result!.uncertainty!;
      expect(u.samples).toBe(10);
      expect(banded[i]!.result!.stepSeconds).toBe(plain[i]!.result!.stepSeconds);
      expect(u.stepSeconds.p5).toBeLessThanOrEqual(u.stepSeconds.p95);
    }
    // The chart: unchanged without bands; with them, the grey label is the p5-p95 range and the subtitle says which neighbours overlap.
    const without = JSON.stringify(bottleneckShiftChart(plain));
    expect(without).not.toContain("stepBand");
    const chart = bottleneckShiftChart(banded) as { title: { subtitle: string[] } };
    const sub = chart.title.subtitle.join("\n");
    expect(sub).toContain("p5–p95");
    const [a, b] = banded.map((r) => r.result!.uncertainty!.stepSeconds);
    const overlap = a!.p5 <= b!.p95 && b!.p5 <= a!.p95;
    expect(sub.includes("Bands overlap")).toBe(overlap);
    expect(sub.includes("No two neighbouring bands overlap")).toBe(!overlap);
  });
});
