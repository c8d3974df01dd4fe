/**
 * The headline chart: where each second of the step goes, as one swept
 * parameter changes. One stacked bar per sweep point (normalised to 100 %),
 * bars in sweep order, the dominant category named above each bar, so the
 * point where the bottleneck moves (HBM → compute, compute → network) is
 * read off without a legend.
 */
import type { TopLevelSpec } from "vega-lite";
import type { SweepPointResult } from "../../models/results.ts";
import { CATEGORIES, dominantCategory, type Breakdown, type Category } from "../../models/categories.ts";
import { vegaCategoryScale } from "../palette.ts";
import { textWidth } from "../text-width.ts";
import { CHART_CONFIG, distinctValues, drawnLabels, okPoints, pointLabel, sweptParams, tiedParams, VEGA_LITE_SCHEMA } from "./common.ts";
import { drawnText, duration, formatParamValue, shortParam, unitOfParam } from "../format.ts";

export { dominantCategory };

export interface BottleneckShiftOptions {
  /** The swept parameter on the x axis; default: the one with the most values (the first on a tie). */
  param?: string;
  title?: string;
}

export interface ShiftPoint {
  /** Position in sweep order (x axis order). */
  order: number;
  index: number;
  seed: number;
  /** The swept value as a label ("2 TB/s"). */
  x: string;
  /** The other swept parameters (and the seed when several) for the panel; "" when there is one panel. */
  group: string;
  dominant: Category;
  dominantShare: number;
  stepSeconds: number;
  breakdown: Breakdown;
  /** sweep --uncertainty: the step's p5 and p95 over the catalog's spreads. */
  stepBand?: { p5: number; p95: number };
}

export interface ShiftData {
  param: string | undefined;
  /** Other parameters that vary: one panel per combination. */
  others: string[];
  /** Parameters that vary together with `param` (zipped axes): named in the subtitle, no panels. */
  tied: string[];
  points: ShiftPoint[];
}

/** The data the chart draws: one entry per successful point, in sweep order. */
export function bottleneckShiftData(results: readonly SweepPointResult[], options: BottleneckShiftOptions = {}): ShiftData {
  const ok = okPoints(results);
  const { all, varying } = sweptParams(ok);
  if (options.param !== undefined && !all.includes(options.param)) {
    throw new Error(`bottleneck-shift: parameter ${JSON.stringify(options.param)} is not swept; swept: ${all.join(", ") || "(none)"}`);
  }
  let param = options.param;
  if (param === undefined) {
    for (const k of varying) if (param === undefined || distinctValues(ok, k) > distinctValues(ok, param)) param = k;
  }
  param ??= all[0];
  const tied = param === undefined ? [] : varying.filter((k) => k !== param && tiedParams(ok, k, param as string));
  const others = varying.filter((k) => k !== param && !tied.includes(k));
  const seeds = new Set(ok.map((p) => p.seed));
  // Labels are drawn: capped (a 100k-character name took a minute to lay out); results.jsonl keeps them whole.
  const xs = drawnLabels(ok.map((p) => (param === undefined ? p.result.name : formatParamValue(param, p.params[param]))));
  const points = ok.map((p, order): ShiftPoint => {
    const groupParts = others.length > 0 ? [pointLabel(p, others)] : [];
    if (seeds.size > 1) groupParts.push(`seed ${p.seed}`);
    const b = p.result.breakdown;
    const dominant = dominantCategory(b);
    return {
      order,
      index: p.index,
      seed: p.seed,
      x: xs[order] as string,
      group: drawnText(groupParts.join(", ")),
      dominant,
      dominantShare: b[dominant],
      stepSeconds: p.result.stepSeconds,
      breakdown: b,
      ...(p.result.uncertainty !== undefined ? { stepBand: { p5: p.result.uncertainty.stepSeconds.p5, p95: p.result.uncertainty.stepSeconds.p95 } } : {}),
    };
  });
  return { param, others, tied, points };
}

/**
 * sweep --uncertainty: what the grey label then shows, and the neighbouring points (same panel)
 * whose p5–p95 step bands overlap, which the catalog's spreads cannot tell apart.
 */
function bandLines(points: readonly ShiftPoint[]): string[] {
  const banded = points.filter((p) => p.stepBand !== undefined);
  if (banded.length === 0) return [];
  const overlaps: string[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as ShiftPoint;
    const b = points[i] as ShiftPoint;
    if (a.group !== b.group || a.stepBand === undefined || b.stepBand === undefined) continue;
    if (a.stepBand.p5 <= b.stepBand.p95 && b.stepBand.p5 <= a.stepBand.p95) overlaps.push(`${a.x} ~ ${b.x}${a.group !== "" ? ` (${a.group})` : ""}`);
  }
  return [
    "Grey: the step's p5–p95 over the catalog's calibration spreads (sweep --uncertainty).",
    overlaps.length > 0 ? drawnText(`Bands overlap, not told apart by the calibration: ${overlaps.join("; ")}.`) : "No two neighbouring bands overlap.",
  ];
}

export function bottleneckShiftChart(results: readonly SweepPointResult[], options: BottleneckShiftOptions = {}): TopLevelSpec {
  const data = bottleneckShiftData(results, options);
  const { param, others, tied, points } = data;
  const ok = okPoints(results);
  if (points.length === 0) throw new Error("bottleneck-shift: no successful sweep points to draw");
  const present = new Set<string>();
  const rows: Record<string, unknown>[] = [];
  for (const p of points) {
    for (const c of CATEGORIES) {
      const share = p.breakdown[c];
      if (!(share > 0)) continue;
      present.add(c);
      rows.push({
        x: p.x,
        group: p.group,
        order: p.order,
        category: c,
        categoryOrder: CATEGORIES.indexOf(c),
        share,
        seconds: share * p.stepSeconds,
        stepTime: duration(p.stepSeconds),
        ...(p.stepBand !== undefined ? { stepBand: `${duration(p.stepBand.p5)}–${duration(p.stepBand.p95)}` } : {}),
        isDominant: c === p.dominant,
      });
    }
  }
  const xOrder: string[] = [];
  for (const p of points) if (!xOrder.includes(p.x)) xOrder.push(p.x);
  // Values written with units ("2 TB/s") label themselves; bare numbers get the unit in the axis title.
  const unit = param === undefined || !ok.some((p) => typeof p.params[param] === "number") ? "" : unitOfParam(param);
  const xTitle = param === undefined ? "scenario" : `${shortParam(param)}${unit ? ` (${unit})` : ""}, in sweep order`;
  const subtitle = [
    "Share of step time per bottleneck category.",
    "Above each bar: the dominant category (bold) and the step time (grey).",
    ...(tied.length > 0 ? [`${tied.join(", ")} ${tied.length === 1 ? "changes" : "change"} together with ${param}.`] : []),
    ...bandLines(points),
    ...(others.length > 0 ? [`Several parameters vary: x is ${param} (the one with the most values); one panel per value of ${others.join(", ")}.`] : []),
  ];
  const faceted = points.some((p) => p.group !== "");
  const xLabelAngle = xOrder.some((x) => x.length > 8) && xOrder.length > 6 ? -35 : 0;

  const layer = [
    {
      mark: { type: "bar" as const, width: { band: 0.72 } },
      encoding: {
        x: { field: "x", type: "ordinal" as const, sort: xOrder, title: xTitle, axis: { labelAngle: xLabelAngle, labelLimit: 140 } },
        y: {
          field: "share",
          type: "quantitative" as const,
          stack: "normalize" as const,
          title: "share of step time (%)",
          axis: { format: ".0%", tickCount: 5 },
          scale: { domain: [0, 1.16], nice: false },
        },
        color: {
          field: "category",
          type: "nominal" as const,
          title: "bottleneck",
          scale: vegaCategoryScale(present),
          legend: { symbolType: "square" },
        },
        order: { field: "categoryOrder", type: "quantitative" as const, sort: "ascending" as const },
        tooltip: [
          { field: "x", type: "nominal" as const, title: param ?? "scenario" },
          { field: "category", type: "nominal" as const, title: "category" },
          { field: "share", type: "quantitative" as const, title: "share of step", format: ".1%" },
          { field: "seconds", type: "quantitative" as const, title: "seconds per step", format: ".3f" },
          { field: "stepTime", type: "nominal" as const, title: "step time" },
        ],
      },
    },
    {
      transform: [{ filter: "datum.isDominant" }],
      mark: { type: "text" as const, baseline: "bottom" as const, dy: -3, fontWeight: "bold" as const, fontSize: 12, color: "#222222" },
      encoding: {
        x: { field: "x", type: "ordinal" as const, sort: xOrder },
        y: { datum: 1 },
        text: { field: "category", type: "nominal" as const },
        tooltip: [
          { field: "x", type: "nominal" as const, title: param ?? "scenario" },
          { field: "category", type: "nominal" as const, title: "dominant" },
          { field: "share", type: "quantitative" as const, title: "its share", format: ".1%" },
          { field: "stepTime", type: "nominal" as const, title: "step time" },
        ],
      },
    },
    {
      transform: [{ filter: "datum.isDominant" }],
      mark: { type: "text" as const, baseline: "bottom" as const, dy: -19, fontSize: 11, color: "#666666" },
      encoding: {
        x: { field: "x", type: "ordinal" as const, sort: xOrder },
        y: { datum: 1 },
        text: { field: points.some((p) => p.stepBand !== undefined) ? "stepBand" : "stepTime", type: "nominal" as const },
      },
    },
  ];

  // Wide enough for the x label and the bold dominant-category label above the bar.
  const widest = Math.max(...xOrder.map((x) => textWidth(x, 12)), ...points.map((p) => textWidth(p.dominant, 12, true)));
  const width = { step: Math.ceil(Math.max(56, Math.min(140, widest + 16))) };
  const title = { text: options.title ?? "Where the step time goes", subtitle };
  if (!faceted) {
    return {
      $schema: VEGA_LITE_SCHEMA,
      title,
      data: { values: rows },
      width,
      height: 300,
      layer,
      config: CHART_CONFIG,
    } as TopLevelSpec;
  }
  const groups: string[] = [];
  for (const p of points) if (!groups.includes(p.group)) groups.push(p.group);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title,
    data: { values: rows },
    facet: { field: "group", type: "nominal", sort: groups, title: null, header: { labelFontWeight: "bold", labelFontSize: 13, labelLimit: 400 } },
    columns: Math.min(groups.length, xOrder.length <= 3 ? 4 : 3),
    spec: { width, height: 240, layer },
    config: CHART_CONFIG,
  } as TopLevelSpec;
}
