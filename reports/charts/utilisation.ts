/**
 * A cluster over time: the share of its GPUs held by running jobs, and its
 * facility power against the cap, one line per run when runs are compared
 * (placements, schedulers). Series are piecewise constant (step lines); long
 * ones keep each time slot's lowest and highest point so peaks and dips
 * survive downsampling.
 */
import type { TopLevelSpec } from "vega-lite";
import type { SeriesPoint } from "../../models/cluster/types.ts";
import { INK, SERIES_COLOURS } from "../palette.ts";
import { CHART_CONFIG, type LayerChild, timeUnit, VEGA_LITE_SCHEMA } from "./common.ts";
import { percent, siPrefix, withUnit } from "../format.ts";
import { downsamplePower } from "./power.ts";

export interface ClusterSeries {
  /** Run label ("placement: spread"). */
  label: string;
  points: readonly SeriesPoint[];
  /** Time-mean of the series, shown in the legend. */
  mean?: number;
}

export interface SeriesChartOptions {
  title?: string;
  /** At most this many points per series (default 1,500). */
  maxPoints?: number;
}

function downsample(points: readonly SeriesPoint[], max: number): SeriesPoint[] {
  return downsamplePower(
    points.map((p) => ({ time: p.time, watts: p.value })),
    max,
  ).map((p) => ({ time: p.time, value: p.watts }));
}

function stepChart(
  series: readonly ClusterSeries[],
  y: { title: string; scale: number; format: string; domain: [number, number] },
  endSeconds: number,
  rules: { label: string; value: number }[],
  text: { title: string; subtitle: string },
  options: SeriesChartOptions,
): TopLevelSpec {
  if (series.length === 0 || series.every((s) => s.points.length === 0)) throw new Error(`${text.title}: no points to draw`);
  const { factor, unit } = timeUnit(endSeconds);
  const max = options.maxPoints ?? 1500;
  const labels = series.map((s) => (s.mean === undefined ? s.label : `${s.label} (mean ${y.format === "%" ? percent(s.mean) : withUnit(s.mean, "W")})`));
  const values: { t: number; v: number; run: string }[] = [];
  series.forEach((s, i) => {
    const pts = downsample(s.points, max);
    for (const p of pts) values.push({ t: Number((p.time / factor).toPrecision(6)), v: Number((p.value / y.scale).toPrecision(6)), run: labels[i] as string });
    // Hold the last value to the end of the run.
    const last = pts[pts.length - 1];
    if (last !== undefined && last.time < endSeconds) values.push({ t: Number((endSeconds / factor).toPrecision(6)), v: Number((last.value / y.scale).toPrecision(6)), run: labels[i] as string });
  });
  const multi = series.length > 1;
  const layers: LayerChild[] = [
    {
      data: { values },
      mark: { type: "line", interpolate: "step-after", strokeWidth: 1.6, ...(multi ? {} : { color: SERIES_COLOURS[0] }) },
      encoding: {
        x: { field: "t", type: "quantitative", title: `time (${unit})`, scale: { domain: [0, endSeconds / factor], nice: false } },
        y: { field: "v", type: "quantitative", title: y.title, scale: { domain: y.domain, nice: false }, axis: y.format === "%" ? { format: ".0%" } : {} },
        ...(multi ? { color: { field: "run", type: "nominal" as const, title: null, sort: labels, scale: { domain: labels, range: SERIES_COLOURS.slice(0, labels.length) }, legend: { orient: "bottom" as const, direction: "vertical" as const, labelLimit: 600 } } } : {}),
        tooltip: [
          { field: "run", type: "nominal", title: "run" },
          { field: "t", type: "quantitative", title: `time (${unit})`, format: ".4~f" },
          { field: "v", type: "quantitative", title: y.title, format: y.format === "%" ? ".1%" : ".4~f" },
        ],
      },
    },
  ];
  if (rules.length > 0) {
    const rows = rules.map((r) => ({ v: r.value / y.scale, text: r.label }));
    layers.push(
      { data: { values: rows }, mark: { type: "rule", color: INK.limit, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { field: "v", type: "quantitative" } } },
      { data: { values: rows }, mark: { type: "text", align: "right", baseline: "bottom", dy: -3, x: "width", color: INK.limit }, encoding: { y: { field: "v", type: "quantitative" }, text: { field: "text", type: "nominal" } } },
    );
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: options.title ?? text.title, subtitle: [text.subtitle] },
    width: 720,
    height: 260,
    layer: layers,
    config: CHART_CONFIG,
  };
}

/** Share of the cluster's GPUs held by running jobs over time; `points` hold GPU counts. */
export function utilisationChart(series: readonly ClusterSeries[], totalGpus: number, endSeconds: number, options: SeriesChartOptions = {}): TopLevelSpec {
  const shares = series.map((s) => ({ ...s, points: s.points.map((p) => ({ time: p.time, value: p.value / totalGpus })) }));
  return stepChart(
    shares,
    { title: "GPUs in use", scale: 1, format: "%", domain: [0, 1] },
    endSeconds,
    [],
    { title: "Cluster GPU utilisation", subtitle: `Share of the ${totalGpus.toLocaleString("en-US")} GPUs held by running jobs (idle GPUs under queued jobs are fragmentation or power limits).` },
    options,
  );
}

/** Facility power over time against the cap (watts). */
export function facilityPowerChart(series: readonly ClusterSeries[], endSeconds: number, capWatts: number | undefined, options: SeriesChartOptions = {}): TopLevelSpec {
  const peak = Math.max(capWatts ?? 0, ...series.flatMap((s) => s.points.map((p) => p.value)));
  const { factor, prefix } = siPrefix(peak);
  return stepChart(
    series,
    { title: `facility power (${prefix}W)`, scale: factor, format: "W", domain: [0, (peak / factor) * 1.12] },
    endSeconds,
    capWatts === undefined ? [] : [{ label: `facility cap: ${withUnit(capWatts, "W")}`, value: capWatts }],
    { title: "Facility power", subtitle: "PUE × (running GPUs at their draw + idle GPUs + every node's overhead)." },
    options,
  );
}
