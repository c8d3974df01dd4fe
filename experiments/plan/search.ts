/**
 * `trainsim plan`: the search. Stages, cheapest first:
 *   1. the space (space.ts), each layout applied to the scenario;
 *   2. divisibility: the loader's own plan checks (models/parallel/plan.ts checkPlan);
 *   3. memory: the memory model (outOfMemory), no simulation;
 *   4. the analytical lower bound (bound.ts): layouts are simulated in order of their bound,
 *      in fixed-size batches, until the next bound cannot beat the top N simulated so far;
 *   5. each simulated layout is built from the raw scenario with its `parallelism:` keys
 *      replaced and loaded by the loader in the worker, which checks memory again: a layout
 *      the loader or the memory model refuses is never ranked.
 * Ties break on the layout key, batches are a fixed size whatever the threads: the same
 * inputs give the same ranking and the same counts.
 */
import { resolve } from "node:path";
import { CATEGORIES, type Category } from "../../models/categories.ts";
import { checkPlan, gpuCount } from "../../models/parallel/plan.ts";
import type { SweepPointResult } from "../../models/results.ts";
import type { RunResult } from "../../models/run.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { paddedVocab } from "../../models/workload/params.ts";
import { peakMemory } from "../../models/workload/memory.ts";
import type { PointTask } from "../evaluate.ts";
import { ConfigError } from "../errors.ts";
import { experimentFromObject } from "../experiment.ts";
import { scenarioFromObject, type LoadedScenario, type LoadOptions } from "../load.ts";
import { isPlainObject } from "../schema.ts";
import { layerSeconds, layerShapeKey, stepSecondsLowerBound, type LayerSeconds } from "./bound.ts";
import { PointPool } from "./pool.ts";
import { enumerateLayouts, layoutKey, layoutParallelism, OFFLOAD_SHARES, type Layout, type SpaceLimits } from "./space.ts";

type Raw = Record<string, unknown>;

export const OBJECTIVES = ["tokens-per-second", "energy-per-token", "cost-per-token", "goodput"] as const;
export type Objective = (typeof OBJECTIVES)[number];

/** Objectives where more is better (tokens/s, useful tokens/s); the others are costs per token. */
export function maximises(objective: Objective): boolean {
  return objective === "tokens-per-second" || objective === "goodput";
}

/**
 * What an objective needs from the scenario beyond a step: prices (cost-per-token) or a
 * `reliability:` section (goodput). Throws a ConfigError naming the missing keys.
 */
export function checkObjectiveInputs(s: Scenario, objective: Objective): void {
  const problems: { path: string; value: unknown; message: string }[] = [];
  if (objective === "cost-per-token") {
    const p = s.cluster.power;
    const example: Record<string, string> = { pricePerGpuHour: "2.5", pricePerKWh: "0.08" };
    for (const key of ["pricePerGpuHour", "pricePerKWh"] as const) {
      if (p[key] === undefined) problems.push({ path: `cluster.power.${key}`, value: undefined, message: `cluster.power.${key} is missing: --objective cost-per-token needs the price per GPU-hour and per kWh; expected e.g. cluster: { power: { ${key}: ${example[key]} } }` });
    }
  }
  if (objective === "goodput" && s.reliability === undefined) {
    problems.push({ path: "reliability", value: undefined, message: "reliability: is missing: --objective goodput needs the scenario's failures and checkpoints; expected a reliability: section, e.g. reliability: {} (Llama 3's failure rates, docs/scenario.md)" });
  }
  if (problems.length > 0) throw new ConfigError(problems, "trainsim plan");
}

/** Prices and sizes an entry's objective is computed from. */
interface ObjectiveContext {
  objective: Objective;
  gpus: number;
  tokensPerStep: number;
  pricePerGpuHour?: number;
  pricePerKWh?: number;
}

/**
 * Currency per token: the GPUs rented for the step plus the facility's energy of the step,
 * over its tokens. Undefined unless both prices are given.
 */
export function costPerToken(c: Omit<ObjectiveContext, "objective">, stepSeconds: number, facilityJoulesPerToken: number): number | undefined {
  if (c.pricePerGpuHour === undefined || c.pricePerKWh === undefined) return undefined;
  return (c.gpus * (stepSeconds / 3600) * c.pricePerGpuHour) / c.tokensPerStep + (facilityJoulesPerToken / 3.6e6) * c.pricePerKWh;
}

/** Layouts simulated per batch: fixed, so which layouts are simulated never depends on the thread count. */
export const BATCH = 8;

/** The parallelism keys a layout sets; the scenario's own values of them are replaced. */
export const LAYOUT_KEYS = ["tp", "pp", "dp", "cp", "ep", "expertTp", "microBatch", "virtualStages", "firstStageLayers", "lastStageLayers", "zero", "shardGroup", "recompute", "sequenceParallel"] as const;

export interface PlanOptions {
  objective?: Objective;
  /** Layouts ranked and shown (the bound prunes against the N-th best). */
  top?: number;
  limits?: SpaceLimits;
  /** Keep only layouts with this dp (--fix parallelism.dp=N). */
  dp?: number;
  /** Search without a baseline even if the scenario states a parallelism: (--scale: another GPU count). */
  noBaseline?: boolean;
  /** parallelism keys set on the scenario (and so on every layout): --fix of a key the planner does not search. */
  overrides?: Readonly<Record<string, unknown>>;
  /** Share of each GPU's memory a layout must leave free (--memory-headroom): the allocator's fragmentation, NCCL and CUDA context a production run keeps room for. Default 0. */
  memoryHeadroom?: number;
  /** Worker threads; 0 simulates in this thread. */
  workers?: number;
  onProgress?: (p: PlanProgress) => void;
}

export interface PlanProgress {
  stage: "filter" | "simulate";
  done: number;
  /** Layouts left that could still enter the top N (simulate), or all layouts (filter). */
  total: number;
}

export interface PlanEntry {
  /** 1-based position in the ranking. */
  rank: number;
  key: string;
  layout: Layout;
  /** The scenario's own layout. */
  baseline: boolean;
  stepSeconds: number;
  tokensPerSecond: number;
  mfu: number;
  tflopsPerGpu: number;
  memoryBytesPerGpu: number;
  memoryCapacityBytes: number;
  energyJoulesPerToken: number;
  gpuPowerWatts: number;
  /** Currency per token (GPU-hours and facility energy), when the scenario gives both prices. */
  costPerToken?: number;
  /** Long run (reliability: set): share of wall-clock time on steps that were kept, with the Young/Daly interval under --objective goodput. */
  goodput?: number;
  /** Long run: tokens per second of wall clock that were kept (tokensPerSecond × goodput). */
  goodputTokensPerSecond?: number;
  /** Long run: seconds of training between checkpoints (Young/Daly's √(2·stall·MTBF) under --objective goodput); absent when no failure can lose work. */
  checkpointIntervalSeconds?: number;
  /** The category with the largest share of the step, and that share. */
  bottleneck: { category: Category; share: number };
  breakdown: Record<Category, number>;
  /** The analytical lower bound the layout was ordered by, seconds. */
  boundStepSeconds: number;
  /** The objective's value: tokens/s or useful tokens/s (higher is better), joules or currency per token (lower is better). */
  objectiveValue: number;
}

export interface PlanCounts {
  /** Layouts in the space. */
  considered: number;
  /** Refused by the loader's plan checks (divisibility of heads, layers, batch, experts, ...). */
  divisibility: number;
  /** Refused by the memory model. */
  memory: number;
  /** Passed both, never simulated: their lower bound could not beat the top N. */
  bound: number;
  /** Passed both and simulated (considered = divisibility + memory + bound + simulated); the scenario's own layout, when outside the space, is simulated besides. */
  simulated: number;
  /** Simulated layouts the loader refused when building the scenario (counted apart from divisibility). */
  loader: number;
  /** Simulations that threw. */
  failed: number;
}

export interface PlanResult {
  scenario: string;
  objective: Objective;
  gpus: number;
  counts: PlanCounts;
  /** Every simulated layout, best first. */
  ranking: PlanEntry[];
  /** The scenario's own layout when it states one (also in `ranking`), else undefined. */
  baseline?: PlanEntry;
  /** The scenario's own layout is a layout of the searched space that passed divisibility and memory (so the search itself found it). */
  baselineInSpace: boolean;
  /** Why the scenario's own layout is not ranked (refused by the loader or the memory model), when it is not. */
  baselineProblem?: string;
  /** The share of memory per GPU the searched layouts left free (--memory-headroom; the baseline is ranked whatever it uses). */
  memoryHeadroom: number;
  /** One line on why the best beats the runner-up. */
  why: string;
  /** The best layout's whole run result (for charts). */
  bestResult?: RunResult;
  /** The raw scenario (its base: chain merged) and how to load it: for --write. */
  raw: Raw;
  loadOptions: LoadOptions;
}

/** The raw scenario of a file, base: chain merged, and how to load it (as a sweep's base). */
export function readScenarioRaw(file: string): { raw: Raw; loadOptions: LoadOptions } {
  const exp = experimentFromObject({ base: resolve(file) }, { baseDir: process.cwd(), file });
  return { raw: exp.baseScenario, loadOptions: exp.loadOptions };
}

/** The scenario's parallelism keys that no longer apply under `layout` (dropped from the raw file and the loaded plan alike). */
function inapplicableKeys(layout: Layout): ("recomputeModules" | "remat" | "tpCommOverlap" | "overlapParamGather")[] {
  return [
    ...(layout.recompute !== "selective" ? (["recomputeModules"] as const) : []),
    ...(layout.recompute !== "full" ? (["remat"] as const) : []),
    ...(layout.tp === 1 ? (["tpCommOverlap"] as const) : []),
    ...(layout.zero === 0 || layout.zero === 3 ? (["overlapParamGather"] as const) : []),
  ];
}

/** `raw` with its `parallelism:` replaced by the layout's keys (other keys kept where they still apply). */
export function layoutScenario(raw: Raw, layout: Layout): Raw {
  const out = structuredClone(raw);
  const old = isPlainObject(out["parallelism"]) ? out["parallelism"] : {};
  const kept: Raw = {};
  for (const [k, v] of Object.entries(old)) if (!(LAYOUT_KEYS as readonly string[]).includes(k)) kept[k] = v;
  for (const k of inapplicableKeys(layout)) delete kept[k];
  if (layout.virtualStages === 1) delete kept["overlapP2P"];
  if (layout.zero < 3) for (const k of Object.keys(kept)) if (k.startsWith("fsdp") || k === "shardGroup" || k === "reshardAfterForward" || k === "offloadParams") delete kept[k];
  out["parallelism"] = { ...kept, ...layoutParallelism(layout) };
  return out;
}

/** The baseline scenario with the layout applied, as the loader would build it (for the checks before simulating). */
function candidate(base: Scenario, unpaddedVocab: number, vocabDivisibleBy: number, layout: Layout): Scenario {
  const p = base.parallelism;
  const plan: ParallelPlan = { ...p, ...(layoutParallelism(layout) as Partial<ParallelPlan>) };
  if (layout.expertTp === undefined) delete plan.expertTp;
  if (layout.firstStageLayers === undefined) {
    delete plan.firstStageLayers;
    delete plan.lastStageLayers;
  }
  if (layout.shardGroup === undefined) delete plan.shardGroup;
  if (layout.offloadActivations !== undefined) plan.offloadActivationShare = layout.offloadActivations;
  for (const k of inapplicableKeys(layout)) delete plan[k];
  const vocab = paddedVocab(unpaddedVocab, vocabDivisibleBy, layout.tp);
  const model = vocab === base.workload.model.vocab ? base.workload.model : { ...base.workload.model, vocab, unpaddedVocab };
  return { ...base, parallelism: plan, workload: { ...base.workload, model } };
}

/** The layout a loaded scenario runs, in the planner's terms. */
export function layoutOf(s: Scenario): Layout {
  const p = s.parallelism;
  return {
    tp: p.tp,
    pp: p.pp,
    dp: p.dp,
    cp: p.cp,
    ep: p.ep,
    ...(p.expertTp !== undefined && p.expertTp !== p.tp ? { expertTp: p.expertTp } : {}),
    microBatch: p.microBatch,
    virtualStages: p.virtualStages,
    ...(p.firstStageLayers !== undefined || p.lastStageLayers !== undefined ? { firstStageLayers: p.firstStageLayers ?? 0, lastStageLayers: p.lastStageLayers ?? 0 } : {}),
    zero: p.zero,
    ...(p.zero === 3 && p.shardGroup !== undefined && p.shardGroup !== p.dp ? { shardGroup: p.shardGroup } : {}),
    recompute: p.recompute,
  };
}

function dominant(b: Record<Category, number>): { category: Category; share: number } {
  let best: Category = CATEGORIES[0];
  for (const c of CATEGORIES) if (b[c] > b[best]) best = c;
  return { category: best, share: b[best] };
}

/** Better first: the objective, then less memory per GPU (ZeRO-1 and -2 often tie on time), then the layout key. */
function compare(objective: Objective): (a: PlanEntry, b: PlanEntry) => number {
  return (a, b) => {
    const d = maximises(objective) ? b.objectiveValue - a.objectiveValue : a.objectiveValue - b.objectiveValue;
    if (d !== 0) return d;
    const m = a.memoryBytesPerGpu - b.memoryBytesPerGpu;
    return m !== 0 ? m : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  };
}

function objectiveValueOf(objective: Objective, r: RunResult, cost: number | undefined): number {
  switch (objective) {
    case "tokens-per-second":
      return r.tokensPerSecond;
    case "energy-per-token":
      return r.power.energyJoulesPerToken;
    case "cost-per-token":
      return cost as number;
    case "goodput":
      return r.tokensPerSecond * (r.goodput ?? 1);
  }
}

function entryOf(layout: Layout, r: RunResult, bound: number, ctx: ObjectiveContext, baseline: boolean): PlanEntry {
  // In the categories' order, whether the result came from a worker (stable JSON, keys sorted) or from this thread.
  const breakdown = Object.fromEntries(CATEGORIES.map((c) => [c, r.stepBreakdown[c]])) as Record<Category, number>;
  const cost = costPerToken(ctx, r.stepSeconds, r.power.energyJoulesPerToken);
  return {
    rank: 0,
    key: layoutKey(layout),
    layout,
    baseline,
    stepSeconds: r.stepSeconds,
    tokensPerSecond: r.tokensPerSecond,
    mfu: r.mfu,
    tflopsPerGpu: r.tflopsPerGpu,
    memoryBytesPerGpu: r.memoryBytesPerGpu,
    memoryCapacityBytes: r.memoryCapacityBytes,
    energyJoulesPerToken: r.power.energyJoulesPerToken,
    gpuPowerWatts: r.gpuPowerWatts,
    ...(cost !== undefined ? { costPerToken: cost } : {}),
    ...(r.goodput !== undefined ? { goodput: r.goodput, goodputTokensPerSecond: r.tokensPerSecond * r.goodput } : {}),
    // A worker's result went through JSON: an infinite interval arrives as null.
    ...(typeof r.longRun?.checkpoint.intervalSeconds === "number" && Number.isFinite(r.longRun.checkpoint.intervalSeconds) ? { checkpointIntervalSeconds: r.longRun.checkpoint.intervalSeconds } : {}),
    bottleneck: dominant(breakdown),
    breakdown,
    boundStepSeconds: bound,
    objectiveValue: objectiveValueOf(ctx.objective, r, cost),
  };
}

/** How much better `best` is than `other` on the objective, in words ("12.5 % more tokens/s"). */
export function objectiveGain(best: PlanEntry, other: PlanEntry, objective: Objective): string {
  const ratio = best.objectiveValue / other.objectiveValue;
  switch (objective) {
    case "tokens-per-second":
      return `${((ratio - 1) * 100).toFixed(1)} % more tokens/s`;
    case "goodput":
      return `${((ratio - 1) * 100).toFixed(1)} % more useful tokens/s`;
    case "energy-per-token":
      return `${((1 - ratio) * 100).toFixed(1)} % less energy per token`;
    case "cost-per-token":
      return `${((1 - ratio) * 100).toFixed(1)} % lower cost per token`;
  }
}

/** One line on why `best` beats `second`: the category whose seconds per step shrank most. */
export function whyBest(best: PlanEntry | undefined, second: PlanEntry | undefined, objective: Objective): string {
  if (best === undefined) return "no layout could be simulated";
  if (second === undefined) return `${best.key} is the only layout simulated`;
  let cat: Category = CATEGORIES[0];
  let gain = -Infinity;
  for (const c of CATEGORIES) {
    const d = second.breakdown[c] * second.stepSeconds - best.breakdown[c] * best.stepSeconds;
    if (d > gain) {
      gain = d;
      cat = c;
    }
  }
  const a = best.breakdown[cat] * best.stepSeconds;
  const b = second.breakdown[cat] * second.stepSeconds;
  const by = objectiveGain(best, second, objective);
  return `${best.key} beats ${second.key} by ${by}: its ${cat} time per step shrank from ${b.toFixed(3)} s to ${a.toFixed(3)} s`;
}

export interface Survivor {
  layout: Layout;
  key: string;
  /** Lower bound on the step time, seconds. */
  bound: number;
  /** Lower bound of the objective in its unit: seconds per step (tokens-per-second; goodput, as seconds per useful step), joules or currency per token. */
  objectiveBound: number;
}

/** Stages 1-3: the space, divisibility and memory (no simulation), each survivor's bound; survivors in bound order. */
export function screenLayouts(base: Scenario, raw: Raw, objective: Objective, options: Pick<PlanOptions, "limits" | "dp" | "onProgress" | "memoryHeadroom"> = {}): { counts: PlanCounts; survivors: Survivor[] } {
  const usable = 1 - (options.memoryHeadroom ?? 0);
  const tooBig = (s: Scenario): boolean => peakMemory(s).total > s.cluster.gpu.hbmBytes * usable;
  const model = base.workload.model;
  const unpadded = model.unpaddedVocab ?? model.vocab;
  const workloadRaw = isPlainObject(raw["workload"]) ? raw["workload"] : {};
  const divisibleBy = typeof workloadRaw["vocabDivisibleBy"] === "number" ? workloadRaw["vocabDivisibleBy"] : 128;
  const gpus = gpuCount(base);
  const tokens = base.workload.globalBatch * base.workload.seqLength;
  const layouts = enumerateLayouts(
    { gpus, gpusPerNode: base.cluster.gpusPerNode, layers: model.layers, experts: model.experts, seqLength: base.workload.seqLength, globalBatch: base.workload.globalBatch },
    options.limits ?? {},
  ).filter((l) => options.dp === undefined || l.dp === options.dp);
  const counts: PlanCounts = { considered: layouts.length, divisibility: 0, memory: 0, bound: 0, simulated: 0, loader: 0, failed: 0 };
  const layerCache = new Map<string, LayerSeconds>();
  const survivors: Survivor[] = [];
  const ctx = objectiveContext(base, objective);
  const bp = base.parallelism;
  const offloadable = bp.offloadActivationShare === undefined && bp.offloadActivationLayers === undefined && bp.remat === undefined && bp.offloadModules === undefined;
  layouts.forEach((enumerated, i) => {
    let layout = enumerated;
    if (options.onProgress !== undefined && i % 500 === 0) options.onProgress({ stage: "filter", done: i, total: layouts.length });
    let s = candidate(base, unpadded, divisibleBy, layout);
    if (checkPlan(s).length > 0) {
      counts.divisibility++;
      return;
    }
    if (tooBig(s)) {
      // Refused with full recompute (the last resort of the space): the least activation offload that fits, unless the scenario states its own.
      const fitted = offloadable && layout.recompute === "full" ? OFFLOAD_SHARES.map((share) => ({ ...layout, offloadActivations: share })).find((l) => !tooBig(candidate(base, unpadded, divisibleBy, l))) : undefined;
      if (fitted === undefined) {
        counts.memory++;
        return;
      }
      layout = fitted;
      s = candidate(base, unpadded, divisibleBy, layout);
    }
    const shapeKey = layerShapeKey(s);
    let layer = layerCache.get(shapeKey);
    if (layer === undefined) {
      layer = layerSeconds(s);
      layerCache.set(shapeKey, layer);
    }
    const bound = stepSecondsLowerBound(s, layer);
    survivors.push({ layout, key: layoutKey(layout), bound, objectiveBound: objectiveLowerBound(objective, bound, ctx) });
  });
  options.onProgress?.({ stage: "filter", done: layouts.length, total: layouts.length });
  survivors.sort((a, b) => a.objectiveBound - b.objectiveBound || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { counts, survivors };
}

function objectiveContext(base: Scenario, objective: Objective): ObjectiveContext & { idleWatts: number } {
  const p = base.cluster.power;
  return {
    objective,
    gpus: gpuCount(base),
    tokensPerStep: base.workload.globalBatch * base.workload.seqLength,
    idleWatts: gpuCount(base) * base.cluster.gpu.idleWatts,
    ...(p.pricePerGpuHour !== undefined ? { pricePerGpuHour: p.pricePerGpuHour } : {}),
    ...(p.pricePerKWh !== undefined ? { pricePerKWh: p.pricePerKWh } : {}),
  };
}

/**
 * A lower bound of the objective from a lower bound of the step time. Energy: at the least
 * every GPU idles for the whole step (a cap only slows a step, so it still holds). Goodput:
 * useful tokens/s = tokens/s × goodput with goodput ≤ 1, so a step of `bound` seconds bounds
 * the seconds per useful step from below as well.
 */
export function objectiveLowerBound(objective: Objective, boundStepSeconds: number, ctx: ObjectiveContext & { idleWatts: number }): number {
  switch (objective) {
    case "tokens-per-second":
    case "goodput":
      return boundStepSeconds;
    case "energy-per-token":
      return (boundStepSeconds * ctx.idleWatts) / ctx.tokensPerStep;
    case "cost-per-token":
      return costPerToken(ctx, boundStepSeconds, (boundStepSeconds * ctx.idleWatts) / ctx.tokensPerStep) ?? 0;
  }
}

/** The objective of an entry in the bound's unit (objectiveLowerBound): what the bound must beat. */
function objectiveInBoundUnit(objective: Objective, e: PlanEntry, tokensPerStep: number): number {
  return maximises(objective) ? tokensPerStep / e.objectiveValue : e.objectiveValue;
}

/** The baseline scenario with a layout applied, as the loader would build it (for the checks before simulating). */
export function layoutCandidate(base: Scenario, raw: Raw, layout: Layout): Scenario {
  const model = base.workload.model;
  const workloadRaw = isPlainObject(raw["workload"]) ? raw["workload"] : {};
  const divisibleBy = typeof workloadRaw["vocabDivisibleBy"] === "number" ? workloadRaw["vocabDivisibleBy"] : 128;
  return candidate(base, model.unpaddedVocab ?? model.vocab, divisibleBy, layout);
}

/** Search the layouts of the scenario in `file` (see the module comment). */
export async function planScenario(file: string, options: PlanOptions = {}): Promise<PlanResult> {
  const { raw, loadOptions } = readScenarioRaw(file);
  return planFromRaw(raw, loadOptions, options);
}

/** `raw` with some parallelism keys set. */
export function withParallelismOverrides(raw: Raw, overrides: Readonly<Record<string, unknown>>): Raw {
  if (Object.keys(overrides).length === 0) return raw;
  const p = isPlainObject(raw["parallelism"]) ? raw["parallelism"] : {};
  return { ...raw, parallelism: { ...p, ...structuredClone(overrides) } };
}

/**
 * Overlap switches set on every searched layout (docs/plan.md): each only hides communication
 * behind compute at no memory cost in the model, so it is never slower and is not searched.
 * A switch fixed with --fix stays as fixed; tpCommOverlap stays off with eager layers and with
 * tpCollectiveMatmul (both refused there).
 */
export function overlapSwitches(base: Scenario, overrides: Readonly<Record<string, unknown>>): { overlapGradReduce?: boolean; overlapParamGather?: boolean; tpCommOverlap?: boolean } {
  const out: { overlapGradReduce?: boolean; overlapParamGather?: boolean; tpCommOverlap?: boolean } = {};
  if (!Object.hasOwn(overrides, "overlapGradReduce")) out.overlapGradReduce = true;
  if (!Object.hasOwn(overrides, "overlapParamGather")) out.overlapParamGather = true;
  // Not under XLA's collective matmul (tpCollectiveMatmul): a TPU stack has no Transformer Engine userbuffers.
  if (!Object.hasOwn(overrides, "tpCommOverlap") && base.workload.layerImplementation !== "eager" && base.parallelism.tpCollectiveMatmul === undefined) out.tpCommOverlap = true;
  return out;
}

/** Goodput: each layout checkpoints at its own Young/Daly interval (its checkpoint's stall and the cluster's MTBF), whatever interval the scenario states. */
function youngDalyFor(objective: Objective, raw: Raw): Raw {
  if (objective !== "goodput" || !isPlainObject(raw["reliability"])) return raw;
  // An absent interval is Young/Daly's (the loader's default).
  const { checkpointInterval: _stated, ...reliability } = raw["reliability"];
  return { ...raw, reliability };
}

export async function planFromRaw(scenarioRaw: Raw, loadOptions: LoadOptions, options: PlanOptions = {}): Promise<PlanResult> {
  const objective = options.objective ?? "tokens-per-second";
  const top = options.top ?? 10;
  const hasBaseline = options.noBaseline !== true && isPlainObject(scenarioRaw["parallelism"]);
  const raw = youngDalyFor(objective, withParallelismOverrides(scenarioRaw, options.overrides ?? {}));
  const base: LoadedScenario = scenarioFromObject(raw, loadOptions);
  checkObjectiveInputs(base, objective);
  const ctx = objectiveContext(base, objective);
  const baseLayout = layoutOf(base);
  const baseKey = layoutKey(baseLayout);
  const gpus = gpuCount(base);
  const tokens = base.workload.globalBatch * base.workload.seqLength;
  const switches = overlapSwitches(base, options.overrides ?? {});
  const layoutRaw = withParallelismOverrides(raw, switches);
  const { counts, survivors } = screenLayouts({ ...base, parallelism: { ...base.parallelism, ...switches } }, raw, objective, options);

  const pool = new PointPool(options.workers ?? 0);
  const ranked: PlanEntry[] = [];
  const results = new Map<string, RunResult>();
  const cmp = compare(objective);
  let index = 0;
  const taskOf = (layout: Layout): PointTask => ({ index: index++, seed: base.seed, params: {}, experiment: base.name, scenario: layoutScenario(layoutRaw, layout), loadOptions });
  const take = (layout: Layout, r: SweepPointResult, bound: number, isBaseline: boolean): string | undefined => {
    if (r.status === "ok" && r.result !== undefined) {
      ranked.push(entryOf(layout, r.result as RunResult, bound, ctx, isBaseline));
      results.set(`${isBaseline ? "*" : ""}${layoutKey(layout)}`, r.result as RunResult);
      return undefined;
    }
    // The scenario's own layout is reported apart (baselineProblem), not counted.
    if (isBaseline) return r.error ?? r.status;
    if (r.status === "invalid") counts.loader++;
    else counts.failed++;
    return r.error ?? r.status;
  };
  let baselineProblem: string | undefined;
  try {
    // The scenario's own layout first: it is marked, and ranked even if the bound would drop it.
    if (hasBaseline) {
      const s = layoutCandidate(base, raw, baseLayout);
      const bound = checkPlan(s).length === 0 ? stepSecondsLowerBound(s) : 0;
      const [r] = await pool.run([{ ...taskOf(baseLayout), scenario: raw }]);
      // Counted among the simulated only when it is a layout of the space that passed the checks.
      if (survivors.some((c) => c.key === baseKey)) counts.simulated++;
      baselineProblem = take(baseLayout, r as SweepPointResult, bound, true);
    }
    const rest = survivors.filter((c) => !(hasBaseline && c.key === baseKey));
    const threshold = (): number => {
      if (ranked.length < top) return Infinity;
      const sorted = [...ranked].sort(cmp);
      const nth = sorted[top - 1] as PlanEntry;
      return objectiveInBoundUnit(objective, nth, tokens);
    };
    let next = 0;
    while (next < rest.length) {
      const limit = threshold();
      const batch: typeof rest = [];
      while (next < rest.length && batch.length < BATCH) {
        const c = rest[next] as (typeof rest)[number];
        if (c.objectiveBound >= limit) break;
        batch.push(c);
        next++;
      }
      if (batch.length === 0) break;
      // Layouts still under the threshold, this batch included (rest is in bound order).
      let under = next;
      while (under < rest.length && (rest[under] as Survivor).objectiveBound < limit) under++;
      options.onProgress?.({ stage: "simulate", done: counts.simulated, total: counts.simulated + under - (next - batch.length) });
      const batchResults = await pool.run(batch.map((c) => taskOf(c.layout)));
      counts.simulated += batch.length;
      batchResults.forEach((r, i) => take((batch[i] as (typeof rest)[number]).layout, r, (batch[i] as (typeof rest)[number]).bound, false));
    }
    counts.bound = rest.length - next;
    options.onProgress?.({ stage: "simulate", done: counts.simulated, total: counts.simulated });
  } finally {
    await pool.close();
  }
  ranked.sort(cmp);
  ranked.forEach((e, i) => (e.rank = i + 1));
  const baseline = ranked.find((e) => e.baseline);
  return {
    scenario: base.name,
    objective,
    gpus,
    counts,
    ranking: ranked,
    ...(baseline !== undefined ? { baseline } : {}),
    baselineInSpace: hasBaseline && survivors.some((c) => c.key === baseKey),
    ...(baselineProblem !== undefined ? { baselineProblem } : {}),
    memoryHeadroom: options.memoryHeadroom ?? 0,
    why: whyBest(ranked[0], ranked[1], objective),
    ...(ranked[0] !== undefined ? { bestResult: results.get(`${ranked[0].baseline ? "*" : ""}${ranked[0].key}`) as RunResult } : {}),
    raw: layoutRaw,
    loadOptions,
  };
}
