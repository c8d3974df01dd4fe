/**
 * Checkpoints and data on one storage tier, charged to the long run: while an asynchronous
 * checkpoint's background write is in flight the step is the slower one the loaders allow
 * beside it, and the write lasts as long as it does beside the reads (docs/data.md).
 */
import { describe, expect, it } from "vitest";
import { CATEGORIES } from "../../models/categories.ts";
import type { DataSpec } from "../../models/data/types.ts";
import { checkpointCost } from "../../models/reliability/checkpoint.ts";
import { simulateLongRun } from "../../models/reliability/long-run.ts";
import { runScenario } from "../../models/run.ts";
import type { ReliabilitySpec, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { imageDataSpec } from "../helpers/data-spec.ts";
import { NO_FAILURES, reliabilitySpec } from "../helpers/reliability-spec.ts";
import { scenario, TINY_MODEL } from "../helpers/scenario.ts";

const none = NO_FAILURES;
const reliability = (over: Partial<ReliabilitySpec> = {}): ReliabilitySpec => reliabilitySpec({ checkpointInterval: 3600, checkpointMode: "async", storageBandwidth: 1e9, ...over });

describe("the long run with checkpoint writes slowing the step", () => {
  it("N writes of w seconds at step u instead of t add exactly N·w·(1 − t/u) of training time", () => {
    const s: Scenario = { ...scenario({ nodes: 8, model: "llama3-8b", seqLength: 4096, globalBatch: 64, plan: { tp: 2 } }), reliability: reliability(), run: { steps: 3610 } };
    const cost = checkpointCost(s);
    const h = cost.stallSeconds; // the copy to host memory: training stops for it
    // The tier gives each write bytes/300 beside the reads (node links, 800 GB/s, are faster): w = 300 s.
    const w = 300;
    const t = 10;
    const u = 15;
    const input = { stepSeconds: t, trainingWatts: 1e5, idleWatts: 3e4, checkpointWrite: { stepSeconds: u, trainingWatts: 8e4, storageBandwidth: cost.bytes / w } };
    const r = simulateLongRun(s, input);
    // Every 3600 s of training a checkpoint; each later interval starts with a 300 s write.
    // Interval 1: 360 steps; intervals 2-10: 300/15 + 3300/10 = 350 each (3510 after 10);
    // interval 11 starts with a write (20 steps), then 80 steps at 10 s: 3610 at 36000 + 1100 s.
    const training = 37100;
    expect(r.checkpoint.count).toBe(10);
    expect(r.stepsKept).toBe(3610);
    expect(r.checkpointWrite).toBeDefined();
    const cw = r.checkpointWrite!;
    expect(cw.stepSeconds).toBe(u);
    expect(cw.writeSeconds).toBeCloseTo(w, 9);
    expect(cw.trainingSeconds).toBeCloseTo(10 * w, 6);
    // Without the slowdown 3610 steps train in 36100 s (also 10 checkpoints): 10·300·(1 − 10/15) = 1000 s more.
    expect(cw.addedSeconds).toBeCloseTo(10 * w * (1 - t / u), 6);
    expect(cw.addedSeconds).toBeCloseTo(training - 3610 * t, 6);
    const wall = training + 10 * h;
    expect(r.wallclockSeconds).toBeCloseTo(wall, 6);
    expect(r.timeToTrainSeconds).toBeCloseTo(wall, 6);
    expect(r.goodput).toBeCloseTo(training / wall, 12);
    expect(cw.dataShare).toBeCloseTo(1000 / wall, 12);
    expect(r.time.checkpoint).toBeCloseTo((10 * h) / wall, 12);
    // Training power during the writes, idle while copying to host.
    expect(r.energyJoules / (1e5 * (training - 10 * w) + 8e4 * 10 * w + 3e4 * 10 * h)).toBeCloseTo(1, 12);

    // The same run without the shared tier: 36100 s of training, nothing reported.
    const { checkpointWrite: _cw, ...plain } = input;
    const p = simulateLongRun(s, plain);
    expect(p.checkpointWrite).toBeUndefined();
    expect(p.checkpoint.count).toBe(10);
    expect(p.wallclockSeconds).toBeCloseTo(3610 * t + 10 * h, 6);
  });

  it("a failure abandons the write in flight: the step is the normal one from then on", () => {
    // One GPU failure per hour across 64 GPUs, 30 days, spares for all: writes are often cut short.
    const failures = { ...none, gpu: { ratePerHour: 1 / 64, distribution: "exponential" as const } };
    const s: Scenario = { ...scenario({ nodes: 8, model: "llama3-8b", seqLength: 4096, globalBatch: 64, plan: { tp: 2 } }), reliability: reliability({ failures, checkpointInterval: 1800, spareNodes: 100000 }), run: { steps: 1, duration: 30 * 86400 } };
    const cost = checkpointCost(s);
    const input = { stepSeconds: 10, trainingWatts: 1e5, idleWatts: 3e4, checkpointWrite: { stepSeconds: 15, trainingWatts: 8e4, storageBandwidth: cost.bytes / 600 } };
    const r = simulateLongRun(s, input);
    const cw = r.checkpointWrite!;
    expect(r.interruptions.unexpected).toBeGreaterThan(100);
    // Never more training under a write than the writes last (one at a time: 600 s < 1800 s),
    // and failures cut some short.
    expect(cw.trainingSeconds).toBeLessThanOrEqual(r.checkpoint.count * 600 + 1e-6);
    expect(cw.trainingSeconds).toBeLessThan((r.checkpoint.count - 10) * 600);
    // Steps: kept training time less the added time, at 10 s a step (whole steps kept).
    const kept = r.time.training * r.wallclockSeconds;
    expect(r.stepsKept).toBe(Math.floor((kept - cw.addedSeconds) / 10 + 1e-9));
    expect(cw.addedSeconds).toBeGreaterThan(0);
    expect(cw.addedSeconds).toBeLessThanOrEqual(cw.trainingSeconds / 3 + 1e-6);
  });
});

describe("run: data.duringCheckpoint charged to longRun, goodput and the breakdown", () => {
  /** 16 GPUs, one loader each, 4 samples of 1 MB per step; the tier needs 80 % of its time alone. */
  function job(shared: boolean): Scenario {
    const base = scenario({ nodes: 2, model: TINY_MODEL, seqLength: 2048, globalBatch: 64 });
    const plain = simulateStep(base);
    const B = (16 * 4 * 1e6) / (0.8 * plain.stepSeconds);
    const data: DataSpec = imageDataSpec(B, { sharedWithCheckpoints: shared });
    const cost = checkpointCost({ ...base, reliability: reliability() });
    // A checkpoint every 100 lone writes' worth of training time (writes beside the reads take a
    // few times longer, and add a fraction of that); steps for 20 checkpoints and a half interval.
    const interval = (100 * cost.bytes) / 1e9;
    return { ...base, data, reliability: reliability({ checkpointInterval: interval }), run: { steps: Math.round((20.5 * interval) / plain.stepSeconds) } };
  }

  it("the long run advances at the slower step during each write, and the added time shows as data", () => {
    const { result } = runScenario(job(true));
    const during = result.data!.duringCheckpoint!;
    const cw = result.longRun!.checkpointWrite!;
    expect(cw.stepSeconds).toBeCloseTo(result.data!.computeStepSeconds + during.stallSecondsPerStep, 12);
    expect(cw.stepSeconds).toBeGreaterThan(result.stepSeconds);
    expect(cw.writeSeconds).toBeCloseTo(during.writeSeconds, 9);
    // Every write completes inside training (interval ≫ write): each adds what data reports.
    const count = result.longRun!.checkpoint.count;
    expect(count).toBe(20);
    expect(cw.trainingSeconds).toBeCloseTo(count * during.writeSeconds, 6);
    expect(cw.addedSeconds / (count * during.addedSecondsPerCheckpoint)).toBeCloseTo(1, 9);
    // The breakdown: the step's shares over the kept training less the added time, which is data.
    const b = result.breakdown;
    const lr = result.longRun!;
    const sum = CATEGORIES.reduce((a, c) => a + b[c], 0);
    expect(sum).toBeCloseTo(1, 12);
    expect(b.data).toBeCloseTo(result.stepBreakdown.data * (lr.time.training - cw.dataShare) + cw.dataShare, 12);
    expect(cw.dataShare).toBeCloseTo(cw.addedSeconds / lr.wallclockSeconds, 12);
    expect(result.goodput).toBe(lr.goodput);

    // The same job with its own tier for checkpoints: shorter by exactly the added time.
    const alone = runScenario(job(false)).result;
    expect(alone.longRun!.checkpointWrite).toBeUndefined();
    expect(alone.longRun!.checkpoint.count).toBe(20);
    expect(lr.wallclockSeconds - alone.longRun!.wallclockSeconds).toBeCloseTo(cw.addedSeconds, 6);
  });
});
