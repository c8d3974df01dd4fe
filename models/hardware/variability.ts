/**
 * Identical GPUs are not equally fast: manufacturing variation and each chip's
 * power management give every GPU of a cluster its own sustained speed. Sinha
 * et al. ("Not All GPUs Are Created Equal", SC'22) measured 8 % average
 * performance variation across the GPUs of one SKU in each of five large
 * clusters (up to 22 %), with outliers to 1.5× slower. Read as the spread
 * between the fastest and slowest of thousands of GPUs, about 6.5 standard
 * deviations of a normal, that is σ ≈ 1.2 % of the sustained SM throughput.
 *
 * Synchronous training waits for its slowest members, so each pipeline stage
 * runs its compute at the pace of the slowest of its GPUs: a job of thousands
 * of GPUs is a few percent slower than one typical GPU suggests.
 */
import type { RandomStream } from "../../sim/random.ts";

/** Speed factor of the slowest of `n` GPUs, drawn from the seeded stream. */
export function slowestOf(n: number, sigma: number, rng: RandomStream): number {
  if (!(sigma > 0) || n <= 0) return 1;
  let slowest = Infinity;
  for (let i = 0; i < n; i++) slowest = Math.min(slowest, 1 + sigma * rng.normal(0, 1));
  return Math.max(0.5, Math.min(1, slowest));
}

/**
 * The sustained speed of every GPU of a job, by global rank: a seeded draw per GPU
 * in rank order (so a pipeline stage's slowest is `slowestOf` over its ranks, which
 * the folded step draws from the same stream), times any named straggler's speed.
 */
export function gpuSpeeds(count: number, sigma: number, stragglers: readonly { gpu: number; speed: number }[], rng: RandomStream): Float64Array {
  const speeds = new Float64Array(count);
  for (let g = 0; g < count; g++) speeds[g] = slowestOf(1, sigma, rng);
  for (const { gpu, speed } of stragglers) {
    if (gpu >= 0 && gpu < count) speeds[gpu] = (speeds[gpu] as number) * speed;
  }
  return speeds;
}
