import { beforeAll, describe, expect, it } from "vitest";
import type { TopLevelSpec } from "vega-lite";
import type { SweepPointResult } from "../../models/results.ts";
import type { ValidationRow } from "../../models/results.ts";
import { runScenario, type RunResult } from "../../models/run.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { bottleneckShiftChart, bottleneckShiftData, dominantCategory } from "../../reports/charts/bottleneck-shift.ts";
import { breakdownChart } from "../../reports/charts/breakdown.ts";
import { goodputChart, bestIntervals, type GoodputPoint } from "../../reports/charts/goodput.ts";
import { memoryChart, memoryChartForSweep } from "../../reports/charts/memory.ts";
import { powerChart } from "../../reports/charts/power.ts";
import { rooflineChart } from "../../reports/charts/roofline.ts";
import { scalingChart } from "../../reports/charts/scaling.ts";
import { timelineChart } from "../../reports/charts/timeline.ts";
import { validationChart } from "../../reports/charts/validation.ts";
import { CATEGORY_COLOURS, CATEGORY_DOMAIN, CATEGORY_RANGE, categoryScale, vegaCategoryScale } from "../../reports/palette.ts";
import { renderSvg, svgToPng } from "../../reports/render.ts";
import type { Span } from "../../sim/recorder.ts";
import { scenario, withBreakdown, withHbmBandwidth } from "./fixtures.ts";

let base: RunResult;
let spans: Span[];

function point(index: number, params: Record<string, unknown>, result: RunResult): SweepPointResult {
  return { index, seed: 1, params, experiment: "test", status: "ok", result };
}

/** Synthetic sweep: the step moves from HBM-bound to compute-bound as bandwidth grows. */
function shiftingSweep(): SweepPointResult[] {
  const shares = [
    { hbm: 0.6, compute: 0.3, nvlink: 0.1 },
    { hbm: 0.4, compute: 0.45, nvlink: 0.15 },
    { hbm: 0.1, compute: 0.75, nvlink: 0.1, network: 0.05 },
  ];
  return shares.map((s, i) => point(i, { "cluster.gpu.hbmBandwidth": ["1 TB/s", "3.35 TB/s", "8 TB/s"][i] }, withBreakdown(base, s)));
}

function scalingSweep(): SweepPointResult[] {
  return [8, 16, 32, 64].map((gpus, i) => point(i, { "cluster.nodes": gpus / 8 }, { ...base, gpus, tokensPerSecond: 1e5 * gpus * (1 - 0.02 * i), mfu: 0.55 - 0.02 * i }));
}

const validationRows: ValidationRow[] = [
  { name: "a <b>", file: "a.yaml", source: "Paper A, Table 1", metric: "stepSeconds", unit: "s", published: 10, predicted: 10.5, error: 0.05, simulatedSeconds: 0, categories: [] },
  { name: "b", file: "b.yaml", source: "Paper A, Table 1", metric: "stepSeconds", unit: "s", published: 100, predicted: 80, error: -0.2, simulatedSeconds: 0, categories: [] },
  { name: "c", file: "c.yaml", source: "Paper B", metric: "tflopsPerGpu", unit: "TFLOP/s", published: 400, predicted: 404, error: 0.01, simulatedSeconds: 0, categories: [] },
];

const goodput: GoodputPoint[] = [5, 15, 30, 60, 120, 240].map((m) => {
  const T = m * 60;
  return { intervalSeconds: T, goodput: (1 - 60 / (T + 60)) * (1 - (T / 2 + 600) / (3 * 3600)) };
});

const powerSeries = {
  label: "facility",
  samples: Array.from({ length: 200 }, (_, i) => ({ time: i * 0.1, watts: i % 50 < 40 ? 20e6 : 8e6 })),
  caps: [{ label: "facility cap", watts: 25e6 }],
};

beforeAll(() => {
  const run = runScenario(scenario("llama3-8b-64"), { record: true });
  base = run.result;
  spans = run.step.spans;
});

function charts(): Record<string, TopLevelSpec> {
  return {
    "bottleneck-shift": bottleneckShiftChart(shiftingSweep()),
    breakdown: breakdownChart(base),
    timeline: timelineChart(spans),
    power: powerChart(powerSeries),
    scaling: scalingChart(scalingSweep()),
    validation: validationChart(validationRows),
    "memory (run)": memoryChart(base),
    "memory (sweep)": memoryChartForSweep(shiftingSweep()),
    roofline: rooflineChart(base.roofline),
    goodput: goodputChart(goodput),
  };
}

describe("every chart", () => {
  it("compiles without Vega-Lite warnings and renders an SVG with marks", async () => {
    for (const [name, spec] of Object.entries(charts())) {
      const r = await renderSvg(spec);
      expect(r.errors, name).toEqual([]);
      expect(r.warnings, name).toEqual([]);
      expect(r.marks, name).toBeGreaterThan(0);
      expect(r.svg, name).toMatch(/^<svg[^>]*class="marks"/);
      expect(r.svg, name).toMatch(/role-mark/);
    }
  });

  it("has a title and axis titles with units", () => {
    const json = JSON.stringify(charts());
    for (const unit of ["(%)", "(s)", "(MW)", "(tokens/s)", "(GiB)", "FLOP per byte", "TFLOP/s", "(min, log)"]) expect(json).toContain(unit);
    for (const [name, spec] of Object.entries(charts())) expect((spec as { title?: unknown }).title, name).toBeDefined();
  });

  it("renders to a PNG", async () => {
    const r = await renderSvg(breakdownChart(base));
    const png = await svgToPng(r.svg);
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join("")).toBe("PNG");
    expect(png.length).toBeGreaterThan(5000);
  });
});

describe("palette", () => {
  it("is one d3 ordinal scale over all categories, with distinct colours", () => {
    expect([...CATEGORY_DOMAIN]).toEqual([...CATEGORIES]);
    expect(new Set(CATEGORY_RANGE).size).toBe(CATEGORIES.length);
    for (const c of CATEGORIES) expect(categoryScale(c)).toBe(CATEGORY_COLOURS[c]);
    expect(vegaCategoryScale(["hbm", "compute"])).toEqual({ domain: ["compute", "hbm"], range: [CATEGORY_COLOURS.compute, CATEGORY_COLOURS.hbm] });
  });

  it("gives a category the same colour in every chart", async () => {
    const colourOf = (spec: TopLevelSpec, category: string): string | undefined => {
      let found: string | undefined;
      JSON.stringify(spec, (_k, v: unknown) => {
        const s = v as { domain?: unknown; range?: unknown };
        if (s !== null && typeof s === "object" && Array.isArray(s.domain) && Array.isArray(s.range)) {
          const i = (s.domain as unknown[]).indexOf(category);
          if (i >= 0 && found === undefined) found = s.range[i] as string;
        }
        return v;
      });
      return found;
    };
    const specs = [bottleneckShiftChart(shiftingSweep()), breakdownChart(base), timelineChart(spans), rooflineChart(base.roofline)];
    for (const category of ["compute", "hbm"]) {
      const colours = specs.map((s) => colourOf(s, category));
      expect(new Set(colours), category).toEqual(new Set([CATEGORY_COLOURS[category as "compute" | "hbm"]]));
    }
    // And the drawn pictures use it.
    const a = await renderSvg(bottleneckShiftChart(shiftingSweep()));
    const b = await renderSvg(breakdownChart(base));
    for (const svg of [a.svg, b.svg]) expect(svg.toLowerCase()).toContain(`fill="${CATEGORY_COLOURS.compute.toLowerCase()}"`);
  });
});

describe("bottleneck-shift chart", () => {
  it("names a different dominant category at the two ends of a synthetic sweep", async () => {
    const d = bottleneckShiftData(shiftingSweep());
    expect(d.param).toBe("cluster.gpu.hbmBandwidth");
    expect(d.points.map((p) => p.x)).toEqual(["1 TB/s", "3.35 TB/s", "8 TB/s"]);
    expect(d.points[0]?.dominant).toBe("hbm");
    expect(d.points[d.points.length - 1]?.dominant).toBe("compute");
    // The labels are drawn, in sweep order.
    const svg = (await renderSvg(bottleneckShiftChart(shiftingSweep()))).svg;
    const labels = [...svg.matchAll(/font-weight="bold"[^>]*>(hbm|compute)</g)].map((m) => m[1]);
    expect(labels).toEqual(["hbm", "compute", "compute"]);
  });

  it("shows the HBM shift of the bundled scenario: 0.5 TB/s and 8 TB/s are bound by different categories", () => {
    const s = scenario("llama3-8b-64");
    const results = [0.5e12, 8e12].map((bw, i) => point(i, { "cluster.gpu.hbmBandwidth": `${bw / 1e12} TB/s` }, runScenario(withHbmBandwidth(s, bw)).result));
    const d = bottleneckShiftData(results);
    const [lo, hi] = [d.points[0]?.dominant, d.points[1]?.dominant];
    expect(lo).toBeDefined();
    expect(hi).toBeDefined();
    expect(lo).not.toBe(hi);
    expect(lo).toBe("hbm");
    // The chart carries the label of each end's dominant category.
    const rows = (bottleneckShiftChart(results) as { data: { values: { x: string; category: string; isDominant: boolean }[] } }).data.values;
    expect(rows.filter((r) => r.isDominant).map((r) => [r.x, r.category])).toEqual([
      ["0.5 TB/s", lo],
      ["8 TB/s", hi],
    ]);
  });

  it("skips points that did not run and facets by the other swept parameter", async () => {
    const sweep: SweepPointResult[] = shiftingSweep().flatMap((p): SweepPointResult[] => [
      { ...p, index: p.index * 2, params: { ...p.params, "parallelism.tp": 2 } },
      { ...p, index: p.index * 2 + 1, params: { ...p.params, "parallelism.tp": 4 } },
    ]);
    sweep.push({ index: 99, seed: 1, params: { "cluster.gpu.hbmBandwidth": "9 TB/s", "parallelism.tp": 8 }, experiment: "test", status: "invalid", error: "out of memory" });
    const d = bottleneckShiftData(sweep);
    expect(d.param).toBe("cluster.gpu.hbmBandwidth");
    expect(d.others).toEqual(["parallelism.tp"]);
    expect(d.points).toHaveLength(6);
    const spec = bottleneckShiftChart(sweep) as { facet?: unknown; title: { subtitle: string[] } };
    expect(spec.facet).toBeDefined();
    expect(spec.title.subtitle.join(" ")).toContain("one panel per value of parallelism.tp");
    const r = await renderSvg(spec as TopLevelSpec);
    expect(r.warnings).toEqual([]);
    expect(r.marks).toBeGreaterThan(0);
  });

  it("picks the dominant category by the largest share", () => {
    expect(dominantCategory(withBreakdown(base, { compute: 0.2, network: 0.5, bubble: 0.3 }).breakdown)).toBe("network");
  });
});

describe("timeline", () => {
  it("keeps at most maxTracks tracks and maxMarks bars, and each category's time", () => {
    // 8 tracks of 3,000 alternating spans each.
    const many: Span[] = [];
    for (let t = 0; t < 8; t++) {
      for (let i = 0; i < 3000; i++) {
        many.push({ track: `stage ${t}`, name: i % 3 === 0 ? "tp" : "gemm", category: i % 3 === 0 ? "nvlink" : "compute", start: i * 1e-3, end: (i + 1) * 1e-3 });
      }
    }
    const spec = timelineChart(many, { maxTracks: 4, maxMarks: 1000 }) as { data: { values: { track: string; category: string; start: number; end: number }[] } };
    const bars = spec.data.values;
    expect(new Set(bars.map((b) => b.track))).toEqual(new Set(["stage 0", "stage 2", "stage 5", "stage 7"]));
    expect(bars.length).toBeLessThanOrEqual(1000);
    const nv = bars.filter((b) => b.track === "stage 0" && b.category === "nvlink").reduce((a, b) => a + b.end - b.start, 0);
    const all = bars.filter((b) => b.track === "stage 0").reduce((a, b) => a + b.end - b.start, 0);
    expect(nv / all).toBeCloseTo(1 / 3, 2);
  });
});

describe("goodput", () => {
  it("marks the best interval", () => {
    const best = bestIntervals(goodput);
    expect(best).toHaveLength(1);
    expect(best[0]?.intervalSeconds).toBe(15 * 60);
  });
});

describe("render", () => {
  it("reports Vega-Lite warnings (so the no-warning test above means something)", async () => {
    const spec: TopLevelSpec = { data: { values: [{ a: 1, b: "x" }] }, mark: "bar", encoding: { x: { field: "a", type: "quantitative" }, shape: { field: "b", type: "nominal" } } };
    const r = await renderSvg(spec);
    expect(r.warnings.join(" ")).toMatch(/shape/);
  });
});
