/**
 * Goodput against checkpoint interval: checkpoint often and the writes eat
 * the run; rarely, and every failure throws away more work. The best
 * interval (Young/Daly's √(2·δ·MTBF) in the simplest model) is marked.
 */
import type { TopLevelSpec } from "vega-lite";
import { CATEGORY_COLOURS, INK } from "../palette.ts";
import { CHART_CONFIG, logTicks, timeUnit, VEGA_LITE_SCHEMA } from "./common.ts";
import { duration } from "../format.ts";

/** One reliability result: the checkpoint interval and the share of wall-clock time spent on useful training. */
export interface GoodputPoint {
  intervalSeconds: number;
  /** Useful training time / wall-clock time, 0..1. */
  goodput: number;
  /** Optional series name (e.g. a cluster size or an MTBF) when several curves share the chart. */
  series?: string;
}

/** The point with the highest goodput (first on a tie), per series. */
export function bestIntervals(points: readonly GoodputPoint[]): GoodputPoint[] {
  const best = new Map<string, GoodputPoint>();
  for (const p of points) {
    const k = p.series ?? "";
    const b = best.get(k);
    if (b === undefined || p.goodput > b.goodput) best.set(k, p);
  }
  return [...best.values()];
}

export function goodputChart(points: readonly GoodputPoint[], options: { title?: string; subtitle?: string } = {}): TopLevelSpec {
  if (points.length === 0) throw new Error("goodput: no points to draw");
  const sorted = [...points].sort((a, b) => (a.series ?? "").localeCompare(b.series ?? "") || a.intervalSeconds - b.intervalSeconds);
  const lo = Math.min(...sorted.map((p) => p.intervalSeconds));
  const hi = Math.max(...sorted.map((p) => p.intervalSeconds));
  const { factor, unit } = timeUnit(Math.sqrt(lo * hi));
  const log = hi / lo >= 10;
  const multi = new Set(sorted.map((p) => p.series ?? "")).size > 1;
  const values = sorted.map((p) => ({ interval: p.intervalSeconds / factor, goodput: p.goodput, series: p.series ?? "", every: duration(p.intervalSeconds) }));
  const best = bestIntervals(sorted).map((p) => ({
    interval: p.intervalSeconds / factor,
    goodput: p.goodput,
    series: p.series ?? "",
    text: `best: every ${duration(p.intervalSeconds)} → ${(p.goodput * 100).toFixed(1)} %`,
  }));
  const gLo = Math.min(...sorted.map((p) => p.goodput));
  const x = {
    field: "interval",
    type: "quantitative" as const,
    title: `checkpoint interval (${unit}${log ? ", log" : ""})`,
    scale: log ? { type: "log" as const, domain: [lo / factor / 1.3, (hi / factor) * 1.3], nice: false } : { zero: false },
    axis: log ? { format: ".3~r", values: logTicks(lo / factor / 1.3, (hi / factor) * 1.3) } : { format: ".3~r" },
  };
  const y = {
    field: "goodput",
    type: "quantitative" as const,
    title: "goodput (% of wall-clock time training)",
    scale: { domain: [Math.max(0, Math.floor((gLo - 0.05) * 20) / 20), 1], nice: false },
    axis: { format: ".0%" },
  };
  const colour = multi ? { color: { field: "series", type: "nominal" as const, title: "series" } } : {};
  const lineColour = multi ? {} : { color: CATEGORY_COLOURS.checkpoint };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Goodput against checkpoint interval",
      subtitle: [options.subtitle ?? "Too often: time lost writing checkpoints. Too rarely: work lost to each failure."],
    },
    width: 560,
    height: 300,
    layer: [
      {
        data: { values },
        mark: { type: "line", strokeWidth: 2, point: { filled: true, size: 50, ...lineColour }, ...lineColour },
        encoding: {
          x,
          y,
          ...colour,
          tooltip: [
            ...(multi ? [{ field: "series", type: "nominal" as const, title: "series" }] : []),
            { field: "every", type: "nominal" as const, title: "checkpoint every" },
            { field: "goodput", type: "quantitative" as const, title: "goodput", format: ".2%" },
          ],
        },
      },
      {
        data: { values: best },
        mark: { type: "point", shape: "diamond", filled: true, size: 160, color: INK.text },
        encoding: { x, y },
      },
      {
        data: { values: best },
        mark: { type: "text", align: "center", baseline: "bottom", dy: -12, fontWeight: "bold", color: INK.text },
        encoding: { x, y, text: { field: "text", type: "nominal" } },
      },
    ],
    config: CHART_CONFIG,
  };
}
