/**
 * run --uncertainty: which calibrated constants move the step most. One bar per constant, from
 * the step with it alone at the low end of its spread to the step at the high end, around the
 * run's step time; the largest swing on top (a tornado).
 */
import type { TopLevelSpec } from "vega-lite";
import type { UncertaintyResult } from "../../models/uncertainty/analyse.ts";
import { CHART_CONFIG, VEGA_LITE_SCHEMA } from "./common.ts";
import { duration } from "../format.ts";

/** Constants drawn (the rest move the step less; all are in result.json). */
export const TORNADO_BARS = 12;

export function tornadoChart(u: UncertaintyResult, stepSeconds: number): TopLevelSpec {
  const rows = u.sensitivity.slice(0, TORNADO_BARS).map((x) => {
    const c = u.constants.find((k) => k.path === x.path);
    const lo = Math.min(x.lowStepSeconds, x.highStepSeconds) / stepSeconds - 1;
    const hi = Math.max(x.lowStepSeconds, x.highStepSeconds) / stepSeconds - 1;
    return {
      constant: x.path,
      from: lo,
      to: hi,
      spread: c === undefined ? "" : `${(c.low * 100).toFixed(1)} % … +${(c.high * 100).toFixed(1)} %`,
      atLow: duration(x.lowStepSeconds),
      atHigh: duration(x.highStepSeconds),
      source: c?.source ?? "",
    };
  });
  const order = rows.map((r) => r.constant);
  const s = u.stepSeconds;
  const y = { field: "constant", type: "nominal" as const, sort: order, title: null, axis: { labelLimit: 360 } };
  const x = { field: "from", type: "quantitative" as const, title: "step time against the run's (%)", axis: { format: "+.1%" } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "What moves the step most",
      subtitle: [
        `Each constant alone at the low and high end of its spread (docs/uncertainty.md); run's step ${duration(stepSeconds)}.`,
        `All together, ${u.samples} Latin-hypercube samples: p5 ${duration(s.p5)}, p50 ${duration(s.p50)}, p95 ${duration(s.p95)}.`,
      ],
    },
    data: { values: rows },
    width: 520,
    height: { step: 26 },
    layer: [
      {
        mark: { type: "bar", height: { band: 0.7 }, color: "#4C78A8" },
        encoding: {
          y,
          x,
          x2: { field: "to" },
          tooltip: [
            { field: "constant", type: "nominal", title: "constant" },
            { field: "spread", type: "nominal", title: "spread" },
            { field: "atLow", type: "nominal", title: "step at the low end" },
            { field: "atHigh", type: "nominal", title: "step at the high end" },
            { field: "source", type: "nominal", title: "spread from" },
          ],
        },
      },
      { mark: { type: "rule", color: "#222222" }, encoding: { x: { datum: 0, type: "quantitative" } } },
    ],
    config: CHART_CONFIG,
  };
}
