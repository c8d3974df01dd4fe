/**
 * A cluster experiment's results for people: the summary table `trainsim cluster` prints,
 * and its report (utilisation, facility power, job Gantt charts, summary and slowest-job
 * tables).
 */
import type { ClusterExperimentResult, ClusterRunResult } from "../models/cluster/types.ts";
import { writeReport, type PlannedChart } from "./build.ts";
import { jobGanttChart } from "./charts/jobs.ts";
import { facilityPowerChart, utilisationChart } from "./charts/utilisation.ts";
import { duration, percent, sig, withUnit } from "./format.ts";
import { renderHtml, type HtmlCell, type HtmlTable } from "./html.ts";

/** Shown only where some job reads a shared storage tier (rowsFor). */
const STORAGE_ROW = "GPU-time slowed on shared storage";

const ROWS: [string, (r: ClusterRunResult) => string][] = [
  ["jobs done / rejected / unfinished", (r) => `${r.summary.done} / ${r.summary.rejected} / ${r.summary.unfinished}`],
  ["makespan", (r) => duration(r.summary.makespanSeconds)],
  ["queue wait mean / p95", (r) => `${duration(r.summary.meanQueueSeconds)} / ${duration(r.summary.p95QueueSeconds)}`],
  ["completion time mean", (r) => duration(r.summary.meanCompletionSeconds)],
  ["slowdown vs alone mean / p95", (r) => `${sig(r.summary.meanSlowdown)} / ${sig(r.summary.p95Slowdown)}`],
  ["step time vs alone (mean)", (r) => sig(r.summary.meanContentionSlowdown, 4)],
  ["GPU-time slowed by others", (r) => percent(r.summary.slowedGpuTimeShare)],
  [STORAGE_ROW, (r) => (r.summary.storageSlowedGpuTimeShare === undefined ? "-" : percent(r.summary.storageSlowedGpuTimeShare))],
  ["GPU utilisation mean / while queued", (r) => `${percent(r.summary.meanUtilisation)} / ${r.summary.utilisationWhileQueued === null ? "-" : percent(r.summary.utilisationWhileQueued)}`],
  ["preemptions / lost GPU-hours", (r) => `${r.summary.preemptions} / ${sig(r.summary.lostGpuSeconds / 3600)}`],
  ["facility power mean / peak", (r) => `${withUnit(r.summary.facilityPowerWatts.mean, "W")} / ${withUnit(r.summary.facilityPowerWatts.peak, "W")}`],
  ["time throttled by the cap", (r) => (r.summary.facilityCapWatts === undefined ? "no cap" : `${duration(r.summary.secondsThrottled)} (cap ${withUnit(r.summary.facilityCapWatts, "W")})`)],
  ["time over the facility cap", (r) => (r.summary.facilityCapWatts === undefined ? "no cap" : duration(r.summary.secondsOverCap))],
];

export function formatClusterResult(result: ClusterExperimentResult): string {
  const first = result.runs[0] as ClusterRunResult;
  const lines = [
    `${result.name}: ${first.summary.jobs.toLocaleString("en-US")} jobs on ${result.gpus.toLocaleString("en-US")} GPUs (${result.nodes} nodes)`,
    `  ${first.topology}`,
    "",
  ];
  const heads = result.runs.map((r) => (result.compared === undefined || result.compared === "powerAware" ? r.label : r.label.replace(/^[A-Za-z]+: /, "")));
  const rows = rowsFor(result);
  const width = Math.max(...rows.map(([n]) => n.length));
  const cols = result.runs.map((r, i) => Math.max((heads[i] as string).length, ...rows.map(([, f]) => f(r).length)));
  lines.push(`${"".padEnd(width)}  ${heads.map((h, i) => h.padStart(cols[i] as number)).join("  ")}`);
  for (const [name, f] of rows) lines.push(`${name.padEnd(width)}  ${result.runs.map((r, i) => f(r).padStart(cols[i] as number)).join("  ")}`);
  for (const n of result.notes) lines.push("", n);
  return lines.join("\n");
}

function slug(label: string): string {
  return label.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase() || "run";
}

/** The summary's rows: the storage row only where some job reads a shared tier. */
function rowsFor(result: ClusterExperimentResult): typeof ROWS {
  const storage = result.runs.some((r) => r.summary.storageSlowedGpuTimeShare !== undefined);
  return storage ? ROWS : ROWS.filter(([name]) => name !== STORAGE_ROW);
}

function summaryTable(result: ClusterExperimentResult): HtmlTable {
  const rows: HtmlCell[][] = rowsFor(result).map(([name, f]) => [name, ...result.runs.map(f)]);
  return { caption: "Summary", columns: ["", ...result.runs.map((r) => r.label)], rows, numeric: [false, ...result.runs.map(() => true)] };
}

function slowestTable(run: ClusterRunResult, n = 10): HtmlTable {
  const ran = run.jobs.filter((j) => j.startSeconds !== null).sort((a, b) => b.contentionSlowdown - a.contentionSlowdown || a.submitSeconds - b.submitSeconds);
  return {
    caption: `Most slowed jobs (${run.label})`,
    columns: ["job", "GPUs", "leaves", "queue wait", "completion", "step vs alone", "slowed by others", "evictions"],
    numeric: [false, true, true, true, true, true, true, true],
    rows: ran.slice(0, n).map((j) => [
      j.name,
      String(j.gpus),
      String(j.leaves),
      duration(j.queueSeconds),
      j.completionSeconds === null ? "-" : duration(j.completionSeconds),
      `×${sig(j.contentionSlowdown, 4)}`,
      percent(j.slowedShare),
      String(j.preemptions),
    ]),
  };
}

export async function buildClusterReport(outDir: string, result: ClusterExperimentResult, source?: string): Promise<string[]> {
  const runs = result.runs;
  const end = Math.max(...runs.map((r) => r.summary.makespanSeconds));
  const charts: PlannedChart[] = [
    {
      name: "utilisation",
      title: "GPU utilisation",
      caption: "Share of the cluster's GPUs held by running jobs over time" + (runs.length > 1 ? ", one line per run." : "."),
      spec: utilisationChart(
        runs.map((r) => ({ label: r.label, points: r.utilisation, mean: r.summary.meanUtilisation })),
        result.gpus,
        end,
      ),
    },
    {
      name: "power",
      title: "Facility power",
      caption: "Facility power over time" + (runs[0]?.summary.facilityCapWatts !== undefined ? ", against the cap." : "."),
      spec: facilityPowerChart(
        runs.map((r) => ({ label: r.label, points: r.power })),
        end,
        runs[0]?.summary.facilityCapWatts,
      ),
    },
  ];
  for (const r of runs) {
    if (!r.jobs.some((j) => j.status !== "rejected")) continue;
    charts.push({
      name: runs.length === 1 ? "jobs" : `jobs-${slug(r.label)}`,
      title: runs.length === 1 ? "Jobs over time" : `Jobs over time: ${r.label}`,
      caption: "Each job's wait (grey) and run (coloured by its step time against running alone), in submit order.",
      spec: jobGanttChart(r),
    });
  }
  const notes = [...result.notes];
  if (source !== undefined) notes.unshift(`Cluster file: ${source}.`);
  return writeReport(outDir, charts, (html) =>
    renderHtml(
      {
        title: `${result.name}: cluster report`,
        subtitle: `${(runs[0] as ClusterRunResult).summary.jobs.toLocaleString("en-US")} jobs on ${result.gpus.toLocaleString("en-US")} GPUs. ${result.description ?? ""}`.trim(),
        tables: [summaryTable(result), ...runs.map((r) => slowestTable(r))],
        charts: html,
        notes,
      },
      { generator: "trainsim" },
    ),
  );
}
