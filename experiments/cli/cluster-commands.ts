/**
 * `trainsim cluster FILE`: many jobs sharing one cluster. Errors follow
 * bin/trainsim.ts: ConfigError (bad file or flag) exits 2, anything else 1.
 * The action is async: call `program.parseAsync`.
 */
import type { Command } from "commander";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runClusterExperiment } from "../../models/cluster/simulate.ts";
import { PLACEMENT_POLICIES, SCHEDULER_POLICIES, type ClusterConfig, type ClusterExperimentResult, type ClusterRunResult } from "../../models/cluster/types.ts";
import { writeReport, type PlannedChart } from "../../reports/build.ts";
import { duration, percent, sig, withUnit } from "../../reports/format.ts";
import { jobGanttChart } from "../../reports/charts/jobs.ts";
import { facilityPowerChart, utilisationChart } from "../../reports/charts/utilisation.ts";
import { renderHtml, type HtmlCell, type HtmlTable } from "../../reports/html.ts";
import { loadClusterFile } from "../cluster-load.ts";
import { readConfigFile } from "../config-file.ts";
import { ConfigError } from "../errors.ts";
import { withReportLine } from "./report-line.ts";

const CLUSTER_HELP = `
A cluster file holds one shared cluster (the same keys as a scenario's cluster:),
a scheduler, and the jobs: a list, a public trace (CSV) or a seeded synthetic trace.

  name: demo
  cluster: { gpu: H100-SXM, nodes: 64, network: { topology: fat-tree, oversubscription: 2 },
             power: { facilityCap: 1.2 MW } }
  scheduler:
    policy: backfill           # fifo | backfill (EASY) | priority
    preemption: false          # priority only: evict lower-priority jobs (they lose
                               #   the work since their last checkpoint, every 30 min)
    placement: topology-aware  # packed | spread | topology-aware
    powerAware: true           # admit a job only if facility power stays under the cap
  compare: [packed, spread, topology-aware]   # optional: one run per placement
                                              #   (or {policy: [...]}, {powerAware: [false, true]})
  jobs:
    - { name: a, gpus: 64, stepSeconds: 1.5 s, steps: 4000, commFraction: 0.3 }
    - { name: b, arrival: 10 min, priority: 1, gpus: 64, duration: 2 h,
        workload: { model: llama3-8b, seqLength: 8192, globalBatch: 512 },
        parallelism: { tp: 2 } }   # modelled: its step is simulated in detail
  # or  trace: { csv: philly.csv, format: philly }      (helios | pai | philly)
  # or  synthetic: { jobs: 500, arrivalsPerHour: 40, gpus: {8: 50, 64: 30, 256: 20},
  #                  duration: { distribution: lognormal, median: 1 h, sigma: 1.2 } }

How jobs slow each other: whenever the set of running jobs changes, every job's
inter-node collectives are laid on the link graph at its actual GPUs, all jobs'
at once, and shared switch links are divided max-min fairly. A job's step time
becomes  step_alone × (1 − c + c × M),  c its communication share and M how much
longer its collectives take than alone on a compact placement. Two jobs whose rings
cross the same 2:1 oversubscribed leaf uplinks each get half of them (M = 2);
placing each under its own leaf removes that.

Outputs per job: submit, start and end times, queueing delay, completion time,
slowdown against running alone, the share of its running time slowed by other
jobs; for the cluster: GPU utilisation and facility power over time, against the
cap. Writes <out>/result.json and <out>/report.html (job Gantt, utilisation,
power; each chart also as .vl.json, .svg, .png) unless --no-report.

Examples:
  trainsim cluster experiments/clusters/placement-1000-jobs.yaml
  trainsim cluster experiments/clusters/power-aware-admission.yaml --json --no-report
  trainsim cluster my-cluster.yaml --placement spread --out runs/spread
`;

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function flagError(flag: string, value: string, allowed: readonly string[]): ConfigError {
  return new ConfigError([{ path: flag, value, message: `${flag}: ${JSON.stringify(value)} is not allowed; expected one of ${allowed.join(", ")}` }]);
}

/** The file's config with command-line overrides applied. */
export function withFlags(config: ClusterConfig, opts: { placement?: string; policy?: string; seed?: string }): ClusterConfig {
  let out = config;
  if (opts.placement !== undefined) {
    if (!(PLACEMENT_POLICIES as readonly string[]).includes(opts.placement)) throw flagError("--placement", opts.placement, PLACEMENT_POLICIES);
    const { compare, ...rest } = out;
    out = { ...rest, scheduler: { ...out.scheduler, placement: opts.placement as ClusterConfig["scheduler"]["placement"] }, ...(compare !== undefined && compare.key !== "placement" ? { compare } : {}) };
  }
  if (opts.policy !== undefined) {
    if (!(SCHEDULER_POLICIES as readonly string[]).includes(opts.policy)) throw flagError("--policy", opts.policy, SCHEDULER_POLICIES);
    if (out.scheduler.preemption && opts.policy !== "priority") {
      throw new ConfigError([{ path: "--policy", value: opts.policy, message: `--policy: ${JSON.stringify(opts.policy)} cannot preempt, but the file sets scheduler.preemption: true; use --policy priority` }]);
    }
    const { compare, ...rest } = out;
    out = { ...rest, scheduler: { ...out.scheduler, policy: opts.policy as ClusterConfig["scheduler"]["policy"] }, ...(compare !== undefined && compare.key !== "policy" ? { compare } : {}) };
  }
  if (opts.seed !== undefined) {
    const n = Number(opts.seed);
    if (!/^\s*\d+\s*$/.test(opts.seed) || !Number.isSafeInteger(n)) throw new ConfigError([{ path: "--seed", value: opts.seed, message: `--seed: ${JSON.stringify(opts.seed)} is not allowed; expected an integer >= 0` }]);
    out = { ...out, seed: n };
  }
  return out;
}

// ---------------------------------------------------------------------------
// Text

const ROWS: [string, (r: ClusterRunResult) => string][] = [
  ["jobs done / rejected / unfinished", (r) => `${r.summary.done} / ${r.summary.rejected} / ${r.summary.unfinished}`],
  ["makespan", (r) => duration(r.summary.makespanSeconds)],
  ["queue wait mean / p95", (r) => `${duration(r.summary.meanQueueSeconds)} / ${duration(r.summary.p95QueueSeconds)}`],
  ["completion time mean", (r) => duration(r.summary.meanCompletionSeconds)],
  ["slowdown vs alone mean / p95", (r) => `${sig(r.summary.meanSlowdown)} / ${sig(r.summary.p95Slowdown)}`],
  ["step time vs alone (mean)", (r) => sig(r.summary.meanContentionSlowdown, 4)],
  ["GPU-time slowed by others", (r) => percent(r.summary.slowedGpuTimeShare)],
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
  const width = Math.max(...ROWS.map(([n]) => n.length));
  const cols = result.runs.map((r, i) => Math.max((heads[i] as string).length, ...ROWS.map(([, f]) => f(r).length)));
  lines.push(`${"".padEnd(width)}  ${heads.map((h, i) => h.padStart(cols[i] as number)).join("  ")}`);
  for (const [name, f] of ROWS) lines.push(`${name.padEnd(width)}  ${result.runs.map((r, i) => f(r).padStart(cols[i] as number)).join("  ")}`);
  for (const n of result.notes) lines.push("", n);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------
// Report

function slug(label: string): string {
  return label.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase() || "run";
}

function summaryTable(result: ClusterExperimentResult): HtmlTable {
  const rows: HtmlCell[][] = ROWS.map(([name, f]) => [name, ...result.runs.map(f)]);
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

// ---------------------------------------------------------------------------
// The command

export interface ClusterCommandOptions {
  json?: boolean;
  out?: string;
  report: boolean;
  placement?: string;
  policy?: string;
  seed?: string;
}

/** True when a config file is a cluster file (a list of jobs or a trace) rather than one scenario. */
export function isClusterFile(file: string): boolean {
  const read = readConfigFile(resolve(file), file);
  if (!("value" in read) || typeof read.value !== "object" || read.value === null) return false;
  return ["jobs", "synthetic", "trace"].some((k) => k in (read.value as Record<string, unknown>));
}

/** `trainsim cluster FILE` (and `trainsim run` given a cluster file). */
export async function runClusterCommand(file: string, opts: ClusterCommandOptions): Promise<void> {
  const config = withFlags(loadClusterFile(file), opts);
  const t0 = performance.now();
  const result = runClusterExperiment(config);
  const seconds = (performance.now() - t0) / 1000;
  if (!opts.json) process.stderr.write(`simulated ${result.runs.length} run${result.runs.length === 1 ? "" : "s"} in ${seconds.toFixed(1)} s\n`);
  let reportFile: string | undefined;
  if (opts.report) {
    const out = opts.out ?? join("out", config.name);
    mkdirSync(out, { recursive: true });
    writeAtomically(join(out, "result.json"), JSON.stringify(result) + "\n");
    await buildClusterReport(out, result, file);
    reportFile = join(out, "report.html");
  }
  process.stdout.write(opts.json ? JSON.stringify(result, null, 2) + "\n" : withReportLine(formatClusterResult(result), reportFile));
}

export function registerClusterCommands(program: Command): void {
  program
    .command("cluster")
    .description("Simulate many jobs sharing one cluster: scheduling, placement, jobs slowing each other on the fabric, facility power.")
    .argument("<file>", "cluster file (.yaml, .yml or .json); see experiments/clusters/ for examples")
    .option("--json", "print the result as one JSON object: {name, seed, gpus, nodes, compared?, runs: [{label, summary, jobs, utilisation, power, ...}]}")
    .option("--out <dir>", "folder for result.json and the report (default: out/<name>)")
    .option("--no-report", "do not write result.json and the report")
    .option("--placement <policy>", `override scheduler.placement (${PLACEMENT_POLICIES.join(" | ")}); drops a compare over placements`)
    .option("--policy <policy>", `override scheduler.policy (${SCHEDULER_POLICIES.join(" | ")}); drops a compare over policies`)
    .option("--seed <n>", "override the file's seed (synthetic traces draw from it)")
    .addHelpText("after", CLUSTER_HELP)
    .action(runClusterCommand);
}
