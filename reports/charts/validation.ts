/**
 * Validation: what the simulator predicts against what papers published, one
 * panel per metric, with the y = x line and a ±10 % band. Points outside the
 * band are the ones to explain. Hover a point for the case and its source.
 */
import type { TopLevelSpec } from "vega-lite";
import type { ValidationRow } from "../../models/results.ts";
import { INK } from "../palette.ts";
import { CHART_CONFIG, logTicks, VEGA_LITE_SCHEMA, type LayerChild } from "./common.ts";

const INSIDE = "#0072B2";
const OUTSIDE = "#D55E00";

export interface ValidationOptions {
  title?: string;
  /** Half-width of the band, as a fraction (default 0.1 = ±10 %). */
  band?: number;
}

/** Readable panel titles for the metrics experiments/validate.ts defines (others show their key). */
export const METRIC_TITLES: Readonly<Record<string, string>> = {
  stepSeconds: "step time",
  tflopsPerGpu: "model TFLOP/s per GPU",
  mfu: "MFU",
  tokensPerSecond: "tokens per second",
  tflopsPerGpuNarayanan: "TFLOP/s per GPU (Narayanan Eq. 3)",
  tflopsPerGpuCausal: "TFLOP/s per GPU (causal attention halved)",
};

function metricPanel(metric: string, rows: readonly ValidationRow[], band: number): { width: number; height: number; title: string; layer: LayerChild[] } {
  const values = rows.map((r) => ({
    name: r.name,
    source: r.source,
    published: r.published,
    predicted: r.predicted,
    error: r.error,
    within: Math.abs(r.error) <= band + 1e-12 ? `within ±${Math.round(band * 100)} %` : `outside ±${Math.round(band * 100)} %`,
  }));
  const all = rows.flatMap((r) => [r.published, r.predicted]).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const log = hi / lo > 20;
  let domain: number[];
  if (log) domain = [lo / 1.6, hi * 1.6];
  else {
    // At least ±20 % around the points, so the ±band stays readable with one case.
    const mid = (lo + hi) / 2;
    const half = Math.max((hi - lo) / 2 + (hi - lo) * 0.15, mid * 0.2);
    domain = [Math.max(0, mid - half), mid + half];
  }
  const [d0, d1] = domain as [number, number];
  const unit = rows[0]?.unit ?? "";
  const axisTitle = (what: string): string => `${what}${unit ? ` (${unit})` : ""}`;
  const scale = log ? { type: "log" as const, domain, nice: false } : { type: "linear" as const, domain, nice: false, zero: false };
  const axis = log ? { format: ".4~r", values: logTicks(d0, d1) } : { format: ".4~r", tickCount: 6 };
  const x = { field: "published", type: "quantitative" as const, title: axisTitle("published"), scale, axis };
  const y = { field: "predicted", type: "quantitative" as const, title: axisTitle("predicted"), scale, axis };
  const steps = 24;
  const line = Array.from({ length: steps + 1 }, (_, i) => {
    const v = log ? d0 * Math.pow(d1 / d0, i / steps) : d0 + ((d1 - d0) * i) / steps;
    return { published: v, predicted: v, lo: v * (1 - band), hi: v * (1 + band) };
  });
  return {
    width: 300,
    height: 300,
    title: `${METRIC_TITLES[metric] ?? metric}${log ? " (log-log)" : ""}`,
    layer: [
      {
        data: { values: line },
        mark: { type: "area", color: INK.band, opacity: 0.6, clip: true },
        encoding: { x, y: { field: "lo", type: "quantitative", scale }, y2: { field: "hi" } },
      },
      {
        data: { values: line },
        mark: { type: "line", color: INK.reference, strokeWidth: 1.2, strokeDash: [4, 3], clip: true },
        encoding: { x, y },
      },
      {
        data: { values },
        mark: { type: "point", filled: true, size: 80, opacity: 0.9, stroke: "white", strokeWidth: 0.8 },
        encoding: {
          x,
          y,
          color: {
            field: "within",
            type: "nominal",
            title: "prediction",
            scale: { domain: [`within ±${Math.round(band * 100)} %`, `outside ±${Math.round(band * 100)} %`], range: [INSIDE, OUTSIDE] },
          },
          tooltip: [
            { field: "name", type: "nominal", title: "case" },
            { field: "source", type: "nominal", title: "source" },
            { field: "published", type: "quantitative", title: axisTitle("published"), format: ".4~g" },
            { field: "predicted", type: "quantitative", title: axisTitle("predicted"), format: ".4~g" },
            { field: "error", type: "quantitative", title: "error", format: "+.1%" },
          ],
        },
      },
    ],
  };
}

export function validationChart(rows: readonly ValidationRow[], options: ValidationOptions = {}): TopLevelSpec {
  if (rows.length === 0) throw new Error("validation: no cases to draw");
  const band = options.band ?? 0.1;
  const metrics: string[] = [];
  for (const r of rows) if (!metrics.includes(r.metric)) metrics.push(r.metric);
  const within = rows.filter((r) => Math.abs(r.error) <= band + 1e-12).length;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Predicted against published",
      subtitle: [
        `${rows.length} published ${rows.length === 1 ? "case" : "cases"}, ${within} within ±${Math.round(band * 100)} %. Dashed: y = x; grey band: ±${Math.round(band * 100)} %.`,
        "Hover a point for the case and its source.",
      ],
    },
    hconcat: metrics.map((m) => metricPanel(m, rows.filter((r) => r.metric === m), band)),
    resolve: { scale: { x: "independent", y: "independent" } },
    config: CHART_CONFIG,
  };
}
