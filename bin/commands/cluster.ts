/**
 * `trainsim cluster FILE`: many jobs sharing one cluster. Errors follow
 * bin/trainsim.ts: ConfigError (bad file or flag) exits 2, anything else 1.
 * The action is async: call `program.parseAsync`.
 */
import type { Command } from "commander";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { runClusterExperiment } from "../../models/cluster/simulate.ts";
import { PLACEMENT_POLICIES, SCHEDULER_POLICIES } from "../../models/cluster/types.ts";
import { withFlags } from "../../experiments/cluster-flags.ts";
import { loadClusterFile } from "../../experiments/cluster-load.ts";
import { buildClusterReport, formatClusterResult } from "../../reports/cluster-report.ts";
import { writeAtomically } from "../../reports/atomic-write.ts";
import { lockOutputFolder } from "../../experiments/output-lock.ts";
import { clusterWorkProblem } from "../../experiments/work-limits.ts";
import { InputError, drawReport, outputFolder, printError, printText, withReportLine } from "../common.ts";

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

Shared storage (docs/data.md): modelled jobs whose data.storage names the same preset,
or the same tier of the file's top-level storage: ({lustre: {readBandwidth: 40 GB/s}}),
share its bandwidth and request rate; a job with data.sharedWithCheckpoints and
reliability: {checkpointMode, storageBandwidth} writes its checkpoints there every
checkpointInterval, slowing the others' reads while it writes.

Outputs per job: submit, start and end times, queueing delay, completion time,
slowdown against running alone, the share of its running time slowed by other
jobs; for the cluster: GPU utilisation and facility power over time, against the
cap. Writes <out>/result.json and <out>/report.html (job Gantt, utilisation,
power; each chart also as .vl.json, .svg, .png) unless --no-report.

Limits (docs/limits.md): the cluster file and a trace's CSV are regular files of at
most 16 MiB; synthetic.jobs is at most 10,000,000. Before anything runs, the whole
file's work is estimated (jobs × GPUs running at once, the backfill queue, runs
compared; memory per job) and a file over the limits (2.5e8 engine events, or the
memory limit) is refused with exit 2 naming the keys, the estimate and the limit;
so is a modelled job whose own step simulation is too large. About 30,000 jobs on
4,096 busy GPUs fit in one run.

Examples:
  trainsim cluster experiments/clusters/placement-1000-jobs.yaml
  trainsim cluster experiments/clusters/power-aware-admission.yaml --json --no-report
  trainsim cluster experiments/clusters/shared-storage.yaml
  trainsim cluster my-cluster.yaml --placement spread --out runs/spread
`;

export interface ClusterCommandOptions {
  json?: boolean;
  out?: string;
  report: boolean;
  placement?: string;
  policy?: string;
  seed?: string;
}

/** `trainsim cluster FILE` (and `trainsim run` given a cluster file). */
export async function runClusterCommand(file: string, opts: ClusterCommandOptions): Promise<void> {
  const config = withFlags(loadClusterFile(file), opts);
  // Before the output folder is created: a file whose jobs cannot finish writes nothing.
  const work = clusterWorkProblem(config);
  if (work !== null) throw new InputError(`${file}: ${work}`);
  const out = opts.report ? outputFolder(opts.out, config.name, file) : undefined;
  // One writer per folder, held until the command's process exits (experiments/output-lock.ts releases it on exit and on SIGINT/SIGTERM).
  if (out !== undefined) lockOutputFolder(out, { option: opts.out !== undefined ? "--out" : "output folder" });
  const t0 = performance.now();
  const result = runClusterExperiment(config);
  const seconds = (performance.now() - t0) / 1000;
  if (!opts.json) printError(`simulated ${result.runs.length} run${result.runs.length === 1 ? "" : "s"} in ${seconds.toFixed(1)} s\n`);
  let report: Awaited<ReturnType<typeof drawReport>> = {};
  if (out !== undefined) {
    mkdirSync(out, { recursive: true });
    const resultFile = join(out, "result.json");
    writeAtomically(resultFile, JSON.stringify(result) + "\n");
    report = await drawReport(`its result is in ${resultFile}`, undefined, async () => {
      await buildClusterReport(out, result, file);
      return join(out, "report.html");
    });
  }
  const reportFile = report.file;
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  else printText(withReportLine(formatClusterResult(result), reportFile));
  if (report.error !== undefined) throw report.error;
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
