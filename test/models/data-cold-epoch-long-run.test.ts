/**
 * The cold first epoch charged to the run (issue 28, data.cacheWarmsAfterFirstEpoch): until the
 * first epoch's steps have run, each step is longer by the first epoch's extra data wait, at
 * idle power; the added time is `data` in the breakdown. Hand-computed cases and invariants.
 */
import { describe, expect, it } from "vitest";
import { CATEGORIES } from "../../models/categories.ts";
import { simulateLongRun } from "../../models/reliability/long-run.ts";
import { runScenario } from "../../models/run.ts";
import type { ReliabilitySpec, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { imageDataSpec } from "../helpers/data-spec.ts";
import { NO_FAILURES, reliabilitySpec } from "../helpers/reliability-spec.ts";
import { scenario, TINY_MODEL } from "../helpers/scenario.ts";

const none = NO_FAILURES;
const reliability = (over: Partial<ReliabilitySpec> = {}): ReliabilitySpec => reliabilitySpec({ checkpointInterval: 1e12, storageBandwidth: 1e9, ...over });

const base = scenario({ nodes: 8, model: "llama3-8b", seqLength: 4096, globalBatch: 64, plan: { tp: 2 } });

describe("simulateLongRun with a cold first epoch", () => {
  it("300 steps of 10 s with the first 100 each 5 s longer: 3500 s, 500 s of it data, warm at 1500 s", () => {
    const s: Scenario = { ...base, reliability: reliability(), run: { steps: 300 } };
    const r = simulateLongRun(s, { stepSeconds: 10, trainingWatts: 1e5, idleWatts: 3e4, coldEpoch: { steps: 100, addedSecondsPerStep: 5 } });
    expect(r.stepsKept).toBe(300);
    expect(r.wallclockSeconds).toBeCloseTo(3500, 9);
    expect(r.timeToTrainSeconds).toBeCloseTo(3500, 9);
    expect(r.coldEpoch?.warmAtSeconds).toBeCloseTo(1500, 9);
    expect(r.coldEpoch?.addedSeconds).toBeCloseTo(500, 9);
    expect(r.coldEpoch?.dataShare).toBeCloseTo(500 / 3500, 12);
    // The steps were kept: all of it is training (goodput 1).
    expect(r.goodput).toBeCloseTo(1, 12);
    // Training power for 3000 s of compute, idle power for the 500 s of waiting.
    expect(r.energyJoules).toBeCloseTo(1e5 * 3000 + 3e4 * 500, 3);
  });

  it("a run shorter than the epoch is cold throughout and never warms", () => {
    const s: Scenario = { ...base, reliability: reliability(), run: { steps: 40 } };
    const r = simulateLongRun(s, { stepSeconds: 10, trainingWatts: 1e5, idleWatts: 3e4, coldEpoch: { steps: 100, addedSecondsPerStep: 5 } });
    expect(r.wallclockSeconds).toBeCloseTo(600, 9);
    expect(r.coldEpoch?.warmAtSeconds).toBeUndefined();
    expect(r.coldEpoch?.addedSeconds).toBeCloseTo(200, 9);
  });

  it("a synchronous checkpoint in the cold epoch pauses it: the epoch ends after its steps, not its time", () => {
    // A checkpoint after 600 s of training (40 cold steps of 15 s), then 60 more cold steps.
    const s: Scenario = { ...base, reliability: reliability({ checkpointInterval: 600 }), run: { steps: 100 } };
    const r = simulateLongRun(s, { stepSeconds: 10, trainingWatts: 1e5, idleWatts: 3e4, coldEpoch: { steps: 100, addedSecondsPerStep: 5 } });
    expect(r.checkpoint.count).toBe(2);
    expect(r.coldEpoch?.addedSeconds).toBeCloseTo(500, 6);
    expect(r.wallclockSeconds).toBeGreaterThan(1500);
    // Training time is exactly the 100 steps of 15 s; the rest is the two checkpoints.
    expect(r.time.training * r.wallclockSeconds).toBeCloseTo(1500, 6);
    expect(r.wallclockSeconds - 1500).toBeCloseTo(r.time.checkpoint * r.wallclockSeconds, 6);
  });

  it("with failures: kept training = kept steps × 10 s + the kept cold time, and rolled-back steps still warm the cache", () => {
    const failures = { ...none, gpu: { ratePerHour: 1 / 8, distribution: "exponential" as const } };
    const s: Scenario = { ...base, reliability: reliability({ failures, checkpointInterval: 1800, spareNodes: 100000 }), run: { steps: 1, duration: 5 * 86400 } };
    const r = simulateLongRun(s, { stepSeconds: 10, trainingWatts: 1e5, idleWatts: 3e4, coldEpoch: { steps: 2000, addedSecondsPerStep: 5 } });
    const c = r.coldEpoch!;
    expect(r.interruptions.unexpected).toBeGreaterThan(20);
    // The cache warmed after 2000 steps run, 30000 s of cold training, whatever was rolled back.
    expect(c.warmAtSeconds).toBeGreaterThan(30000);
    // Some cold steps were lost: less than 2000 × 5 s kept.
    expect(c.addedSeconds).toBeLessThan(10000);
    expect(c.addedSeconds).toBeGreaterThan(0);
    const kept = r.time.training * r.wallclockSeconds;
    expect(r.stepsKept).toBe(Math.floor((kept - c.addedSeconds) / 10 + 1e-9));
  });

  it("without a cold epoch nothing changes and nothing is reported", () => {
    const s: Scenario = { ...base, reliability: reliability({ checkpointInterval: 600 }), run: { steps: 100 } };
    const r = simulateLongRun(s, { stepSeconds: 10, trainingWatts: 1e5, idleWatts: 3e4 });
    expect(r.coldEpoch).toBeUndefined();
    const zero = simulateLongRun(s, { stepSeconds: 10, trainingWatts: 1e5, idleWatts: 3e4, coldEpoch: { steps: 100, addedSecondsPerStep: 0 } });
    expect(zero.wallclockSeconds).toBe(r.wallclockSeconds);
    expect(zero.energyJoules).toBe(r.energyJoules);
    expect(zero.coldEpoch?.addedSeconds).toBe(0);
  });
});

describe("run: data.epoch.firstEpoch charged to wallclockSeconds, longRun and the breakdown", () => {
  /** 16 GPUs, a loader each, 4 samples of 1 MB per step; cold the loader takes 2 steps' time, warm C/2. */
  function job(withReliability: boolean, steps: number): Scenario {
    const j = scenario({ nodes: 2, model: TINY_MODEL, seqLength: 2048, globalBatch: 64 });
    const C = simulateStep(j).stepSeconds;
    const data = imageDataSpec(64e6 / (2 * C), { datasetSamples: 64 * 10, cacheHitRate: 0.75, cacheWarmsAfterFirstEpoch: true });
    return { ...j, data, run: { steps }, ...(withReliability ? { reliability: reliability() } : {}) };
  }

  it("without reliability: steps × the later epochs' step + the first epoch's added time", () => {
    const { result } = runScenario(job(false, 25));
    const first = result.data!.epoch!.firstEpoch!;
    expect(result.wallclockSeconds).toBeCloseTo(25 * result.stepSeconds + first.addedSeconds, 9);
    // Fewer steps than the epoch: every one of them cold.
    const short = runScenario(job(false, 4)).result;
    expect(short.wallclockSeconds).toBeCloseTo(4 * first.stepSeconds, 9);
  });

  it("with reliability: the long run adds firstEpoch.addedSeconds once, and counts it as data", () => {
    const { result } = runScenario(job(true, 25));
    const first = result.data!.epoch!.firstEpoch!;
    const lr = result.longRun!;
    expect(lr.coldEpoch?.addedSeconds).toBeCloseTo(first.addedSeconds, 9);
    expect(lr.wallclockSeconds).toBeCloseTo(25 * result.stepSeconds + first.addedSeconds, 9);
    expect(lr.coldEpoch?.warmAtSeconds).toBeCloseTo(10 * first.stepSeconds, 9);
    const b = result.breakdown;
    expect(CATEGORIES.reduce((a, c) => a + b[c], 0)).toBeCloseTo(1, 12);
    expect(b.data).toBeCloseTo(result.stepBreakdown.data * (lr.time.training - lr.coldEpoch!.dataShare) + lr.coldEpoch!.dataShare, 12);
  });
});
