/**
 * Roofline of one layer's kernels on the accelerator (Williams, Waterman &
 * Patterson 2009): attainable FLOP/s = min(peak, intensity × HBM bandwidth).
 * Kernels left of the ridge are HBM-bound (orange), right of it compute-bound
 * (blue): the same colours as the bottleneck categories everywhere else.
 */
import type { TopLevelSpec } from "vega-lite";
import type { RooflineData } from "../../models/workload/kernel-summary.ts";
import { CATEGORY_COLOURS, INK } from "../palette.ts";
import { CHART_CONFIG, logTicks, VEGA_LITE_SCHEMA } from "./common.ts";
import { drawnText, duration, sig, withUnit } from "../format.ts";

export function rooflineChart(data: RooflineData, options: { title?: string } = {}): TopLevelSpec {
  const peak = data.peakFlopsPerSecond;
  const bw = data.hbmBytesPerSecond;
  const ridge = peak / bw;
  const shown = data.kernels.filter((k) => Number.isFinite(k.intensity) && k.intensity > 0 && k.flopsPerSecond > 0);
  const hidden = data.kernels.length - shown.length;
  if (shown.length === 0) throw new Error("roofline: no kernels with FLOPs and bytes to draw");
  const xs = shown.map((k) => k.intensity).concat([ridge]);
  const xLo = Math.min(...xs) / 3;
  const xHi = Math.max(...xs) * 3;
  const T = 1e12;
  const roof = [xLo, ridge, xHi].map((i) => ({ intensity: i, tflops: Math.min(peak, i * bw) / T }));
  const yLo = Math.min(...shown.map((k) => k.flopsPerSecond), xLo * bw) / T / 1.5;
  const yHi = (peak / T) * 1.6;
  const kernels = shown.map((k) => ({
    name: k.name,
    direction: k.direction,
    kind: k.kind,
    intensity: k.intensity,
    tflops: k.flopsPerSecond / T,
    bound: k.bound === "hbm" ? "hbm" : "compute",
    flops: withUnit(k.flops, "FLOP"),
    bytes: withUnit(k.bytes, "B"),
    time: duration(k.seconds),
    ofRoof: k.flopsPerSecond / Math.min(peak, k.intensity * bw),
  }));
  const x = {
    field: "intensity",
    type: "quantitative" as const,
    title: "arithmetic intensity (FLOP per byte of HBM traffic)",
    scale: { type: "log" as const, domain: [xLo, xHi], nice: false },
    axis: { values: logTicks(xLo, xHi), format: ".4~r" },
  };
  const y = {
    field: "tflops",
    type: "quantitative" as const,
    title: "achieved TFLOP/s (log)",
    scale: { type: "log" as const, domain: [yLo, yHi], nice: false },
    axis: { values: logTicks(yLo, yHi), format: ".4~r" },
  };
  const W = 620;
  const H = 360;
  // The HBM slope is 1 decade per decade; on screen its angle depends on the axes' decades per pixel.
  const slopeDegrees = (Math.atan(H / Math.log10(yHi / yLo) / (W / Math.log10(xHi / xLo))) * 180) / Math.PI;
  const slopeAt = Math.sqrt(xLo * ridge);
  const labels = [
    { intensity: xHi, tflops: peak / T, text: `compute roof: ${sig(peak / T)} TFLOP/s`, align: "right" },
    { intensity: slopeAt, tflops: (slopeAt * bw) / T, text: `HBM roof: ${withUnit(bw, "B/s")}`, align: "center" },
  ];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? `Roofline: one layer's kernels on ${drawnText(data.gpu)}`,
      subtitle: [
        `Forward and backward kernels of one transformer layer, one micro-batch, alone on one GPU. Ridge at ${sig(ridge)} FLOP/B.`,
        `Colour: what bounds each kernel. Hover for details.${hidden > 0 ? ` ${hidden} kernel${hidden === 1 ? "" : "s"} without FLOPs not shown.` : ""}`,
      ],
    },
    width: W,
    height: H,
    layer: [
      {
        data: { values: roof },
        mark: { type: "line", color: INK.reference, strokeWidth: 2.5 },
        encoding: { x, y },
      },
      {
        data: { values: [{ intensity: ridge, lo: yLo, hi: peak / T, text: `ridge: ${sig(ridge)} FLOP/B` }] },
        layer: [
          {
            mark: { type: "rule", color: INK.muted, strokeDash: [3, 3] },
            encoding: { x: { field: "intensity", type: "quantitative" }, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
          },
          {
            mark: { type: "text", align: "left", baseline: "bottom", dx: 4, dy: -4, color: INK.muted, fontSize: 11 },
            encoding: { x: { field: "intensity", type: "quantitative" }, y: { field: "lo", type: "quantitative" }, text: { field: "text", type: "nominal" } },
          },
        ],
      },
      {
        data: { values: labels.filter((l) => l.align === "right") },
        mark: { type: "text", align: "right", baseline: "bottom", dy: -5, color: INK.text, fontSize: 12 },
        encoding: { x: { field: "intensity", type: "quantitative" }, y: { field: "tflops", type: "quantitative" }, text: { field: "text", type: "nominal" } },
      },
      {
        data: { values: labels.filter((l) => l.align === "center") },
        mark: { type: "text", align: "center", baseline: "bottom", dy: -6, angle: 360 - slopeDegrees, color: INK.text, fontSize: 12 },
        encoding: { x: { field: "intensity", type: "quantitative" }, y: { field: "tflops", type: "quantitative" }, text: { field: "text", type: "nominal" } },
      },
      {
        data: { values: kernels },
        mark: { type: "point", filled: true, size: 90, opacity: 0.85, stroke: "white", strokeWidth: 0.8 },
        encoding: {
          x,
          y,
          color: {
            field: "bound",
            type: "nominal",
            title: "bound by",
            scale: { domain: ["compute", "hbm"], range: [CATEGORY_COLOURS.compute, CATEGORY_COLOURS.hbm] },
          },
          shape: { field: "direction", type: "nominal", title: "pass", scale: { domain: ["forward", "backward"], range: ["circle", "triangle-up"] } },
          tooltip: [
            { field: "name", type: "nominal", title: "kernel" },
            { field: "direction", type: "nominal", title: "pass" },
            { field: "kind", type: "nominal", title: "kind" },
            { field: "intensity", type: "quantitative", title: "FLOP/byte", format: ".3~r" },
            { field: "tflops", type: "quantitative", title: "TFLOP/s", format: ".3~r" },
            { field: "ofRoof", type: "quantitative", title: "of the roof", format: ".0%" },
            { field: "flops", type: "nominal", title: "work" },
            { field: "bytes", type: "nominal", title: "HBM traffic" },
            { field: "time", type: "nominal", title: "time alone" },
          ],
        },
      },
    ],
    config: CHART_CONFIG,
  };
}
