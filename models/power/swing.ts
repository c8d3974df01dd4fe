/**
 * Power swings: how far facility power drops or rises within a time window —
 * what grid operators and on-site generation have to absorb when thousands of
 * GPUs move between compute and communication in lock-step — and two
 * mitigations applied to a power series: energy storage that smooths the grid
 * draw, and (in the GPU model) a power floor.
 */
import type { PowerSeries } from "./step-power.ts";

export interface Swing {
  windowSeconds: number;
  /** Largest fall from a value to a later one within the window, watts. */
  dropWatts: number;
  riseWatts: number;
  /** As a share of the series' peak. */
  dropShare: number;
  riseShare: number;
  /** Watts per second of that drop / rise. */
  dropRate: number;
  riseRate: number;
  /** When the largest drop starts, seconds. */
  dropAt: number;
  riseAt: number;
}

/** The series sampled on a uniform grid of `dt` (piecewise constant: value at or before each time). */
export function resample(series: PowerSeries, end: number, dt: number): Float64Array {
  const n = Math.max(1, Math.ceil(end / dt));
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const t = i * dt;
    while (j + 1 < series.length && (series.time[j + 1] as number) <= t) j++;
    out[i] = series.length > 0 ? (series.watts[j] as number) : 0;
  }
  return out;
}

/** The series on a uniform grid of `dt`, each cell its time-weighted mean (piecewise constant series). */
export function resampleMean(series: PowerSeries, end: number, dt: number): Float64Array {
  const n = Math.max(1, Math.ceil(end / dt));
  const out = new Float64Array(n);
  if (series.length === 0) return out;
  let j = 0;
  for (let i = 0; i < n; i++) {
    const a = i * dt;
    const b = Math.min(end, a + dt);
    while (j + 1 < series.length && (series.time[j + 1] as number) <= a) j++;
    // Segments [t_k, t_k+1) that overlap [a, b); the value before the first sample is the first.
    let energy = 0;
    let k = j;
    let t = a;
    while (t < b) {
      const next = k + 1 < series.length ? Math.min(b, series.time[k + 1] as number) : b;
      energy += (series.watts[k] as number) * (next - t);
      t = next;
      if (k + 1 < series.length && (series.time[k + 1] as number) <= t) k++;
      else if (next === b) break;
    }
    out[i] = b > a ? energy / (b - a) : (series.watts[j] as number);
  }
  return out;
}

/** Room for swingOf's two deques, kept between calls: a sweep point asks for several swings. */
let dequeScratch = new Int32Array(0);
/** What extremesOf found: [drop, dropAt, rise, riseAt]. */
const extremes = new Float64Array(4);

/**
 * Largest drop and rise within `windowSeconds` on a uniform grid `x` of step `dt`:
 * max over i < j ≤ i + w of x[i] − x[j] (drop) and x[j] − x[i] (rise), with
 * monotonic deques (O(n)).
 *
 * Each loop is a function of its own that ends with it: V8 optimizes a long loop during
 * its first call, and code after the loop that had not run by then deoptimized on every
 * later call, in every sweep thread.
 */
export function swingOf(x: Float64Array, dt: number, windowSeconds: number): Swing {
  const w = Math.max(1, Math.round(windowSeconds / dt));
  const peak = peakOf(x);
  extremesOf(x, dt, w);
  const drop = extremes[0] as number;
  const rise = extremes[2] as number;
  return {
    windowSeconds,
    dropWatts: drop,
    riseWatts: rise,
    dropShare: peak > 0 ? drop / peak : 0,
    riseShare: peak > 0 ? rise / peak : 0,
    dropRate: drop / windowSeconds,
    riseRate: rise / windowSeconds,
    dropAt: extremes[1] as number,
    riseAt: extremes[3] as number,
  };
}

function peakOf(x: Float64Array): number {
  let peak = 0;
  for (let i = 0; i < x.length; i++) if ((x[i] as number) > peak) peak = x[i] as number;
  return peak;
}

/** Fills `extremes` for windows of `w` samples. */
function extremesOf(x: Float64Array, dt: number, w: number): void {
  let drop = 0;
  let rise = 0;
  // Deques of indices: maxima and minima over the last w samples before j.
  if (dequeScratch.length < 2 * x.length) dequeScratch = new Int32Array(2 * x.length);
  const maxQ = dequeScratch.subarray(0, x.length);
  const minQ = dequeScratch.subarray(x.length, 2 * x.length);
  let maxH = 0;
  let maxT = 0;
  let minH = 0;
  let minT = 0;
  extremes.fill(0);
  for (let j = 0; j < x.length; j++) {
    while (maxH < maxT && (maxQ[maxH] as number) < j - w) maxH++;
    while (minH < minT && (minQ[minH] as number) < j - w) minH++;
    const v = x[j] as number;
    if (maxH < maxT) {
      const i = maxQ[maxH] as number;
      if ((x[i] as number) - v > drop) {
        drop = (x[i] as number) - v;
        extremes[0] = drop;
        extremes[1] = i * dt;
      }
    }
    if (minH < minT) {
      const i = minQ[minH] as number;
      if (v - (x[i] as number) > rise) {
        rise = v - (x[i] as number);
        extremes[2] = rise;
        extremes[3] = i * dt;
      }
    }
    while (maxH < maxT && (x[maxQ[maxT - 1] as number] as number) <= v) maxT--;
    maxQ[maxT++] = j;
    while (minH < minT && (x[minQ[minT - 1] as number] as number) >= v) minT--;
    minQ[minT++] = j;
  }
}

export interface StorageResult {
  /** Grid draw after the storage, same grid as the input. */
  grid: Float64Array;
  /** Lowest state of charge reached, joules (starts half full). */
  minChargeJoules: number;
}

/**
 * Energy storage between grid and cluster: the grid supplies the running mean
 * of the last `smoothingSeconds` and the battery covers the difference, within
 * its power rating and its charge (starting half full).
 */
export function smoothWithStorage(x: Float64Array, dt: number, capacityJoules: number, powerWatts: number, smoothingSeconds = 1): StorageResult {
  const grid = new Float64Array(x.length);
  const w = Math.max(1, Math.round(smoothingSeconds / dt));
  let charge = capacityJoules / 2;
  let minCharge = charge;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i] as number;
    if (i >= w) sum -= x[i - w] as number;
    const mean = sum / Math.min(i + 1, w);
    const load = x[i] as number;
    // Battery output (positive: discharging) wanted to hold the grid at the mean.
    let battery = Math.max(-powerWatts, Math.min(powerWatts, load - mean));
    if (battery > 0) battery = Math.min(battery, charge / dt);
    else battery = Math.max(battery, -(capacityJoules - charge) / dt);
    charge -= battery * dt;
    minCharge = Math.min(minCharge, charge);
    grid[i] = load - battery;
  }
  return { grid, minChargeJoules: minCharge };
}
