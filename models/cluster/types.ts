/**
 * Many jobs on one cluster: the validated, unit-free inputs (plain data in SI
 * units, as experiments/cluster-load.ts produces them) and the results.
 */
import type { RunResult } from "../run.ts";
import type { ClusterSpec, Scenario } from "../scenario.ts";
import type { StorageReader } from "./storage-share.ts";

export const SCHEDULER_POLICIES = ["fifo", "backfill", "priority"] as const;
export type SchedulerPolicy = (typeof SCHEDULER_POLICIES)[number];

export const PLACEMENT_POLICIES = ["packed", "spread", "topology-aware"] as const;
export type PlacementPolicy = (typeof PLACEMENT_POLICIES)[number];

/** Checkpoint interval jobs are assumed to keep when none is given: 30 min of training. */
export const DEFAULT_CHECKPOINT_SECONDS = 1800;
/** Share of an unmodelled job's step spent in inter-node communication, when none is given. */
export const DEFAULT_COMM_FRACTION = 0.2;

export interface SchedulerSpec {
  policy: SchedulerPolicy;
  /** A higher-priority job may evict lower-priority running jobs (policy: priority). */
  preemption: boolean;
  placement: PlacementPolicy;
  /** Start a job only if the facility power with it running stays under cluster.power.facilityCap. */
  powerAware: boolean;
  /** Seconds of training between checkpoints for jobs that give none (evictions lose work since the last). */
  checkpointInterval: number;
}

/** A job simulated in detail: its step comes from runScenario on the cluster restricted to its GPUs. */
export interface ModelledWork {
  kind: "modelled";
  /** The job's own scenario: the shared cluster with `gpus / gpusPerNode` nodes (no facility cap). */
  scenario: Scenario;
  /** The storage tier its data: reads, shared with the other jobs naming it: a preset, or a tier of the file's storage: (default: its preset, if it names one). */
  sharedTier?: string;
}

/** A job known only by its step time (measured alone) and how much of it is communication. */
export interface UnmodelledWork {
  kind: "unmodelled";
  /** Seconds per step running alone on a compact placement. */
  stepSeconds: number;
  /** Share of the step spent in inter-node communication (0-1): the part other jobs' traffic can slow. */
  commFraction: number;
  /** GPU power while running, watts (default 0.8 × TDP, capped by gpuPowerLimit). */
  gpuWatts?: number;
}

export interface JobSpec {
  name: string;
  /** Submit time, seconds from the start of the simulation. */
  arrival: number;
  /** Larger runs first under `policy: priority`. */
  priority: number;
  gpus: number;
  /** Steps to train; or `duration`: seconds of training alone (steps = duration / step time). */
  steps?: number;
  duration?: number;
  /** Seconds of training between checkpoints (work since the last one is lost on eviction). */
  checkpointInterval?: number;
  work: ModelledWork | UnmodelledWork;
}

export type DurationDistribution =
  | { kind: "lognormal"; median: number; sigma: number; min?: number; max?: number }
  | { kind: "exponential"; mean: number; min?: number; max?: number }
  | { kind: "fixed"; value: number };

/** A modelled-job template synthetic jobs may be drawn as: a workload and plan per allowed GPU count. */
export interface SyntheticTemplate {
  name: string;
  weight: number;
  /** The template's scenario at each GPU count it allows (validated by the loader). */
  scenarios: Map<number, Scenario>;
}

export interface SyntheticSpec {
  jobs: number;
  /** Poisson arrivals: mean jobs per second. */
  arrivalRate: number;
  /** GPU counts (powers of two) with their relative weights. */
  sizes: { gpus: number; weight: number }[];
  duration: DurationDistribution;
  stepSeconds: number;
  commFraction: number;
  /** Priorities with their relative weights (default: all 0). */
  priorities: { priority: number; weight: number }[];
  /** Share of jobs drawn as modelled jobs (when a template allows the drawn GPU count). */
  modelledShare: number;
  templates: SyntheticTemplate[];
}

/** `from: "trace"`: the jobs came from a trace's rows (for messages naming the key). */
export type JobSource = { kind: "jobs"; jobs: JobSpec[]; from?: "list" | "trace" } | { kind: "synthetic"; spec: SyntheticSpec };

export type CompareAxis = { key: "placement"; values: PlacementPolicy[] } | { key: "policy"; values: SchedulerPolicy[] } | { key: "powerAware"; values: boolean[] };

export interface ClusterConfig {
  name: string;
  description?: string;
  seed: number;
  cluster: ClusterSpec;
  scheduler: SchedulerSpec;
  source: JobSource;
  /** Stop the simulation at this time, seconds (default: when every job is done). */
  horizon?: number;
  /** Run once per value of one scheduler setting and compare. */
  compare?: CompareAxis;
  /** Where the jobs came from (trace file, rows skipped), for reports. */
  notes?: string[];
}

// ---------------------------------------------------------------------------
// Results

export type JobStatus = "done" | "running" | "queued" | "rejected" | "pending";

export interface JobSegment {
  start: number;
  end: number;
  /** The segment ended in an eviction. */
  preempted: boolean;
}

export interface ClusterJobResult {
  name: string;
  kind: "modelled" | "unmodelled";
  gpus: number;
  priority: number;
  status: JobStatus;
  /** Why a job never ran (status rejected). */
  reason?: string;
  steps: number;
  submitSeconds: number;
  /** First start (null: never started). */
  startSeconds: number | null;
  endSeconds: number | null;
  /** Time waiting in the queue, including after evictions. */
  queueSeconds: number;
  /** end − submit (null until done). */
  completionSeconds: number | null;
  /** Seconds per step alone on a compact placement, and the time the job takes alone. */
  stepSecondsAlone: number;
  aloneSeconds: number;
  /** Seconds spent running (including work later lost to evictions). */
  runSeconds: number;
  /** Running time per step executed, against alone: what placement and other jobs' traffic cost. */
  meanStepSeconds: number;
  contentionSlowdown: number;
  /** Completion time over the time alone (queueing, contention and lost work together). */
  slowdown: number | null;
  /** Share of the running time during which other jobs' traffic slowed this job's communication. */
  slowedShare: number;
  /** Share of the step in communication that contention scales (network share or commFraction). */
  commShare: number;
  preemptions: number;
  /** Steps redone because an eviction threw away work since the last checkpoint. */
  lostSteps: number;
  /** Leaf switches (placement units) the job's nodes sit under, in its last placement. */
  leaves: number;
  /** First GPU of its last placement (for charts). */
  firstGpu: number | null;
  segments: JobSegment[];
  /** Jobs reading a storage preset (data:): the tier, and the share of the running time other jobs' reads on it stretched this job's step. */
  storage?: { tier: string; slowedShare: number };
  /** GPU power while running alone, watts. */
  gpuWatts: number;
  /** Share of the running time during which the facility power controller held its clocks down. */
  throttledShare: number;
}

export interface SeriesPoint {
  time: number;
  value: number;
}

export interface ClusterRunSummary {
  jobs: number;
  done: number;
  rejected: number;
  unfinished: number;
  makespanSeconds: number;
  meanQueueSeconds: number;
  p50QueueSeconds: number;
  p95QueueSeconds: number;
  meanCompletionSeconds: number;
  meanSlowdown: number;
  p95Slowdown: number;
  /** Mean contention slowdown over jobs that ran, and the share of running GPU-time slowed by others. */
  meanContentionSlowdown: number;
  slowedGpuTimeShare: number;
  /** Share of running GPU-time whose step other jobs' reads or checkpoint writes on a shared storage tier stretched (absent: no job reads a shared tier). */
  storageSlowedGpuTimeShare?: number;
  preemptions: number;
  lostGpuSeconds: number;
  /** Time-mean share of the cluster's GPUs held by running jobs, over the whole run. */
  meanUtilisation: number;
  /**
   * The same while at least one job waits (null if none ever did): below 1, GPUs sat
   * idle under a queue — fragmentation, reservations or the power cap.
   */
  utilisationWhileQueued: number | null;
  /** Seconds during which at least one job waited. */
  queuedSeconds: number;
  facilityPowerWatts: { mean: number; peak: number };
  facilityCapWatts?: number;
  /** Seconds during which facility power was above the cap (only when even the lowest clocks cannot meet it). */
  secondsOverCap: number;
  /** Seconds during which the facility power controller held GPU clocks down to meet the cap. */
  secondsThrottled: number;
  energyJoules: number;
}

export interface ClusterRunResult {
  name: string;
  /** What this run varies, for comparisons ("placement: spread"). */
  label: string;
  seed: number;
  gpus: number;
  nodes: number;
  topology: string;
  scheduler: SchedulerSpec;
  summary: ClusterRunSummary;
  jobs: ClusterJobResult[];
  /** GPUs held by running jobs over time (piecewise constant from each point). */
  utilisation: SeriesPoint[];
  /** Facility power over time, watts (piecewise constant). */
  power: SeriesPoint[];
  simulation: {
    events: number;
    /** Times the running set changed and slowdowns were brought up to date. */
    contentionUpdates: number;
    /** Max-min solves of shared-link components, and how many were answered from the cache. */
    solves: number;
    cacheHits: number;
    /** Modelled jobs: step simulations run and reused. */
    stepSimulations: number;
    stepSimulationsReused: number;
  };
}

export interface ClusterExperimentResult {
  name: string;
  description?: string;
  seed: number;
  gpus: number;
  nodes: number;
  compared?: CompareAxis["key"];
  runs: ClusterRunResult[];
  notes: string[];
}

/** A job ready to simulate: its alone step, power and step count resolved. */
export interface PreparedJob {
  index: number;
  spec: JobSpec;
  steps: number;
  stepSecondsAlone: number;
  commShare: number;
  gpuWatts: number;
  /** Share of the step alone whose speed follows the SM clock (compute-bound time), and its GPU watts. */
  clockShare: number;
  phaseWatts: number;
  /** Modelled jobs: the step simulation's result. */
  run?: RunResult;
  /** Modelled jobs whose data: reads a storage preset other jobs may read too. */
  reader?: StorageReader;
}
