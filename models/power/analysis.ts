/**
 * What a run reports about power: means and peak, energy (per step, per token,
 * cost and emissions when prices are given), the facility power series, its
 * swings over 10 ms / 100 ms / 1 s windows, and the same with energy storage.
 */
import type { Scenario } from "../scenario.ts";
import type { StepPowerReport } from "./step-power.ts";
import { resample, resampleMean, smoothWithStorage, swingOf, type Swing } from "./swing.ts";

export const SWING_WINDOWS = [0.01, 0.1, 1] as const;
/** Points kept of the power series in results (charts do not need more). */
const SERIES_POINTS = 1500;
/**
 * Most samples of the uniform grid swings are measured on (32 MiB a copy): 1 ms up to a
 * step of 4,194 s; a longer step gets a coarser grid whose cells hold the series' mean over
 * them (energy kept), so memory stays bounded however long the step (issue 24: a 100 kb/s
 * NIC made a grid of 4 GB). Swings over windows shorter than a cell are then those of one cell.
 */
export const MAX_GRID_SAMPLES = 2 ** 22;

/** The grid step for a step of `stepSeconds`: 0.1 to 1 ms, coarser only past MAX_GRID_SAMPLES. */
export function gridStep(stepSeconds: number): number {
  return Math.max(1e-4, Math.min(1e-3, stepSeconds / 20000), stepSeconds / MAX_GRID_SAMPLES);
}

export interface PowerSummary {
  gpuMeanWatts: number;
  facilityMeanWatts: number;
  facilityPeakWatts: number;
  energyJoulesPerStep: number;
  energyJoulesPerToken: number;
  kWhPerStep: number;
  costPerStep?: number;
  co2GramsPerStep?: number;
  facilityCapWatts?: number;
  gpuLimitWatts?: number;
  /** Facility power over the step, downsampled. */
  series: { time: number; watts: number }[];
  swings: Swing[];
  storage?: { capacityJoules: number; powerWatts: number; minChargeJoules: number; swings: Swing[] };
  /** Staggered waves: the facility series' swings, and what the offset adds to every step. */
  stagger?: { groups: number; offsetSeconds: number; swings: Swing[]; stepSecondsAdded: number };
}

export function summarisePower(s: Scenario, p: StepPowerReport, stepSeconds: number): PowerSummary {
  const tokens = s.workload.globalBatch * s.workload.seqLength;
  const kWh = p.energyJoules / 3.6e6;
  const dt = gridStep(stepSeconds);
  const grid = dt > 1e-3 ? resampleMean(p.series, stepSeconds, dt) : resample(p.series, stepSeconds, dt);
  const windows = SWING_WINDOWS.filter((w) => w < stepSeconds);
  const out: PowerSummary = {
    gpuMeanWatts: p.gpuMeanWatts,
    facilityMeanWatts: p.facilityMeanWatts,
    facilityPeakWatts: p.facilityPeakWatts,
    energyJoulesPerStep: p.energyJoules,
    energyJoulesPerToken: p.energyJoules / tokens,
    kWhPerStep: kWh,
    series: downsample(grid, dt),
    swings: windows.map((w) => swingOf(grid, dt, w)),
  };
  const power = s.cluster.power;
  if (power.pricePerKWh !== undefined) out.costPerStep = kWh * power.pricePerKWh;
  if (power.carbonGramsPerKWh !== undefined) out.co2GramsPerStep = kWh * power.carbonGramsPerKWh;
  if (p.facilityCapWatts !== undefined) out.facilityCapWatts = p.facilityCapWatts;
  if (p.finalGpuLimitWatts !== undefined) out.gpuLimitWatts = p.finalGpuLimitWatts;
  if (power.stagger !== undefined && power.stagger.groups > 1) {
    const { groups, offsetSeconds } = power.stagger;
    // Every wave draws 1/groups of the GPUs' power, shifted by its offset (the series
    // repeats step after step); the non-GPU floor of the facility stays as it is.
    let floor = Infinity;
    for (const v of grid) floor = Math.min(floor, v);
    const shifted = new Float64Array(grid.length);
    const n = grid.length;
    for (let k = 0; k < groups; k++) {
      const shift = Math.round((k * offsetSeconds) / dt);
      for (let i = 0; i < n; i++) shifted[i] = (shifted[i] as number) + ((grid[(((i - shift) % n) + n) % n] as number) - floor) / groups;
    }
    for (let i = 0; i < n; i++) shifted[i] = (shifted[i] as number) + floor;
    out.stagger = { groups, offsetSeconds, swings: windows.map((w) => swingOf(shifted, dt, w)), stepSecondsAdded: (groups - 1) * offsetSeconds };
  }
  if (power.storage !== undefined) {
    const st = smoothWithStorage(grid, dt, power.storage.capacityJoules, power.storage.powerWatts);
    out.storage = { ...power.storage, minChargeJoules: st.minChargeJoules, swings: windows.map((w) => swingOf(st.grid, dt, w)) };
  }
  return out;
}

/** Keep each bucket's extreme point, so swings stay visible in a short series. */
function downsample(x: Float64Array, dt: number): { time: number; watts: number }[] {
  const step = Math.max(1, Math.ceil(x.length / SERIES_POINTS));
  const out: { time: number; watts: number }[] = [];
  for (let i = 0; i < x.length; i += step) {
    let lo = i;
    let hi = i;
    for (let j = i; j < Math.min(x.length, i + step); j++) {
      if ((x[j] as number) < (x[lo] as number)) lo = j;
      if ((x[j] as number) > (x[hi] as number)) hi = j;
    }
    const first = lo <= hi ? lo : hi;
    const second = lo <= hi ? hi : lo;
    if (out.length === 0 || out[out.length - 1]!.time !== first * dt) out.push({ time: first * dt, watts: x[first] as number });
    if (out[out.length - 1]!.time !== second * dt) out.push({ time: second * dt, watts: x[second] as number });
  }
  return out;
}
