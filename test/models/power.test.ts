import { describe, expect, it } from "vitest";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { clockForLimit, gpuPowerWatts, DVFS_EXPONENT } from "../../models/power/gpu-power.ts";
import { resample, smoothWithStorage, swingOf } from "../../models/power/swing.ts";
import { runScenario } from "../../models/run.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import type { Scenario } from "../../models/scenario.ts";
import { scenario } from "../helpers/scenario.ts";

const H100 = CATALOG["H100-SXM"] as Accelerator;
const A100 = CATALOG["A100-80GB"] as Accelerator;

function withPower(s: Scenario, power: Partial<Scenario["cluster"]["power"]>): Scenario {
  return { ...s, cluster: { ...s.cluster, power: { ...s.cluster.power, ...power } } };
}

// A 256-GPU GPT job with exposed data-parallel communication at the end of the step.
const base = scenario({ gpu: "H100-SXM", nodes: 32, model: "gpt-18b", seqLength: 2048, globalBatch: 256, plan: { tp: 8, pp: 2, microBatch: 2, overlapGradReduce: false, zero: 0 } });

describe("GPU power model", () => {
  it("anchors: H100 SXM at its 700 W TDP under a full GEMM, idle power when idle", () => {
    expect(H100.tdpWatts).toBe(700);
    expect(gpuPowerWatts(H100, 1, 1)).toBe(700);
    expect(gpuPowerWatts(H100, 0, 1)).toBe(H100.idleWatts);
  });

  it("clockForLimit gives the highest clock within the limit", () => {
    for (const limit of [650, 500, 350, 250]) {
      const c = clockForLimit(H100, 1, limit);
      expect(gpuPowerWatts(H100, 1, c)).toBeCloseTo(limit, 6);
    }
    expect(clockForLimit(H100, 0.45, 700)).toBe(1);
  });
});

describe("power over a simulated step", () => {
  it("with no cap, clocks never move: the step equals the step simulated without power control", () => {
    const a = simulateStep(base);
    const b = simulateStep(base, { powerControl: false });
    expect(a.stepSeconds).toBe(b.stepSeconds);
    expect(a.breakdown.power).toBe(0);
  });

  it("energy equals the integral of facility power", () => {
    const r = simulateStep(base);
    const p = r.power;
    let integral = 0;
    for (let i = 0; i < p.series.length; i++) {
      const t0 = p.series.time[i] as number;
      const t1 = i + 1 < p.series.length ? (p.series.time[i + 1] as number) : r.stepSeconds;
      integral += (p.series.watts[i] as number) * (t1 - t0);
    }
    expect(integral / p.energyJoules).toBeCloseTo(1, 9);
  });

  it("a tighter GPU cap never makes a step faster, and moves time into `power`", () => {
    let previous = 0;
    let previousPower = -1;
    for (const limit of [700, 600, 500, 400, 300]) {
      const r = simulateStep(withPower(base, { gpuPowerLimit: limit }));
      expect(r.stepSeconds).toBeGreaterThanOrEqual(previous);
      expect(r.breakdown.power).toBeGreaterThanOrEqual(previousPower);
      previous = r.stepSeconds;
      previousPower = r.breakdown.power;
      // Every GPU stays under its limit at every instant: so does the facility.
      const pue = r.power.series.watts.length > 0 ? base.cluster.power.pue : 1;
      const nodeOverhead = 0.45 * 8 * H100.tdpWatts;
      const bound = pue * (256 * limit + 32 * nodeOverhead);
      expect(r.power.facilityPeakWatts).toBeLessThanOrEqual(bound * (1 + 1e-9));
    }
    expect(previousPower).toBeGreaterThan(0.1);
  });

  it("a facility cap: after the controller settles, every interval stays under the cap", () => {
    const free = simulateStep(base);
    const cap = 0.8 * free.power.facilityPeakWatts;
    const r = simulateStep(withPower(base, { facilityCap: cap, controllerInterval: 0.05 }));
    const intervals = r.power.controlIntervals;
    expect(intervals.length).toBeGreaterThan(10);
    for (const iv of intervals.slice(3)) expect(iv.meanWatts).toBeLessThanOrEqual(cap * 1.01);
    expect(r.stepSeconds).toBeGreaterThan(free.stepSeconds);
    const tighter = simulateStep(withPower(base, { facilityCap: 0.7 * free.power.facilityPeakWatts, controllerInterval: 0.05 }));
    expect(tighter.stepSeconds).toBeGreaterThanOrEqual(r.stepSeconds);
  });

  it("throughput under a power limit: ~20 % less peak power costs ~10 % training throughput on A100 (Patel et al., ASPLOS'24)", () => {
    const s = scenario({ gpu: "A100-80GB", nodes: 4, model: "gpt-7.5b", seqLength: 2048, globalBatch: 128, attention: "unfused", plan: { tp: 4, microBatch: 4 } });
    const free = simulateStep(s).stepSeconds;
    const capped = simulateStep(withPower(s, { gpuPowerLimit: 0.8 * A100.tdpWatts })).stepSeconds;
    const slowdown = capped / free - 1;
    // The GEMMs slow by the DVFS law (0.8·TDP → clock 0.9 at γ = 2.5); memory-bound and
    // communication phases, below the limit already, barely move.
    expect(DVFS_EXPONENT).toBe(2.5);
    expect(slowdown).toBeGreaterThan(0.03);
    expect(slowdown).toBeLessThan(0.12);
  });
});

describe("swings and mitigations", () => {
  it("finds the largest drop and rise within a window on a hand-made series", () => {
    // 100 W for 50 ms, 40 W for 50 ms, repeated; 1 ms grid.
    const x = new Float64Array(400).map((_, i) => (Math.floor(i / 50) % 2 === 0 ? 100 : 40));
    const s10 = swingOf(x, 1e-3, 0.01);
    expect(s10.dropWatts).toBe(60);
    expect(s10.riseWatts).toBe(60);
    expect(s10.dropShare).toBeCloseTo(0.6, 12);
    expect(s10.dropAt).toBeCloseTo(0.049, 9); // the last 100 W sample before the fall
    const flat = swingOf(new Float64Array(100).fill(5), 1e-3, 0.01);
    expect(flat.dropWatts).toBe(0);
  });

  it("storage smooths the grid draw; the energy delivered is the same", () => {
    const x = new Float64Array(2000).map((_, i) => (Math.floor(i / 100) % 2 === 0 ? 1000 : 400));
    const st = smoothWithStorage(x, 1e-3, 1e6, 1000, 0.4); // two full periods: a steady mean
    const before = swingOf(x, 1e-3, 0.1);
    const after = swingOf(st.grid.subarray(400), 1e-3, 0.1); // once the 0.4 s mean has filled
    expect(after.dropWatts).toBeLessThan(0.2 * before.dropWatts);
    const sum = (a: Float64Array) => a.reduce((p, v) => p + v, 0);
    expect(Math.abs(sum(st.grid) - sum(x)) / sum(x)).toBeLessThan(0.05);
  });

  it("the step's synchronized drop during data-parallel communication shrinks with a power floor or storage", () => {
    const free = runScenario(base).result.power;
    const floor = runScenario(withPower(base, { powerFloor: 0.6 })).result.power;
    const stored = runScenario(withPower(base, { storage: { capacityJoules: 5e7, powerWatts: 0.5 * free.facilityPeakWatts } })).result.power;
    const drop = (p: typeof free) => p.swings.find((s) => s.windowSeconds === 0.1)!.dropWatts;
    expect(drop(free)).toBeGreaterThan(0.2 * free.facilityPeakWatts);
    expect(drop(floor)).toBeLessThan(drop(free));
    expect(stored.storage!.swings.find((s) => s.windowSeconds === 0.1)!.dropWatts).toBeLessThan(0.5 * drop(free));
    // Burning power to hold a floor costs energy.
    expect(floor.energyJoulesPerStep).toBeGreaterThan(free.energyJoulesPerStep);
    expect(resample(runScenario(base).step.power.series, 1, 0.5).length).toBe(2);
  });
});

describe("caps over time and at every level", () => {
  it("a rack cap holds every GPU to its share of the rack", () => {
    // 4 nodes per rack, 45 % of 8·700 W of other power per node: 40 kW leaves (40000 − 4·2520)/32 = 935 W,
    // 30 kW leaves 622.5 W per GPU.
    const r = simulateStep(withPower(base, { rackCap: 30000, nodesPerRack: 4 }));
    const bound = base.cluster.power.pue * (256 * 622.5 + 32 * 0.45 * 8 * 700);
    expect(r.power.facilityPeakWatts).toBeLessThanOrEqual(bound * (1 + 1e-9));
    expect(r.breakdown.power).toBeGreaterThan(0);
    const loose = simulateStep(withPower(base, { rackCap: 40000, nodesPerRack: 4 }));
    expect(loose.breakdown.power).toBe(0);
  });

  it("a cap that tightens mid-step slows the step, and the controller meets the new cap", () => {
    const free = simulateStep(base);
    const peak = free.power.facilityPeakWatts;
    const change = free.stepSeconds / 3;
    const r = simulateStep(withPower(base, { facilityCapSchedule: [{ at: change, watts: 0.75 * peak }], controllerInterval: 0.05 }));
    expect(r.stepSeconds).toBeGreaterThan(free.stepSeconds);
    expect(r.power.capSteps.map((c) => c.watts)).toEqual([Infinity, 0.75 * peak]);
    const after = r.power.controlIntervals.filter((iv) => iv.start >= change + 0.1);
    expect(after.length).toBeGreaterThan(5);
    for (const iv of after) expect(iv.meanWatts).toBeLessThanOrEqual(0.75 * peak * 1.01);
  });

  it("a cap change scheduled after the step ends changes nothing in the step's power and energy", () => {
    const free = simulateStep(base);
    const later = simulateStep(withPower(base, { facilityCapSchedule: [{ at: 6 * 3600, watts: 0.5 * free.power.facilityPeakWatts }] }));
    expect(later.stepSeconds).toBe(free.stepSeconds);
    expect(later.power.facilityMeanWatts).toBeCloseTo(free.power.facilityMeanWatts, 6);
    expect(later.power.energyJoules).toBeCloseTo(free.power.energyJoules, 3);
    expect(later.power.facilityMeanWatts).toBeLessThanOrEqual(later.power.facilityPeakWatts);
  });

  it("a fluctuating supply is drawn from the seeded stream: same seed, same run; other seed, another", () => {
    const supplied = (seed: number) =>
      simulateStep({ ...withPower(base, { facilitySupply: { gridWatts: 2e5, variableWatts: 2e5, meanPeriodSeconds: 0.1 } }), seed });
    const a = supplied(1);
    expect(supplied(1).stepSeconds).toBe(a.stepSeconds);
    expect(a.power.capSteps.length).toBeGreaterThan(3);
    expect(supplied(2).power.capSteps).not.toEqual(a.power.capSteps);
    expect(a.stepSeconds).toBeGreaterThan(simulateStep(base).stepSeconds);
  });

  it("staggering waves of data-parallel groups shrinks the synchronized swing", () => {
    const free = runScenario(base).result.power;
    const staggered = runScenario(withPower(base, { stagger: { groups: 4, offsetSeconds: 0.05 } })).result.power;
    const drop = (swings: typeof free.swings) => swings.find((s) => s.windowSeconds === 0.1)!.dropWatts;
    expect(drop(staggered.stagger!.swings)).toBeLessThan(drop(free.swings));
    expect(staggered.stagger!.stepSecondsAdded).toBeCloseTo(0.15, 12);
  });
});
