/**
 * Multi-head latent attention (DeepSeek-V2, arXiv 2405.04434, §2.1.2–2.1.3, Eq. 9–19;
 * DeepSeek-V3, arXiv 2412.19437, §2.1.1): a down projection of the layer input to a
 * kvLoraRank latent c_KV plus one shared rotary key k_R (qkRopeHeadDim), RMSNorm on c_KV,
 * an up projection to each head's key "nope" part (qkNopeHeadDim) and value (vHeadDim);
 * queries likewise through a qLoraRank latent (or a full projection when qLoraRank is 0).
 * The attention core has query/key head dim qkNope + qkRope and value head dim vHeadDim.
 *
 * As Megatron-Core builds it (multi_latent_attention.py): the down projections and the latent
 * norms are duplicated on every tensor rank (with sequence parallelism they run on the rank's
 * token shard and the latents are all-gathered), the up projections are column-parallel and
 * the output projection row-parallel. Parameters per layer as Megatron-LM's
 * theoretical_memory_usage.py and the HuggingFace DeepSeek-V3 checkpoint count them.
 *
 * The flash kernel's efficiency for QK 192 / V 128 stays the calibrated level: FlashAttention-3
 * (Shah et al. 2024, arXiv 2407.08608, Fig. 5, H100 SXM5 BF16 forward, seq 16k) runs head dim
 * 128 at 648 and 256 at 642 TFLOP/s, so 192 lies on a flat stretch; no published timing of the
 * 192/128 backward (FA3 added its forward in Feb 2025, Dao-AILab/flash-attention#1487) was found.
 */
import type { Kernel } from "../compute/kernel.ts";
import type { ModelSpec } from "../scenario.ts";
import { headDim } from "./head-dim.ts";
import { gemmBackward, linear, memory, normBackwardKernel, normKernel, ropeKernel, withQuantize, type BuildShape } from "./kernel-builders.ts";

/** What MLA reads of a layer's shape and per-rank dims (layer-kernels.ts's LayerShape and LayerDims have these). */
type LayerShape = BuildShape & { model: ModelSpec; sequenceParallel: boolean };
type LayerDims = { tokens: number; normTokens: number; headsPerRank: number };
/** A tensor-parallel collective (a StreamCollective of layer-kernels.ts). */
interface StreamCollective {
  op: "all-gather" | "reduce-scatter" | "all-reduce";
  group: "tp";
  bytes: number;
  count: number;
}

export interface MlaDims {
  /** 0: no query compression (a full hidden → heads·qkHeadDim projection). */
  qLoraRank: number;
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
  /** Query and key width per head: qkNopeHeadDim + qkRopeHeadDim. */
  qkHeadDim: number;
}

/** The model's MLA dimensions, or undefined for standard (MHA/GQA) attention. */
export function mlaDims(m: ModelSpec): MlaDims | undefined {
  if (m.kvLoraRank === undefined || m.kvLoraRank <= 0) return undefined;
  const hd = headDim(m);
  const qkNopeHeadDim = m.qkNopeHeadDim ?? hd;
  const qkRopeHeadDim = m.qkRopeHeadDim ?? 0;
  return { qLoraRank: m.qLoraRank ?? 0, kvLoraRank: m.kvLoraRank, qkNopeHeadDim, qkRopeHeadDim, vHeadDim: m.vHeadDim ?? hd, qkHeadDim: qkNopeHeadDim + qkRopeHeadDim };
}

export interface MlaParams {
  /** Split over tensor ranks: the up projections (or the full query projection) and the output projection. */
  sharded: number;
  /** On every tensor rank: the down projections (matrices). */
  duplicatedMatrices: number;
  /** On every tensor rank: the RMSNorm weights of the latents. */
  latentNorms: number;
}

export function mlaParams(m: ModelSpec, d: MlaDims): MlaParams {
  const h = m.hidden;
  const q = d.qLoraRank > 0 ? d.qLoraRank * m.heads * d.qkHeadDim : h * m.heads * d.qkHeadDim;
  const kvUp = d.kvLoraRank * m.heads * (d.qkNopeHeadDim + d.vHeadDim);
  const out = m.heads * d.vHeadDim * h;
  const down = (d.qLoraRank > 0 ? h * d.qLoraRank : 0) + h * (d.kvLoraRank + d.qkRopeHeadDim);
  return { sharded: q + kvUp + out, duplicatedMatrices: down, latentNorms: d.kvLoraRank + d.qLoraRank };
}

/** Matrix parameters one token passes through in the attention block (for FLOP counting). */
export function mlaMatrixParams(m: ModelSpec, d: MlaDims): number {
  const p = mlaParams(m, d);
  return p.sharded + p.duplicatedMatrices;
}

/** Width of what the latents' all-gather (or, without sequence parallelism, backward all-reduce) moves per token. */
function latentWidth(m: ModelSpec, d: MlaDims): number {
  return (d.qLoraRank > 0 ? d.qLoraRank : m.hidden) + d.kvLoraRank + d.qkRopeHeadDim;
}

export interface MlaForward {
  /** GEMMs whose weights take gradients, in forward order. */
  weightGemms: Kernel[];
  kernels: Kernel[];
}

/**
 * From the normalized layer input to Q, K, V as the flash kernel reads them: down projections
 * (on the sequence-parallel shard, or every token when duplicated without it), latent RMSNorms,
 * up projections, RoPE on the query's rotary part and the shared rotary key, and the
 * concatenation of the nope and rotary parts into [tokens, heads, qkHeadDim] Q and K.
 */
export function mlaForward(x: LayerShape, dims: LayerDims, d: MlaDims): MlaForward {
  const m = x.model;
  const e = x.elementBytes;
  const T = dims.tokens;
  const down = x.sequenceParallel ? dims.normTokens : T;
  const h = m.hidden;
  const hpr = dims.headsPerRank;
  const norm = (name: string, width: number): Kernel => normKernel(name, T, width, e);
  const weightGemms: Kernel[] = [];
  const kernels: Kernel[] = [];
  const add = (g: Kernel): void => {
    weightGemms.push(g);
    kernels.push(...withQuantize(g, x));
  };
  if (d.qLoraRank > 0) {
    add(linear("q-down", down, d.qLoraRank, h, x));
    add(linear("kv-down", down, d.kvLoraRank + d.qkRopeHeadDim, h, x));
    kernels.push(norm("q-norm", d.qLoraRank));
    add(linear("q-up", T, hpr * d.qkHeadDim, d.qLoraRank, x));
  } else {
    add(linear("q", T, hpr * d.qkHeadDim, h, x));
    add(linear("kv-down", down, d.kvLoraRank + d.qkRopeHeadDim, h, x));
  }
  kernels.push(norm("kv-norm", d.kvLoraRank));
  add(linear("kv-up", T, hpr * (d.qkNopeHeadDim + d.vHeadDim), d.kvLoraRank, x));
  kernels.push(...mlaRope(x, dims, d, "rope"), memory("mla.qk-concat", 2 * 2 * e * T * hpr * d.qkHeadDim, 0, 2));
  return { weightGemms, kernels };
}

function mlaRope(x: LayerShape, dims: LayerDims, d: MlaDims, name: string): Kernel[] {
  if (d.qkRopeHeadDim === 0) return [];
  const elements = dims.tokens * (dims.headsPerRank + 1) * d.qkRopeHeadDim;
  return [ropeKernel(name, elements, x.elementBytes)];
}

/** Backward of mlaForward, in reverse order (the weight GEMMs' backward from `fwd`). */
export function mlaBackward(x: LayerShape, dims: LayerDims, d: MlaDims, fwd: MlaForward): Kernel[] {
  const e = x.elementBytes;
  const T = dims.tokens;
  const normBwd = (name: string, width: number): Kernel => normBackwardKernel(name, T, width, e, x.gradBytes);
  const byName = new Map(fwd.weightGemms.map((k) => [k.name, k]));
  const back = (name: string): Kernel[] => gemmBackward(byName.get(name)!, e, x, x.fp8);
  const out: Kernel[] = [memory("mla.qk-concat.bwd", 2 * 2 * e * T * dims.headsPerRank * d.qkHeadDim, 0, 2), ...mlaRope(x, dims, d, "rope.bwd")];
  out.push(...back("kv-up"), normBwd("kv-norm.bwd", d.kvLoraRank));
  if (d.qLoraRank > 0) out.push(...back("q-up"), normBwd("q-norm.bwd", d.qLoraRank), ...back("kv-down"), ...back("q-down"));
  else out.push(...back("kv-down"), ...back("q"));
  return out;
}

/**
 * The collective on the latents that replaces standard attention's on its input. Sequence-
 * parallel: the latents (and, without query compression, the hidden state for the query
 * projection) are all-gathered in forward, their gradients reduce-scattered in backward.
 * Without sequence parallelism: nothing in forward, the latent gradients' all-reduce in backward
 * (the duplicated down projections then give every rank the full input gradient). Not a TE
 * userbuffer layer: never overlapped. The output projection's collectives stay as in standard attention.
 */
export function mlaLatentCollective(x: LayerShape, dims: LayerDims, d: MlaDims, backward: boolean): StreamCollective[] {
  const bytes = x.elementBytes * dims.tokens * latentWidth(x.model, d);
  if (x.sequenceParallel) return [{ op: backward ? "reduce-scatter" : "all-gather", group: "tp", bytes, count: 1 }];
  return backward ? [{ op: "all-reduce", group: "tp", bytes, count: 1 }] : [];
}

/**
 * What the attention half keeps for backward beyond the layer input's norm (per micro-batch,
 * one rank): the latents before and after their norms (inputs of the norms and of the up
 * projections), Q, K, V as the flash kernel read them, and its output (input of the output
 * projection). `q` is the bytes per element of a linear layer's saved input (FP8 or e).
 */
export function mlaActivationBytes(x: LayerShape, dims: LayerDims, d: MlaDims, q: number): number {
  const e = x.elementBytes;
  const T = dims.tokens;
  const hpr = dims.headsPerRank;
  const latents = T * ((d.qLoraRank > 0 ? (e + q) * d.qLoraRank : 0) + (e + q) * d.kvLoraRank + e * d.qkRopeHeadDim);
  return latents + e * T * hpr * (2 * d.qkHeadDim + d.vHeadDim);
}
