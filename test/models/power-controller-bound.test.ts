/**
 * The facility controller's record stays bounded however long the step (issue 24: a legal but
 * very slow GPU under a facility cap sampled every millisecond grew past V8's heap and aborted).
 */
import { describe, expect, it } from "vitest";
import { MAX_CONTROL_INTERVALS, mergeIntervalPairs } from "../../models/power/step-power.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import type { Scenario } from "../../models/scenario.ts";
import { scenario } from "../helpers/scenario.ts";

describe("facility controller record", () => {
  it("merges intervals pairwise with time-weighted mean power and cap (hand-computed)", () => {
    const merged = mergeIntervalPairs([
      { start: 0, end: 1, meanWatts: 100, capWatts: 200 },
      { start: 1, end: 4, meanWatts: 200, capWatts: 100 },
      { start: 4, end: 5, meanWatts: 50, capWatts: 60 },
    ]);
    // (100·1 + 200·3) / 4 = 175; (200·1 + 100·3) / 4 = 125; an odd last interval is kept as it is.
    expect(merged).toEqual([
      { start: 0, end: 4, meanWatts: 175, capWatts: 125 },
      { start: 4, end: 5, meanWatts: 50, capWatts: 60 },
    ]);
  });

  it("a step of more than 2^20 controller intervals keeps at most 2^20, covering the step, each under the cap once settled", () => {
    // One 8-GPU node whose GPUs reach only 100 GFLOP/s (the schema's floor): a step of ~1,500 s,
    // sampled every millisecond, is 1.5 M intervals.
    const base = scenario({ gpu: "H100-SXM", nodes: 1, model: "gpt-1.7b", seqLength: 2048, globalBatch: 32, plan: { tp: 1, microBatch: 1 } });
    const slow: Scenario = { ...base, cluster: { ...base.cluster, gpu: { ...base.cluster.gpu, peakFlops: { ...base.cluster.gpu.peakFlops, bf16: 1e11, fp16: 1e11 } } } };
    const free = simulateStep(slow);
    const cap = 0.8 * free.power.facilityPeakWatts;
    const r = simulateStep({ ...slow, cluster: { ...slow.cluster, power: { ...slow.cluster.power, facilityCap: cap, controllerInterval: 1e-3 } } });
    expect(r.stepSeconds / 1e-3).toBeGreaterThan(MAX_CONTROL_INTERVALS);
    const iv = r.power.controlIntervals;
    expect(iv.length).toBeLessThanOrEqual(MAX_CONTROL_INTERVALS);
    expect(iv.length).toBeGreaterThan(MAX_CONTROL_INTERVALS / 4);
    for (let i = 1; i < iv.length; i++) expect(iv[i]!.start).toBe(iv[i - 1]!.end);
    expect(iv[iv.length - 1]!.end).toBeGreaterThan(0.99 * r.stepSeconds);
    for (const x of iv.slice(iv.length / 2)) expect(x.meanWatts).toBeLessThanOrEqual(x.capWatts * 1.01);
  });
});
