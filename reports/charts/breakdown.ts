/**
 * One run's step time by category: a horizontal bar per category, longest
 * first, in the shared colours. The single-run counterpart of the
 * bottleneck-shift chart.
 */
import type { TopLevelSpec } from "vega-lite";
import type { RunResult } from "../../models/run.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { CATEGORY_MEANING, vegaCategoryScale } from "../palette.ts";
import { CHART_CONFIG, VEGA_LITE_SCHEMA } from "./common.ts";
import { duration } from "../format.ts";
import { dominantCategory } from "./bottleneck-shift.ts";

export function breakdownChart(result: RunResult, options: { title?: string } = {}): TopLevelSpec {
  const rows = CATEGORIES.filter((c) => result.breakdown[c] > 0).map((c) => ({
    category: c,
    share: result.breakdown[c],
    seconds: result.breakdown[c] * result.stepSeconds,
    time: duration(result.breakdown[c] * result.stepSeconds),
    meaning: CATEGORY_MEANING[c],
    label: `${(result.breakdown[c] * 100).toFixed(1)} % · ${duration(result.breakdown[c] * result.stepSeconds)}`,
  }));
  if (rows.length === 0) throw new Error("breakdown: the run has no time in any category");
  rows.sort((a, b) => b.share - a.share);
  const order = rows.map((r) => r.category);
  const top = Math.max(...rows.map((r) => r.share));
  const x = { field: "share", type: "quantitative" as const, title: "share of step time (%)", axis: { format: ".0%", tickCount: 6 }, scale: { domain: [0, Math.min(1, top * 1.35)], nice: false } };
  const y = { field: "category", type: "nominal" as const, sort: order, title: null };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Where the step time goes",
      subtitle: [`Step time ${duration(result.stepSeconds)}; bound mostly by ${dominantCategory(result.breakdown)}. Shares average over all GPUs.`],
    },
    data: { values: rows },
    width: 520,
    height: { step: 30 },
    layer: [
      {
        mark: { type: "bar", height: { band: 0.7 } },
        encoding: {
          x,
          y,
          color: { field: "category", type: "nominal", scale: vegaCategoryScale(order), legend: null },
          tooltip: [
            { field: "category", type: "nominal", title: "category" },
            { field: "meaning", type: "nominal", title: "means" },
            { field: "share", type: "quantitative", title: "share", format: ".1%" },
            { field: "time", type: "nominal", title: "per step" },
          ],
        },
      },
      {
        mark: { type: "text", align: "left", dx: 5, baseline: "middle", color: "#222222" },
        encoding: { x, y, text: { field: "label", type: "nominal" } },
      },
    ],
    config: CHART_CONFIG,
  };
}
