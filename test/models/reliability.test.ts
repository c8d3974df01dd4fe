import { describe, expect, it } from "vitest";
import { loadScenario } from "../../experiments/load.ts";
import { checkpointCost, youngDaly } from "../../models/reliability/checkpoint.ts";
import { FAILURE_CLASSES, LLAMA3_FAILURE_RATES } from "../../models/reliability/failure-rates.ts";
import { simulateLongRun } from "../../models/reliability/long-run.ts";
import { runScenario } from "../../models/run.ts";
import type { FailureClass, FailureProcess, ReliabilitySpec, Scenario } from "../../models/scenario.ts";
import { totalParams } from "../../models/workload/params.ts";
import { NO_FAILURES, reliabilitySpec } from "../helpers/reliability-spec.ts";
import { scenario } from "../helpers/scenario.ts";

const none = NO_FAILURES;

function reliable(s: Scenario, r: Partial<ReliabilitySpec>, run: Scenario["run"]): Scenario {
  return { ...s, reliability: reliabilitySpec(r), run };
}

const small = scenario({ nodes: 8, model: "llama3-8b", seqLength: 4096, globalBatch: 64, plan: { tp: 2 } });
const input = { stepSeconds: 10, trainingWatts: 1e5, idleWatts: 3e4 };

describe("checkpoints", () => {
  it("a checkpoint holds bf16 weights, fp32 master weights and Adam's two moments: 14 bytes per parameter", () => {
    const s = reliable(small, { nodeStorageBandwidth: 50e9 }, { steps: 1 });
    const c = checkpointCost(s);
    const params = totalParams(s.workload.model);
    expect(c.bytes).toBe(14 * params);
    // 8 nodes × 50 GB/s to storage binds (PCIe copy out of HBM is faster).
    expect(c.writeSeconds).toBeCloseTo((14 * params) / (8 * 50e9), 9);
    expect(c.stallSeconds).toBe(c.writeSeconds);
    const async = checkpointCost(reliable(small, { nodeStorageBandwidth: 50e9, checkpointMode: "async" }, { steps: 1 }));
    expect(async.stallSeconds).toBeLessThan(async.writeSeconds);
  });

  it("an asynchronous checkpoint stalls for the copy to host memory at each GPU's measured host-copy rate", () => {
    // H100 on PCIe Gen5 x16: 63 GB/s × 0.8 (nvbandwidth copy share) = 50.4 GB/s per GPU, 64 GPUs.
    const h100 = checkpointCost(reliable(small, { checkpointMode: "async" }, { steps: 1 }));
    expect(h100.stallSeconds).toBeCloseTo(h100.bytes / (64 * 50.4e9), 9);
    // GB200: NVLink-C2C to Grace, nvbandwidth 197 GB/s per GPU (catalog), not the PCIe figure;
    // 16 nodes of 4 GPUs, the same 64 GPUs.
    const gb = scenario({ gpu: "GB200", nodes: 16, gpusPerNode: 4, model: "llama3-8b", seqLength: 4096, globalBatch: 64, plan: { tp: 2 } });
    const gb200 = checkpointCost(reliable(gb, { checkpointMode: "async" }, { steps: 1 }));
    expect(gb200.bytes).toBe(h100.bytes);
    expect(gb200.stallSeconds).toBeCloseTo(h100.bytes / (64 * 197e9), 9);
    // The storage write behind it is unchanged: 16 nodes × 100 GB/s instead of 8.
    expect(gb200.writeSeconds - gb200.stallSeconds).toBeCloseTo(h100.bytes / (16 * 100e9), 9);
  });

  it("with no failures, goodput is 1 minus the checkpoint overhead", () => {
    const s = reliable(small, { checkpointInterval: 600 }, { steps: 1, duration: 100 * 24 * 3600 });
    const r = simulateLongRun(s, input);
    const stall = checkpointCost(s).stallSeconds;
    expect(r.interruptions.total).toBe(0);
    expect(r.goodput).toBeCloseTo(600 / (600 + stall), 4);
    expect(r.time.training + r.time.checkpoint + r.time.lostWork + r.time.recovery).toBeCloseTo(1, 12);
  });

  it("the best interval of a sweep lies within 25 % of Young/Daly for exponential failures", () => {
    // One failure class at a job MTBF of 2 h; a 60 s synchronous checkpoint.
    const failures = { ...none, software: { ratePerHour: 1 / (2 * small.cluster.nodes * 8), distribution: "exponential" as const } };
    const base = reliable(small, { failures, storageBandwidth: (14 * totalParams(small.workload.model)) / 60, detectionTime: 0, restartTime: 60 }, { steps: 1, duration: 2000 * 3600 });
    const stall = checkpointCost(base).stallSeconds;
    expect(stall).toBeCloseTo(60, 6);
    const optimum = youngDaly(stall, 2 * 3600);
    let best = 0;
    let bestInterval = 0;
    for (const interval of [300, 450, 600, 750, 900, 1050, 1200, 1500, 1800, 2400]) {
      let g = 0;
      for (const seed of [1, 2, 3]) g += simulateLongRun({ ...base, seed, reliability: { ...base.reliability!, checkpointInterval: interval } }, input).goodput;
      if (g > best) {
        best = g;
        bestInterval = interval;
      }
    }
    expect(Math.abs(bestInterval / optimum - 1)).toBeLessThanOrEqual(0.25);
  });
});

describe("failures", () => {
  it("the same seed gives the same failure times, even when unrelated streams are added", () => {
    const gpuOnly = { ...none, gpu: { ratePerHour: 1e-3, distribution: "exponential" as const } };
    const withMore = { ...gpuOnly, software: { ratePerHour: 5e-4, distribution: "exponential" as const }, host: { ratePerHour: 1e-3, distribution: "weibull" as const, shape: 0.8 } };
    const run = (failures: typeof none) => simulateLongRun(reliable(small, { failures }, { steps: 1, duration: 60 * 24 * 3600 }), input, { logFailures: true });
    const a = run(gpuOnly).failureLog!.filter((f) => f.cls === "gpu").map((f) => f.time);
    const b = run(withMore).failureLog!.filter((f) => f.cls === "gpu").map((f) => f.time);
    expect(a.length).toBeGreaterThan(10);
    expect(b).toEqual(a);
  });

  it("default rates reproduce Llama 3's 419 unexpected interruptions in 54 days on 16,384 GPUs", () => {
    let rate = 0;
    for (const c of FAILURE_CLASSES) if (c !== "maintenance") rate += LLAMA3_FAILURE_RATES[c].ratePerHour * (c === "host" ? 2048 : 16384);
    expect(rate * 54 * 24).toBeCloseTo(419, 6);
  });

  it("Llama 3 405B, 54 days on 16,384 H100: median of 10 seeds within ±20 % of 419 unexpected interruptions, effective training time above 90 % (Llama 3 paper, Sec. 3.3.4)", () => {
    const s = loadScenario("experiments/published/llama3/405b-54d.yaml");
    const { result } = runScenario(s);
    const stepInput = { stepSeconds: result.stepSeconds, trainingWatts: result.facilityPowerWatts.mean, idleWatts: result.facilityPowerWatts.mean * 0.3 };
    const counts: number[] = [];
    const goodputs: number[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const r = simulateLongRun({ ...s, seed }, stepInput);
      counts.push(r.interruptions.unexpected);
      goodputs.push(r.goodput);
    }
    counts.sort((x, y) => x - y);
    goodputs.sort((x, y) => x - y);
    const median = (counts[4]! + counts[5]!) / 2;
    expect(Math.abs(median / 419 - 1)).toBeLessThanOrEqual(0.2);
    expect((goodputs[4]! + goodputs[5]!) / 2).toBeGreaterThan(0.9);
    expect(result.breakdown.failure).toBeGreaterThan(0);
    expect(result.breakdown.checkpoint).toBeGreaterThan(0);
  });

  it("a node failure with no spare waits for its repair", () => {
    const failures = { ...none, host: { ratePerHour: 1e-3, distribution: "exponential" as const } };
    const run = (spareNodes: number) => simulateLongRun(reliable(small, { failures, spareNodes, repairTime: 2 * 86400 }, { steps: 1, duration: 365 * 24 * 3600 }), input);
    const withSpares = run(100);
    const without = run(0);
    expect(without.waitedForRepair).toBeGreaterThan(0);
    expect(without.goodput).toBeLessThan(withSpares.goodput);
  });
});

describe("long runs under a changing power cap", () => {
  it("a cap tightened for part of the run slows training for exactly that part", () => {
    const s = reliable(small, { failures: none, checkpointInterval: 3600 }, { steps: 1, duration: 10 * 86400 });
    const free = runScenario(s).result;
    const peak = free.power.facilityPeakWatts;
    const capped: Scenario = {
      ...s,
      cluster: { ...s.cluster, power: { ...s.cluster.power, facilityCapSchedule: [{ at: 2 * 86400, watts: 0.7 * peak }, { at: 7 * 86400, watts: 10 * peak }] } },
    };
    const r = runScenario(capped).result;
    expect(r.longRun!.capChanges).toBe(2);
    const tokens = (x: typeof r) => x.longRun!.tokensTrained;
    expect(tokens(r)).toBeLessThan(tokens(free));
    // 2 days uncapped, 5 days at the slower step, 3 days under a cap that never binds. With a
    // schedule the GPUs' power control is on from the start (limits at TDP), so the unbound
    // parts run at that step time; tokens follow the step time of each part.
    const stepUnder = (cap: number) => runScenario({ ...s, cluster: { ...s.cluster, power: { ...s.cluster.power, facilityCap: cap } } }).result.stepSeconds;
    const slow = stepUnder(0.7 * peak);
    const loose = stepUnder(10 * peak);
    const expected = tokens(free) * (0.2 * (free.stepSeconds / loose) + 0.5 * (free.stepSeconds / slow) + 0.3 * (free.stepSeconds / loose));
    expect(Math.abs(tokens(r) / expected - 1)).toBeLessThan(0.002);
  });
});

describe("blast radius", () => {
  it("a leaf-switch failure takes every node under it: with too few spares the job waits for repair", () => {
    const failures = { ...none, switch: { ratePerHour: 2e-4, distribution: "exponential" as const, blastRadius: "leaf" as const } };
    const cable = { ...failures, switch: { ...failures.switch, blastRadius: "node" as const } };
    // 8 nodes on one scalable unit: a leaf serves all 8; 4 spares cover a cable, not a leaf.
    const run = (f: typeof none) => simulateLongRun(reliable(small, { failures: f, spareNodes: 4, repairTime: 86400 }, { steps: 1, duration: 200 * 86400 }), input);
    const leaf = run(failures);
    const node = run(cable);
    expect(leaf.interruptions.byCause.switch).toBe(node.interruptions.byCause.switch);
    expect(leaf.waitedForRepair).toBeGreaterThan(0);
    expect(node.waitedForRepair).toBe(0);
    expect(leaf.goodput).toBeLessThan(node.goodput);
  });
});
