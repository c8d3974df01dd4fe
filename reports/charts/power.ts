/**
 * Power over time against the cap(s), with the largest swing within a window
 * annotated: what a utility and the facility's electrical design care about
 * (a 16k-GPU job that stalls on a collective drops megawatts in
 * milliseconds).
 */
import type { TopLevelSpec } from "vega-lite";
import { CATEGORY_COLOURS, INK } from "../palette.ts";
import { CHART_CONFIG, type LayerChild, timeUnit, VEGA_LITE_SCHEMA } from "./common.ts";
import { duration, siPrefix, withUnit } from "../format.ts";

/** One power sample: seconds since the start, watts. */
export interface PowerSample {
  time: number;
  watts: number;
}

/** A horizontal limit to draw (a GPU, rack or facility cap). */
export interface PowerCap {
  label: string;
  watts: number;
}

export interface PowerSeries {
  /** What the series measures, e.g. "facility", "GPU 0", "rack 3". */
  label?: string;
  samples: PowerSample[];
  caps?: PowerCap[];
}

export interface Swing {
  kind: "drop" | "rise";
  /** Size of the change, watts (positive). */
  deltaWatts: number;
  from: PowerSample;
  to: PowerSample;
}

/**
 * The largest change in power between two samples at most `windowSeconds`
 * apart (to.time − from.time ≤ window), a drop or a rise. O(n) with monotone
 * deques of the window's maxima and minima. Samples must be in time order.
 * Null with fewer than two samples or when power never changes.
 */
export function largestSwing(samples: readonly PowerSample[], windowSeconds: number): Swing | null {
  if (samples.length < 2 || !(windowSeconds >= 0)) return null;
  const maxQ: number[] = []; // indices, watts decreasing
  const minQ: number[] = []; // indices, watts increasing
  let best: Swing | null = null;
  let head = 0;
  let maxHead = 0;
  let minHead = 0;
  for (let j = 0; j < samples.length; j++) {
    const s = samples[j] as PowerSample;
    if (j > 0 && s.time < (samples[j - 1] as PowerSample).time) throw new Error("largestSwing: samples must be in time order");
    while (head < j && s.time - (samples[head] as PowerSample).time > windowSeconds) head++;
    while (maxHead < maxQ.length && (maxQ[maxHead] as number) < head) maxHead++;
    while (minHead < minQ.length && (minQ[minHead] as number) < head) minHead++;
    if (maxHead < maxQ.length) {
      const hi = samples[maxQ[maxHead] as number] as PowerSample;
      const drop = hi.watts - s.watts;
      if (drop > 0 && (best === null || drop > best.deltaWatts)) best = { kind: "drop", deltaWatts: drop, from: hi, to: s };
    }
    if (minHead < minQ.length) {
      const lo = samples[minQ[minHead] as number] as PowerSample;
      const rise = s.watts - lo.watts;
      if (rise > 0 && (best === null || rise > best.deltaWatts)) best = { kind: "rise", deltaWatts: rise, from: lo, to: s };
    }
    while (maxQ.length > maxHead && (samples[maxQ[maxQ.length - 1] as number] as PowerSample).watts <= s.watts) maxQ.pop();
    maxQ.push(j);
    while (minQ.length > minHead && (samples[minQ[minQ.length - 1] as number] as PowerSample).watts >= s.watts) minQ.pop();
    minQ.push(j);
  }
  return best;
}

export interface PowerChartOptions {
  title?: string;
  /** Window for the swing annotation, seconds (default: defaultSwingWindow of the span). */
  windowSeconds?: number;
  /** At most this many points drawn (default 2,000); longer series keep each slot's minimum and maximum. */
  maxPoints?: number;
}

/** At most `maxPoints` samples: per time slot its lowest and highest, in time order (peaks and dips survive). */
export function downsamplePower(samples: readonly PowerSample[], maxPoints: number): PowerSample[] {
  if (samples.length <= maxPoints) return [...samples];
  const slots = Math.max(1, Math.floor(maxPoints / 2));
  const t0 = (samples[0] as PowerSample).time;
  const span = (samples[samples.length - 1] as PowerSample).time - t0 || 1;
  const out: PowerSample[] = [];
  let slot = -1;
  let lo: PowerSample | undefined;
  let hi: PowerSample | undefined;
  const flush = (): void => {
    if (lo === undefined || hi === undefined) return;
    if (lo === hi) out.push(lo);
    else if (lo.time <= hi.time) out.push(lo, hi);
    else out.push(hi, lo);
  };
  for (const s of samples) {
    const k = Math.min(slots - 1, Math.floor(((s.time - t0) / span) * slots));
    if (k !== slot) {
      flush();
      slot = k;
      lo = hi = s;
    } else {
      if (s.watts < (lo as PowerSample).watts) lo = s;
      if (s.watts > (hi as PowerSample).watts) hi = s;
    }
  }
  flush();
  return out;
}

/**
 * A step (up to a minute) is marked with its largest swing within 100 ms, the window
 * `trainsim run` quotes first and the time scale on which grid operators see a
 * synchronized job's drops; longer series with the largest within 1 s or 5 % of the span.
 */
export function defaultSwingWindow(spanSeconds: number): number {
  return spanSeconds <= 60 ? 0.1 : Math.max(1, spanSeconds * 0.05);
}

export function powerChart(series: PowerSeries, options: PowerChartOptions = {}): TopLevelSpec {
  const samples = series.samples;
  if (samples.length === 0) throw new Error("power: no samples to draw");
  const t0 = (samples[0] as PowerSample).time;
  const t1 = (samples[samples.length - 1] as PowerSample).time;
  const span = t1 - t0;
  const window = options.windowSeconds ?? defaultSwingWindow(span);
  const caps = series.caps ?? [];
  const peak = Math.max(...samples.map((s) => s.watts), ...caps.map((c) => c.watts));
  const { factor: wf, prefix } = siPrefix(peak);
  const wUnit = `${prefix}W`;
  const { factor: tf, unit: tUnit } = timeUnit(span);
  const line = downsamplePower(samples, options.maxPoints ?? 2000).map((s) => ({ t: (s.time - t0) / tf, p: s.watts / wf, watts: withUnit(s.watts, "W") }));
  const swing = largestSwing(samples, window);
  const label = series.label ?? "power";

  const layers: LayerChild[] = [
    {
      data: { values: line },
      mark: { type: "line", color: CATEGORY_COLOURS.power, strokeWidth: 1.8, interpolate: "step-after" },
      encoding: {
        x: { field: "t", type: "quantitative", title: `time (${tUnit})`, scale: { domain: [0, span / tf], nice: false } },
        y: { field: "p", type: "quantitative", title: `${label} power (${wUnit})`, scale: { zero: true, domain: [0, (peak / wf) * 1.12], nice: false } },
      },
    },
    {
      data: { values: line },
      mark: { type: "point", opacity: 0, size: 60 },
      encoding: {
        x: { field: "t", type: "quantitative" },
        y: { field: "p", type: "quantitative" },
        tooltip: [
          { field: "t", type: "quantitative", title: `time (${tUnit})`, format: ".4~f" },
          { field: "watts", type: "nominal", title: "power" },
        ],
      },
    },
  ];
  if (caps.length > 0) {
    const capRows = caps.map((c) => ({ p: c.watts / wf, text: `${c.label}: ${withUnit(c.watts, "W")}` }));
    layers.push(
      {
        data: { values: capRows },
        mark: { type: "rule", color: INK.limit, strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y: { field: "p", type: "quantitative" } },
      },
      {
        data: { values: capRows },
        mark: { type: "text", align: "right", baseline: "bottom", dy: -3, x: "width", color: INK.limit, fontSize: 12 },
        encoding: { y: { field: "p", type: "quantitative" }, text: { field: "text", type: "nominal" } },
      },
    );
  }
  let swingText = "no change in power";
  if (swing !== null) {
    swingText = `largest ${swing.kind}: ${withUnit(swing.deltaWatts, "W")} in ${duration(swing.to.time - swing.from.time)}`;
    const a = { t: (swing.from.time - t0) / tf, p: swing.from.watts / wf };
    const b = { t: (swing.to.time - t0) / tf, p: swing.to.watts / wf };
    const mid = { t: b.t, p: Math.min(a.p, b.p) };
    layers.push(
      {
        data: { values: [a, b] },
        mark: { type: "point", shape: "circle", filled: true, size: 70, color: INK.text },
        encoding: { x: { field: "t", type: "quantitative" }, y: { field: "p", type: "quantitative" } },
      },
      {
        data: { values: [{ t: a.t, p: a.p, t2: b.t, p2: b.p }] },
        mark: { type: "rule", color: INK.text, strokeWidth: 1.5, strokeDash: [2, 2] },
        encoding: { x: { field: "t", type: "quantitative" }, y: { field: "p", type: "quantitative" }, x2: { field: "t2" }, y2: { field: "p2" } },
      },
      {
        data: { values: [{ ...mid, text: swingText }] },
        mark: { type: "text", align: b.t > (span / tf) * 0.6 ? "right" : "left", baseline: "top", dx: b.t > (span / tf) * 0.6 ? -6 : 6, dy: 6, fontWeight: "bold", color: INK.text },
        encoding: { x: { field: "t", type: "quantitative" }, y: { field: "p", type: "quantitative" }, text: { field: "text", type: "nominal" } },
      },
    );
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? `${label[0]?.toUpperCase() ?? ""}${label.slice(1)} power over time`,
      subtitle: [`Peak ${withUnit(Math.max(...samples.map((s) => s.watts)), "W")}; ${swingText} (window ${duration(window)}).`],
    },
    width: 720,
    height: 280,
    layer: layers,
    config: CHART_CONFIG,
  };
}

/** Series from recorder counters with one name (e.g. "power:facility"). */
export function seriesFromCounters(counters: readonly { name: string; time: number; value: number }[], name: string, caps?: PowerCap[]): PowerSeries {
  const samples = counters.filter((c) => c.name === name).map((c) => ({ time: c.time, watts: c.value }));
  samples.sort((a, b) => a.time - b.time);
  return { label: name, samples, ...(caps === undefined ? {} : { caps }) };
}

