/**
 * Scaling: throughput (tokens/s) and MFU against GPU count, from sweep points
 * that differ in GPU count. A dashed line shows perfect linear scaling from
 * the smallest point, so lost efficiency is the gap between the two.
 */
import type { TopLevelSpec } from "vega-lite";
import type { SweepPointResult } from "../../models/results.ts";
import { CATEGORY_COLOURS, INK, SERIES_COLOURS } from "../palette.ts";
import { CHART_CONFIG, okPoints, pointLabel, sweptParams, VEGA_LITE_SCHEMA, type LayerChild } from "./common.ts";
import { drawnText, duration, formatParamValue, shortParam } from "../format.ts";

export interface ScalingRow {
  gpus: number;
  tokensPerSecond: number;
  mfu: number;
  stepSeconds: number;
  /** Parameters besides the GPU count that tell lines apart ("" with one line). */
  series: string;
  point: string;
}

/** Parameters whose value is fixed by the GPU count and vice versa (they are what scales the cluster). */
function paramsTiedToGpus(points: readonly (SweepPointResult & { result: { gpus: number } })[]): Set<string> {
  const keys = new Set(points.flatMap((p) => Object.keys(p.params)));
  const tied = new Set<string>();
  for (const k of keys) {
    const g2v = new Map<number, string>();
    const v2g = new Map<string, number>();
    let ok = true;
    for (const p of points) {
      const v = JSON.stringify(p.params[k]);
      const g = p.result.gpus;
      if ((g2v.has(g) && g2v.get(g) !== v) || (v2g.has(v) && v2g.get(v) !== g)) ok = false;
      g2v.set(g, v);
      v2g.set(v, g);
    }
    if (ok) tied.add(k);
  }
  return tied;
}

/** The parameters that tell series apart (not tied to the GPU count), and whether seeds do. */
function seriesKeys(ok: readonly (SweepPointResult & { result: { gpus: number } })[]): { keys: string[]; seeds: boolean } {
  const tied = paramsTiedToGpus(ok);
  const keys = sweptParams(ok).varying.filter((k) => !tied.has(k));
  return { keys, seeds: new Set(ok.map((p) => p.seed)).size > 1 };
}

export function scalingRows(results: readonly SweepPointResult[]): ScalingRow[] {
  const ok = okPoints(results);
  const { keys, seeds } = seriesKeys(ok);
  return ok.map((p) => {
    // One key: its value alone ("100 Gb/s"), the legend title names the key.
    const label = drawnText(keys.length === 1 ? formatParamValue(keys[0] as string, p.params[keys[0] as string]) : keys.length > 1 ? pointLabel(p, keys) : "");
    const series = [label, seeds ? `seed ${p.seed}` : ""].filter((x) => x !== "").join(", ");
    return {
      gpus: p.result.gpus,
      tokensPerSecond: p.result.tokensPerSecond,
      mfu: p.result.mfu,
      stepSeconds: p.result.stepSeconds,
      series,
      point: drawnText(pointLabel(p)),
    };
  });
}

export function scalingChart(results: readonly SweepPointResult[], options: { title?: string } = {}): TopLevelSpec {
  const rows = scalingRows(results).sort((a, b) => a.gpus - b.gpus);
  if (rows.length === 0) throw new Error("scaling: no successful sweep points to draw");
  const gpus = rows.map((r) => r.gpus);
  const lo = Math.min(...gpus);
  const hi = Math.max(...gpus);
  const log = hi / lo >= 8;
  const multi = new Set(rows.map((r) => r.series)).size > 1;
  // Ideal: linear from the smallest point of each series.
  const ideal: { gpus: number; tokensPerSecond: number; series: string }[] = [];
  for (const series of new Set(rows.map((r) => r.series))) {
    const mine = rows.filter((r) => r.series === series);
    const first = mine[0] as ScalingRow;
    for (const r of mine) ideal.push({ gpus: r.gpus, tokensPerSecond: (first.tokensPerSecond * r.gpus) / first.gpus, series });
  }
  const values = rows.map((r) => ({ ...r, stepTime: duration(r.stepSeconds) }));
  const x = {
    field: "gpus",
    type: "quantitative" as const,
    title: "GPUs",
    scale: log ? { type: "log" as const, base: 2, domain: [lo / 1.2, hi * 1.2] } : { zero: false, nice: true },
    axis: { values: [...new Set(gpus)], format: ",d", labelOverlap: true },
  };
  const { keys } = seriesKeys(okPoints(results));
  const seriesOrder: string[] = [];
  for (const r of rows) if (!seriesOrder.includes(r.series)) seriesOrder.push(r.series);
  const colour = multi
    ? {
        color: {
          field: "series",
          type: "nominal" as const,
          title: keys.length === 1 ? shortParam(keys[0] as string) : "series",
          sort: seriesOrder,
          scale: { domain: seriesOrder, range: seriesOrder.map((_, i) => SERIES_COLOURS[i % SERIES_COLOURS.length] as string) },
          legend: { labelLimit: 320 },
        },
      }
    : {};
  const tooltip = [
    { field: "point", type: "nominal" as const, title: "point" },
    { field: "gpus", type: "quantitative" as const, title: "GPUs", format: "," },
    { field: "tokensPerSecond", type: "quantitative" as const, title: "tokens/s", format: ",.0f" },
    { field: "mfu", type: "quantitative" as const, title: "MFU", format: ".1%" },
    { field: "stepTime", type: "nominal" as const, title: "step time" },
  ];
  const tps = rows.map((r) => r.tokensPerSecond).concat(ideal.map((r) => r.tokensPerSecond));
  const yLo = Math.min(...tps);
  const yHi = Math.max(...tps);
  // Efficiency against linear at the largest point of each series, labelled there.
  const efficiency = [...new Set(rows.map((r) => r.series))].map((series) => {
    const mine = rows.filter((r) => r.series === series);
    const first = mine[0] as ScalingRow;
    const last = mine[mine.length - 1] as ScalingRow;
    const eff = last.tokensPerSecond / ((first.tokensPerSecond * last.gpus) / first.gpus);
    return { gpus: last.gpus, tokensPerSecond: last.tokensPerSecond, series, text: `${(eff * 100).toFixed(0)} % of linear` };
  });
  const pointColour = multi ? {} : { color: CATEGORY_COLOURS.compute };
  const throughput: LayerChild[] = [
    {
      data: { values },
      mark: { type: "line", point: { filled: true, size: 60, ...pointColour }, strokeWidth: 2, ...pointColour },
      encoding: {
        x,
        y: {
          field: "tokensPerSecond",
          type: "quantitative",
          title: "throughput (tokens/s)",
          scale: log ? { type: "log", domain: [yLo / 1.4, yHi * 1.4], nice: false } : { zero: true },
          axis: { format: "~s" },
        },
        ...colour,
        tooltip,
      },
    },
    {
      data: { values: ideal },
      mark: { type: "line", strokeDash: [5, 4], color: INK.muted, strokeWidth: 1.5 },
      encoding: {
        x,
        y: { field: "tokensPerSecond", type: "quantitative" },
        detail: { field: "series", type: "nominal" },
      },
    },
    ...(rows.length > 1 && !multi
      ? [
          {
            data: { values: efficiency },
            mark: { type: "text" as const, align: "right" as const, baseline: "bottom" as const, dx: -10, dy: -8, color: INK.text, fontSize: 12 },
            encoding: { x, y: { field: "tokensPerSecond", type: "quantitative" as const }, text: { field: "text", type: "nominal" as const } },
          },
        ]
      : []),
  ];
  const mfu: LayerChild[] = [
    {
      data: { values },
      mark: { type: "line", point: { filled: true, size: 60, ...pointColour }, strokeWidth: 2, ...pointColour },
      encoding: {
        x,
        y: { field: "mfu", type: "quantitative", title: "MFU (% of peak)", scale: { domain: [0, Math.min(1, Math.max(0.6, ...rows.map((r) => r.mfu * 1.15)))] }, axis: { format: ".0%" } },
        ...colour,
        tooltip,
      },
    },
  ];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Scaling with GPU count",
      subtitle: [
        "Left: training throughput; dashed = perfect linear scaling from the smallest run.",
        "Right: model FLOPs utilisation (PaLM convention).",
        ...(multi ? [`At the largest GPU count: ${efficiency.map((e) => `${e.series} ${e.text}`).join("; ")}.`] : []),
      ],
    },
    hconcat: [
      { width: 340, height: 260, layer: throughput },
      { width: 340, height: 260, layer: mfu },
    ],
    config: CHART_CONFIG,
  };
}
