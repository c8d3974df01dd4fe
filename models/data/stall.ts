/**
 * The data stall added to a simulated step: the GPUs finish the step, then wait idle for
 * the next batch. Step time grows by the stall, every category's share shrinks by the
 * same factor and `data` takes the rest; the idle wait is metered at idle power (or the
 * power floor) and drawn as a "data wait" span on every stage's track.
 */
import { CATEGORIES, type Category } from "../categories.ts";
import { gpuCount } from "../parallel/plan.ts";
import type { Scenario } from "../scenario.ts";
import type { StepSimulation } from "../step/accounting.ts";
import { checkpointCost } from "../reliability/checkpoint.ts";
import { epochBoundaryWaitSeconds, firstStepLoadFactor, stepsPerEpoch } from "./epoch.ts";
import { dataStallSeconds, loaderThroughput } from "./loader.ts";
import type { DataEpochResult, DataSpec, DataStepResult } from "./types.ts";

export type { DataStepResult } from "./types.ts";

function scaled<T extends Record<Category, number>>(b: T, factor: number, data: number): T {
  const out = { ...b };
  for (const c of CATEGORIES) out[c] = b[c] * factor;
  out.data += data;
  return out;
}

/** Power while the GPUs wait for data: idle, or the power floor if one is set. */
function dataWaitWatts(s: Scenario): { gpuIdle: number; facilityIdle: number } {
  const power = s.cluster.power;
  const gpu = s.cluster.gpu;
  const gpuIdle = Math.max(gpu.idleWatts, (power.powerFloor ?? 0) * gpu.tdpWatts);
  return { gpuIdle, facilityIdle: power.pue * (gpuCount(s) * gpuIdle + s.cluster.nodes * power.nodeOverheadWatts) };
}

/**
 * The step while an asynchronous checkpoint is written beside the reads (data.duringCheckpoint):
 * longer by the extra stall, which the GPUs spend waiting at data-wait power. `trainingWatts`
 * is the facility's mean over the normal step; absent when checkpoints do not share the tier.
 */
export function stepDuringCheckpointWrite(s: Scenario, step: StepSimulation, trainingWatts: number): { stepSeconds: number; trainingWatts: number } | undefined {
  const data = step.data;
  const during = data?.duringCheckpoint;
  if (data === undefined || during === undefined) return undefined;
  const extra = during.stallSecondsPerStep - data.stallSecondsPerStep;
  const stepSeconds = step.stepSeconds + extra;
  return { stepSeconds, trainingWatts: (trainingWatts * step.stepSeconds + dataWaitWatts(s).facilityIdle * extra) / stepSeconds };
}

/**
 * Epoch boundaries: each epoch's first step waits `boundaryWaitSeconds` more than the steady
 * stall, spread over the epoch's steps. With cacheWarmsAfterFirstEpoch the first epoch is
 * solved again with every read from storage and reported apart.
 */
function epochOf(s: Scenario, d: DataSpec, datasetSamples: number, computeSeconds: number, loaderSeconds: number, steadyStall: number): DataEpochResult {
  const steps = stepsPerEpoch(datasetSamples, s.workload.globalBatch);
  const boundary = d.epochBoundary ?? "restart";
  // With prefetch 0 or no workers every batch is waited for already (the steady stall is L).
  const factor = d.prefetch === 0 || d.workers === 0 ? 1 : firstStepLoadFactor(d.workers, s.workload.globalBatch / (s.parallelism.dp * s.parallelism.microBatch));
  const wait = epochBoundaryWaitSeconds(factor * loaderSeconds, steadyStall, boundary);
  const out: DataEpochResult = { stepsPerEpoch: steps, boundary, boundaryWaitSeconds: wait, boundaryStallSecondsPerStep: wait / steps };
  if (d.cacheWarmsAfterFirstEpoch === true) {
    const cold = loaderThroughput(s, { ...d, cacheHitRate: 0 });
    const coldSteady = dataStallSeconds(computeSeconds, cold.secondsPerStep, d);
    const coldWait = epochBoundaryWaitSeconds(factor * cold.secondsPerStep, coldSteady, boundary);
    const stall = coldSteady + coldWait / steps;
    const laterStall = steadyStall + out.boundaryStallSecondsPerStep;
    out.firstEpoch = {
      loaderSecondsPerStep: cold.secondsPerStep,
      boundaryWaitSeconds: coldWait,
      stallSecondsPerStep: stall,
      stepSeconds: computeSeconds + stall,
      storageBytesPerStep: cold.storageBytesPerStep,
      addedSeconds: steps * (stall - laterStall),
    };
  }
  return out;
}

export function withDataStall(s: Scenario, d: DataSpec, step: StepSimulation): StepSimulation {
  const loader = loaderThroughput(s, d);
  const computeSeconds = step.stepSeconds;
  const steadyStall = dataStallSeconds(computeSeconds, loader.secondsPerStep, d);
  const epoch = d.datasetSamples !== undefined ? epochOf(s, d, d.datasetSamples, computeSeconds, loader.secondsPerStep, steadyStall) : undefined;
  // The step is the steady state of later epochs, their boundary wait spread over each epoch.
  const boundaryStall = epoch?.boundaryStallSecondsPerStep ?? 0;
  const stall = steadyStall + boundaryStall;
  const total = computeSeconds + stall;
  const data: DataStepResult = {
    loaderSecondsPerStep: loader.secondsPerStep,
    stallSecondsPerStep: stall,
    computeStepSeconds: computeSeconds,
    bottleneck: loader.bottleneck,
    loaders: loader.loaders,
    samplesPerLoaderPerStep: loader.demand.samples,
    storageBytesPerStep: loader.storageBytesPerStep,
    storageBytesPerSecond: loader.storageBytesPerStep / total,
    ...(epoch !== undefined ? { epoch } : {}),
  };
  const r = s.reliability;
  if (d.sharedWithCheckpoints && r !== undefined && r.checkpointMode === "async" && r.storageBandwidth !== undefined) {
    const bytes = checkpointCost(s).bytes;
    const during = loaderThroughput(s, d, { bytes, writeBandwidth: r.storageBandwidth, writers: gpuCount(s), loaderMaxStepsPerSecond: 1 / computeSeconds });
    const stallDuring = dataStallSeconds(computeSeconds, during.secondsPerStep, d) + boundaryStall;
    const writeSeconds = during.write?.writeSeconds ?? bytes / r.storageBandwidth;
    data.duringCheckpoint = {
      writeAloneSeconds: bytes / r.storageBandwidth,
      writeSeconds,
      loaderSecondsPerStep: during.secondsPerStep,
      stallSecondsPerStep: stallDuring,
      // Steps in the write window, each slower by the extra stall.
      addedSecondsPerCheckpoint: (writeSeconds / (computeSeconds + stallDuring)) * (stallDuring - stall),
    };
  }
  if (stall === 0) return { ...step, data };
  const factor = computeSeconds / total;
  const share = stall / total;
  const { gpuIdle, facilityIdle } = dataWaitWatts(s);
  const p = step.power;
  const n = p.series.length;
  const time = new Float64Array(n + 1);
  const watts = new Float64Array(n + 1);
  time.set(p.series.time.subarray(0, n));
  watts.set(p.series.watts.subarray(0, n));
  time[n] = computeSeconds;
  watts[n] = facilityIdle;
  const energy = p.energyJoules + facilityIdle * stall;
  const cap = p.capSteps.length > 0 ? (p.capSteps[p.capSteps.length - 1]?.watts ?? Infinity) : Infinity;
  const spans = step.spans.length === 0 ? step.spans : [...step.spans, ...step.stages.map((st) => ({ track: `stage ${st.stage}`, name: "data wait", category: "data", start: computeSeconds, end: total }))];
  return {
    ...step,
    stepSeconds: total,
    breakdown: scaled(step.breakdown, factor, share),
    stages: step.stages.map((st) => ({ ...st, breakdown: scaled(st.breakdown, factor, share) })),
    smBusyShare: step.smBusyShare * factor,
    hbmBusyShare: step.hbmBusyShare * factor,
    spans,
    power: {
      ...p,
      gpuMeanWatts: (p.gpuMeanWatts * computeSeconds + gpuIdle * stall) / total,
      facilityMeanWatts: energy / total,
      facilityPeakWatts: Math.max(p.facilityPeakWatts, facilityIdle),
      energyJoules: energy,
      series: { time, watts, length: n + 1 },
      controlIntervals: [...p.controlIntervals, { start: computeSeconds, end: total, meanWatts: facilityIdle, capWatts: cap }],
    },
    data,
  };
}

/**
 * The cold first epoch as the long run charges it: its steps and the data wait each adds over
 * a later epoch's step (data.epoch.firstEpoch); undefined without cacheWarmsAfterFirstEpoch.
 */
export function coldEpochOf(step: StepSimulation): { steps: number; addedSecondsPerStep: number } | undefined {
  const epoch = step.data?.epoch;
  const first = epoch?.firstEpoch;
  if (epoch === undefined || first === undefined || step.data === undefined) return undefined;
  return { steps: epoch.stepsPerEpoch, addedSecondsPerStep: Math.max(0, first.stallSecondsPerStep - step.data.stallSecondsPerStep) };
}

/** Wall-clock of `steps` steps from the start of training: the first epoch's run cold. */
export function wallclockOfSteps(step: StepSimulation, steps: number): number {
  const cold = coldEpochOf(step);
  return steps * step.stepSeconds + (cold !== undefined ? Math.min(steps, cold.steps) * cold.addedSecondsPerStep : 0);
}
