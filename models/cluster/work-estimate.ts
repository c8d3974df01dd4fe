/**
 * How much work a cluster file takes to simulate (`trainsim cluster`), estimated from the
 * file alone before any job is generated: engine events (or their equivalent in time) and
 * memory. experiments/work-limits.ts compares it with the limits and refuses what cannot
 * finish (docs/limits.md). Modelled jobs' step simulations are estimated one by one by the
 * loader (models/work-estimate.ts), not here.
 *
 * Where the cost is, per run (a `compare` repeats it once per value):
 * - the fabric: the cluster's topology and its Allocation, built once per run;
 * - the jobs: each one's events (arrival, a scheduling pass, its end), its state, its line
 *   of the results and of the JSON written;
 * - contention: at every change of the running set (about two per job: its start and its
 *   end) the running jobs' shared links are grouped into components and the changed ones
 *   re-solved max-min fairly: work in proportion to the GPUs running then, counted as the
 *   cluster's (or every job's at once, if fewer): an upper bound for a saturated cluster;
 * - the backfill scan: every pass looks at each queued job behind a blocked head. An
 *   overloaded trace keeps a queue that grows with the jobs, so this is up to ~jobs².
 */
import { PROBE_BYTES_PER_GPU, formatCount, totalWork, type WorkEstimate, type WorkTerm } from "../work-estimate.ts";
import type { ClusterConfig } from "./types.ts";

/*
 * Coefficients, measured with `trainsim cluster FILE --json --no-report` (user + system CPU
 * seconds and peak RSS from /usr/bin/time; Node 20, 2026-12, a 2-core machine shared with
 * other jobs) and the run's `simulation` block; time is counted in engine events at 4.8 µs
 * each (MAX_EVENTS, 2.5e8, is about 20 minutes):
 * - jobs: 1-GPU jobs of 1 min, 60 an hour, on 128 H100 (no queue, no contention): 10,000 /
 *   30,000 / 100,000 jobs took 1.7 / 3.1 / 6.3 s and 165 / 277 / 746 MB: 46-69 µs (~15
 *   events) and 6-7 KB a job. The bundled 1,000-job trace (backfill, 4,096 H100, 2:1 fat-tree)
 *   stretched to 1,000 / 3,000 / 10,000 jobs peaked at 148 / 187 / 247 MB: ~12-16 KB a job
 *   (a job keeps its probe flows).
 * - contention: that trace, packed, at 3,000 jobs: 3,954 updates with 3,727 GPUs running on
 *   average, 18 s; at 10,000: 11,529 updates with 3,954 running, 71 s (~1.5 µs per running GPU
 *   and update; the estimate's jobs × 2 × 4,096 is 0.9 µs); spread at 3,000 jobs, where rings
 *   cross the spine and components span the cluster: 33 s (2 µs, 0.4 events, per running GPU
 *   and update). One event is kept: a margin of ~3.6 on the spread case, ~5.5 packed, for
 *   larger clusters' larger components (16,384 GPUs were measured only short of saturation).
 * - backfill scan: 10,000 jobs of that trace look at 13.4 M queued jobs over 19,984 passes
 *   (674 queued on average; before skipping sizes that already failed, 4.8 M placements were
 *   tried; now 0.2 M). An overloaded 128-GPU trace (1-4 GPU jobs, 200 an hour): 10,000 / 30,000 jobs
 *   2.6 / 9.7 s, ~7 ns × jobs² beyond the per-job cost.
 * - fabric: as the step model's probe (models/work-estimate.ts). 16,384 H100 with 1,000 jobs
 *   took 13.7 s against 2.1 s on 1,024 GPUs.
 */
/** Engine events' worth of time per job: arrival, its scheduling pass, its end, its results. */
const EVENTS_PER_JOB = 15;
/** A job's spec, state, probe flows, result line, segments, series points and JSON text. */
const BYTES_PER_JOB = 16_000;
/** Per running GPU at each change of the running set: grouping shared links, re-solving components. */
const EVENTS_PER_BUSY_GPU_UPDATE = 1;
/** Changes of the running set per job: its start and its end. */
const UPDATES_PER_JOB = 2;
/** Per jobs²: a queued job looked at by a backfill pass (a few comparisons). */
const EVENTS_PER_SCANNED_JOB = 0.002;
/** The fabric per GPU per run (topology as the step model's probe: models/work-estimate.ts; Allocation). */
const EVENTS_PER_GPU = 40;
const BYTES_PER_GPU = PROBE_BYTES_PER_GPU + 16;

/** How many jobs the file makes, their mean GPU count, and the key that sets their number. */
function jobCount(config: ClusterConfig): { jobs: number; meanGpus: number; field: string } {
  const src = config.source;
  if (src.kind === "synthetic") {
    const s = src.spec;
    const total = s.sizes.reduce((a, x) => a + x.weight, 0);
    const mean = total > 0 ? s.sizes.reduce((a, x) => a + x.gpus * x.weight, 0) / total : 1;
    return { jobs: s.jobs, meanGpus: mean, field: "synthetic.jobs" };
  }
  const jobs = src.jobs.length;
  const mean = jobs > 0 ? src.jobs.reduce((a, j) => a + j.gpus, 0) / jobs : 1;
  return { jobs, meanGpus: mean, field: src.from === "trace" ? "trace (its rows, or trace.limit)" : "jobs" };
}

/** Runs the file makes: one, or one per value of `compare`. */
export function clusterRuns(config: ClusterConfig): number {
  return config.compare === undefined ? 1 : config.compare.values.length;
}

/** Whether any run of the file backfills (the only policy that scans the queue past its head). */
function backfills(config: ClusterConfig): boolean {
  const cmp = config.compare;
  if (cmp !== undefined && cmp.key === "policy") return cmp.values.includes("backfill");
  return config.scheduler.policy === "backfill";
}

export function estimateClusterWork(config: ClusterConfig): WorkEstimate {
  const runs = clusterRuns(config);
  const gpus = config.cluster.nodes * config.cluster.gpusPerNode;
  const { jobs, meanGpus, field } = jobCount(config);
  // GPUs running at once: at most the cluster's, and no more than every job at once.
  const busy = Math.min(gpus, jobs * meanGpus);
  const times = runs > 1 ? ` × ${runs} runs (compare)` : "";
  const fieldsTimesRuns = runs > 1 ? " × compare" : "";
  const terms: WorkTerm[] = [
    {
      name: "fabric",
      fields: `cluster.nodes × cluster.gpusPerNode${fieldsTimesRuns}`,
      events: runs * gpus * EVENTS_PER_GPU,
      bytes: gpus * BYTES_PER_GPU,
      count: `${formatCount(gpus)} GPUs${times}`,
    },
    {
      name: "jobs",
      fields: `${field}${fieldsTimesRuns}`,
      events: runs * jobs * EVENTS_PER_JOB,
      bytes: runs * jobs * BYTES_PER_JOB,
      count: `${formatCount(jobs)} jobs${times}`,
    },
    {
      name: "contention",
      fields: `${field} × cluster GPUs running at once (cluster.nodes × cluster.gpusPerNode)${fieldsTimesRuns}`,
      events: runs * jobs * UPDATES_PER_JOB * busy * EVENTS_PER_BUSY_GPU_UPDATE,
      bytes: 0,
      count: `${formatCount(jobs)} jobs × ${formatCount(busy)} GPUs${times}`,
    },
  ];
  if (backfills(config)) {
    // Up to two passes per job, each over a queue of up to half the jobs on average.
    terms.push({
      name: "backfill scan",
      fields: `${field}² (scheduler.policy: backfill)${fieldsTimesRuns}`,
      events: runs * jobs * jobs * EVENTS_PER_SCANNED_JOB,
      bytes: 0,
      count: `${formatCount(jobs)}² jobs${times}`,
    });
  }
  return totalWork(terms);
}
