/**
 * Facility power through one step at each sweep point, one line per point:
 * how a power floor, energy storage, a cap or a different plan reshapes the
 * swings a utility sees. The legend names each point with its largest drop
 * within 100 ms (the swing windows of models/power/analysis.ts).
 */
import type { TopLevelSpec } from "vega-lite";
import type { SweepPointResult } from "../../models/results.ts";
import { INK, SERIES_COLOURS } from "../palette.ts";
import { CHART_CONFIG, okPoints, pointLabel, sweptParams, timeUnit, VEGA_LITE_SCHEMA } from "./common.ts";
import { drawnText, siPrefix, withUnit } from "../format.ts";
import { downsamplePower, type PowerSample } from "./power.ts";

/** Window whose largest drop labels each line, seconds. */
const DROP_WINDOW_SECONDS = 0.1;
/** Samples drawn per line: enough for the swings, small enough for a dozen lines. */
const POINTS_PER_LINE = 600;

interface Line {
  label: string;
  samples: PowerSample[];
  capWatts: number | undefined;
}

function linesOf(results: readonly SweepPointResult[]): Line[] {
  const ok = okPoints(results);
  const { varying } = sweptParams(ok);
  const out: Line[] = [];
  for (const p of ok) {
    const power = p.result.power;
    if (power.series.length === 0) continue;
    // What the grid sees: with storage, the smoothed swings; else the facility's own.
    const swings = power.storage?.swings ?? power.stagger?.swings ?? power.swings;
    const drop = swings.find((s) => s.windowSeconds === DROP_WINDOW_SECONDS);
    // Explicit point lists set different keys per point: name each by its own.
    const name = Object.keys(p.params).length === 0 ? "base scenario" : pointLabel(p, varying.length > 0 && varying.every((k) => k in p.params) ? varying : undefined);
    const label = drawnText(name) + (drop === undefined ? "" : ` (drop ${withUnit(drop.dropWatts, "W")} in 100 ms${power.storage !== undefined ? ", grid side" : ""})`);
    out.push({ label, samples: power.series, capWatts: power.facilityCapWatts });
  }
  return out;
}

/** True when at least one point carries its power series (experiments that list `power` in reports). */
export function hasPowerSeries(results: readonly SweepPointResult[]): boolean {
  return linesOf(results).length > 0;
}

export function powerSweepChart(results: readonly SweepPointResult[], options: { title?: string } = {}): TopLevelSpec {
  const lines = linesOf(results);
  if (lines.length === 0) throw new Error("power sweep chart: no point carries a power series");
  let span = 0;
  let peak = 0;
  for (const l of lines) {
    const t0 = (l.samples[0] as PowerSample).time;
    span = Math.max(span, (l.samples[l.samples.length - 1] as PowerSample).time - t0);
    for (const s of l.samples) peak = Math.max(peak, s.watts);
    if (l.capWatts !== undefined) peak = Math.max(peak, l.capWatts);
  }
  const { factor: wf, prefix } = siPrefix(peak);
  const { factor: tf, unit: tUnit } = timeUnit(span || 1);
  const values = lines.flatMap((l) => {
    const t0 = (l.samples[0] as PowerSample).time;
    return downsamplePower(l.samples, POINTS_PER_LINE).map((s) => ({ point: l.label, t: (s.time - t0) / tf, p: s.watts / wf, watts: withUnit(s.watts, "W") }));
  });
  const caps = [...new Set(lines.map((l) => l.capWatts).filter((c): c is number => c !== undefined))];
  const order = lines.map((l) => l.label);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Facility power through one step, per sweep point",
      subtitle: ["Each line is one point's facility draw; the legend gives its largest drop within 100 ms as the grid sees it", "(energy storage sits between the two and smooths what the grid sees). Dashed: facility caps."],
    },
    width: 720,
    height: 300,
    layer: [
      {
        data: { values },
        mark: { type: "line", strokeWidth: 1.5, interpolate: "step-after" },
        encoding: {
          x: { field: "t", type: "quantitative", title: `time since step start (${tUnit})`, scale: { nice: false } },
          y: { field: "p", type: "quantitative", title: `facility power (${prefix}W)`, scale: { zero: true, domain: [0, (peak / wf) * 1.1], nice: false } },
          color: { field: "point", type: "nominal", title: "point", sort: order, scale: { domain: order, range: SERIES_COLOURS.slice(0, Math.max(1, order.length)) }, legend: { orient: "bottom", direction: "vertical", labelLimit: 600 } },
          tooltip: [
            { field: "point", type: "nominal" },
            { field: "t", type: "quantitative", title: `time (${tUnit})`, format: ".4~f" },
            { field: "watts", type: "nominal", title: "power" },
          ],
        },
      },
      ...(caps.length === 0
        ? []
        : [
            {
              data: { values: caps.map((c) => ({ p: c / wf })) },
              mark: { type: "rule" as const, color: INK.limit, strokeDash: [6, 4], strokeWidth: 1.2 },
              encoding: { y: { field: "p", type: "quantitative" as const } },
            },
          ]),
    ],
    config: CHART_CONFIG,
  };
}
