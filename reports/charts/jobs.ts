/**
 * Job Gantt for a cluster run: one row per job in submit order, a light bar
 * while it waits in the queue and a coloured bar while it runs, the colour
 * saying how much other jobs' traffic (and its placement) stretched its steps
 * against running alone. Evictions are marked where a run bar ends early.
 * Up to ~60 jobs get a labelled row each; more are drawn as thin rows by
 * submit order (a picture of the queue), capped at `maxJobs`.
 */
import type { TopLevelSpec } from "vega-lite";
import type { ClusterJobResult, ClusterRunResult } from "../../models/cluster/types.ts";
import { INK } from "../palette.ts";
import { CHART_CONFIG, type LayerChild, timeUnit, VEGA_LITE_SCHEMA } from "./common.ts";
import { drawnText, duration, sig } from "../format.ts";

export interface JobGanttOptions {
  title?: string;
  /** At most this many jobs (the first by submit time); default 1,500. */
  maxJobs?: number;
  /** Up to this many jobs, rows are labelled with job names; default 60. */
  labelledRows?: number;
}

export interface GanttBar {
  row: number;
  job: string;
  kind: "waiting" | "running";
  start: number;
  end: number;
  gpus: number;
  slowdown: number;
  preempted: boolean;
}

function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/** Waiting and running bars of each job (waits: submit → first start, and eviction → restart). */
export function ganttBars(jobs: readonly ClusterJobResult[], endSeconds: number): GanttBar[] {
  const out: GanttBar[] = [];
  jobs.forEach((j, row) => {
    if (j.status === "rejected") return;
    let waitFrom = j.submitSeconds;
    for (const s of j.segments) {
      if (s.start > waitFrom) out.push({ row, job: drawnText(j.name), kind: "waiting", start: waitFrom, end: s.start, gpus: j.gpus, slowdown: j.contentionSlowdown, preempted: false });
      out.push({ row, job: drawnText(j.name), kind: "running", start: s.start, end: s.end, gpus: j.gpus, slowdown: j.contentionSlowdown, preempted: s.preempted });
      waitFrom = s.end;
    }
    if (j.status === "queued" || j.status === "pending") {
      if (endSeconds > waitFrom) out.push({ row, job: drawnText(j.name), kind: "waiting", start: waitFrom, end: endSeconds, gpus: j.gpus, slowdown: j.contentionSlowdown, preempted: false });
    }
  });
  return out;
}

export function jobGanttChart(run: Pick<ClusterRunResult, "jobs" | "summary" | "label">, options: JobGanttOptions = {}): TopLevelSpec {
  const maxJobs = options.maxJobs ?? 1500;
  const all = [...run.jobs].map((j, i) => ({ j, i })).sort((a, b) => a.j.submitSeconds - b.j.submitSeconds || a.i - b.i);
  const shown = all.slice(0, maxJobs).map((x) => x.j);
  const end = run.summary.makespanSeconds;
  const bars = ganttBars(shown, end);
  if (bars.length === 0) throw new Error("job gantt: no job ever ran or waited");
  const t1 = Math.max(end, ...bars.map((b) => b.end));
  const { factor, unit } = timeUnit(t1);
  const labelled = shown.length <= (options.labelledRows ?? 60);
  const maxSlow = Math.max(1.01, ...shown.filter((j) => j.startSeconds !== null).map((j) => j.contentionSlowdown));
  const values = bars.map((b) => ({
    row: b.row,
    rowEnd: b.row + 0.8,
    job: b.job,
    kind: b.kind,
    start: round6(b.start / factor),
    end: round6(b.end / factor),
    gpus: b.gpus,
    slowdown: round6(b.slowdown),
    length: duration(b.end - b.start),
  }));
  const evictions = bars.filter((b) => b.preempted).map((b) => ({ row: b.row, rowEnd: b.row + 0.8, job: b.job, t: round6(b.end / factor) }));
  const x = { field: "start", type: "quantitative" as const, title: `time (${unit})`, scale: { domain: [0, t1 / factor], nice: false } };
  const names = shown.map((j) => drawnText(j.name));
  const y = labelled
    ? { field: "job", type: "nominal" as const, sort: names, title: null, axis: { labelFontSize: 11 } }
    : { field: "row", type: "quantitative" as const, title: `jobs in submit order (${shown.length}${shown.length < all.length ? ` of ${all.length}` : ""})`, scale: { domain: [0, shown.length], reverse: true, nice: false }, axis: { grid: false, tickCount: 5, format: "d" } };
  const y2 = labelled ? {} : { y2: { field: "rowEnd" } };
  const tooltip = [
    { field: "job", type: "nominal" as const, title: "job" },
    { field: "kind", type: "nominal" as const, title: "state" },
    { field: "gpus", type: "quantitative" as const, title: "GPUs" },
    { field: "start", type: "quantitative" as const, title: `from (${unit})`, format: ".4~f" },
    { field: "length", type: "nominal" as const, title: "for" },
    { field: "slowdown", type: "quantitative" as const, title: "step time vs alone", format: ".3f" },
  ];
  const layers: LayerChild[] = [
    {
      transform: [{ filter: "datum.kind === 'waiting'" }],
      mark: labelled ? { type: "bar", color: INK.band } : { type: "rect", color: INK.band },
      encoding: { x, x2: { field: "end" }, y, ...y2, tooltip },
    },
    {
      transform: [{ filter: "datum.kind === 'running'" }],
      mark: labelled ? { type: "bar" } : { type: "rect" },
      encoding: {
        x,
        x2: { field: "end" },
        y,
        ...y2,
        color: { field: "slowdown", type: "quantitative", title: "step time vs alone", scale: { scheme: "orangered", domain: [1, maxSlow], clamp: true }, legend: { format: ".2f" } },
        tooltip,
      },
    },
  ];
  if (evictions.length > 0) {
    layers.push({
      data: { values: evictions },
      mark: labelled ? { type: "tick", color: INK.text, thickness: 2 } : { type: "rule", color: INK.text, strokeWidth: 1.5 },
      encoding: labelled
        ? { x: { field: "t", type: "quantitative" }, y: { field: "job", type: "nominal", sort: names } }
        : { x: { field: "t", type: "quantitative" }, y: { field: "row", type: "quantitative" }, y2: { field: "rowEnd" } },
    });
  }
  const ran = shown.filter((j) => j.startSeconds !== null);
  const slowed = ran.filter((j) => j.contentionSlowdown > 1 + 1e-6).length;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? `Jobs over time${run.label ? `: ${run.label}` : ""}`,
      subtitle: [
        `Grey: waiting in the queue; coloured: running, by step time against running alone (${slowed} of ${ran.length} jobs slowed, worst ×${sig(maxSlow)}).` +
          (evictions.length > 0 ? ` Black marks: evictions (${evictions.length}).` : ""),
      ],
    },
    data: { values },
    width: 760,
    height: labelled ? { step: 18 } : Math.min(900, Math.max(240, shown.length * 0.6)),
    layer: layers,
    config: CHART_CONFIG,
  };
}
