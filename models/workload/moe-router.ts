/**
 * The router's elementwise and reduction kernels beside its gate GEMM, as Megatron-Core's
 * TopKRouter runs them unfused (core_v0.12.0, megatron/core/transformer/moe/router.py
 * aux_loss_load_balancing; moe_utils.py topk_softmax_with_capacity, switch_load_balancing_loss_func,
 * save_to_aux_losses_tracker): each is one PyTorch op, one launch, over the [tokens, experts] score
 * matrix of the rank's sequence-parallel tokens, the logits in the activation dtype (the router's
 * default dtype), the aux-loss scores in fp32.
 *
 * Forward, softmax after top-k (moe_router_pre_softmax false):
 *  - top-k over the logits (read e per score), softmax of the k picked and its cast (T·k: no
 *    [T, E] traffic);
 *  - the dense probability map: zeros_like (write e) and scatter;
 *  - the routing map: zeros_like (write e), .int() (read e, write 4), scatter, .bool() (read 4, write 1);
 *  - tokens per expert: a sum over the tokens of the map (read 1);
 *  - aux loss: softmax of every logit in fp32 (read e, write 4), its sum over the tokens (read 4),
 *    then expert-sized products and sums, the scaling, the tracker's add (5 launches, no [T, E] traffic).
 * With a capacity factor: top-k over the tokens of each expert (read e), the capacity mask
 * (zeros_like write e, scatter, .bool() read e write 1), and the masking product (read e + 1, write e;
 * without padding also the logical_and of the two maps, read 2, write 1).
 * Backward (autograd of the same): the masking product's (read e + 1, write e), the scatter's
 * gather and the softmax's on T·k, the top-k's scatter into zeros (write e), the aux-loss sum's
 * expansion (write 4) and the fp32 softmax's backward (read 8, write 4) with its cast (read 4,
 * write e), and the sum of the two gradients of the logits (read 2e, write e).
 * Sigmoid scoring has the same passes (the sigmoid where the softmax is).
 */
import type { Kernel } from "../compute/kernel.ts";

export interface RouterShape {
  /** Tokens the router sees on this rank (the sequence-parallel share). */
  tokens: number;
  experts: number;
  topK: number;
  /** Bytes per logit (the activation dtype). */
  elementBytes: number;
  /** Tokens dropped over an expert's capacity (workload.moe.capacityFactor set). */
  capacity: boolean;
  /** Padded to capacity: the masked map is the capacity mask itself (no logical_and). */
  padToCapacity: boolean;
}

type MemoryKernel = (name: string, bytes: number, flops?: number, launches?: number) => Kernel;

export function routerForwardKernels(r: RouterShape, memory: MemoryKernel): Kernel[] {
  const te = r.tokens * r.experts;
  const e = r.elementBytes;
  const out: Kernel[] = [
    memory("router.topk", e * te + 8 * r.tokens * r.topK, te, 3),
    memory("router.probs-map", e * te, 0, 2),
    memory("router.routing-map", (e + e + 4 + 4 + 1) * te, 0, 4),
    memory("router.tokens-per-expert", te, te, 1),
    memory("router.aux-loss", (e + 4 + 4) * te, 6 * te, 7),
  ];
  if (r.capacity) {
    const mask = r.padToCapacity ? 0 : 3;
    out.push(memory("router.capacity", (e + e + e + 1 + (e + 1 + e) + mask) * te, 2 * te, r.padToCapacity ? 5 : 6));
  }
  return out;
}

export function routerBackwardKernels(r: RouterShape, memory: MemoryKernel): Kernel[] {
  const te = r.tokens * r.experts;
  const e = r.elementBytes;
  const out: Kernel[] = [];
  if (r.capacity) out.push(memory("router.capacity.bwd", (e + 1 + e) * te, te, 1));
  out.push(
    memory("router.topk.bwd", e * te + 12 * r.tokens * r.topK, 2 * r.tokens * r.topK, 4),
    memory("router.aux-loss.bwd", (4 + 8 + 4 + 4 + e) * te, 6 * te, 4),
    memory("router.grad-sum", 3 * e * te, te, 1),
  );
  return out;
}
