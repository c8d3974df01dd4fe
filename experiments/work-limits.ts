/**
 * What trainsim agrees to simulate: the work estimate (models/work-estimate.ts) against
 * limits on engine events (time) and memory (this machine's), checked before simulating.
 * The refusal names the keys that drive the estimate, the estimate and the limit
 * (docs/limits.md).
 */
import { totalmem } from "node:os";
import { getHeapStatistics } from "node:v8";
import type { Scenario } from "../models/scenario.ts";
import { estimateClusterWork } from "../models/cluster/work-estimate.ts";
import type { ClusterConfig } from "../models/cluster/types.ts";
import { chooseStepMode, type StepModeRequest } from "../models/step/symmetry.ts";
import { PROBE_BYTES_PER_GPU, estimateWork, formatCount, longRunSecondsAtLeast, type WorkEstimate } from "../models/work-estimate.ts";
import { MAX_RUN_SECONDS } from "./schema.ts";

/** About 20 minutes of engine work on a slow core (a few µs per event). */
export const MAX_EVENTS = 2.5e8;

export interface WorkLimits {
  events: number;
  bytes: number;
  /** How the memory limit was set, for messages. */
  bytesFrom: string;
}

/** Half this machine's memory, and no more than V8's heap limit (beyond it Node aborts). */
export function workLimits(): WorkLimits {
  const half = totalmem() / 2;
  const heap = getHeapStatistics().heap_size_limit;
  return heap < half
    ? { events: MAX_EVENTS, bytes: heap, bytesFrom: "Node's heap limit" }
    : { events: MAX_EVENTS, bytes: half, bytesFrom: "half this machine's memory" };
}

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

/** Why simulating `s` is refused, or null when it fits. `record`: spans are kept (a report or a trace). */
export function workProblem(s: Scenario, request: StepModeRequest = "auto", limits: WorkLimits = workLimits(), record = false): string | null {
  if (s.reliability !== undefined && s.run.duration === undefined) {
    // As run.duration's bound: a target no step time can reach within ten years.
    const days = longRunSecondsAtLeast(s) / 86400;
    if (days > MAX_RUN_SECONDS / 86400) {
      const field = s.run.tokens !== undefined ? "run.tokens" : "run.steps";
      return `${field}: ${formatCount(s.run.tokens ?? s.run.steps)} takes at least ${formatCount(days)} d even with every GPU at its dense peak; expected a run of at most ${MAX_RUN_SECONDS / 86400} d (docs/limits.md)`;
    }
  }
  const mode = chooseStepMode(s, request).mode;
  const w: WorkEstimate = estimateWork(s, mode, record);
  const over = overLimit(w, limits);
  if (over === null) return null;
  const { what, fields } = over;
  return `too much work to simulate: about ${what}, driven by ${fields}; expected a smaller job (fewer GPUs, micro-batches or layers${mode === "full" ? ", or without --full" : ""}${s.reliability !== undefined ? ", or a shorter run" : ""}); see docs/limits.md`;
}

/** What `w` exceeds and the terms that drive it (the largest shares of whichever limit is exceeded: "keys: count; ..."), or null within the limits. */
function overLimit(w: WorkEstimate, limits: WorkLimits): { what: string; fields: string } | null {
  const overEvents = w.events > limits.events;
  const overBytes = w.bytes > limits.bytes;
  if (!overEvents && !overBytes) return null;
  const share = (t: WorkEstimate["terms"][number]): number => Math.max(overEvents ? t.events / w.events : 0, overBytes ? t.bytes / w.bytes : 0);
  const big = w.terms.filter((t) => share(t) >= 0.1).sort((a, b) => share(b) - share(a));
  const fields = big.map((t) => `${t.fields}: ${t.count}`).join("; ");
  const what = [overEvents ? `${formatCount(w.events)} engine events (limit ${formatCount(limits.events)})` : "", overBytes ? `${gb(w.bytes)} of memory (limit ${gb(limits.bytes)}, ${limits.bytesFrom})` : ""]
    .filter((x) => x !== "")
    .join(" and ");
  return { what, fields };
}

/**
 * Why simulating a cluster file is refused (models/cluster/work-estimate.ts), or null when
 * it fits. Its modelled jobs' step simulations are checked by the loader, one by one.
 */
export function clusterWorkProblem(config: ClusterConfig, limits: WorkLimits = workLimits()): string | null {
  const over = overLimit(estimateClusterWork(config), limits);
  if (over === null) return null;
  const fewer = config.source.kind === "synthetic" ? "fewer synthetic.jobs" : config.source.from === "trace" ? "fewer jobs (trace.limit)" : "fewer jobs";
  const change = [fewer, "a smaller cluster", ...(config.compare !== undefined ? ["fewer compared runs"] : [])];
  return `too much work to simulate: about ${over.what}, driven by ${over.fields}; expected ${change.slice(0, -1).join(", ")} or ${change[change.length - 1]}; see docs/limits.md`;
}

/**
 * `trainsim collective` runs the flow simulator once per message size. Measured here (one core of
 * these 2-core machines, H100 nodes of 8, rail-optimized): an all-reduce over nccl-tests' 31
 * default sizes took 2.0 s on 1,024 GPUs and 26 s on 8,192 (about 100 µs per rank and size); an
 * all-to-all, whose n(n−1) flows run at once, 111 s on 512 GPUs (about 13.5 µs per rank pair and
 * size) and 2.5 GB on 1,024 (about 2.5 kB a flow). About a minute of work is allowed.
 */
export const MAX_COLLECTIVE_SECONDS = 60;
const SECONDS_PER_RANK_AND_SIZE = 100e-6;
const ALL_TO_ALL_SECONDS_PER_PAIR_AND_SIZE = 13.5e-6;
const ALL_TO_ALL_BYTES_PER_FLOW = 2_500;

/** Message sizes of an nccl-tests sweep from min to max by factor, counted without listing them. */
export function collectiveSizeCount(min: number, max: number, factor: number): number {
  return Math.floor(Math.log(max / min) / Math.log(factor) + 1e-9) + 1;
}

/** Why `trainsim collective` refuses this sweep, or null when it fits. */
export function collectiveWorkProblem(op: string, ranks: number, sizes: number, gpus: number, limits: WorkLimits = workLimits()): string | null {
  const topologyBytes = PROBE_BYTES_PER_GPU * gpus;
  if (topologyBytes > limits.bytes) {
    return `--nodes × --gpus-per-node: ${formatCount(gpus)} GPUs need about ${gb(topologyBytes)} for the topology alone; the limit is ${gb(limits.bytes)} (${limits.bytesFrom}; docs/limits.md)`;
  }
  const allToAll = op === "all-to-all";
  const seconds = allToAll ? sizes * ranks * (ranks - 1) * ALL_TO_ALL_SECONDS_PER_PAIR_AND_SIZE : sizes * ranks * SECONDS_PER_RANK_AND_SIZE;
  if (seconds > MAX_COLLECTIVE_SECONDS) {
    return `about ${formatCount(seconds)} s of flow simulation (${formatCount(sizes)} message sizes over ${formatCount(ranks)} ranks${allToAll ? ", all pairs at once" : ""}); the limit is ${MAX_COLLECTIVE_SECONDS} s: narrow --min-bytes/--max-bytes, raise --factor or take fewer --ranks (docs/limits.md)`;
  }
  const flowBytes = allToAll ? ALL_TO_ALL_BYTES_PER_FLOW * ranks * (ranks - 1) : 0;
  if (flowBytes > limits.bytes) {
    return `--ranks: an all-to-all of ${formatCount(ranks)} ranks holds ${formatCount(ranks * (ranks - 1))} flows, about ${gb(flowBytes)}; the limit is ${gb(limits.bytes)} (${limits.bytesFrom}; docs/limits.md)`;
  }
  return null;
}
