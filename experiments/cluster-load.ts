/**
 * Cluster files (YAML or JSON): many jobs on one shared cluster.
 *
 * ```yaml
 * name: placement-demo
 * seed: 1
 * cluster: { gpu: H100-SXM, nodes: 64, network: {topology: fat-tree, oversubscription: 2} }  # as in a scenario
 * storage: { lustre: {readBandwidth: 40 GB/s} }  # optional: tiers jobs' data.storage may name and share
 * scheduler: { policy: backfill, preemption: false, placement: topology-aware, powerAware: false, checkpointInterval: 30 min }
 * compare: [packed, spread, topology-aware]    # optional: one run per placement ({policy: [...]}, {powerAware: [false, true]} too)
 * horizon: 7 d                                 # optional: stop there
 * # then ONE of:
 * jobs:                                        # a list
 *   - { name: a, arrival: 0 s, priority: 0, gpus: 64, stepSeconds: 1.2 s, steps: 5000, commFraction: 0.3 }
 *   - { name: b, arrival: 10 min, workload: {model: llama3-8b, seqLength: 8192, globalBatch: 512},
 *       parallelism: {tp: 2}, gpus: 64, duration: 2 h,           # modelled: simulated with runScenario
 *       data: {storage: lustre, sharedWithCheckpoints: true},     # optional: its input pipeline, and
 *       reliability: {checkpointMode: async, storageBandwidth: 20 GB/s} }  # its checkpoints on that tier
 * trace: { csv: traces/helios.csv, format: helios, stepSeconds: 1 s }     # a public GPU-cluster trace
 * synthetic:                                   # a seeded synthetic trace
 *   jobs: 1000
 *   arrivalsPerHour: 40                        # Poisson (or meanInterarrival: 90 s)
 *   gpus: {1: 30, 8: 30, 64: 20, 256: 15, 1024: 5}                       # weights per GPU count
 *   duration: { distribution: lognormal, median: 1 h, sigma: 1.5, max: 7 d }
 * ```
 *
 * The `cluster:` block is a scenario's, checked by the scenario loader (through a
 * throwaway scenario, so the two can never disagree). Modelled jobs become
 * scenarios of their own — the shared cluster restricted to the job's GPUs —
 * checked by the same loader, with every message re-pointed at the job
 * (`jobs[3].parallelism.tp: ...`). Every problem in the file is reported at
 * once, as one ConfigError (exit 2).
 *
 * Traces (CSV; see models/cluster/README.md): each row is a job with a submit
 * time, a GPU count and a duration (a column, or end − start). Column names
 * are mapped in the `trace:` block; `format:` fills the usual names:
 * - helios (S-Lab-System-Group/HeliosData, `cluster_log.csv`, also the Venus,
 *   Earth, Saturn and Uranus logs): header `job_id,user,vc,gpu_num,cpu_num,
 *   node_num,state,submit_time,start_time,end_time,duration,queue`; times are
 *   "YYYY-MM-DD HH:MM:SS", duration in seconds; → name job_id, submitTime
 *   submit_time, gpus gpu_num, duration duration.
 * - pai (Alibaba cluster-trace-gpu-v2020, `pai_task_table.csv`, no header):
 *   `job_name,task_name,inst_num,status,start_time,end_time,plan_cpu,plan_mem,
 *   plan_gpu,gpu_type`; times in seconds; plan_gpu in percent of a GPU per
 *   instance; → submitTime start_time, duration end_time − start_time, gpus
 *   ⌈inst_num × plan_gpu / 100⌉.
 * - philly (msr-fiddle/philly-traces ships JSON, `cluster_job_log`; flatten
 *   it to CSV first, README shows a jq line): `jobid,submitted_time,gpus,
 *   start_time,end_time` with "YYYY-MM-DD HH:MM:SS" times.
 * Rows without GPUs (CPU jobs), without a positive duration or with an
 * unreadable time are skipped and counted in the run's notes.
 */
import { basename, dirname, extname, isAbsolute, relative, resolve } from "node:path";
import {
  DEFAULT_CHECKPOINT_SECONDS,
  DEFAULT_COMM_FRACTION,
  PLACEMENT_POLICIES,
  SCHEDULER_POLICIES,
  type ClusterConfig,
  type CompareAxis,
  type DurationDistribution,
  type JobSpec,
  type PlacementPolicy,
  type SchedulerPolicy,
  type SchedulerSpec,
  type SyntheticSpec,
  type SyntheticTemplate,
} from "../models/cluster/types.ts";
import type { ClusterSpec, Scenario } from "../models/scenario.ts";
import { outOfMemory } from "../models/workload/memory.ts";
import { ConfigError, type ConfigProblem } from "./errors.ts";
import { readConfigFile, readInputFile } from "./config-file.ts";
import { guarded, scenarioFromObject } from "./load.ts";
import { workProblem } from "./work-limits.ts";
import { Problems, isPlainObject, joinPath, showValue, storageNode, suggest, validate, type ObjectNode, type SchemaNode } from "./schema.ts";
import { STORAGE_PRESET_NAMES, STORAGE_PRESETS } from "../models/data/storage.ts";
import { parseQuantity } from "./units.ts";

type Raw = Record<string, unknown>;

export interface ClusterLoadOptions {
  /** Folder relative paths (trace CSVs, `{hf: ...}` models) are resolved against. */
  baseDir: string;
  /** Name when the file gives none. */
  name?: string;
  /** How to call the file in messages. */
  file?: string;
}

const TOP_KEYS = ["name", "description", "seed", "cluster", "storage", "scheduler", "jobs", "trace", "synthetic", "compare", "horizon"];
const SOURCES = ["jobs", "trace", "synthetic"] as const;

// ---------------------------------------------------------------------------
// Schema pieces (the scenario schema's language, so messages read the same)

const time = (description: string, extra: Partial<Omit<Extract<SchemaNode, { kind: "quantity" }>, "kind">> = {}): SchemaNode => ({ kind: "quantity", dimension: "time", description, ...extra });
const ratio = (description: string, extra: Partial<Omit<Extract<SchemaNode, { kind: "quantity" }>, "kind">> = {}): SchemaNode => ({ kind: "quantity", dimension: "ratio", description, ...extra });

export const schedulerNode: ObjectNode = {
  kind: "object",
  description: "How jobs are chosen and placed.",
  fields: {
    policy: { kind: "enum", values: SCHEDULER_POLICIES, description: "fifo: submit order, the first job that does not fit blocks the rest; backfill: EASY backfilling behind a reservation for the blocked head job; priority: highest priority first.", default: "fifo" },
    preemption: { kind: "bool", description: "With policy priority: a job that does not fit evicts running jobs of lower priority (they lose work since their last checkpoint and requeue).", default: false },
    placement: { kind: "enum", values: PLACEMENT_POLICIES, description: "packed: consecutive nodes under the same leaf first; spread: round-robin across leaves; topology-aware: the fewest leaves (and pods) that hold the job.", default: "packed" },
    powerAware: { kind: "bool", description: "Start a job only if facility power with it running stays under cluster.power.facilityCap.", default: false },
    checkpointInterval: time("Training time between checkpoints of jobs that give none.", { exclusiveMinimum: 0, default: DEFAULT_CHECKPOINT_SECONDS }),
  },
};

const jobNode: ObjectNode = {
  kind: "object",
  description: "A job: modelled (workload + parallelism) or known by its step time (gpus + stepSeconds).",
  fields: {
    name: { kind: "string", description: "Job name, unique.", derivedDefault: "job-<index>" },
    arrival: time("Submit time, from the start of the simulation.", { default: 0 }),
    priority: { kind: "int", minimum: 0, description: "Larger runs first under policy priority.", default: 0 },
    gpus: { kind: "int", minimum: 1, description: "GPUs the job needs (modelled jobs: tp·pp·dp·cp)." },
    steps: { kind: "int", minimum: 1, description: "Optimizer steps to train (give steps or duration)." },
    duration: time("Training time alone (steps = duration / step time).", { exclusiveMinimum: 0 }),
    stepSeconds: time("Unmodelled jobs: seconds per step running alone.", { exclusiveMinimum: 0 }),
    commFraction: ratio("Unmodelled jobs: share of the step in inter-node communication (0-1).", { minimum: 0, maximum: 1 }),
    gpuPower: { kind: "quantity", dimension: "power", description: "Unmodelled jobs: GPU power while running.", exclusiveMinimum: 0, derivedDefault: "80 % of TDP" },
    checkpointInterval: time("Training time between this job's checkpoints.", { exclusiveMinimum: 0 }),
  },
};

const TRACE_FORMATS = ["helios", "pai", "philly"] as const;
type TraceFormat = (typeof TRACE_FORMATS)[number];

const traceNode: ObjectNode = {
  kind: "object",
  description: "A GPU-cluster trace in CSV: one job per row.",
  fields: {
    csv: { kind: "string", description: "The CSV file, relative to this file.", required: true },
    format: { kind: "enum", values: TRACE_FORMATS, description: "Fill the column names of a public trace (helios, pai, philly)." },
    header: { kind: "bool", description: "The first row names the columns (pai: false; then give columns).", derivedDefault: "true, false for pai" },
    submitTime: { kind: "string", description: "Column of the submit time (seconds, or YYYY-MM-DD HH:MM:SS)." },
    gpus: { kind: "string", description: "Column of the GPU count (per instance when instances is given)." },
    duration: { kind: "string", description: "Column of the run time (or give start and end)." },
    start: { kind: "string", description: "Column of the start time (with end, when there is no duration column)." },
    end: { kind: "string", description: "Column of the end time." },
    name: { kind: "string", description: "Column of the job name." },
    priority: { kind: "string", description: "Column of an integer priority." },
    instances: { kind: "string", description: "Column the GPU count is multiplied by (pai: inst_num)." },
    gpuScale: ratio("Factor on the GPU column (pai: 0.01, plan_gpu is in percent); the product is rounded up.", { exclusiveMinimum: 0 }),
    timeUnit: { kind: "enum", values: ["s", "ms", "min", "h"], description: "Unit of numeric times and durations.", default: "s" },
    stepSeconds: time("Step time assumed for trace jobs (steps = duration / stepSeconds).", { exclusiveMinimum: 0, default: 1 }),
    commFraction: ratio("Share of a trace job's step in inter-node communication.", { minimum: 0, maximum: 1, default: DEFAULT_COMM_FRACTION }),
    limit: { kind: "int", minimum: 1, description: "Use only the first rows that make jobs." },
  },
};

/** Far above what the work limit lets run anywhere (docs/limits.md); keeps the estimate's numbers finite. */
export const MAX_SYNTHETIC_JOBS = 10_000_000;

const syntheticNode: ObjectNode = {
  kind: "object",
  description: "A seeded synthetic trace.",
  fields: {
    jobs: { kind: "int", minimum: 1, maximum: MAX_SYNTHETIC_JOBS, description: "Number of jobs (at most 10,000,000; the work estimate refuses far fewer on a large cluster: docs/limits.md).", required: true },
    arrivalsPerHour: ratio("Poisson arrivals: mean jobs per hour (or give meanInterarrival).", { exclusiveMinimum: 0 }),
    meanInterarrival: time("Poisson arrivals: mean time between submissions.", { exclusiveMinimum: 0 }),
    gpus: { kind: "record", values: ratio("Relative weight of this GPU count.", { minimum: 0 }), description: "GPU counts (powers of two) and their relative weights, e.g. {1: 30, 8: 30, 64: 20}.", required: true },
    duration: {
      kind: "object",
      description: "Training time alone of each job.",
      required: true,
      fields: {
        distribution: { kind: "enum", values: ["lognormal", "exponential", "fixed"], description: "lognormal (median, sigma), exponential (mean) or fixed (value).", default: "lognormal" },
        median: time("lognormal: the median.", { exclusiveMinimum: 0 }),
        sigma: ratio("lognormal: standard deviation of the log.", { minimum: 0, default: 1 }),
        mean: time("exponential: the mean.", { exclusiveMinimum: 0 }),
        value: time("fixed: the duration.", { exclusiveMinimum: 0 }),
        min: time("Clamp below.", { exclusiveMinimum: 0 }),
        max: time("Clamp above.", { exclusiveMinimum: 0 }),
      },
    },
    stepSeconds: time("Step time of unmodelled synthetic jobs.", { exclusiveMinimum: 0, default: 1 }),
    commFraction: ratio("Share of their step in inter-node communication.", { minimum: 0, maximum: 1, default: DEFAULT_COMM_FRACTION }),
    priorities: { kind: "record", values: ratio("Relative weight of this priority.", { minimum: 0 }), description: "Integer priorities and their weights, e.g. {0: 80, 1: 20}." },
    modelledShare: ratio("Share of jobs modelled in detail when a template allows their GPU count.", { minimum: 0, maximum: 1, default: 0 }),
  },
};

// ---------------------------------------------------------------------------
// Files

function displayPath(absolute: string): string {
  const rel = relative(process.cwd(), absolute);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? absolute : rel;
}


export function loadClusterFile(file: string): ClusterConfig {
  const problems = new Problems();
  return guarded(problems, file, () => {
    const absolute = resolve(file);
    const read = readConfigFile(absolute, file);
    if (!("value" in read)) problems.invalid("(file)", file, read.error);
    const raw = "value" in read ? read.value : undefined;
    if (problems.list.length > 0) throw new ConfigError(problems.list, file);
    return build(raw, { baseDir: dirname(absolute), name: basename(file, extname(file)), file }, problems);
  });
}

export function clusterConfigFromObject(input: unknown, opts: ClusterLoadOptions): ClusterConfig {
  const problems = new Problems();
  return guarded(problems, opts.file, () => build(input, opts, problems));
}


// ---------------------------------------------------------------------------
// Scenarios through the scenario loader

/** Problems of a scenario loaded for `where` ("jobs[2]"), re-pointed there; cluster problems dropped (reported once, above). */
function adopt(list: readonly ConfigProblem[], where: string, problems: Problems, keep: (path: string) => boolean): void {
  for (const p of list) {
    if (!keep(p.path)) continue;
    const inner = p.path === "(config)" || p.path === "" ? "" : p.path;
    const path = inner === "" ? where : where === "" ? inner : `${where}.${inner}`;
    const message = p.message.startsWith(p.path) ? `${path}${p.message.slice(p.path.length)}` : `${path}: ${p.message}`;
    problems.push({ path, value: p.value, message }, false);
  }
}

function loadScenarioObject(obj: Raw, opts: ClusterLoadOptions): { scenario?: Scenario; problems: ConfigProblem[] } {
  try {
    return { scenario: scenarioFromObject(obj, { baseDir: opts.baseDir, file: opts.file ?? "cluster file", name: String(obj["name"] ?? "job") }), problems: [] };
  } catch (e) {
    if (e instanceof ConfigError) return { problems: e.problems };
    throw e;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1;
}

/** The shared cluster, checked by the scenario loader through a throwaway one-layer job on every GPU. */
function loadCluster(raw: unknown, opts: ClusterLoadOptions, problems: Problems): ClusterSpec | undefined {
  const c = isPlainObject(raw) ? raw : {};
  const gpus = isCount(c["nodes"]) && (c["gpusPerNode"] === undefined || isCount(c["gpusPerNode"])) ? (c["nodes"] as number) * ((c["gpusPerNode"] as number | undefined) ?? 8) : 1;
  const throwaway: Raw = {
    name: "cluster",
    workload: { model: { name: "probe", layers: 1, hidden: 8, heads: 1, vocab: 8 }, seqLength: 1, globalBatch: gpus },
    parallelism: { tp: 1, pp: 1, dp: gpus },
  };
  if (raw !== undefined) throwaway["cluster"] = raw;
  const { scenario, problems: found } = loadScenarioObject(throwaway, opts);
  // Only the cluster's own problems: the throwaway workload is ours (and a GPU without bf16 would trip it).
  adopt(found, "", problems, (p) => p === "cluster" || p.startsWith("cluster.") || p.startsWith("(file)") || p === "(internal)");
  if (found.some((p) => p.path === "cluster" || p.path.startsWith("cluster."))) return undefined;
  if (scenario === undefined) {
    // Our throwaway failed for a reason of its own (say, the GPU lacks bf16): load it as written with a matching precision.
    const gpu = c["gpu"];
    const precisions = isPlainObject(gpu) && isPlainObject(gpu["peakFlops"]) ? Object.keys(gpu["peakFlops"]) : [];
    for (const precision of precisions) {
      const again = loadScenarioObject({ ...throwaway, workload: { ...(throwaway["workload"] as Raw), precision } }, opts);
      if (again.scenario !== undefined) return again.scenario.cluster;
    }
    return undefined;
  }
  return scenario.cluster;
}

/** A modelled job's scenario: the shared cluster restricted to `gpus` GPUs, without the facility cap (the cluster model applies it). */
function jobScenario(where: string, name: string, gpus: number, rawCluster: Raw, cluster: ClusterSpec, workload: unknown, parallelism: unknown, seed: number, opts: ClusterLoadOptions, problems: Problems, data?: unknown, reliability?: unknown): Scenario | undefined {
  const gpn = cluster.gpusPerNode;
  if (gpus > gpn && gpus % gpn !== 0) {
    problems.invalid(`${where}.gpus`, gpus, `${gpus} is not allowed for a modelled job; it takes whole nodes of ${gpn} GPUs, so give a multiple of ${gpn} (or at most ${gpn})`);
    return undefined;
  }
  const power = isPlainObject(rawCluster["power"]) ? { ...rawCluster["power"] } : {};
  delete power["facilityCap"];
  const obj: Raw = {
    name,
    seed,
    cluster: { ...rawCluster, nodes: Math.ceil(gpus / gpn), gpusPerNode: Math.min(gpn, gpus), power },
    parallelism: parallelism ?? {},
    run: { steps: 1 },
  };
  if (workload !== undefined) obj["workload"] = workload;
  if (data !== undefined) obj["data"] = data;
  if (reliability !== undefined) obj["reliability"] = reliability;
  const { scenario, problems: found } = loadScenarioObject(obj, opts);
  adopt(found, where, problems, (p) => !(p === "cluster" || p.startsWith("cluster.")));
  if (scenario === undefined) return undefined;
  const work = workProblem(scenario);
  if (work !== null) {
    problems.invalid(where, undefined, `${where}: ${work}`);
    return undefined;
  }
  const oom = outOfMemory(scenario);
  if (oom !== null) {
    problems.invalid(where, undefined, `${where}: does not fit in GPU memory on ${gpus} GPUs: ${oom}`);
    return undefined;
  }
  return scenario;
}

// ---------------------------------------------------------------------------
// Jobs

/** Keys of a scenario's reliability: a cluster file's job may give: how its checkpoints are written (when, is the job's checkpointInterval). */
const JOB_RELIABILITY_KEYS = ["checkpointMode", "storageBandwidth", "nodeStorageBandwidth"] as const;

/**
 * A job's reliability: says how it writes its checkpoints to its data tier, which other jobs'
 * reads then share (models/cluster/storage-share.ts): only a modelled job whose data has
 * sharedWithCheckpoints, and only the write keys (failures are the cluster's, by eviction).
 */
function checkJobReliability(where: string, reliability: unknown, data: unknown, problems: Problems): void {
  const at = `${where}.reliability`;
  if (!isPlainObject(reliability)) {
    problems.invalid(at, reliability, `${showValue(reliability)} is not allowed; expected {checkpointMode, storageBandwidth, nodeStorageBandwidth?}`);
    return;
  }
  for (const k of Object.keys(reliability)) {
    if ((JOB_RELIABILITY_KEYS as readonly string[]).includes(k)) continue;
    const why = k === "checkpointInterval" ? `give it as ${where}.checkpointInterval (the cluster's evictions lose the work since the last one too)` : "failures and restarts of a cluster's jobs are its evictions";
    problems.invalid(`${at}.${k}`, reliability[k], `not allowed on a cluster file's job; ${why}. Allowed: ${JOB_RELIABILITY_KEYS.join(", ")}`);
  }
  if (reliability["storageBandwidth"] === undefined) problems.invalid(`${at}.storageBandwidth`, undefined, "required key is missing; the tier's write bandwidth for this job's checkpoints, e.g. 100 GB/s");
  if (!isPlainObject(data) || data["sharedWithCheckpoints"] !== true) {
    problems.invalid(`${at}`, reliability, `a job's reliability says how it writes checkpoints to its data tier; set ${where}.data.sharedWithCheckpoints: true (with data.storage a preset or a tier of the file's storage: that other jobs read), or remove reliability`);
  }
}

function optionalNumber(o: Raw, key: string): number | undefined {
  const v = o[key];
  return typeof v === "number" ? v : undefined;
}

/**
 * The file's storage: tiers by name, as written (each job's data loader reads them again):
 * jobs whose data.storage names one share it, as jobs naming a preset share that.
 */
function readTiers(value: unknown, problems: Problems): Map<string, Raw> {
  const tiers = new Map<string, Raw>();
  if (value === undefined) return tiers;
  if (!isPlainObject(value)) {
    problems.invalid("storage", value, `${showValue(value)} is not allowed; expected storage tiers by name, e.g. {scratch: {readBandwidth: 40 GB/s}}`);
    return tiers;
  }
  for (const [name, tier] of Object.entries(value)) {
    const at = joinPath("storage", name);
    if (Object.hasOwn(STORAGE_PRESETS, name)) {
      problems.invalid(at, tier, `${JSON.stringify(name)} is a storage preset's name (jobs share presets by naming them); give this tier another name`);
    } else if (!isPlainObject(tier)) {
      problems.invalid(at, tier, `${showValue(tier)} is not allowed; expected a tier {readBandwidth, clientBandwidth?, requestsPerSecond?, requestLatency?} or {base: <storage preset>, ...fields to change}`);
    } else if (validate(storageNode, tier, at, problems) !== undefined) tiers.set(name, tier);
  }
  return tiers;
}

/** A modelled job's data: with a tier of the file's storage: written in, and the tier it shares (undefined: its own). */
function jobData(where: string, data: unknown, tiers: ReadonlyMap<string, Raw>, problems: Problems): { data: unknown; sharedTier?: string } | undefined {
  const named = isPlainObject(data) ? data["storage"] : undefined;
  if (typeof named !== "string") return { data };
  const tier = tiers.get(named);
  if (tier !== undefined) return { data: { ...(data as Raw), storage: tier }, sharedTier: named };
  if (Object.hasOwn(STORAGE_PRESETS, named)) return { data, sharedTier: named };
  const names = [...tiers.keys()];
  const close = suggest(named, [...names, ...STORAGE_PRESET_NAMES]);
  problems.invalid(`${where}.data.storage`, named, `${JSON.stringify(named)} is not allowed;${close.length > 0 ? ` did you mean ${close.map((c) => JSON.stringify(c)).join(" or ")}?` : ""} expected a tier of this file's storage: (${names.length > 0 ? names.join(", ") : "none given"}) or a storage preset (${STORAGE_PRESET_NAMES.join(", ")})`);
  return undefined;
}

function readJobs(value: unknown, cluster: ClusterSpec | undefined, rawCluster: Raw, scheduler: SchedulerSpec, seed: number, opts: ClusterLoadOptions, problems: Problems, tiers: ReadonlyMap<string, Raw> = new Map()): JobSpec[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.invalid("jobs", value, `${showValue(value)} is not allowed; expected a non-empty list of jobs, e.g. [{name: a, gpus: 8, stepSeconds: 1 s, steps: 1000}]`);
    return [];
  }
  const jobs: JobSpec[] = [];
  const names = new Map<string, number>();
  const width = String(value.length).length;
  value.forEach((entry, i) => {
    const where = `jobs[${i}]`;
    if (!isPlainObject(entry)) {
      problems.invalid(where, entry, `${showValue(entry)} is not allowed; expected a job: ${Object.keys(jobNode.fields).join(", ")}, workload, parallelism, data`);
      return;
    }
    const { workload, parallelism, data, reliability, ...rest } = entry;
    const modelled = workload !== undefined || parallelism !== undefined;
    if (data !== undefined && !modelled) problems.invalid(`${where}.data`, data, "only a modelled job (one with workload/parallelism) has an input pipeline; give workload and parallelism, or remove data");
    if (reliability !== undefined) checkJobReliability(where, reliability, data, problems);
    const before = problems.list.length;
    const v = (validate(jobNode, rest, where, problems) ?? {}) as Raw;
    const name = typeof v["name"] === "string" ? v["name"] : `job-${String(i).padStart(width, "0")}`;
    const earlier = names.get(name);
    if (earlier !== undefined) problems.note(`${where}.name`, name, `${JSON.stringify(name)} repeats jobs[${earlier}].name; job names must be unique`);
    names.set(name, i);
    const steps = optionalNumber(v, "steps");
    const duration = optionalNumber(v, "duration");
    if ((steps === undefined) === (duration === undefined) && !problems.isInvalid(`${where}.steps`) && !problems.isInvalid(`${where}.duration`)) {
      problems.note(where, entry, `${where}: give exactly one of steps and duration (how long the job trains)`);
    }
    let gpus = optionalNumber(v, "gpus");
    if (modelled) {
      for (const k of ["stepSeconds", "commFraction", "gpuPower"]) {
        if (rest[k] !== undefined) problems.note(`${where}.${k}`, rest[k], `not allowed on a modelled job (one with workload/parallelism): its step time, communication share and power come from simulating it`);
      }
      if (workload === undefined) problems.invalid(`${where}.workload`, undefined, "required key is missing for a modelled job; expected a scenario's workload {model, seqLength, globalBatch, ...}");
      const p = isPlainObject(parallelism) ? parallelism : {};
      const dims = ["tp", "pp", "cp"].map((k) => (p[k] === undefined ? 1 : p[k]));
      const product = dims.every(isCount) ? (dims as number[]).reduce((a, x) => a * x, 1) : undefined;
      if (gpus === undefined && !problems.isInvalid(`${where}.gpus`)) {
        if (product !== undefined && isCount(p["dp"])) gpus = product * p["dp"];
        else problems.invalid(`${where}.gpus`, undefined, `required key is missing; give gpus, or parallelism.dp with tp, pp and cp`);
      } else if (gpus !== undefined && product !== undefined && isCount(p["dp"]) && product * p["dp"] !== gpus) {
        problems.invalid(`${where}.parallelism`, parallelism, `tp·pp·dp·cp = ${product * p["dp"]}, but ${where}.gpus is ${gpus}`);
      } else if (gpus !== undefined && product !== undefined && gpus % product !== 0) {
        problems.invalid(`${where}.parallelism`, parallelism, `tp·pp·cp = ${product} does not divide ${where}.gpus ${gpus}`);
      }
      const input = data === undefined ? { data } : jobData(where, data, tiers, problems);
      if (problems.list.length > before || cluster === undefined || gpus === undefined || workload === undefined || input === undefined) return;
      const scenario = jobScenario(where, name, gpus, rawCluster, cluster, workload, parallelism, seed, opts, problems, input.data, reliability);
      if (scenario === undefined) return;
      jobs.push(job(name, v, gpus, steps, duration, scheduler, { kind: "modelled", scenario, ...(input.sharedTier !== undefined ? { sharedTier: input.sharedTier } : {}) }));
      return;
    }
    if (gpus === undefined && !problems.isInvalid(`${where}.gpus`)) problems.invalid(`${where}.gpus`, undefined, "required key is missing; expected an integer >= 1 (or give workload and parallelism to model the job)");
    const stepSeconds = optionalNumber(v, "stepSeconds");
    if (stepSeconds === undefined && !problems.isInvalid(`${where}.stepSeconds`)) problems.invalid(`${where}.stepSeconds`, undefined, `required key is missing; expected a time per step, e.g. "1.2 s" (or give workload and parallelism to model the job)`);
    if (cluster !== undefined && gpus !== undefined) {
      const total = cluster.nodes * cluster.gpusPerNode;
      if (gpus > total) problems.invalid(`${where}.gpus`, gpus, `${gpus} is more than the cluster's ${total} GPUs`);
    }
    if (problems.list.length > before || gpus === undefined || stepSeconds === undefined) return;
    const gpuWatts = optionalNumber(v, "gpuPower");
    jobs.push(job(name, v, gpus, steps, duration, scheduler, { kind: "unmodelled", stepSeconds, commFraction: optionalNumber(v, "commFraction") ?? DEFAULT_COMM_FRACTION, ...(gpuWatts !== undefined ? { gpuWatts } : {}) }));
  });
  return jobs;
}

function job(name: string, v: Raw, gpus: number, steps: number | undefined, duration: number | undefined, scheduler: SchedulerSpec, work: JobSpec["work"]): JobSpec {
  const out: JobSpec = { name, arrival: optionalNumber(v, "arrival") ?? 0, priority: optionalNumber(v, "priority") ?? 0, gpus, work, checkpointInterval: optionalNumber(v, "checkpointInterval") ?? scheduler.checkpointInterval };
  if (steps !== undefined) out.steps = steps;
  else out.duration = duration ?? 1;
  return out;
}

// ---------------------------------------------------------------------------
// Traces

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const endField = (): void => {
    row.push(field);
    field = "";
  };
  const endRow = (): void => {
    endField();
    if (!(row.length === 1 && row[0] === "")) rows.push(row);
    row = [];
  };
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") endField();
    else if (ch === "\n") endRow();
    else if (ch !== "\r") field += ch;
    i++;
  }
  if (field !== "" || row.length > 0) endRow();
  return rows;
}

const TIME_UNITS: Readonly<Record<string, number>> = { s: 1, ms: 1e-3, min: 60, h: 3600 };
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)(Z)?$/;

/** Seconds: a number in `unit`, or a "YYYY-MM-DD HH:MM:SS" wall-clock time (read as UTC). */
export function traceTime(text: string, unit: number): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const n = Number(t);
  if (Number.isFinite(n)) return n * unit;
  const m = DATE_RE.exec(t);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), 0) / 1000 + Number(s);
}

interface TraceColumns {
  header: boolean;
  columns?: string[];
  submitTime?: string;
  gpus?: string;
  duration?: string;
  start?: string;
  end?: string;
  name?: string;
  priority?: string;
  instances?: string;
  gpuScale?: number;
}

export const TRACE_PRESETS: Readonly<Record<TraceFormat, TraceColumns>> = {
  helios: { header: true, name: "job_id", submitTime: "submit_time", gpus: "gpu_num", duration: "duration" },
  pai: {
    header: false,
    columns: ["job_name", "task_name", "inst_num", "status", "start_time", "end_time", "plan_cpu", "plan_mem", "plan_gpu", "gpu_type"],
    name: "job_name",
    submitTime: "start_time",
    start: "start_time",
    end: "end_time",
    gpus: "plan_gpu",
    instances: "inst_num",
    gpuScale: 0.01,
  },
  philly: { header: true, name: "jobid", submitTime: "submitted_time", gpus: "gpus", start: "start_time", end: "end_time" },
};

function readTrace(value: unknown, cluster: ClusterSpec | undefined, scheduler: SchedulerSpec, opts: ClusterLoadOptions, problems: Problems, notes: string[]): JobSpec[] {
  if (!isPlainObject(value)) {
    problems.invalid("trace", value, `${showValue(value)} is not allowed; expected {csv: path, format: helios|pai|philly, ...column names}`);
    return [];
  }
  const { columns: columnsRaw, ...rest } = value;
  const v = (validate(traceNode, rest, "trace", problems) ?? {}) as Raw;
  const format = typeof v["format"] === "string" ? (v["format"] as TraceFormat) : undefined;
  const preset: TraceColumns = format === undefined ? { header: true } : TRACE_PRESETS[format];
  const str = (k: keyof TraceColumns): string | undefined => (typeof v[k] === "string" ? (v[k] as string) : (preset[k] as string | undefined));
  const cols: TraceColumns = {
    header: typeof v["header"] === "boolean" ? v["header"] : preset.header,
    ...(preset.columns !== undefined ? { columns: preset.columns } : {}),
  };
  for (const k of ["submitTime", "gpus", "duration", "start", "end", "name", "priority", "instances"] as const) {
    const s = str(k);
    if (s !== undefined) cols[k] = s;
  }
  const scale = optionalNumber(v, "gpuScale") ?? preset.gpuScale;
  if (scale !== undefined) cols.gpuScale = scale;
  if (columnsRaw !== undefined) {
    if (!Array.isArray(columnsRaw) || columnsRaw.length === 0 || !columnsRaw.every((c) => typeof c === "string" && c !== "")) {
      problems.invalid("trace.columns", columnsRaw, `${showValue(columnsRaw)} is not allowed; expected a list of column names for a CSV without a header row`);
    } else cols.columns = columnsRaw as string[];
  }
  if (problems.isInvalid("trace")) return [];
  for (const k of ["submitTime", "gpus"] as const) {
    if (cols[k] === undefined) problems.invalid(`trace.${k}`, undefined, `required key is missing; name the CSV column (or give format: ${TRACE_FORMATS.join(" | ")})`);
  }
  if (cols.duration === undefined && (cols.start === undefined || cols.end === undefined)) {
    problems.invalid("trace.duration", undefined, "required key is missing; name the duration column, or the start and end columns");
  }
  if (!cols.header && cols.columns === undefined) problems.invalid("trace.columns", undefined, "required when header is false; list the column names in order");
  if (problems.list.length > 0) return [];

  const csvPath = v["csv"] as string;
  const file = resolve(opts.baseDir, csvPath);
  const read = readInputFile(file);
  if ("error" in read) {
    problems.invalid("trace.csv", csvPath, `cannot read ${JSON.stringify(csvPath)} (relative to the cluster file): ${read.error}`);
    return [];
  }
  const text = read.text;
  const rows = parseCsv(text);
  const header = cols.header ? (rows.shift() ?? []).map((h) => h.trim()) : (cols.columns as string[]);
  const index = new Map(header.map((h, i) => [h, i]));
  const need: [keyof TraceColumns, string | undefined][] = [
    ["submitTime", cols.submitTime],
    ["gpus", cols.gpus],
    ["duration", cols.duration],
    ["start", cols.start],
    ["end", cols.end],
    ["name", cols.name],
    ["priority", cols.priority],
    ["instances", cols.instances],
  ];
  for (const [k, c] of need) {
    if (c === undefined || index.has(c)) continue;
    // A preset's optional columns may be absent from a hand-made file.
    if (format !== undefined && v[k] === undefined && (k === "name" || k === "duration" || k === "start" || k === "end")) continue;
    const close = suggest(c, header);
    problems.invalid(`trace.${k}`, c, `column ${JSON.stringify(c)} is not in ${displayPath(file)}${close.length > 0 ? ` (did you mean ${close.map((x) => JSON.stringify(x)).join(" or ")}?)` : ""}; its columns are ${header.join(", ")}`);
  }
  const useDuration = cols.duration !== undefined && index.has(cols.duration);
  if (!useDuration && !(cols.start !== undefined && index.has(cols.start) && cols.end !== undefined && index.has(cols.end))) {
    if (!problems.isInvalid("trace.duration")) problems.invalid("trace.duration", cols.duration, `${displayPath(file)} has neither a duration column nor start and end columns`);
  }
  if (problems.list.length > 0) return [];

  const unit = TIME_UNITS[(v["timeUnit"] as string | undefined) ?? "s"] as number;
  const stepSeconds = (v["stepSeconds"] as number | undefined) ?? 1;
  const commFraction = (v["commFraction"] as number | undefined) ?? DEFAULT_COMM_FRACTION;
  const limit = optionalNumber(v, "limit") ?? Infinity;
  const cell = (row: string[], c: string | undefined): string => (c === undefined ? "" : (row[index.get(c) ?? -1] ?? "").trim());
  const skipped = new Map<string, number>();
  const skip = (why: string): void => {
    skipped.set(why, (skipped.get(why) ?? 0) + 1);
  };
  const parsed: { name: string; submit: number; gpus: number; duration: number; priority: number }[] = [];
  for (let r = 0; r < rows.length && parsed.length < limit; r++) {
    const row = rows[r] as string[];
    const submit = traceTime(cell(row, cols.submitTime), unit);
    if (submit === undefined) {
      skip("no readable submit time");
      continue;
    }
    const g = Number(cell(row, cols.gpus));
    const inst = cols.instances === undefined ? 1 : Number(cell(row, cols.instances));
    const gpus = Math.ceil(g * inst * (cols.gpuScale ?? 1) - 1e-9);
    if (!Number.isFinite(gpus) || cell(row, cols.gpus) === "" || gpus < 1) {
      skip("no GPUs (CPU job or empty GPU column)");
      continue;
    }
    let duration: number | undefined;
    if (useDuration) {
      const d = Number(cell(row, cols.duration));
      duration = cell(row, cols.duration) === "" || !Number.isFinite(d) ? undefined : d * unit;
    } else {
      const a = traceTime(cell(row, cols.start), unit);
      const b = traceTime(cell(row, cols.end), unit);
      duration = a === undefined || b === undefined ? undefined : b - a;
    }
    if (duration === undefined || !(duration > 0)) {
      skip("no positive duration");
      continue;
    }
    const pri = cols.priority === undefined ? 0 : Number(cell(row, cols.priority));
    const lineNo = r + 1 + (cols.header ? 1 : 0);
    parsed.push({ name: cell(row, cols.name) || `row-${lineNo}`, submit, gpus, duration, priority: Number.isInteger(pri) ? pri : 0 });
  }
  if (parsed.length === 0) {
    problems.invalid("trace.csv", csvPath, `${displayPath(file)} has no usable rows (${rows.length} read${skipped.size > 0 ? `; skipped: ${[...skipped].map(([w, n]) => `${n} ${w}`).join(", ")}` : ""})`);
    return [];
  }
  const t0 = Math.min(...parsed.map((p) => p.submit));
  const order = parsed.map((p, i) => ({ p, i })).sort((a, b) => a.p.submit - b.p.submit || a.i - b.i);
  const seen = new Map<string, number>();
  const jobs = order.map(({ p }) => {
    // Names repeat in traces (a PAI job has several tasks): number the repeats.
    const n = seen.get(p.name) ?? 0;
    seen.set(p.name, n + 1);
    return {
      name: n === 0 ? p.name : `${p.name}#${n + 1}`,
      arrival: p.submit - t0,
      priority: p.priority,
      gpus: p.gpus,
      duration: p.duration,
      checkpointInterval: scheduler.checkpointInterval,
      work: { kind: "unmodelled" as const, stepSeconds, commFraction },
    };
  });
  const total = cluster === undefined ? Infinity : cluster.nodes * cluster.gpusPerNode;
  const tooBig = jobs.filter((j) => j.gpus > total).length;
  notes.push(
    `Trace ${displayPath(file)}${format === undefined ? "" : ` (${format} format)`}: ${jobs.length} jobs from ${rows.length} rows` +
      (skipped.size > 0 ? `; skipped ${[...skipped].map(([w, n]) => `${n} with ${w}`).join(", ")}` : "") +
      (tooBig > 0 ? `; ${tooBig} need more GPUs than the cluster has and will be rejected` : "") +
      `. Trace jobs are unmodelled: step ${stepSeconds} s, communication share ${commFraction}.`,
  );
  return jobs;
}

// ---------------------------------------------------------------------------
// Synthetic

function weights(value: unknown, where: string, problems: Problems, keyOk: (k: number) => boolean, keyText: string): { key: number; weight: number }[] {
  if (!isPlainObject(value)) return [];
  const out: { key: number; weight: number }[] = [];
  for (const [k, w] of Object.entries(value)) {
    const n = Number(k);
    if (!/^-?\d+$/.test(k.trim()) || !keyOk(n)) {
      problems.invalid(joinPath(where, k), k, `${JSON.stringify(k)} is not allowed; expected ${keyText}`);
      continue;
    }
    if (typeof w === "number") out.push({ key: n, weight: w });
  }
  if (out.length > 0 && out.every((x) => x.weight === 0)) problems.invalid(where, value, "every weight is 0; give at least one positive weight");
  return out.sort((a, b) => a.key - b.key);
}

function readTemplates(value: unknown, rawCluster: Raw, cluster: ClusterSpec | undefined, seed: number, opts: ClusterLoadOptions, problems: Problems): SyntheticTemplate[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.invalid("synthetic.templates", value, `${showValue(value)} is not allowed; expected a list of {name, weight, gpus: [..], workload, parallelism}`);
    return [];
  }
  const out: SyntheticTemplate[] = [];
  value.forEach((t, i) => {
    const where = `synthetic.templates[${i}]`;
    if (!isPlainObject(t)) {
      problems.invalid(where, t, `${showValue(t)} is not allowed; expected {name, weight, gpus: [..], workload, parallelism}`);
      return;
    }
    for (const k of Object.keys(t)) {
      if (!["name", "weight", "gpus", "workload", "parallelism"].includes(k)) problems.unknownKey(where, k, t[k], `unknown key; allowed keys in ${where}: name, weight, gpus, workload, parallelism`);
    }
    const name = typeof t["name"] === "string" && t["name"] !== "" ? t["name"] : `template-${i}`;
    const weight = t["weight"] === undefined ? 1 : t["weight"];
    if (typeof weight !== "number" || !(weight > 0)) problems.invalid(`${where}.weight`, weight, `${showValue(weight)} is not allowed; expected a number > 0`);
    const sizes = t["gpus"];
    if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every(isCount)) {
      problems.invalid(`${where}.gpus`, sizes, `${showValue(sizes)} is not allowed; expected a list of GPU counts this template may run at, e.g. [64, 128]`);
      return;
    }
    if (cluster === undefined) return;
    const scenarios = new Map<number, Scenario>();
    for (const g of sizes) {
      const p = isPlainObject(t["parallelism"]) ? t["parallelism"] : {};
      const s = jobScenario(`${where}[gpus=${g}]`, name, g, rawCluster, cluster, t["workload"], { ...p }, seed, opts, problems);
      if (s !== undefined) scenarios.set(g, s);
    }
    out.push({ name, weight: typeof weight === "number" ? weight : 1, scenarios });
  });
  return out;
}

function readSynthetic(value: unknown, rawCluster: Raw, cluster: ClusterSpec | undefined, seed: number, opts: ClusterLoadOptions, problems: Problems): SyntheticSpec | undefined {
  if (!isPlainObject(value)) {
    problems.invalid("synthetic", value, `${showValue(value)} is not allowed; expected {jobs, arrivalsPerHour, gpus: {size: weight}, duration: {...}}`);
    return undefined;
  }
  const { templates, ...rest } = value;
  const v = (validate(syntheticNode, rest, "synthetic", problems) ?? {}) as Raw;
  const perHour = optionalNumber(v, "arrivalsPerHour");
  const gap = optionalNumber(v, "meanInterarrival");
  if ((perHour === undefined) === (gap === undefined) && !problems.isInvalid("synthetic.arrivalsPerHour") && !problems.isInvalid("synthetic.meanInterarrival")) {
    problems.invalid("synthetic.arrivalsPerHour", rest["arrivalsPerHour"], "give exactly one of arrivalsPerHour and meanInterarrival (the Poisson arrival rate)");
  }
  const total = cluster === undefined ? Infinity : cluster.nodes * cluster.gpusPerNode;
  const sizes = weights(v["gpus"], "synthetic.gpus", problems, (n) => n >= 1 && (n & (n - 1)) === 0, "a power of two (1, 2, 4, 8, ...)");
  for (const s of sizes) {
    if (s.key > total && s.weight > 0) problems.invalid(`synthetic.gpus.${s.key}`, s.key, `${s.key} GPUs is more than the cluster's ${total}`);
  }
  const pri = weights(v["priorities"], "synthetic.priorities", problems, (n) => n >= 0, "an integer priority >= 0");
  const d = isPlainObject(v["duration"]) ? v["duration"] : {};
  const kind = (d["distribution"] as string | undefined) ?? "lognormal";
  const clamp = { ...(typeof d["min"] === "number" ? { min: d["min"] } : {}), ...(typeof d["max"] === "number" ? { max: d["max"] } : {}) };
  let duration: DurationDistribution | undefined;
  const need = (key: string): number | undefined => {
    const x = d[key];
    if (typeof x === "number") return x;
    if (!problems.isInvalid(`synthetic.duration.${key}`) && !problems.isInvalid("synthetic.duration")) problems.invalid(`synthetic.duration.${key}`, undefined, `required for distribution ${kind}`);
    return undefined;
  };
  if (isPlainObject(v["duration"])) {
    if (kind === "lognormal") {
      const median = need("median");
      if (median !== undefined) duration = { kind: "lognormal", median, sigma: (d["sigma"] as number | undefined) ?? 1, ...clamp };
    } else if (kind === "exponential") {
      const m = need("mean");
      if (m !== undefined) duration = { kind: "exponential", mean: m, ...clamp };
    } else {
      const x = need("value");
      if (x !== undefined) duration = { kind: "fixed", value: x };
    }
  }
  const tpl = readTemplates(templates, rawCluster, cluster, seed, opts, problems);
  if (problems.list.length > 0 || duration === undefined) return undefined;
  return {
    jobs: v["jobs"] as number,
    arrivalRate: perHour !== undefined ? perHour / 3600 : 1 / (gap as number),
    sizes: sizes.filter((s) => s.weight > 0).map((s) => ({ gpus: s.key, weight: s.weight })),
    duration,
    stepSeconds: (v["stepSeconds"] as number | undefined) ?? 1,
    commFraction: (v["commFraction"] as number | undefined) ?? DEFAULT_COMM_FRACTION,
    priorities: pri.filter((p) => p.weight > 0).map((p) => ({ priority: p.key, weight: p.weight })),
    modelledShare: (v["modelledShare"] as number | undefined) ?? 0,
    templates: tpl,
  };
}

// ---------------------------------------------------------------------------
// Compare

function readCompare(value: unknown, problems: Problems): CompareAxis | undefined {
  const list = (where: string, x: unknown, allowed: readonly string[]): string[] | undefined => {
    if (!Array.isArray(x) || x.length === 0) {
      problems.invalid(where, x, `${showValue(x)} is not allowed; expected a non-empty list of ${allowed.join(", ")}`);
      return undefined;
    }
    const out: string[] = [];
    x.forEach((item, i) => {
      if (typeof item !== "string" || !allowed.includes(item)) {
        const close = typeof item === "string" ? suggest(item, allowed) : [];
        problems.invalid(`${where}[${i}]`, item, `${showValue(item)} is not allowed; expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}${close.length > 0 ? ` (did you mean ${close.map((c) => JSON.stringify(c)).join(" or ")}?)` : ""}`);
      } else if (out.includes(item)) problems.invalid(`${where}[${i}]`, item, `${JSON.stringify(item)} is listed twice`);
      else out.push(item);
    });
    return out.length === x.length ? out : undefined;
  };
  if (Array.isArray(value)) {
    const v = list("compare", value, PLACEMENT_POLICIES);
    return v === undefined ? undefined : { key: "placement", values: v as PlacementPolicy[] };
  }
  if (isPlainObject(value) && Object.keys(value).length === 1) {
    if (value["placement"] !== undefined) {
      const v = list("compare.placement", value["placement"], PLACEMENT_POLICIES);
      return v === undefined ? undefined : { key: "placement", values: v as PlacementPolicy[] };
    }
    if (value["policy"] !== undefined) {
      const v = list("compare.policy", value["policy"], SCHEDULER_POLICIES);
      return v === undefined ? undefined : { key: "policy", values: v as SchedulerPolicy[] };
    }
    const pa = value["powerAware"];
    if (pa !== undefined) {
      if (Array.isArray(pa) && pa.length > 0 && pa.every((x) => typeof x === "boolean") && new Set(pa).size === pa.length) return { key: "powerAware", values: pa as boolean[] };
      problems.invalid("compare.powerAware", pa, `${showValue(pa)} is not allowed; expected [false, true]`);
      return undefined;
    }
  }
  problems.invalid("compare", value, `${showValue(value)} is not allowed; expected a list of placements [packed, spread, topology-aware], or {placement: [...]}, {policy: [fifo, backfill, priority]} or {powerAware: [false, true]}`);
  return undefined;
}

// ---------------------------------------------------------------------------
// Assembly

function build(input: unknown, opts: ClusterLoadOptions, problems: Problems): ClusterConfig {
  if (!isPlainObject(input)) {
    const what = input === null || input === undefined ? "the file is empty" : `${showValue(input)} is not allowed`;
    problems.invalid("", input, `${what}; expected a cluster file with keys ${TOP_KEYS.join(", ")}`);
    throw new ConfigError(problems.list, opts.file);
  }
  for (const key of Object.keys(input)) {
    if (TOP_KEYS.includes(key)) continue;
    const close = suggest(key, TOP_KEYS);
    const hint = close.length > 0 ? ` did you mean ${close.map((c) => JSON.stringify(c)).join(" or ")}?` : ["workload", "parallelism", "run", "reliability"].includes(key) ? " a cluster file's jobs carry their own workload and parallelism (under jobs:);" : "";
    problems.unknownKey("", key, input[key], `unknown key;${hint} allowed keys at the top level: ${TOP_KEYS.join(", ")}`);
  }
  const name = input["name"] === undefined ? (opts.name ?? "cluster") : input["name"];
  if (typeof name !== "string" || name === "") problems.invalid("name", name, `${showValue(name)} is not allowed; expected a non-empty string`);
  const description = input["description"];
  if (description !== undefined && typeof description !== "string") problems.invalid("description", description, `${showValue(description)} is not allowed; expected a string`);
  const seed = input["seed"] === undefined ? 1 : input["seed"];
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0) problems.invalid("seed", seed, `${showValue(seed)} is not allowed; expected an integer >= 0`);
  let horizon: number | undefined;
  if (input["horizon"] !== undefined) {
    const h = parseQuantity(input["horizon"], "time");
    if (typeof h !== "number") problems.invalid("horizon", input["horizon"], h.error);
    else if (!(h > 0)) problems.invalid("horizon", input["horizon"], `${showValue(input["horizon"])} is not allowed; expected a time > 0`);
    else horizon = h;
  }

  const rawCluster = isPlainObject(input["cluster"]) ? input["cluster"] : {};
  const cluster = loadCluster(input["cluster"], opts, problems);
  const tiers = readTiers(input["storage"], problems);
  if (input["storage"] !== undefined && input["jobs"] === undefined) problems.invalid("storage", input["storage"], "only a jobs: list has modelled jobs with data: to read a tier (trace and synthetic jobs have none); remove storage");
  const scheduler = (validate(schedulerNode, input["scheduler"] ?? {}, "scheduler", problems) ?? {}) as SchedulerSpec;
  const sched: SchedulerSpec = {
    policy: scheduler.policy ?? "fifo",
    preemption: scheduler.preemption ?? false,
    placement: scheduler.placement ?? "packed",
    powerAware: scheduler.powerAware ?? false,
    checkpointInterval: scheduler.checkpointInterval ?? DEFAULT_CHECKPOINT_SECONDS,
  };
  if (sched.preemption && sched.policy !== "priority" && !problems.isInvalid("scheduler.policy")) {
    problems.invalid("scheduler.preemption", true, `true needs policy: priority (evictions go by priority; fifo and backfill never evict), but scheduler.policy is ${JSON.stringify(sched.policy)}`);
  }
  if (sched.powerAware && cluster !== undefined && cluster.power.facilityCap === undefined) {
    problems.invalid("scheduler.powerAware", true, "true needs a facility power cap to admit against; set cluster.power.facilityCap (e.g. 5 MW)");
  }
  const compare = input["compare"] === undefined ? undefined : readCompare(input["compare"], problems);
  if (compare?.key === "powerAware" && cluster !== undefined && cluster.power.facilityCap === undefined) {
    problems.invalid("compare.powerAware", compare.values, "comparing power-aware admission needs a facility power cap; set cluster.power.facilityCap (e.g. 5 MW)");
  }
  if (compare?.key === "policy" && sched.preemption && compare.values.some((p) => p !== "priority")) {
    problems.invalid("compare.policy", compare.values, "scheduler.preemption is true, which only policy priority supports; compare policies without preemption");
  }

  const given = SOURCES.filter((k) => input[k] !== undefined);
  const seedNum = typeof seed === "number" ? seed : 1;
  const notes: string[] = [];
  let source: ClusterConfig["source"] | undefined;
  if (given.length !== 1) {
    problems.invalid(
      given.length === 0 ? "jobs" : (given[1] as string),
      given.length === 0 ? undefined : input[given[1] as string],
      given.length === 0 ? "required key is missing; give the jobs as ONE of jobs: (a list), trace: ({csv: ...}) or synthetic: ({jobs, arrivalsPerHour, gpus, duration})" : `give only one of jobs, trace and synthetic (found ${given.join(" and ")})`,
    );
  } else if (given[0] === "jobs") {
    source = { kind: "jobs", jobs: readJobs(input["jobs"], cluster, rawCluster, sched, seedNum, opts, problems, tiers) };
  } else if (given[0] === "trace") {
    source = { kind: "jobs", jobs: readTrace(input["trace"], cluster, sched, opts, problems, notes), from: "trace" };
  } else {
    const spec = readSynthetic(input["synthetic"], rawCluster, cluster, seedNum, opts, problems);
    if (spec !== undefined) source = { kind: "synthetic", spec };
  }
  if (problems.list.length > 0 || cluster === undefined || source === undefined) throw new ConfigError(problems.list, opts.file);
  const config: ClusterConfig = { name: name as string, seed: seedNum, cluster, scheduler: sched, source, notes };
  if (typeof description === "string") config.description = description;
  if (horizon !== undefined) config.horizon = horizon;
  if (compare !== undefined) config.compare = compare;
  return config;
}
