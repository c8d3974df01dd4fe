/**
 * Epoch boundaries of the input path (docs/data.md, "Epochs"). With PyTorch DataLoader
 * semantics every epoch creates a new iterator whose prefetch queue starts empty, so the
 * epoch's first batch is loaded while the GPUs wait; a sampler that runs across epochs
 * (Megatron-LM's) never empties the queue. The wait is amortised over the epoch's steps.
 */
import type { EpochBoundary } from "./types.ts";

/** Whole global batches in one epoch (a last partial batch is dropped, as drop_last). */
export function stepsPerEpoch(datasetSamples: number, globalBatch: number): number {
  return Math.floor(datasetSamples / globalBatch);
}

/**
 * When a fresh iterator's first step is loaded, in units of the loader's steady time per step.
 * A DataLoader worker builds whole batches (one micro-batch each), the workers in parallel on
 * consecutive batches, each at 1/workers of the loader's throughput: the step's `batches`
 * arrive in ceil(batches/workers) rounds of workers/batches steps each (1 when workers divide
 * the batches; workers/batches when there are more workers than batches).
 */
export function firstStepLoadFactor(workers: number, batches: number): number {
  const w = Math.max(1, workers);
  const m = Math.max(1, batches);
  return (Math.ceil(m / w) * w) / m;
}

/**
 * Extra wait at an epoch's first step beyond the steady stall the step already has. A new
 * iterator starts after the previous epoch's last step ends, so the GPUs wait for the first
 * step's batches through the loader's path (`firstStepSeconds`: the loader's steady time per
 * step times firstStepLoadFactor), of which `steadyStallSeconds` is already in every step.
 */
export function epochBoundaryWaitSeconds(firstStepSeconds: number, steadyStallSeconds: number, boundary: EpochBoundary): number {
  return boundary === "continuous" ? 0 : Math.max(0, firstStepSeconds - steadyStallSeconds);
}
