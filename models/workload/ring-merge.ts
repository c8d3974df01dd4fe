/**
 * The work ring-flash-attention does between its ring steps (cpCommType p2p with
 * cpRingImplementation ring-flash-attn), read in zhuzilin/ring-flash-attention at commit 55ff66f
 * (2024-03-13, what EasyContext's requirements.txt installed in April 2024):
 * ring_flash_attn/zigzag_ring_flash_attn.py, ring_flash_attn.py and utils.py.
 *
 * Forward, per rank: step 0 casts the local block's output to an fp32 accumulator
 * (`block_out.to(float32)`); every later step merges the block's bf16 output into it with
 * `_update_out_and_lse` (a torch.jit.script function: one elementwise pass reading the fp32
 * output and the block's output and writing the fp32 output; counted fused, as TorchScript's
 * default NNC fuser can do on GPU after its profiling runs (docs/source/jit.rst, "Fusion
 * Backends", pytorch/pytorch#78160), a lower bound should it not);
 * the output is cast back to the activation dtype at the end. In the zigzag ring a step after
 * the rank's own (step > rank) merges only the second half of the queries through a slice and
 * writes the slice back (`out[slice_] = slice_out`: one more fp32 read and write of that half).
 *
 * Backward: step 0 casts the block's dQ, dK, dV to fp32; every later step adds the block's
 * gradients into them (`dq += dq_buffer`, `dk += dk_buffer`, `dv += dv_buffer`: read fp32 and
 * bf16, write fp32), all of them or half (zigzag: dQ's second half after the rank's step, dK
 * and dV's first half up to it); dQ, dK and dV are cast back at the end. dK and dV travel
 * round the ring in fp32 (`d_kv_comm.send_recv(dk, ...)` on the fp32 accumulators).
 *
 * Zigzag balances the ranks (each rank's steps are half "all rows", half "half rows"), so the
 * mean rank is used; the contiguous ring (ring_flash_attn_func) skips steps past the rank
 * (causal) and every ring step waits for the last rank, which merges at all cp − 1 steps.
 * The log-sum-exp tensors (one fp32 per query and head) are under 1/headDim of these bytes
 * and are left out.
 */
import type { CpLayout } from "../scenario.ts";

/** Bytes of the fp32 accumulators. */
const ACC = 4;

export interface RingMergeShape {
  cp: number;
  layout: CpLayout;
  /** Bytes of an activation element (the blocks' outputs and gradients). */
  elementBytes: number;
  /** Elements of the rank's attention output (tokens × query heads × value head dim): the forward accumulator. */
  outElements: number;
  /** Elements of dQ plus dK plus dV on the rank: the backward accumulators. */
  gradElements: number;
}

/** Mean number of "all rows" and "half rows" merges over steps 1..cp−1 of the rank that sets the pace. */
function steps(x: RingMergeShape): { full: number; half: number } {
  const later = x.cp - 1;
  return x.layout === "contiguous" ? { full: later, half: 0 } : { full: later / 2, half: later / 2 };
}

/** Forward bytes: cast in, the merges, cast out. */
export function ringMergeForwardBytes(x: RingMergeShape): number {
  const e = x.elementBytes;
  const { full, half } = steps(x);
  // All rows: read fp32 out and the block's output, write fp32 out. Half rows: that on half the
  // rows, then the slice written back into out (fp32 read and write of the half).
  const perElement = 2 * (ACC + e) + full * (2 * ACC + e) + half * ((2 * ACC + e) / 2 + ACC);
  return perElement * x.outElements;
}

/** Backward bytes: cast in, the gradient accumulations, cast out. */
export function ringMergeBackwardBytes(x: RingMergeShape): number {
  const e = x.elementBytes;
  const { full, half } = steps(x);
  // Zigzag: an early step (step ≤ rank) adds all of dQ and half of dK, dV; a late step half of dQ
  // and all of dK, dV: three quarters of the three on the mean (dQ and dK+dV are as large under
  // multi-head attention; with grouped KV heads the halves fall differently but the mean of the
  // two step kinds is still three quarters of the sum). Contiguous: all of each.
  const accumulate = (2 * ACC + e) * (x.layout === "contiguous" ? 1 : 0.75);
  const perElement = 2 * (ACC + e) + (full + half) * accumulate;
  return perElement * x.gradElements;
}

/** Kernel launches of the merges: forward one per step (two for a half-rows step), backward three per step. */
export function ringMergeLaunches(x: RingMergeShape, backward: boolean): number {
  const { full, half } = steps(x);
  return backward ? 6 + 3 * (full + half) : Math.round(2 + full + 2 * half);
}

/** What the dK and dV passed round the ring weigh against K and V: fp32 gradients beside K and V in the activation dtype. */
export function ringGradientExchangeFactor(elementBytes: number): number {
  return 1 + ACC / elementBytes;
}
