/**
 * How much work simulating a scenario takes, estimated from the scenario alone, before
 * anything is built: engine events and memory. Callers compare it with their limits
 * (experiments/work-limits.ts) and refuse what cannot finish.
 *
 * Where the cost is (measured on trainsim's own runs; coefficients below):
 * - The fabric probe (network/group-slowdown.ts) builds the whole cluster's topology and
 *   runs one stage's collectives on it as flows, once per distinct placement of a stage on the
 *   scale-up domains (one when stages tile them): time and memory grow with the cluster's GPUs.
 * - The step (step/executor.ts) runs every pass of every simulated rank: folded, one rank
 *   per pipeline stage; full, every GPU. A rank runs 2 passes (forward, backward) per
 *   micro-batch per chunk (virtual stage), each a handful of events; FSDP passes one op
 *   group per wrap unit; the last backward of a chunk hands gradients over layer by layer.
 * - The compiled program and schedule: per-layer op lists, and pp · 2 · micro · chunks
 *   schedule entries.
 * - A long run (reliability) advances between failures, checkpoints and supply changes:
 *   events grow with run.duration times their rates.
 */
import { peakFlops } from "./compute/kernel.ts";
import { gpuCount, microBatchesPerStep } from "./parallel/plan.ts";
import { stepHardwareFlops } from "./workload/remat-flops.ts";
import type { Scenario } from "./scenario.ts";
import { checkpointCost, youngDaly } from "./reliability/checkpoint.ts";
import { componentCount, FAILURE_CLASSES } from "./reliability/failure-rates.ts";
import type { StepMode } from "./step/symmetry.ts";
import { fsdpSettings } from "./workload/memory.ts";
import { distinctStages } from "./network/group-slowdown.ts";

/*
 * Coefficients, measured with `trainsim run --json` (simulation.events) and peak RSS
 * (/usr/bin/time) on this repository, Node 20, 2026-12:
 * - events per pass: GPT-3 175B on 1,024 H100 folded 202,241 events / 12,288 passes = 16.5;
 *   Llama 3 405B on 16k folded 16,253 / 1,024 = 15.9; GPT-3 175B --full 3.84 M / 786 k = 4.9;
 *   Llama 3 405B on 102,400 H100 --full 31.5 M / 6.55 M = 4.8 (523 MB peak).
 * - layers: Llama 3 8B shapes with 10,000 and 40,000 layers (pp 1, folded): 14 events and
 *   ~7.5 KB per layer (186 and 411 MB peak; 1,000,000 layers passed 4.2 GB).
 * - recorded spans: GPT-3 175B on 1,024 H100 --full, 4.46 M activities: 203 MB with the
 *   report, 89 MB without (~26 B per activity); 5.7 activities per pass.
 * - fabric probe: Llama 3 8B at tp 8, folded, on 65,536 H100 in one stage (418 MB, 42 s) and
 *   on 262,144 H100 in 32 stages of 8,192 (754 MB, 64 s): about 2.6 KB and 0.2 ms (~40
 *   events' worth of time) per GPU of the cluster (topology) and again per GPU of a stage (flows).
 * - full mode: Llama 3 405B on 102,400 H100 --full: 529 MB in all (issue 24), ~2 KB per rank.
 */
const EVENTS_PER_PASS = { folded: 16, full: 5 } as const;
const EVENTS_PER_FSDP_UNIT = 8;
const EVENTS_PER_LAYER = 14;
const PROBE_EVENTS_PER_GPU = 40;
export const PROBE_BYTES_PER_GPU = 2_600;
/** Resources and state of one simulated rank (full mode: every GPU). */
const BYTES_PER_RANK = 2_000;
/** A schedule entry: a pass object while the schedule is built (memory check, compile). */
const BYTES_PER_SCHEDULE_ENTRY = 64;
/** A layer's ops, lists and in-flight gradient reductions. */
const BYTES_PER_LAYER = 7_500;
/** Activities per pass, and a recorded span's bytes (report, trace). */
const ACTIVITIES_PER_PASS = 6;
const BYTES_PER_SPAN = 32;
/** The process before simulating: Node, the bundle, catalogs. */
export const BASE_BYTES = 80e6;

/** One part of the estimate: which keys drive it, its events and bytes, and how it was counted. */
export interface WorkTerm {
  name: string;
  /** The scenario keys (or option) that set it. */
  fields: string;
  events: number;
  bytes: number;
  /** "131,072 GPUs", "2 · 16 stages · 8 micro-batches · 2 chunks": how many of what. */
  count: string;
}

export interface WorkEstimate {
  events: number;
  bytes: number;
  terms: WorkTerm[];
}

const n = (x: number): string => (x < 1e6 ? Math.round(x).toLocaleString("en-US") : x.toExponential(2).replace("e+", "e"));

/**
 * How long a long run lasts at least: run.duration, or its target's steps (run.tokens or
 * run.steps) at the ideal step time (every GPU at its dense peak), which no step beats.
 */
export function longRunSecondsAtLeast(s: Scenario): number {
  if (s.run.duration !== undefined) return s.run.duration;
  const steps = s.run.tokens !== undefined ? s.run.tokens / (s.workload.globalBatch * s.workload.seqLength) : s.run.steps;
  const idealStep = stepHardwareFlops(s) / (gpuCount(s) * peakFlops(s.cluster.gpu, s.workload.precision));
  return steps * idealStep;
}

/** Events of a long run (with reliability): failures, checkpoints, supply changes over its length. */
function longRunEvents(s: Scenario): number {
  const r = s.reliability;
  if (r === undefined) return 0;
  const duration = longRunSecondsAtLeast(s);
  const gpus = gpuCount(s);
  let ratePerSecond = 0;
  for (const c of FAILURE_CLASSES) {
    const f = r.failures[c];
    if (f.ratePerHour > 0) ratePerSecond += (componentCount(c, gpus, s.cluster.nodes) * f.ratePerHour) / 3600;
  }
  let interval = r.checkpointInterval === "young-daly" ? Infinity : r.checkpointInterval;
  if (r.checkpointInterval === "young-daly" && ratePerSecond > 0) interval = youngDaly(checkpointCost(s).stallSeconds, 1 / ratePerSecond);
  const supply = s.cluster.power.facilitySupply;
  const supplyRate = supply !== undefined ? 1 / supply.meanPeriodSeconds : 0;
  // Each failure: the failure, a restart, a resume; each checkpoint: its start and end.
  return duration * (3 * ratePerSecond + 2 / interval + supplyRate);
}

/** `record`: spans are kept (a report or a trace), one per activity. */
export function estimateWork(s: Scenario, mode: StepMode, record = false): WorkEstimate {
  const p = s.parallelism;
  const clusterGpus = gpuCount(s);
  const peers = p.tp * p.cp * p.dp;
  const ranks = mode === "full" ? peers * p.pp : p.pp;
  const micro = Math.max(1, Math.ceil(microBatchesPerStep(s)));
  const chunks = p.virtualStages;
  const layers = s.workload.model.layers;
  const layersPerChunk = layers / (p.pp * chunks);
  const passes = ranks * 2 * micro * chunks;
  const fsdpUnits = p.zero >= 3 ? layersPerChunk / fsdpSettings(p).unitLayers + 2 : 0;
  const terms: WorkTerm[] = [];
  const placements = distinctStages(s).length;
  const probed = clusterGpus + peers * placements;
  terms.push({
    name: "fabric probe",
    fields: "cluster.nodes × cluster.gpusPerNode",
    events: PROBE_EVENTS_PER_GPU * probed,
    bytes: PROBE_BYTES_PER_GPU * probed,
    count: `${n(clusterGpus)} GPUs, ${n(peers)} in a stage${placements > 1 ? ` × ${placements} placements on the scale-up domains` : ""}`,
  });
  const stepEvents = passes * (EVENTS_PER_PASS[mode] + EVENTS_PER_FSDP_UNIT * fsdpUnits);
  const rankText = mode === "full" ? `${n(ranks)} GPUs (--full)` : `${n(p.pp)} stages`;
  terms.push({
    name: "step",
    fields: `${mode === "full" ? "cluster GPUs (--full)" : "parallelism.pp"} × micro-batches (workload.globalBatch / (parallelism.dp × parallelism.microBatch)) × parallelism.virtualStages${fsdpUnits > 0 ? " × FSDP units (workload.model.layers / parallelism.fsdpUnitLayers)" : ""}`,
    events: stepEvents,
    bytes: ranks * BYTES_PER_RANK + p.pp * 2 * micro * chunks * BYTES_PER_SCHEDULE_ENTRY + (record ? passes * ACTIVITIES_PER_PASS * BYTES_PER_SPAN : 0),
    count: `2 passes × ${rankText} × ${n(micro)} micro-batches × ${n(chunks)} chunks${fsdpUnits > 0 ? ` × ${n(fsdpUnits)} units` : ""}`,
  });
  terms.push({
    name: "layers",
    fields: "workload.model.layers",
    events: ranks * chunks * layersPerChunk * EVENTS_PER_LAYER,
    bytes: layers * BYTES_PER_LAYER,
    count: `${n(layers)} layers`,
  });
  const longRun = longRunEvents(s);
  if (longRun > 0) {
    const fields = s.run.duration !== undefined ? "run.duration" : s.run.tokens !== undefined ? "run.tokens" : "run.steps";
    const seconds = longRunSecondsAtLeast(s);
    terms.push({ name: "long run", fields, events: longRun, bytes: 0, count: `${s.run.duration !== undefined ? "" : "at least "}${n(seconds / 86400)} d with failures and checkpoints` });
  }
  return totalWork(terms);
}

/** The estimate of `terms`: their events, and their bytes on top of the process's own (BASE_BYTES). */
export function totalWork(terms: WorkTerm[]): WorkEstimate {
  let events = 0;
  let bytes = BASE_BYTES;
  for (const t of terms) {
    events += t.events;
    bytes += t.bytes;
  }
  return { events, bytes, terms };
}

export const formatCount = n;
