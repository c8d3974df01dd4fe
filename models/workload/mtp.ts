/**
 * Multi-token prediction (DeepSeek-V3, arXiv 2412.19437, §2.2, Eq. 21–25): depth k takes the
 * previous depth's hidden state and the embedding of the token k ahead, RMSNorms both,
 * projects their concatenation (2h → h) with M_k, runs one transformer block and the shared
 * output head with its cross-entropy. Megatron-Core places the MTP modules with the output
 * layer on the last pipeline stage, which then also holds a copy of the embedding (shared with
 * the first stage as tied embeddings are). Here: the kernels of a depth besides its block and
 * head (which the step adds from the layer and head lists).
 */
import type { Kernel } from "../compute/kernel.ts";
import type { ModelSpec } from "../scenario.ts";
import { gemmBackward, linear, memory, normBackwardKernel, normKernel, withQuantize } from "./kernel-builders.ts";
import { embeddingKernels, layerDims, type KernelList, type LayerShape, type StreamCollective } from "./layer-kernels.ts";

export function mtpDepths(m: ModelSpec): number {
  return m.mtpLayers ?? 0;
}

/** The embedding lookup, the two input norms and the projection M (column-parallel) of one depth. */
export function mtpInputKernels(x: LayerShape, direction: "forward" | "backward"): KernelList {
  const d = layerDims(x);
  const e = x.elementBytes;
  const h = x.model.hidden;
  const Tn = d.normTokens;
  const proj = linear("mtp.proj", d.tokens, h / x.tp, 2 * h, x);
  const embedding = embeddingKernels(x, direction);
  // The projection's h/tp-wide outputs are gathered along the hidden dimension for the block
  // (Megatron-Core's MTP layer); its backward reduces the input gradient's partial sums.
  const gather: StreamCollective[] = x.tp > 1 ? [{ op: direction === "forward" ? "all-gather" : "reduce-scatter", group: "tp", bytes: e * d.tokens * h, count: 1 }] : [];
  if (direction === "forward") {
    const norms: Kernel = normKernel("mtp.norms", Tn, h, e, 2);
    const concat: Kernel = memory("mtp.concat", 2 * 2 * e * d.tokens * h);
    return { kernels: [...embedding.kernels, norms, concat, ...withQuantize(proj, x)], collectives: [...embedding.collectives, ...gather] };
  }
  const normsBwd: Kernel = normBackwardKernel("mtp.norms.bwd", Tn, h, e, x.gradBytes, 2);
  return { kernels: [...gemmBackward(proj, e, x, x.fp8), memory("mtp.concat.bwd", 2 * 2 * e * d.tokens * h), normsBwd, ...embedding.kernels], collectives: [...gather, ...embedding.collectives] };
}
