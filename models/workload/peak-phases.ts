/**
 * Two refinements of the per-GPU peak that the plain sum of parts over-counts.
 *
 * 1. Phases of the backward (applied under XLA, whose buffer assignment reuses memory by
 *    liveness; PyTorch stacks keep the plain sum, summedPhases). The loss's buffers (the logits and their gradient) and a
 *    recomputed layer's transient set are never live together: the output layer's backward
 *    consumes and frees the logits' gradient before the last block's backward starts, and
 *    that is where recomputation happens (Megatron-LM's CheckpointFunction.backward and
 *    PyTorch's torch.utils.checkpoint re-run the forward inside the block's backward; JAX's
 *    jax.checkpoint inside the layer's VJP). So the peak is the stored state plus the larger
 *    of the loss phase (loss buffers, the output layer's gathered unit) and the layer phase
 *    (recompute transient, a block's gathered unit).
 *
 * 2. XLA's FSDP (MaxText on TPU: parameters sharded over the fsdp mesh axis, layers under
 *    jax.lax.scan). There is no flat-parameter unit: the SPMD partitioner all-gathers each
 *    weight where the scan body uses it and turns each weight-gradient dot whose contracting
 *    (batch) dimension is sharded into a local dot plus a reduce-scatter of that one tensor
 *    (no bucketing). MaxText gathers inside the scan iteration, with no look-ahead to the next
 *    layer (maxtext pull request #4493, 2026: "parameter All-Gather collectives lie exposed on
 *    the critical execution path before every layer's forward", which its lookahead prefetch
 *    then adds); the recipes turn on the scheduler's memory-pressure tracking
 *    (xla_tpu_enable_scheduler_memory_pressure_tracking, benchmarks/xla_flags_library.py
 *    HOST_OFFLOAD_FLAGS), so any overlap across iterations is fitted into what memory allows.
 *    What a scan iteration cannot do without: its layer's weights gathered in the compute
 *    dtype, and the gradient of its largest weight tensor in flight twice (one being computed,
 *    the previous one being reduce-scattered), in the compute dtype: JAX transposes the cast
 *    of the fp32 parameter to bf16 into a cast of the cotangent after the dot, so the
 *    reduce-scatter the partitioner puts at the dot carries the dot's bf16 output.
 *    Reasoned from the compiler's documented behaviour, not from a measured profile.
 */
import type { ModelSpec } from "../scenario.ts";
import { expertFfnOf, isMoe, sharedExpertsOf } from "./moe.ts";

/** Per-rank dimensions this module reads (layer-kernels.ts's LayerDims). */
interface Dims {
  headsPerRank: number;
  qkHeadDim: number;
  vHeadDim: number;
  ffnPerRank: number;
}

/**
 * Elements of the largest single weight tensor of one layer on one rank: the query or output
 * projection, one MLP matrix, or, for a MoE layer, one of the stacked expert matrices
 * (experts/ep × hidden × expertFfn/expertTp, as MaxText's wi_0 / wi_1 / wo and Megatron's
 * grouped GEMM weights hold them) or the shared experts' matrix.
 */
export function largestLayerTensor(m: ModelSpec, d: Dims, p: { tp: number; ep: number; expertTp?: number }): number {
  const h = m.hidden;
  const attention = h * d.headsPerRank * Math.max(d.qkHeadDim, d.vHeadDim);
  if (!isMoe(m)) return Math.max(attention, h * d.ffnPerRank);
  const etp = p.expertTp ?? p.tp;
  const experts = (m.experts / p.ep) * h * (expertFfnOf(m) / etp);
  const shared = (sharedExpertsOf(m) * expertFfnOf(m) * h) / p.tp;
  return Math.max(attention, experts, shared);
}

/**
 * XLA FSDP bytes in flight at each unit (one unit = one layer, or the output layer, or the
 * embedding): the unit's parameters gathered, plus two copies of its largest tensor's
 * gradient, all in the compute dtype (`elementBytes`).
 */
export function xlaGatheredBytes(units: readonly number[], largest: readonly number[], elementBytes: number): number[] {
  return units.map((params, i) => (params + 2 * (largest[i] as number)) * elementBytes);
}

export interface PhaseParts {
  /** Loss buffers (0 on a stage without the loss). */
  loss: number;
  /** Gathered FSDP bytes while the output layer runs its backward (0 without ZeRO-3 or the loss). */
  gatheredAtLoss: number;
  /** A recomputed layer's transient set (0 without recompute). */
  transient: number;
  /** Gathered FSDP bytes while a block runs its backward. */
  gatheredAtLayers: number;
  /** Gathered FSDP bytes while the embedding runs its backward, after every block's (0 if it has no unit of its own here). */
  gatheredAtEmbedding?: number;
}

/**
 * The plain sum kept for PyTorch stacks: the loss and the transient set both counted, with the
 * largest gathered unit. Their published peaks are the caching allocator's max reserved, which
 * keeps freed blocks (the loss's) cached; with the phases split, the 26 cases that state a peak
 * moved from a median |error| of 3.4 % to 6.4 % (18 of them further below the published peak).
 */
export function summedPhases(p: PhaseParts): { activations: number; gathered: number } {
  return { activations: p.loss + p.transient, gathered: Math.max(p.gatheredAtLoss, p.gatheredAtLayers, p.gatheredAtEmbedding ?? 0) };
}

/** The phase that sets the peak, with its activation part (loss or transient) and its gathered bytes. */
export function peakPhase(p: PhaseParts): { activations: number; gathered: number } {
  const phases = [
    { activations: p.transient, gathered: p.gatheredAtLayers },
    { activations: p.loss, gathered: p.gatheredAtLoss },
    { activations: 0, gathered: p.gatheredAtEmbedding ?? 0 },
  ];
  return phases.reduce((a, b) => (b.activations + b.gathered > a.activations + a.gathered ? b : a));
}

/**
 * The largest tensor of each FSDP unit in backward order, as memory.ts lists the units: the
 * output layer (vocab × hidden / tp; with tied embeddings the same table), the MTP depths after
 * it, the blocks (a MoE model's dense first layers last), the embedding.
 */
export function unitLargestTensors(a: {
  model: ModelSpec;
  dims: Dims;
  denseDims: Dims;
  plan: { tp: number; ep: number; expertTp?: number };
  units: number;
  head: boolean;
  embedding: boolean;
  mtp: number;
  denseLayers: number;
}): number[] {
  const table = (a.model.vocab * a.model.hidden) / a.plan.tp;
  const main = largestLayerTensor(a.model, a.dims, a.plan);
  const dense = a.denseLayers > 0 ? largestLayerTensor({ ...a.model, experts: 1 }, a.denseDims, a.plan) : 0;
  const out: number[] = [];
  if (a.head) out.push(table);
  for (let i = 0; i < a.mtp; i++) out.push(main);
  const blocks = a.units - out.length - (a.embedding ? 1 : 0);
  for (let i = 0; i < blocks; i++) out.push(i >= blocks - a.denseLayers ? dense : main);
  if (a.embedding) out.push(table);
  return out;
}
