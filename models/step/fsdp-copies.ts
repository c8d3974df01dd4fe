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

/** The copies of one unit as kernels; none with the flat-parameter layout (the default). */
export function fsdpCopyKernels(sc: Scenario, shardSize: number, unitParams: number): { gatherIn: Kernel[]; gatherOut: Kernel[]; reduceIn: Kernel[] } {
  // One rank (zero 3 with nothing to shard over): no collectives to feed, as stacks skip FSDP there.
  if (sc.parallelism.fsdpLayout !== "per-parameter" || unitParams <= 0 || shardSize <= 1) return { gatherIn: [], gatherOut: [], reduceIn: [] };
  const e = elementBytes(sc.workload.precision);
  const b = perParameterCopyBytes(unitParams, shardSize, e, stateBytesPerParam(sc).weights, gradElementBytes(sc.parallelism.gradReduceDtype));
  // One foreach copy (or two, with the cast) and one split/cat kernel each; no arithmetic.
  const copy = (name: string, bytes: number, launches: number): Kernel[] => [{ name, kind: "memory", flops: 0, bytes, launches }];
  const cast = stateBytesPerParam(sc).weights !== e;
  return { gatherIn: copy("fsdp.copy-in", b.gatherIn, cast ? 2 : 1), gatherOut: copy("fsdp.copy-out", b.gatherOut, 1), reduceIn: copy("fsdp.chunk-cat", b.reduceIn, 1) };
}
