/**
 * Memory per GPU by part (weights, gradients, optimizer state, activations,
 * runtime buffers) as stacked bars against the HBM capacity, for one run or
 * across sweep points. The capacity is a black tick on each bar, so a sweep
 * over GPUs with different HBM shows each one's own limit.
 */
import type { TopLevelSpec } from "vega-lite";
import type { SweepPointResult } from "../../models/results.ts";
import type { RunResult } from "../../models/run.ts";
import { INK, MEMORY_COLOURS, MEMORY_PARTS } from "../palette.ts";
import { CHART_CONFIG, drawnLabels, okPoints, pointLabel, sweptParams, VEGA_LITE_SCHEMA } from "./common.ts";
import { drawnText, formatParamValue, gib, shortParam, sig } from "../format.ts";

export interface MemoryBar {
  label: string;
  result: RunResult;
}

/** One bar per successful sweep point, labelled by the swept values (just the value when one parameter varies). */
export function memoryBarsFromSweep(results: readonly SweepPointResult[]): { bars: MemoryBar[]; xTitle: string } {
  const ok = okPoints(results);
  const { varying } = sweptParams(ok);
  const seeds = new Set(ok.map((p) => p.seed)).size > 1;
  const seed = (p: SweepPointResult): string => (seeds ? ` (seed ${p.seed})` : "");
  if (varying.length === 1) {
    const k = varying[0] as string;
    const labels = drawnLabels(ok.map((p) => formatParamValue(k, p.params[k])));
    return { bars: ok.map((p, i) => ({ label: (labels[i] as string) + seed(p), result: p.result })), xTitle: shortParam(k) };
  }
  const labels = drawnLabels(ok.map((p) => (varying.length > 0 ? pointLabel(p, varying) : p.result.name)));
  return { bars: ok.map((p, i) => ({ label: (labels[i] as string) + seed(p), result: p.result })), xTitle: "sweep point" };
}

export function memoryChartForSweep(results: readonly SweepPointResult[], options: { title?: string } = {}): TopLevelSpec {
  const { bars, xTitle } = memoryBarsFromSweep(results);
  return memoryChart(bars, { ...options, xTitle });
}

export function memoryChart(input: RunResult | readonly MemoryBar[], options: { title?: string; xTitle?: string } = {}): TopLevelSpec {
  const bars: MemoryBar[] = Array.isArray(input) ? [...(input as readonly MemoryBar[])] : [{ label: drawnText((input as RunResult).name), result: input as RunResult }];
  if (bars.length === 0) throw new Error("memory: nothing to draw");
  const order = bars.map((b) => b.label);
  const rows = bars.flatMap((b) =>
    MEMORY_PARTS.map((part, i) => ({
      label: b.label,
      part,
      partOrder: i,
      gib: gib(b.result.memory[part]),
      share: b.result.memory[part] / b.result.memory.total,
    })),
  );
  const caps = bars.map((b) => ({
    label: b.label,
    capacity: gib(b.result.memoryCapacityBytes),
    total: gib(b.result.memory.total),
    text: `${sig(gib(b.result.memory.total))} GiB`,
    fits: b.result.memory.total <= b.result.memoryCapacityBytes,
  }));
  const top = Math.max(...caps.map((c) => Math.max(c.capacity, c.total)));
  const longest = Math.max(...order.map((l) => l.length));
  const x = {
    field: "label",
    type: "nominal" as const,
    sort: order,
    title: bars.length === 1 ? null : (options.xTitle ?? "sweep point"),
    axis: { labelAngle: bars.length > 1 && longest > 9 ? -30 : 0, labelLimit: 220 },
  };
  const stage = bars.length === 1 ? ` (pipeline stage ${bars[0]?.result.memory.stage ?? 0}, the fullest)` : "";
  const capacities = [...new Set(caps.map((c) => c.capacity))];
  const capacityText = capacities.length === 1 ? `black tick = HBM capacity, ${sig(capacities[0] as number)} GiB` : "black tick = each GPU's HBM capacity";
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Memory per GPU",
      subtitle: [`Peak memory of one GPU by part${stage}.`, `Number above a bar: its total; ${capacityText}.`],
    },
    width: bars.length === 1 ? 160 : { step: Math.max(70, Math.min(120, 8 * longest)) },
    height: 300,
    layer: [
      {
        data: { values: rows },
        mark: { type: "bar", width: { band: 0.6 } },
        encoding: {
          x,
          y: { field: "gib", type: "quantitative", stack: "zero", title: "memory per GPU (GiB)", scale: { domain: [0, top * 1.12], nice: false } },
          color: {
            field: "part",
            type: "nominal",
            title: "part",
            scale: { domain: [...MEMORY_PARTS], range: MEMORY_PARTS.map((p) => MEMORY_COLOURS[p]) },
            legend: { symbolType: "square" },
          },
          order: { field: "partOrder", type: "quantitative", sort: "ascending" },
          tooltip: [
            { field: "label", type: "nominal", title: "point" },
            { field: "part", type: "nominal", title: "part" },
            { field: "gib", type: "quantitative", title: "GiB", format: ".2f" },
            { field: "share", type: "quantitative", title: "share of total", format: ".1%" },
          ],
        },
      },
      {
        data: { values: caps },
        mark: { type: "tick", color: INK.limit, opacity: 1, thickness: 3, size: bars.length === 1 ? 80 : 50 },
        encoding: {
          x,
          y: { field: "capacity", type: "quantitative" },
          tooltip: [
            { field: "label", type: "nominal", title: "point" },
            { field: "capacity", type: "quantitative", title: "HBM capacity (GiB)", format: ".1f" },
          ],
        },
      },
      {
        data: { values: caps },
        mark: { type: "text", baseline: "bottom", dy: -4, fontSize: 11, color: INK.text },
        encoding: {
          x,
          y: { field: "total", type: "quantitative" },
          text: { field: "text", type: "nominal" },
          color: { value: INK.text },
        },
      },
    ],
    config: CHART_CONFIG,
  };
}
