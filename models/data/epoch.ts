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
 * Extra wait at an epoch's first step beyond the steady stall the step already has. A new
 * iterator starts after the previous epoch's last step ends, so the GPUs wait one whole
 * batch through the loader's path (`loaderSeconds`), of which `steadyStallSeconds` is
 * already in every step.
 */
export function epochBoundaryWaitSeconds(loaderSeconds: number, steadyStallSeconds: number, boundary: EpochBoundary): number {
  return boundary === "continuous" ? 0 : Math.max(0, loaderSeconds - steadyStallSeconds);
}
