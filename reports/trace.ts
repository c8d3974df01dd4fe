/**
 * Chrome / Perfetto trace JSON (the "Trace Event Format"): open the file in
 * https://ui.perfetto.dev or chrome://tracing. Each track (a rank or pipeline
 * stage) becomes a thread, each span a complete event ("X") with its
 * category in `cat`, and each counter series (power) a counter event ("C").
 * Times are microseconds.
 */
import { writeAtomically } from "./atomic-write.ts";
import type { CounterSample, Span } from "../sim/recorder.ts";
import { naturalCompare } from "./charts/timeline.ts";

export interface TraceEvent {
  name: string;
  ph: "X" | "C" | "M";
  pid: number;
  tid?: number;
  /** Microseconds. */
  ts?: number;
  /** Microseconds (complete events). */
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: "ms" | "ns";
  otherData?: Record<string, string>;
}

export interface TraceInput {
  spans: readonly Span[];
  counters?: readonly CounterSample[];
  /** The process row's name (e.g. the scenario name). */
  processName?: string;
  /** Free-form metadata shown by trace viewers. */
  metadata?: Record<string, string>;
}

const PID = 1;
const US = 1e6;

/** Round to 1 ns so the file stays small and identical runs give identical files. */
function us(seconds: number): number {
  return Math.round(seconds * US * 1000) / 1000;
}

/** The unit key for a counter series: "watts" for power series, "value" otherwise. */
function counterKey(name: string): string {
  return /power|watt/i.test(name) ? "watts" : "value";
}

export function buildTrace(input: TraceInput): ChromeTrace {
  const tracks = [...new Set(input.spans.map((s) => s.track))].sort(naturalCompare);
  const tid = new Map(tracks.map((t, i) => [t, i + 1]));
  const events: TraceEvent[] = [{ name: "process_name", ph: "M", pid: PID, args: { name: input.processName ?? "trainsim" } }];
  for (const [t, id] of tid) {
    events.push({ name: "thread_name", ph: "M", pid: PID, tid: id, args: { name: t } });
    events.push({ name: "thread_sort_index", ph: "M", pid: PID, tid: id, args: { sort_index: id } });
  }
  const spans = [...input.spans].sort((a, b) => a.start - b.start || a.end - b.end);
  for (const s of spans) {
    events.push({ name: s.name, cat: s.category, ph: "X", pid: PID, tid: tid.get(s.track) as number, ts: us(s.start), dur: us(Math.max(0, s.end - s.start)) });
  }
  const counters = [...(input.counters ?? [])].sort((a, b) => a.time - b.time);
  for (const c of counters) {
    events.push({ name: c.name, ph: "C", pid: PID, ts: us(c.time), args: { [counterKey(c.name)]: c.value } });
  }
  return { traceEvents: events, displayTimeUnit: "ms", ...(input.metadata === undefined ? {} : { otherData: input.metadata }) };
}

export function traceJson(input: TraceInput): string {
  const t = buildTrace(input);
  // One event per line: small diffs, and still one JSON document.
  const lines = t.traceEvents.map((e) => JSON.stringify(e));
  const other = t.otherData === undefined ? "" : `,\n"otherData":${JSON.stringify(t.otherData)}`;
  return `{"displayTimeUnit":${JSON.stringify(t.displayTimeUnit)}${other},\n"traceEvents":[\n${lines.join(",\n")}\n]}\n`;
}

/** Write the trace to `file` (atomically: a temp file renamed into place). */
export function writeTrace(file: string, input: TraceInput): string {
  writeAtomically(file, traceJson(input));
  return file;
}
