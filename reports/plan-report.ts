/**
 * The report of `trainsim plan`: Pareto charts of the simulated layouts (throughput against
 * memory per GPU, and against energy per token), coloured by each layout's dominant
 * bottleneck, the scenario's own layout marked, and the table of the best.
 * Input is plain data (reports never import experiments/).
 */
import type { TopLevelSpec } from "vega-lite";
import type { Category } from "../models/categories.ts";
import { CHART_CONFIG, VEGA_LITE_SCHEMA } from "./charts/common.ts";
import { duration, gib, percent, sig } from "./format.ts";
import { renderHtml, type HtmlCell, type HtmlTable } from "./html.ts";
import { categoryColour, vegaCategoryScale } from "./palette.ts";
import { writeReport, type PlannedChart } from "./build.ts";

export interface PlanPoint {
  key: string;
  rank: number;
  baseline: boolean;
  stepSeconds: number;
  tokensPerSecond: number;
  mfu: number;
  memoryBytesPerGpu: number;
  memoryCapacityBytes: number;
  energyJoulesPerToken: number;
  /** Currency per token, when the scenario gives prices. */
  costPerToken?: number;
  /** Long run (reliability:): share of wall-clock time on kept steps. */
  goodput?: number;
  bottleneck: { category: Category; share: number };
}

export interface PlanReportInput {
  scenario: string;
  objective: string;
  points: readonly PlanPoint[];
  top: number;
  why: string;
  counts: Readonly<Record<string, number>>;
}

/** Points no other point beats on both axes (x lower is better, y higher is better), by x. */
export function paretoFront<T>(points: readonly T[], x: (p: T) => number, y: (p: T) => number): T[] {
  const sorted = [...points].sort((a, b) => x(a) - x(b) || y(b) - y(a));
  const out: T[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (y(p) > best) {
      out.push(p);
      best = y(p);
    }
  }
  return out;
}

function paretoChart(input: PlanReportInput, xField: "memoryGiB" | "energyJoulesPerToken", xTitle: string): TopLevelSpec {
  const rows = input.points.map((p) => ({
    layout: p.key,
    rank: p.rank,
    memoryGiB: gib(p.memoryBytesPerGpu),
    energyJoulesPerToken: p.energyJoulesPerToken,
    tokensPerSecond: p.tokensPerSecond,
    bottleneck: p.bottleneck.category,
    share: p.bottleneck.share,
    kind: p.baseline ? "scenario's layout" : "searched",
  }));
  const xOf = (r: (typeof rows)[number]): number => r[xField];
  const front = paretoFront(rows, xOf, (r) => r.tokensPerSecond).map((r) => ({ x: xOf(r), y: r.tokensPerSecond }));
  const scale = vegaCategoryScale(rows.map((r) => r.bottleneck));
  return {
    $schema: VEGA_LITE_SCHEMA,
    width: 560,
    height: 340,
    config: CHART_CONFIG,
    layer: [
      {
        data: { values: front },
        mark: { type: "line", interpolate: "step-after", color: "#888888", strokeDash: [4, 3] },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
      },
      {
        data: { values: rows },
        mark: { type: "point", filled: true, size: 60, opacity: 0.8 },
        encoding: {
          x: { field: xField, type: "quantitative", title: xTitle, scale: { zero: false } },
          y: { field: "tokensPerSecond", type: "quantitative", title: "throughput (tokens/s)", scale: { zero: false } },
          color: { field: "bottleneck", type: "nominal", title: "dominant bottleneck", scale },
          tooltip: [
            { field: "layout" },
            { field: "rank" },
            { field: "tokensPerSecond", format: ",.0f" },
            { field: xField, format: ".3g" },
            { field: "bottleneck" },
            { field: "share", format: ".0%" },
          ],
        },
      },
      {
        // The scenario's own layout: a black ring and its name, on top.
        data: { values: rows.filter((r) => r.kind !== "searched") },
        layer: [
          { mark: { type: "point", shape: "diamond", filled: false, size: 420, strokeWidth: 2.5, color: "#000000" } },
          { mark: { type: "text", align: "left", dx: 14, dy: -10, fontSize: 12, color: "#000000" }, encoding: { text: { value: "scenario's layout" } } },
        ],
        encoding: { x: { field: xField, type: "quantitative" }, y: { field: "tokensPerSecond", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
}

export function planCharts(input: PlanReportInput): PlannedChart[] {
  return [
    {
      name: "pareto-memory",
      title: "Throughput against memory per GPU",
      caption: "Every simulated layout; the dashed line is the Pareto front (no layout is faster with less memory). Colour: the bottleneck with the largest share of the step. Black diamond: the scenario's own layout.",
      spec: paretoChart(input, "memoryGiB", "memory per GPU (GiB)"),
    },
    {
      name: "pareto-energy",
      title: "Throughput against energy per token",
      caption: "The same layouts against facility energy per token; the dashed line is the Pareto front.",
      spec: paretoChart(input, "energyJoulesPerToken", "energy per token (J)"),
    },
  ];
}

function topTable(input: PlanReportInput): HtmlTable {
  // Cost and goodput columns only when the layouts have them (prices, reliability:).
  const cost = input.points.some((p) => p.costPerToken !== undefined);
  const goodput = input.points.some((p) => p.goodput !== undefined);
  const rows: HtmlCell[][] = input.points
    .filter((p) => p.rank <= input.top || p.baseline)
    .map((p) => [
      String(p.rank),
      p.baseline ? `${p.key} (scenario)` : p.key,
      duration(p.stepSeconds),
      Math.round(p.tokensPerSecond).toLocaleString("en-US"),
      percent(p.mfu),
      `${sig(gib(p.memoryBytesPerGpu))} / ${sig(gib(p.memoryCapacityBytes))}`,
      sig(p.energyJoulesPerToken),
      ...(cost ? [p.costPerToken !== undefined ? sig(p.costPerToken * 1e6) : "-"] : []),
      ...(goodput ? [p.goodput !== undefined ? percent(p.goodput) : "-"] : []),
      { text: `${p.bottleneck.category} ${percent(p.bottleneck.share, 0)}`, swatch: categoryColour(p.bottleneck.category) },
    ]);
  return { caption: `Best ${input.top} layouts (${input.objective})`, columns: ["#", "layout", "step time", "tokens/s", "MFU", "memory/GPU (GiB)", "J/token", ...(cost ? ["cost/Mtoken"] : []), ...(goodput ? ["goodput"] : []), "bound mostly by"], rows, numeric: [true, false, true, true, true, true, true, ...(cost ? [true] : []), ...(goodput ? [true] : []), false] };
}

/** Writes the charts and report.html into `outDir`; returns the files written. */
export async function buildPlanReport(outDir: string, input: PlanReportInput): Promise<string[]> {
  const charts = planCharts(input);
  const c = input.counts;
  const notes = [input.why, `layouts: ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", ")}`];
  return writeReport(outDir, charts, (html) => renderHtml({ title: `${input.scenario}: parallel layout plan`, subtitle: `objective: ${input.objective}`, tables: [topTable(input)], charts: html, notes }, { generator: "trainsim" }));
}

export interface ScaleReportPoint {
  gpus: number;
  /** The point's name (--vary: the value as written); default its GPU count. */
  label?: string;
  /** The best layout at this GPU count, or undefined when none could be simulated. */
  best?: PlanPoint & { breakdown: Readonly<Record<string, number>> };
}

/** What the points are: the axis title and the report's words (--scale: GPUs; --vary: the key). */
export interface ScaleAxis {
  title: string;
  /** "as the cluster grows", "as cluster.gpu changes". */
  change: string;
  /** "GPU count", "value of cluster.gpu". */
  point: string;
}

export const GPU_AXIS: ScaleAxis = { title: "GPUs", change: "as the cluster grows", point: "GPU count" };

const pointLabel = (p: ScaleReportPoint): string => p.label ?? p.gpus.toLocaleString("en-US");

/** Bottleneck shift of the best plan from point to point (GPU counts, or a cluster key's values in the order given). */
export function scaleChart(points: readonly ScaleReportPoint[], axis: ScaleAxis = GPU_AXIS): TopLevelSpec {
  const rows = points.flatMap((p, i) =>
    p.best === undefined
      ? []
      : Object.entries(p.best.breakdown)
          .filter(([, share]) => share > 0)
          .map(([category, share]) => ({ gpus: pointLabel(p), order: p.label === undefined ? p.gpus : i, category, share, layout: p.best?.key ?? "" })),
  );
  return {
    $schema: VEGA_LITE_SCHEMA,
    width: 520,
    height: 300,
    config: CHART_CONFIG,
    data: { values: rows },
    mark: { type: "bar" },
    encoding: {
      x: { field: "gpus", type: "ordinal", title: axis.title, sort: { field: "order" }, axis: { labelAngle: 0 } },
      y: { field: "share", type: "quantitative", title: "share of the best layout's step", stack: "zero", axis: { format: ".0%" } },
      color: { field: "category", type: "nominal", title: "category", scale: vegaCategoryScale(rows.map((r) => r.category)) },
      tooltip: [{ field: "gpus", title: axis.title }, { field: "layout" }, { field: "category" }, { field: "share", format: ".1%" }],
    },
  } as TopLevelSpec;
}

/** The --scale (or --vary) report: the bottleneck-shift chart and the table of the best layout per point. */
export async function buildPlanScaleReport(outDir: string, scenario: string, objective: string, points: readonly ScaleReportPoint[], axis: ScaleAxis = GPU_AXIS): Promise<string[]> {
  const charts: PlannedChart[] = [{ name: "scale-bottleneck", title: `What bounds the best layout ${axis.change}`, caption: `At each ${axis.point}, the best layout the planner found and the share of its step per category.`, spec: scaleChart(points, axis) }];
  const numericAxis = points.every((p) => p.label === undefined);
  const table: HtmlTable = {
    caption: `Best layout per ${axis.point}`,
    columns: [axis.title, "best layout", "step time", "tokens/s", "MFU", "memory/GPU (GiB)", "bound mostly by"],
    numeric: [numericAxis, false, true, true, true, true, false],
    rows: points.map((p): HtmlCell[] => {
      const b = p.best;
      if (b === undefined) return [pointLabel(p), "no layout could be simulated", "", "", "", "", ""];
      return [pointLabel(p), b.key, duration(b.stepSeconds), Math.round(b.tokensPerSecond).toLocaleString("en-US"), percent(b.mfu), sig(gib(b.memoryBytesPerGpu)), { text: `${b.bottleneck.category} ${percent(b.bottleneck.share, 0)}`, swatch: categoryColour(b.bottleneck.category) }];
    }),
  };
  return writeReport(outDir, charts, (html) => renderHtml({ title: `${scenario}: best layout by ${axis.point}`, subtitle: `objective: ${objective}`, tables: [table], charts: html }, { generator: "trainsim" }));
}
