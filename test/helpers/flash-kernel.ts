import type { Kernel } from "../../models/compute/kernel.ts";

/** One flash-attention call of `batchHeads` (sequences × heads) query rows of `seq`, as models/workload/layer-kernels.ts builds it. */
export interface FlashCall {
  batchHeads: number;
  seq: number;
  headDim: number;
  causal: boolean;
  backward?: boolean;
  fp8?: boolean;
  /** Query-key and value head dims, when the kernel's head-dim grid matters. */
  headDims?: readonly [number, number];
}

/**
 * The kernel trainsim's layer builder makes for that call: 128-row query blocks, causal diagonal blocks
 * counted whole ((nb + 1)/(2·nb) of the square visited), backward 2.5 × the forward's FLOPs.
 */
export function flashKernel(x: FlashCall): Kernel {
  const nb = Math.ceil(x.seq / 128);
  const visited = x.causal ? (nb + 1) / (2 * nb) : 1;
  return {
    name: "attention.flash",
    kind: "attention",
    flops: (x.backward === true ? 2.5 : 1) * 2 * x.seq * x.seq * x.batchHeads * 2 * x.headDim * visited,
    bytes: 0,
    attentionBlocks: x.batchHeads * nb,
    attentionKeys: x.seq * visited,
    launches: 0,
    ...(x.headDims !== undefined ? { attentionHeadDims: x.headDims } : {}),
    ...(x.backward === true ? { backward: true } : {}),
    ...(x.fp8 === true ? { precision: "fp8" as const } : {}),
  };
}
