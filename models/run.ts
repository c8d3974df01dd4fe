/**
 * Run a scenario: simulate its step and report what the `--json` contract
 * promises (docs/results.md).
 */
import { peakFlops } from "./compute/kernel.ts";
import { gpuCount } from "./parallel/plan.ts";
import { summarisePower, type PowerSummary } from "./power/analysis.ts";
import type { MoeLoadDistribution, Scenario } from "./scenario.ts";
import type { Breakdown } from "./categories.ts";
import { rooflineData, type RooflineData } from "./workload/kernel-summary.ts";
import { simulateLongRun, type LongRunResult, type StepPower } from "./reliability/long-run.ts";
import { checkpointCost } from "./reliability/checkpoint.ts";
import { CATEGORIES } from "./categories.ts";
import { simulateStep, type StepSimulation } from "./step/simulate.ts";
import type { DataStepResult } from "./data/types.ts";
import { coldEpochOf, stepDuringCheckpointWrite, wallclockOfSteps } from "./data/stall.ts";
import type { StepMode, StepModeRequest } from "./step/symmetry.ts";
import { modelFlopsPerStep } from "./workload/flops.ts";
import { stepHardwareFlops } from "./workload/remat-flops.ts";
import { peakMemory, routingLoadOf, type MemoryBreakdown } from "./workload/memory.ts";
import type { UncertaintyResult } from "./uncertainty/types.ts";

export interface RunResult {
  name: string;
  gpus: number;
  stepSeconds: number;
  tokensPerSecond: number;
  /** Model FLOPs per second per GPU (as MFU counts them), in TFLOP/s. */
  tflopsPerGpu: number;
  mfu: number;
  hfu: number;
  memoryBytesPerGpu: number;
  memoryCapacityBytes: number;
  memory: MemoryBreakdown;
  /** Present when the vocabulary was padded (workload.vocabDivisibleBy × tp, as Megatron-LM): the tokenizer's size and the rows used. */
  vocabPadding?: { vocab: number; paddedVocab: number };
  /** MoE models: how the routed tokens loaded the experts (models/workload/moe-routing.ts). */
  moeRouting?: { distribution: MoeLoadDistribution; capacityFactor?: number; padToCapacity?: true; busiestRankLoad: number; keptShare: number };
  breakdown: Breakdown;
  gpuPowerWatts: number;
  facilityPowerWatts: { mean: number; peak: number };
  energyJoulesPerStep: number;
  /** Power over the step, swings, energy per token, cost and emissions. */
  power: PowerSummary;
  steps: number;
  wallclockSeconds: number;
  /** Engine work, and whether one GPU per stage stood for its peers (folded) or every GPU ran (full), with why. */
  simulation: { events: number; activities: number; mode: StepMode; reason: string };
  /** Kernels of one layer on one GPU, for roofline charts. */
  roofline: RooflineData;
  /** Share of one step's time per category (equal to `breakdown` unless this is a long run). */
  stepBreakdown: Breakdown;
  /** Long runs (reliability set): share of GPU time spent on steps that were kept. */
  goodput?: number;
  interruptions?: LongRunResult["interruptions"];
  longRun?: LongRunResult;
  /** With a `data:` section: the input path per step, its bottleneck and the stall it adds. */
  data?: DataStepResult;
  /** run --uncertainty N: bands of the step over the catalog's spreads, and its sensitivity (docs/uncertainty.md). */
  uncertainty?: UncertaintyResult;
}

export interface RunOptions {
  record?: boolean;
  /** Folded, full, or auto (default: folded unless the scenario's ranks differ). */
  mode?: StepModeRequest;
  /** A long run's share done, now and then (for a progress line; results do not change). */
  onLongRunProgress?: (fraction: number) => void;
}

export function runScenario(s: Scenario, options: RunOptions = {}): { result: RunResult; step: StepSimulation } {
  const step = simulateStep(s, options);
  const gpus = gpuCount(s);
  const peak = peakFlops(s.cluster.gpu, s.workload.precision);
  const modelFlops = modelFlopsPerStep(s.workload);
  const hwFlops = stepHardwareFlops(s);
  const perGpu = modelFlops / step.stepSeconds / gpus;
  const power = summarisePower(s, step.power, step.stepSeconds);
  const mem = peakMemory(s);
  const result: RunResult = {
    name: s.name,
    gpus,
    stepSeconds: step.stepSeconds,
    tokensPerSecond: (s.workload.globalBatch * s.workload.seqLength) / step.stepSeconds,
    tflopsPerGpu: perGpu / 1e12,
    mfu: perGpu / peak,
    hfu: hwFlops / step.stepSeconds / gpus / peak,
    memoryBytesPerGpu: mem.total,
    memoryCapacityBytes: s.cluster.gpu.hbmBytes,
    memory: mem,
    ...(s.workload.model.unpaddedVocab !== undefined ? { vocabPadding: { vocab: s.workload.model.unpaddedVocab, paddedVocab: s.workload.model.vocab } } : {}),
    ...moeRoutingOf(s),
    breakdown: step.breakdown,
    gpuPowerWatts: power.gpuMeanWatts,
    facilityPowerWatts: { mean: power.facilityMeanWatts, peak: power.facilityPeakWatts },
    energyJoulesPerStep: power.energyJoulesPerStep,
    power,
    steps: s.run.steps,
    wallclockSeconds: wallclockOfSteps(step, s.run.steps),
    simulation: { events: step.events, activities: step.activities, mode: step.mode, reason: step.modeReason },
    roofline: rooflineData(s),
    stepBreakdown: step.breakdown,
    ...(step.data !== undefined ? { data: step.data } : {}),
  };
  if (s.reliability !== undefined) {
    const gpuIdle = gpus * s.cluster.gpu.idleWatts;
    const nodeOverhead = s.cluster.power.nodeOverheadWatts;
    // A cap that changes over the run: the step under each cap level, simulated once per level.
    const cache = new Map<number, StepPower & { duringWrite?: StepPower }>();
    const underCap = (cap: number): StepPower & { duringWrite?: StepPower } => {
      let hit = cache.get(cap);
      if (hit === undefined) {
        const { facilityCapSchedule: _schedule, facilitySupply: _supply, ...fixed } = s.cluster.power;
        const capped: Scenario = { ...s, cluster: { ...s.cluster, power: { ...fixed, ...(Number.isFinite(cap) ? { facilityCap: cap } : {}) } } };
        const st = simulateStep(capped, { mode: step.mode });
        const duringWrite = stepDuringCheckpointWrite(capped, st, st.power.facilityMeanWatts);
        hit = { stepSeconds: st.stepSeconds, trainingWatts: st.power.facilityMeanWatts, ...(duringWrite !== undefined ? { duringWrite } : {}) };
        cache.set(cap, hit);
      }
      return hit;
    };
    // Asynchronous checkpoints written to the tier the loaders read: slower steps during each write.
    const during = step.data?.duringCheckpoint;
    const duringWrite = stepDuringCheckpointWrite(s, step, power.facilityMeanWatts);
    const checkpointWrite = during !== undefined && duringWrite !== undefined ? { ...duringWrite, storageBandwidth: checkpointCost(s).bytes / during.writeSeconds } : undefined;
    const varies = s.cluster.power.facilityCapSchedule !== undefined || s.cluster.power.facilitySupply !== undefined;
    const coldEpoch = coldEpochOf(step);
    const longRun = simulateLongRun(s, {
      stepSeconds: step.stepSeconds,
      trainingWatts: power.facilityMeanWatts,
      idleWatts: s.cluster.power.pue * (gpuIdle + s.cluster.nodes * nodeOverhead),
      ...(varies ? { underCap } : {}),
      ...(checkpointWrite !== undefined ? { checkpointWrite } : {}),
      ...(coldEpoch !== undefined ? { coldEpoch } : {}),
    }, options.onLongRunProgress !== undefined ? { onProgress: options.onLongRunProgress } : {});
    // Over the run: a step's categories for the kept training, plus what failures and checkpoints took.
    const b = { ...step.breakdown };
    // The time slower steps added during checkpoint writes, and in the cold first epoch, is a wait for data.
    const added = (longRun.checkpointWrite?.dataShare ?? 0) + (longRun.coldEpoch?.dataShare ?? 0);
    for (const c of CATEGORIES) b[c] = step.breakdown[c] * (longRun.time.training - added);
    b.data += added;
    b.failure += longRun.time.lostWork + longRun.time.recovery;
    b.checkpoint += longRun.time.checkpoint;
    result.breakdown = b;
    result.goodput = longRun.goodput;
    result.interruptions = longRun.interruptions;
    result.wallclockSeconds = longRun.wallclockSeconds;
    result.longRun = longRun;
  }
  return { result, step };
}

/** The routing load the MoE layers ran with: the busiest EP rank's routed tokens over a balanced share, and the copies kept. */
function moeRoutingOf(s: Scenario): Pick<RunResult, "moeRouting"> {
  if (s.workload.model.experts <= 1) return {};
  const load = routingLoadOf(s);
  const moe = s.workload.moe;
  return {
    moeRouting: {
      distribution: moe?.imbalance.distribution ?? "random",
      ...(moe?.capacityFactor !== undefined ? { capacityFactor: moe.capacityFactor } : {}),
      ...(moe?.padToCapacity === true ? { padToCapacity: true as const } : {}),
      busiestRankLoad: load.rankFactor,
      keptShare: load.keptShare,
    },
  };
}
