/**
 * The memory-bound copies per-parameter FSDP (PyTorch FSDP2, `fully_shard`) runs around each
 * wrap unit's collectives. FSDP2 shards every parameter as its own DTensor, so the collectives
 * need flat buffers that the parameters are copied into and out of (pytorch/pytorch
 * torch/distributed/fsdp/_fully_shard/_fsdp_collectives.py, 2025, PyTorch 2.7 to 2.10):
 *
 * - all-gather copy-in (`foreach_all_gather`, on the all-gather copy-in stream): the rank's
 *   shards cast to param_dtype into one flat buffer (`_get_param_all_gather_inputs`' foreach
 *   copy, only when the sharded parameter's dtype differs), then copied into its slot of the
 *   all-gather output (`all_gather_copy_in`): shard elements × (s + e when cast) + 2e bytes.
 * - all-gather copy-out (`foreach_all_gather_copy_out`, on the compute stream once the gather
 *   is waited for): `split_with_sizes_copy` of the whole gathered buffer into each parameter's
 *   unsharded storage: unit elements × 2e bytes, every time the unit is gathered.
 * - reduce-scatter copy-in (`foreach_reduce`, on the compute stream before the reduce-scatter
 *   stream waits for it): `chunk_cat` of the unsharded gradients (compute dtype) into the
 *   reduce-scatter input in reduce_dtype: unit elements × (e + g) bytes.
 * With the gradient sync skipped on all but the last micro-batch (set_requires_gradient_sync(False),
 * fsdpGradSync last-micro-batch), FSDP2 keeps each parameter's unsharded gradient in reduce_dtype
 * (`FSDPParam.to_accumulated_grad_if_needed`: a cast, e + g bytes per element, on the first
 * micro-batch; `accumulate_unsharded_grad_if_needed`: read e and g, write g, on later ones), and the
 * last micro-batch's chunk_cat reads the accumulated reduce-dtype gradient (2g). A shared plan runs
 * every micro-batch but the last, so it carries the first one's cast: with more than two micro-
 * batches the middle ones' accumulation (g more per element) is not counted.
 * Gradient division needs no kernel for fp32 or bf16 reductions (`_get_gradient_divide_factors`:
 * NCCL's ReduceOp.AVG), and with an fp32 shard and fp32 reduce_dtype the reduce-scatter output
 * is the sharded gradient without a cast, so neither is added.
 *
 * Flat-parameter FSDP (FSDP1's FlatParameter) gathers straight into the flat parameter the
 * layers view and reduces its flat gradient in place: none of these copies (its casts to the
 * compute dtype run on the shard only).
 */
import type { Kernel } from "../compute/kernel.ts";
import type { Scenario } from "../scenario.ts";
import { elementBytes, gradElementBytes, stateBytesPerParam } from "../workload/memory.ts";

export interface FsdpCopyBytes {
  /** HBM bytes read + written before a unit's all-gather, on the copy-in stream. */
  gatherIn: number;
  /** After each all-gather of the unit, on the compute stream. */
  gatherOut: number;
  /** Before each reduce-scatter of the unit's gradients, on the compute stream. */
  reduceIn: number;
}

/**
 * Bytes of a unit's copies for `unitParams` elements (per rank before sharding) sharded over
 * `shardSize` ranks; e the gathered (compute) dtype's bytes, s the sharded parameter's, g the
 * reduce dtype's.
 */
export function perParameterCopyBytes(unitParams: number, shardSize: number, e: number, s: number, g: number): FsdpCopyBytes {
  const shard = unitParams / shardSize;
  return { gatherIn: shard * ((s !== e ? s + e : 0) + 2 * e), gatherOut: unitParams * 2 * e, reduceIn: unitParams * (e + g) };
}

/**
 * Bytes of a unit's gradient handling when the sync is skipped on all but the last micro-batch:
 * `accumulate` after each other micro-batch's backward, `reduceIn` (accumulation, then chunk_cat
 * from the reduce dtype) before the last one's reduce-scatter.
 */
export function noSyncGradBytes(unitParams: number, e: number, g: number): { accumulate: number; reduceIn: number } {
  return { accumulate: unitParams * (e + g), reduceIn: unitParams * (e + 2 * g + 2 * g) };
}

export interface FsdpCopyKernels {
  gatherIn: Kernel[];
  gatherOut: Kernel[];
  /** Before the unit's reduce-scatter (compute stream). */
  reduceIn: Kernel[];
  /** After a backward whose gradient sync is skipped (compute stream). */
  accumulate: Kernel[];
}

/**
 * The copies of one unit as kernels; none with the flat-parameter layout (the default). `noSync`:
 * the run skips the gradient sync on all but the last of its micro-batches.
 */
export function fsdpCopyKernels(sc: Scenario, shardSize: number, unitParams: number, noSync = false): FsdpCopyKernels {
  // One rank (zero 3 with nothing to shard over): no collectives to feed, as stacks skip FSDP there.
  if (sc.parallelism.fsdpLayout !== "per-parameter" || unitParams <= 0 || shardSize <= 1) return { gatherIn: [], gatherOut: [], reduceIn: [], accumulate: [] };
  const e = elementBytes(sc.workload.precision);
  const g = gradElementBytes(sc.parallelism.gradReduceDtype);
  const b = perParameterCopyBytes(unitParams, shardSize, e, stateBytesPerParam(sc).weights, g);
  const acc = noSyncGradBytes(unitParams, e, g);
  // One foreach copy (or two, with the cast) and one split/cat kernel each; no arithmetic.
  const copy = (name: string, bytes: number, launches: number): Kernel[] => [{ name, kind: "memory", flops: 0, bytes, launches }];
  const cast = stateBytesPerParam(sc).weights !== e;
  return {
    gatherIn: copy("fsdp.copy-in", b.gatherIn, cast ? 2 : 1),
    gatherOut: copy("fsdp.copy-out", b.gatherOut, 1),
    reduceIn: noSync ? copy("fsdp.accumulate+chunk-cat", acc.reduceIn, 2) : copy("fsdp.chunk-cat", b.reduceIn, 1),
    accumulate: noSync ? copy("fsdp.accumulate", acc.accumulate, 1) : [],
  };
}
