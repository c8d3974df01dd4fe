/**
 * `run --uncertainty N`: sample the calibrated constants (Latin hypercube through the seeded
 * streams), rerun the step for each sample, and report p5/p50/p95 of step time, tokens/s and
 * MFU, plus how far each constant alone moves the step (one at a time, at each end of its
 * spread: the tornado). docs/uncertainty.md.
 */
import { RandomStreams } from "../../sim/random.ts";
import { runScenario, type RunResult } from "../run.ts";
import type { Scenario } from "../scenario.ts";
import type { StepModeRequest } from "../step/symmetry.ts";
import { uncertainConstants, withFactors, type UncertainConstant } from "./sample.ts";
import type { Band, UncertaintyResult } from "./types.ts";

export type { Band, Sensitivity, UncertaintyResult } from "./types.ts";

export interface UncertaintyOptions {
  samples: number;
  mode: StepModeRequest;
  /** Share of the reruns done, now and then (for a progress line; results do not change). */
  onProgress?: (fraction: number) => void;
}

/** Quantile q of ascending `sorted` by linear interpolation between order statistics (Hyndman-Fan type 7). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo] as number;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return a + (h - lo) * (b - a);
}

export function band(values: readonly number[]): Band {
  const sorted = [...values].sort((x, y) => x - y);
  return { p5: quantile(sorted, 0.05), p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
}

/** Inverse CDF of the triangular distribution on [lo, hi] with its mode at `mode`. */
export function triangular(u: number, lo: number, mode: number, hi: number): number {
  if (hi <= lo) return mode;
  const c = (mode - lo) / (hi - lo);
  return u < c ? lo + Math.sqrt(u * (hi - lo) * (mode - lo)) : hi - Math.sqrt((1 - u) * (hi - lo) * (hi - mode));
}

/**
 * N Latin-hypercube points in [0, 1) per constant: each constant's N strata in a random order,
 * a uniform draw inside each. One stream per constant ("uncertainty/<path>"), so adding a
 * constant never changes the draws of another.
 */
export function latinHypercube(streams: RandomStreams, paths: readonly string[], n: number): number[][] {
  return paths.map((path) => {
    const rng = streams.stream(`uncertainty/${path}`);
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(0, i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    return order.map((stratum) => (stratum + rng.uniform()) / n);
  });
}

interface StepFigures {
  stepSeconds: number;
  tokensPerSecond: number;
  mfu: number;
}

/** The run of `s` as `trainsim run` computes it, its step only (a long run's reliability is left out: a step band). */
function runOf(s: Scenario, mode: StepModeRequest): RunResult {
  const { reliability: _reliability, ...step } = s;
  return runScenario(step, { mode }).result;
}

function stepOf(s: Scenario, mode: StepModeRequest): StepFigures {
  const result = runOf(s, mode);
  return { stepSeconds: result.stepSeconds, tokensPerSecond: result.tokensPerSecond, mfu: result.mfu };
}

/** `s` at each of `n` Latin-hypercube samples of its uncertain constants (seeded by `s.seed`). */
export function sampledScenarios(s: Scenario, n: number, constants: readonly UncertainConstant[] = uncertainConstants(s)): Scenario[] {
  const u = latinHypercube(new RandomStreams(s.seed), constants.map((c) => c.path), n);
  return Array.from({ length: n }, (_, i) => {
    const factors = new Map<string, number>();
    constants.forEach((c, k) => factors.set(c.path, triangular((u[k] as number[])[i] as number, 1 + c.low, 1, 1 + c.high)));
    return withFactors(s, factors);
  });
}

/** The step-only runs of `s`'s samples (for a band of any figure a run reports). */
export function sampledRuns(s: Scenario, n: number, mode: StepModeRequest): RunResult[] {
  return sampledScenarios(s, n).map((x) => runOf(x, mode));
}

export function analyseUncertainty(s: Scenario, options: UncertaintyOptions): UncertaintyResult {
  const n = options.samples;
  const constants = uncertainConstants(s);
  const oneAtATime = constants.reduce((k, c) => k + (c.low !== 0 ? 1 : 0) + (c.high !== 0 ? 1 : 0), 0);
  const total = n + oneAtATime + 1;
  let done = 0;
  const tick = (): void => {
    done++;
    options.onProgress?.(done / total);
  };
  const base = stepOf(s, options.mode);
  tick();
  const runs: StepFigures[] = [];
  for (const sample of sampledScenarios(s, n, constants)) {
    runs.push(stepOf(sample, options.mode));
    tick();
  }
  const at = (c: UncertainConstant, end: number): number => {
    if (end === 0) return base.stepSeconds;
    const r = stepOf(withFactors(s, new Map([[c.path, 1 + end]])), options.mode).stepSeconds;
    tick();
    return r;
  };
  const sensitivity = constants
    .map((c) => ({ path: c.path, lowStepSeconds: at(c, c.low), highStepSeconds: at(c, c.high) }))
    .map((x, i) => ({ x, i, swing: Math.abs(x.highStepSeconds - x.lowStepSeconds) }))
    .sort((a, b) => b.swing - a.swing || a.i - b.i)
    .map(({ x }) => x);
  return {
    samples: n,
    seed: s.seed,
    method: "latin-hypercube",
    distribution: "triangular",
    stepSeconds: band(runs.map((r) => r.stepSeconds)),
    tokensPerSecond: band(runs.map((r) => r.tokensPerSecond)),
    mfu: band(runs.map((r) => r.mfu)),
    constants,
    sensitivity,
  };
}
