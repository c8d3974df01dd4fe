/**
 * Step timeline: a Gantt of a few representative ranks (pipeline stages)
 * through one step, coloured by bottleneck category. Adjacent spans of the
 * same category merge; if a track still has more spans than fit, time is cut
 * into bins and each bin takes the category that filled most of it, so the
 * spec stays small (≤ maxMarks bars) whatever the step.
 */
import type { TopLevelSpec } from "vega-lite";
import type { Span } from "../../sim/recorder.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { vegaCategoryScale } from "../palette.ts";
import { CHART_CONFIG, timeUnit, VEGA_LITE_SCHEMA } from "./common.ts";
import { duration } from "../format.ts";

export interface TimelineOptions {
  title?: string;
  /** At most this many tracks (default 4): first, last and evenly spaced ones between. */
  maxTracks?: number;
  /** At most this many bars in all (default 2,400). */
  maxMarks?: number;
  /** Only these tracks, in this order (overrides the representative choice). */
  tracks?: string[];
}

export interface TimelineBar {
  track: string;
  category: string;
  start: number;
  end: number;
  /** Span names merged into this bar (first few) and how many in all. */
  names: string[];
  count: number;
}

/** "stage 2" < "stage 10": compare with numbers as numbers. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** First, last and evenly spaced tracks between, in natural order. */
export function representativeTracks(tracks: readonly string[], max: number): string[] {
  const sorted = [...new Set(tracks)].sort(naturalCompare);
  if (sorted.length <= max) return sorted;
  if (max <= 1) return sorted.slice(0, Math.max(0, max));
  const pick = new Set<number>();
  for (let i = 0; i < max; i++) pick.add(Math.round((i * (sorted.length - 1)) / (max - 1)));
  return [...pick].sort((a, b) => a - b).map((i) => sorted[i] as string);
}

const NAMES_KEPT = 4;

/** Merge touching spans of one category on one track (gaps below `tolerance` seconds count as touching). */
export function mergeSpans(spans: readonly Span[], tolerance = 0): TimelineBar[] {
  const byTrack = new Map<string, Span[]>();
  for (const s of spans) {
    const list = byTrack.get(s.track);
    if (list === undefined) byTrack.set(s.track, [s]);
    else list.push(s);
  }
  const out: TimelineBar[] = [];
  for (const [track, list] of byTrack) {
    list.sort((a, b) => a.start - b.start || a.end - b.end);
    let cur: TimelineBar | undefined;
    for (const s of list) {
      if (cur !== undefined && cur.category === s.category && s.start <= cur.end + tolerance) {
        cur.end = Math.max(cur.end, s.end);
        cur.count++;
        if (cur.names.length < NAMES_KEPT && !cur.names.includes(s.name)) cur.names.push(s.name);
      } else {
        if (cur !== undefined) out.push(cur);
        cur = { track, category: s.category, start: s.start, end: s.end, names: [s.name], count: 1 };
      }
    }
    if (cur !== undefined) out.push(cur);
  }
  return out;
}

/**
 * Bars of one track cut into `bins` equal time bins over [t0, t1]. Each bin
 * is split into one sub-bar per category, as long as the time that category
 * took in the bin (in CATEGORIES order, idle gaps at the end), so every
 * category keeps its share of the track even when its spans are far shorter
 * than a pixel; equal neighbours then merge.
 */
export function binTrack(bars: readonly TimelineBar[], t0: number, t1: number, bins: number, order: readonly string[] = []): TimelineBar[] {
  if (bars.length === 0 || bins <= 0 || !(t1 > t0)) return [...bars];
  const track = (bars[0] as TimelineBar).track;
  const width = (t1 - t0) / bins;
  const cover: Map<string, number>[] = Array.from({ length: bins }, () => new Map());
  const names: Map<string, Set<string>>[] = Array.from({ length: bins }, () => new Map());
  for (const b of bars) {
    const first = Math.max(0, Math.floor((b.start - t0) / width));
    const last = Math.min(bins - 1, Math.floor((b.end - t0) / width));
    for (let i = first; i <= last; i++) {
      const lo = Math.max(b.start, t0 + i * width);
      const hi = Math.min(b.end, t0 + (i + 1) * width);
      if (hi <= lo) continue;
      const m = cover[i] as Map<string, number>;
      m.set(b.category, (m.get(b.category) ?? 0) + (hi - lo));
      const n = names[i] as Map<string, Set<string>>;
      const set = n.get(b.category) ?? new Set<string>();
      for (const name of b.names) if (set.size < NAMES_KEPT) set.add(name);
      n.set(b.category, set);
    }
  }
  const rank = (c: string): number => {
    const i = order.indexOf(c);
    return i < 0 ? order.length : i;
  };
  const out: TimelineBar[] = [];
  for (let i = 0; i < bins; i++) {
    const m = cover[i] as Map<string, number>;
    const cats = [...m.keys()].sort((a, b) => rank(a) - rank(b) || naturalCompare(a, b));
    let t = t0 + i * width;
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    // Overlapping spans can cover a bin more than once: scale to the bin.
    const scale = total > width ? width / total : 1;
    for (const c of cats) {
      const len = (m.get(c) as number) * scale;
      const last = out[out.length - 1];
      const binNames = [...((names[i] as Map<string, Set<string>>).get(c) ?? [])];
      if (last !== undefined && last.category === c && Math.abs(last.end - t) < width * 1e-6) {
        last.end = t + len;
        last.count++;
        for (const n of binNames) if (last.names.length < NAMES_KEPT && !last.names.includes(n)) last.names.push(n);
      } else {
        out.push({ track, category: c, start: t, end: t + len, names: binNames, count: 1 });
      }
      t += len;
    }
  }
  return out;
}

/** The bars a timeline draws: representative tracks, merged, binned to fit `maxMarks`. */
export function timelineBars(spans: readonly Span[], options: TimelineOptions = {}): { tracks: string[]; bars: TimelineBar[]; binned: boolean; binSeconds: number } {
  const maxTracks = options.maxTracks ?? 4;
  const maxMarks = options.maxMarks ?? 2400;
  const tracks = options.tracks ?? representativeTracks(spans.map((s) => s.track), maxTracks);
  const keep = new Set(tracks);
  const chosen = spans.filter((s) => keep.has(s.track) && s.end >= s.start);
  if (chosen.length === 0) return { tracks, bars: [], binned: false, binSeconds: 0 };
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const s of chosen) {
    t0 = Math.min(t0, s.start);
    t1 = Math.max(t1, s.end);
  }
  const merged = mergeSpans(chosen, (t1 - t0) * 1e-9);
  if (merged.length <= maxMarks) return { tracks, bars: merged, binned: false, binSeconds: 0 };
  const perTrack = Math.max(1, Math.floor(maxMarks / tracks.length));
  const bars: TimelineBar[] = [];
  let binSeconds = 0;
  for (const track of tracks) {
    const mine = merged.filter((b) => b.track === track);
    if (mine.length <= perTrack) {
      bars.push(...mine);
      continue;
    }
    // Fewer, wider bins until the sub-bars fit this track's share of the budget.
    let bins = perTrack;
    let binnedBars = binTrack(mine, t0, t1, bins, CATEGORIES);
    while (binnedBars.length > perTrack && bins > 1) {
      bins = Math.max(1, Math.floor(bins / 1.5));
      binnedBars = binTrack(mine, t0, t1, bins, CATEGORIES);
    }
    binSeconds = Math.max(binSeconds, (t1 - t0) / bins);
    bars.push(...binnedBars);
  }
  return { tracks, bars, binned: binSeconds > 0, binSeconds };
}

function round6(x: number): number {
  return Number(x.toPrecision(6));
}

export function timelineChart(spans: readonly Span[], options: TimelineOptions = {}): TopLevelSpec {
  const { tracks, bars, binned, binSeconds } = timelineBars(spans, options);
  if (bars.length === 0) throw new Error("timeline: no spans to draw (run with recording on)");
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const b of bars) {
    t0 = Math.min(t0, b.start);
    t1 = Math.max(t1, b.end);
  }
  const { factor, unit } = timeUnit(t1 - t0);
  const present = new Set(bars.map((b) => b.category));
  const values = bars.map((b) => ({
    track: b.track,
    category: b.category,
    start: round6((b.start - t0) / factor),
    end: round6((b.end - t0) / factor),
    length: duration(b.end - b.start),
    what: b.names.join(", ") + (b.count > b.names.length ? ` (${b.count} spans)` : ""),
  }));
  const allTracks = new Set(spans.map((s) => s.track)).size;
  const subtitle = [
    `${tracks.length === allTracks ? `${allTracks}` : `${tracks.length} of ${allTracks}`} ${allTracks === 1 ? "track" : "tracks"} through one step of ${duration(t1 - t0)}; colour = what held each moment back.`,
    binned
      ? `Time is drawn in ${duration(binSeconds)} slots, each split by the time every category took in it. Scroll to zoom.`
      : "Hover a bar for the kernels and transfers it covers; scroll to zoom.",
  ];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: options.title ?? "Step timeline", subtitle },
    data: { values },
    width: 760,
    height: { step: 34 },
    mark: { type: "bar", cornerRadius: 0 },
    // Drag to pan, scroll to zoom along time (in the HTML report).
    params: [{ name: "zoom", select: { type: "interval", encodings: ["x"] }, bind: "scales" }],
    encoding: {
      y: { field: "track", type: "nominal", sort: tracks, title: null, axis: { labelFontSize: 12 } },
      x: { field: "start", type: "quantitative", title: `time since step start (${unit})`, scale: { domain: [0, (t1 - t0) / factor], nice: false } },
      x2: { field: "end" },
      color: { field: "category", type: "nominal", title: "bottleneck", scale: vegaCategoryScale(present), legend: { symbolType: "square" } },
      tooltip: [
        { field: "track", type: "nominal", title: "track" },
        { field: "category", type: "nominal", title: "category" },
        { field: "start", type: "quantitative", title: `start (${unit})`, format: ".4~f" },
        { field: "length", type: "nominal", title: "length" },
        { field: "what", type: "nominal", title: "covers" },
      ],
    },
    config: CHART_CONFIG,
  };
}
