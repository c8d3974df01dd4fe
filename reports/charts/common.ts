/**
 * What every chart shares: the look (fonts, sizes, white background), time axes,
 * and how a sweep point's parameters are read and labelled (number formatting is
 * reports/format.ts).
 */
import type { TopLevelSpec } from "vega-lite";
import type { SweepPointResult } from "../../models/results.ts";
import { DRAWN_TEXT_LIMIT, drawnText, formatParamValue, shortParam } from "../format.ts";

export type Config = NonNullable<TopLevelSpec["config"]>;
/** One child of a layered spec (a unit spec or a nested layer). */
export type LayerChild = Extract<TopLevelSpec, { layer: unknown }>["layer"][number];

export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** The chart look: legible at 100 % in a report and on a projected slide. */
export const CHART_CONFIG: Config = {
  background: "white",
  padding: 12,
  font: "DejaVu Sans, Verdana, sans-serif",
  title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: "#555555", anchor: "start", offset: 12, subtitlePadding: 4 },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: "normal", titleColor: "#222222", labelColor: "#333333", gridColor: "#E6E6E6" },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: "normal", orient: "right" },
  header: { labelFontSize: 13, titleFontSize: 13 },
  view: { stroke: null },
  text: { fontSize: 12 },
};

/** A time axis unit for a span of `seconds`: divide values by `factor`, title with `unit`. */
export function timeUnit(seconds: number): { factor: number; unit: string } {
  const a = Math.abs(seconds);
  if (a < 1e-3) return { factor: 1e-6, unit: "µs" };
  if (a < 2) return { factor: 1e-3, unit: "ms" };
  if (a < 300) return { factor: 1, unit: "s" };
  if (a < 3 * 3600) return { factor: 60, unit: "min" };
  if (a < 3 * 86400) return { factor: 3600, unit: "h" };
  return { factor: 86400, unit: "d" };
}

/** Swept parameter names in first-seen order, and which of them take more than one value. */
export function sweptParams(points: readonly SweepPointResult[]): { all: string[]; varying: string[] } {
  const all: string[] = [];
  const values = new Map<string, Set<string>>();
  for (const p of points) {
    for (const [k, v] of Object.entries(p.params)) {
      if (!values.has(k)) {
        all.push(k);
        values.set(k, new Set());
      }
      values.get(k)?.add(JSON.stringify(v));
    }
  }
  return { all, varying: all.filter((k) => (values.get(k)?.size ?? 0) > 1) };
}

/** How many different values `key` takes over the points. */
export function distinctValues(points: readonly SweepPointResult[], key: string): number {
  return new Set(points.map((p) => JSON.stringify(p.params[key]))).size;
}

/** Whether `a` and `b` determine each other over the points (zipped axes: nodes and global batch). */
export function tiedParams(points: readonly SweepPointResult[], a: string, b: string): boolean {
  const ab = new Map<string, string>();
  const ba = new Map<string, string>();
  for (const p of points) {
    const va = JSON.stringify(p.params[a]);
    const vb = JSON.stringify(p.params[b]);
    if ((ab.has(va) && ab.get(va) !== vb) || (ba.has(vb) && ba.get(vb) !== va)) return false;
    ab.set(va, vb);
    ba.set(vb, va);
  }
  return true;
}

/**
 * "hbmBandwidth=2 TB/s, tp=4" for a point (only the given keys, "(base)" for one the point does
 * not set; "point 3" when there are none).
 */
export function pointLabel(point: SweepPointResult, keys?: readonly string[]): string {
  const ks = keys ?? Object.keys(point.params);
  const parts = ks.map((k) => `${shortParam(k)}=${formatParamValue(k, point.params[k])}`);
  return parts.length === 0 ? `point ${point.index}` : parts.join(", ");
}

/**
 * Texts as drawn (format.ts drawnText), kept apart: two long values that cap to the same
 * label would share one bar, so the later ones are numbered "… (2)".
 */
export function drawnLabels(texts: readonly string[]): string[] {
  const owner = new Map<string, string>();
  return texts.map((t) => {
    let d = drawnText(t);
    for (let k = 2; owner.has(d) && owner.get(d) !== t; k++) d = `${drawnText(t, DRAWN_TEXT_LIMIT - String(k).length - 3)} (${k})`;
    owner.set(d, t);
    return d;
  });
}

/** Points that ran, with their result, in sweep order. */
export function okPoints(points: readonly SweepPointResult[]): (SweepPointResult & { result: NonNullable<SweepPointResult["result"]> })[] {
  return points
    .filter((p): p is SweepPointResult & { result: NonNullable<SweepPointResult["result"]> } => p.status === "ok" && p.result !== undefined)
    .sort((a, b) => a.index - b.index || a.seed - b.seed);
}

/** 1-2-5 ticks between lo and hi (log axes without a forest of minor ticks). */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(Number(v.toPrecision(3)));
    }
  }
  return out;
}
