/**
 * Epoch boundaries and a cold first epoch (issue 28), hand-computed: an epoch of E steps
 * whose first batch waits W more than the steady stall adds exactly W/E per step; a sampler
 * that runs across epochs adds nothing; the first epoch reads every sample from storage.
 */
import { describe, expect, it } from "vitest";
import { epochBoundaryWaitSeconds, firstStepLoadFactor, stepsPerEpoch } from "../../models/data/epoch.ts";
import type { DataSpec } from "../../models/data/types.ts";
import type { Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { imageDataSpec } from "../helpers/data-spec.ts";
import { scenario, TINY_MODEL } from "../helpers/scenario.ts";

/** 16 GPUs on 2 nodes, one loader per GPU, 4 samples of 1 MB per loader per step: 64 MB a step. */
function job(): Scenario {
  return scenario({ nodes: 2, model: TINY_MODEL, seqLength: 2048, globalBatch: 64 });
}
const BYTES = 64e6;
const E = 10;

function spec(readBandwidth: number, over: Partial<DataSpec> = {}): DataSpec {
  return imageDataSpec(readBandwidth, over);
}

describe("epoch arithmetic", () => {
  it("counts whole global batches (a partial last batch is dropped)", () => {
    expect(stepsPerEpoch(640, 64)).toBe(10);
    expect(stepsPerEpoch(703, 64)).toBe(10);
    expect(stepsPerEpoch(64, 64)).toBe(1);
  });

  it("the first step's batches arrive in ceil(m/w) rounds of w/m steps (hand-computed)", () => {
    expect(firstStepLoadFactor(4, 4)).toBe(1);
    expect(firstStepLoadFactor(2, 8)).toBe(1);
    expect(firstStepLoadFactor(8, 2)).toBe(4);
    expect(firstStepLoadFactor(8, 1)).toBe(8);
    // 3 workers, 4 batches: rounds of 3 batches, the 4th in the second: 2 · 3/4.
    expect(firstStepLoadFactor(3, 4)).toBeCloseTo(1.5, 15);
    // No workers: the main process loads each batch in turn (the steady time).
    expect(firstStepLoadFactor(0, 4)).toBe(1);
  });

  it("restart waits the loader's batch beyond the steady stall; continuous waits nothing", () => {
    expect(epochBoundaryWaitSeconds(0.05, 0, "restart")).toBe(0.05);
    expect(epochBoundaryWaitSeconds(0.3, 0.2, "restart")).toBeCloseTo(0.1, 15);
    // prefetch 0: every batch already waits the whole loader time.
    expect(epochBoundaryWaitSeconds(0.3, 0.3, "restart")).toBe(0);
    expect(epochBoundaryWaitSeconds(0.3, 0, "continuous")).toBe(0);
  });
});

describe("epoch boundaries in the simulated step", () => {
  const base = job();
  const C = simulateStep(base).stepSeconds;

  it("a loader faster than the step: the queue hid it, the boundary adds L/E per step", () => {
    const L = C / 2;
    const d = spec(BYTES / L, { datasetSamples: 64 * E });
    const step = simulateStep({ ...base, data: d });
    expect(step.data?.loaderSecondsPerStep).toBeCloseTo(L, 12);
    expect(step.data?.epoch?.stepsPerEpoch).toBe(E);
    expect(step.data?.epoch?.boundary).toBe("restart");
    expect(step.data?.epoch?.boundaryWaitSeconds).toBeCloseTo(L, 12);
    expect(step.data?.epoch?.boundaryStallSecondsPerStep).toBeCloseTo(L / E, 12);
    expect(step.data?.stallSecondsPerStep).toBeCloseTo(L / E, 12);
    expect(step.stepSeconds).toBeCloseTo(C + L / E, 12);
    expect(step.breakdown.data).toBeCloseTo(L / E / (C + L / E), 12);
  });

  it("continuous (a sampler across epochs) adds nothing", () => {
    const L = C / 2;
    const step = simulateStep({ ...base, data: spec(BYTES / L, { datasetSamples: 64 * E, epochBoundary: "continuous" }) });
    expect(step.stepSeconds).toBe(C);
    expect(step.data?.stallSecondsPerStep).toBe(0);
    expect(step.data?.epoch?.boundaryWaitSeconds).toBe(0);
  });

  it("a data-bound loader (L = 2C): the steady stall is L − C, the boundary adds C more once per epoch", () => {
    const L = 2 * C;
    const step = simulateStep({ ...base, data: spec(BYTES / L, { datasetSamples: 64 * E }) });
    expect(step.data?.epoch?.boundaryWaitSeconds).toBeCloseTo(C, 12);
    expect(step.data?.stallSecondsPerStep).toBeCloseTo(L - C + C / E, 12);
    expect(step.stepSeconds).toBeCloseTo(L + C / E, 12);
  });

  it("more workers than batches in a step: each worker builds one whole batch at 1/workers of the rate", () => {
    // 4 micro-batches per loader a step (64 / dp 16 / 1); 8 workers: the first 4 batches arrive at 8·L/4.
    const L = C / 2;
    const step = simulateStep({ ...base, data: spec(BYTES / L, { datasetSamples: 64 * E, workers: 8 }) });
    expect(step.data?.loaderSecondsPerStep).toBeCloseTo(L, 12);
    expect(step.data?.epoch?.boundaryWaitSeconds).toBeCloseTo(2 * L, 12);
    expect(step.stepSeconds).toBeCloseTo(C + (2 * L) / E, 12);
    // Data-bound (L = 2C), 8 workers: ready at 2L = 4C, of which L − C is the steady stall.
    const bound = simulateStep({ ...base, data: spec(BYTES / (2 * C), { datasetSamples: 64 * E, workers: 8 }) });
    expect(bound.data?.epoch?.boundaryWaitSeconds).toBeCloseTo(3 * C, 12);
  });

  it("prefetch 0 already waits every batch: the boundary adds nothing", () => {
    const L = C / 2;
    const step = simulateStep({ ...base, data: spec(BYTES / L, { datasetSamples: 64 * E, prefetch: 0 }) });
    expect(step.data?.epoch?.boundaryWaitSeconds).toBe(0);
    expect(step.stepSeconds).toBeCloseTo(C + L, 12);
  });

  it("without datasetSamples there is no epoch result and the step is the steady one", () => {
    const L = C / 2;
    const step = simulateStep({ ...base, data: spec(BYTES / L) });
    expect(step.data?.epoch).toBeUndefined();
    expect(step.stepSeconds).toBe(C);
  });
});

describe("a cold first epoch, warm later ones", () => {
  const base = job();
  const C = simulateStep(base).stepSeconds;

  it("the first epoch reads all from storage (L1 = 2C), later ones a quarter (hit rate 0.75, unlimited cache): L2 = C/2", () => {
    const L1 = 2 * C;
    const step = simulateStep({ ...base, data: spec(BYTES / L1, { datasetSamples: 64 * E, cacheHitRate: 0.75, cacheWarmsAfterFirstEpoch: true }) });
    const first = step.data?.epoch?.firstEpoch;
    expect(first?.loaderSecondsPerStep).toBeCloseTo(L1, 12);
    expect(first?.storageBytesPerStep).toBeCloseTo(BYTES, 3);
    // Data-bound: steady stall L1 − C, boundary C over E steps.
    expect(first?.boundaryWaitSeconds).toBeCloseTo(C, 12);
    expect(first?.stallSecondsPerStep).toBeCloseTo(L1 - C + C / E, 12);
    expect(first?.stepSeconds).toBeCloseTo(L1 + C / E, 12);
    // Once: E steps, each (L1 − C + C/E) − (C/2)/E longer than a later epoch's.
    expect(first?.addedSeconds).toBeCloseTo(E * (L1 - C + C / E - C / 2 / E), 9);
    // The step is a later epoch's: hidden by the queue except its boundary, L2 / E.
    expect(step.data?.loaderSecondsPerStep).toBeCloseTo(C / 2, 12);
    expect(step.data?.storageBytesPerStep).toBeCloseTo(BYTES / 4, 3);
    expect(step.data?.epoch?.boundaryWaitSeconds).toBeCloseTo(C / 2, 12);
    expect(step.stepSeconds).toBeCloseTo(C + C / 2 / E, 12);
  });

  it("is not reported unless asked for", () => {
    const step = simulateStep({ ...base, data: spec(BYTES / C, { datasetSamples: 64 * E, cacheHitRate: 0.75 }) });
    expect(step.data?.epoch?.firstEpoch).toBeUndefined();
  });
});
