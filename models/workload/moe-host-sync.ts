/**
 * The blocking device-to-host synchronisation of a dropless MoE layer. Megatron-Core's
 * MoEAlltoAllTokenDispatcher (core_v0.12.0 and later, megatron/core/transformer/moe/token_dispatcher.py
 * preprocess / _maybe_dtoh_and_synchronize) copies the token counts per expert to the host on a
 * side stream and waits for them (cudaStreamSynchronize) once per layer forward: before the EP
 * all-to-all (its split sizes), before the first permutation (a capacity factor without padding:
 * the kept count) or before returning (no EP or TP: the grouped GEMM's m_splits). The host cannot
 * enqueue the rest of the layer until the counts arrive, so the GPU's queue drains and the
 * stream idles for one device-to-host round trip; the launches after it are trainsim's serial
 * launch delays already. Padding to capacity (--moe-pad-expert-input-to-capacity) fixes every
 * size on the host: no synchronisation. The backward reuses the forward's sizes: none.
 * DeepEP's normal dispatch waits on the host for the received counts too unless given
 * num_worst_tokens (deep_ep/buffer.py Buffer.dispatch: 'if specified, there will be no CPU sync',
 * intranode only), which Megatron-Core's flex dispatcher does not pass (fused_a2a.py FusedDispatch):
 * one synchronisation per layer forward as well.
 *
 * Not for XLA stacks (TPU: every shape static at compile time).
 */
import type { MoeDispatch, MoeRoutingSpec } from "../scenario.ts";

/**
 * One synchronous round trip: a kernel launched and waited for by the host, 9.65 µs (CSCS
 * ReFrame gpu_kernel_latency_check reference, reframe-hpc/reframe
 * cscs-checks/microbenchmarks/gpu/kernel_latency/kernel_latency.py, 'ault:amda100' sync launch
 * latency; A100, CUDA 11). ASSUMPTION: the same on every NVIDIA and AMD GPU host (no per-GPU figure
 * found), as the catalog's asynchronous launch latency is.
 */
export const HOST_SYNC_SECONDS = 9.65e-6;

export interface HostSyncInput {
  dispatch: MoeDispatch | undefined;
  routing: MoeRoutingSpec | undefined;
  /** The accelerator's scale-up fabric is TPU ICI (an XLA stack). */
  xla: boolean;
}

/** Seconds the stream waits on the host per MoE layer forward (0: no synchronisation); `dispatch` either way. */
export function moeHostSyncSeconds(x: HostSyncInput): number {
  if (x.xla) return 0;
  if (x.routing?.padToCapacity === true && x.routing.capacityFactor !== undefined) return 0;
  return HOST_SYNC_SECONDS;
}
