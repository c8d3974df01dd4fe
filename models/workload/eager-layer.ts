/**
 * A decoder layer as Hugging Face transformers' eager PyTorch modeling code runs it
 * (workload.layerImplementation: eager), instead of Megatron-Core / Transformer Engine's fused
 * kernels (layer-kernels.ts). Read from transformers' modeling_llama.py of v4.39–v4.41 (the
 * versions EasyContext pins and TE's te_llama tutorials ran with, spring 2024): LlamaRMSNorm,
 * LlamaFlashAttention2 with its per-layer LlamaRotaryEmbedding and rotate_half RoPE, LlamaMLP.
 * Every PyTorch op is its own kernel: memory-bound at the catalog's hbmPeakFraction plus one
 * kernelLaunchSeconds (compute/kernel.ts); the backward is what autograd runs for each op.
 *
 * Bytes per element (e: compute dtype bytes, 2 in BF16; the casts vanish when e = 4):
 * - LlamaRMSNorm forward: to(fp32) e+4, pow(2) 8, mean 4, ·rsqrt 8, to(dtype) 4+e, weight·
 *   2e = 28 + 4e (+ per row: the mean's output, +eps, rsqrt), 8 launches; the fused kernel
 *   moves 2e in one.
 * - its backward: weight·y (grad·w, grad·y, sum over rows) 6e; cast back e+4; ·rsqrt (grad·r,
 *   grad·x, sum over the row) 24; mean's expand/divide 4; pow's backward (x.pow(1) copy, 2·,
 *   grad·) 28; the two fp32 gradients of x added 12; cast back 4+e: 8e + 76, 16 launches.
 * - RoPE (rotate_half) on each of Q and K: q·cos 2e, neg of one half e, cat 2e, ·sin 2e, add
 *   3e = 10e, 5 launches; backward: grad·cos 2e, grad·sin 2e, neg e, two slice_backward
 *   (zeros of the whole tensor + copy of a half) 4e, two adds joining the three gradients 6e
 *   = 15e, 9 launches. cos and sin are recomputed in every layer (7 small kernels on b·s·headDim).
 * - SiLU(gate)·up: silu 2e, mul 3e; backward: mul's two gradients 6e, silu_backward 3e.
 * - Residual adds 3e forward; backward, where the residual meets its branch's gradient, 3e.
 * - Q, K, V and gate, up are separate nn.Linear GEMMs; the input gradients of the three (two)
 *   that read one tensor are added (two adds, one add, 3e each).
 * Memory: autograd keeps the fp32 copy of each norm's input (4 bytes instead of e) besides
 * the normalised e-byte tensor and the GEMM input, the SiLU output besides gate and up, and
 * each layer's cos and sin (eagerExtraActivationBytes).
 */
import type { Kernel } from "../compute/kernel.ts";
import type { ModelSpec, ParallelPlan } from "../scenario.ts";
import { gemmBackward, linear, memory, withQuantize, type BuildShape } from "./kernel-builders.ts";

/** What the eager layer reads of layer-kernels.ts's LayerShape and LayerDims (no import back: layer-kernels imports this). */
type LayerShape = BuildShape & { model: ModelSpec };
interface LayerDims {
  tokens: number;
  normTokens: number;
  headsPerRank: number;
  kvHeadsPerRank: number;
  headDim: number;
  vHeadDim: number;
  ffnPerRank: number;
}

/** Why a model or plan cannot run eager layers (null: it can). HF's Llama-family layer only. */
export function eagerLayerProblem(m: ModelSpec, p: Pick<ParallelPlan, "tpCommOverlap" | "recompute">): string | null {
  if (!m.gatedMlp || m.positionEmbeddings > 0 || m.dropout) return "eager layers are modelled for Llama-family models (gated MLP, rotary positions, no dropout: Hugging Face's LlamaDecoderLayer); this model is not one";
  if (m.experts > 1 || m.kvLoraRank !== undefined) return "eager layers are modelled for dense attention layers (no experts, no latent attention)";
  if (p.tpCommOverlap === true) return "eager layers cannot overlap tensor-parallel communication (parallelism.tpCommOverlap needs Transformer Engine's userbuffer layers)";
  if (p.recompute === "per-op") return "recompute per-op is torchtitan's policy on its own model, not on Hugging Face's eager layers";
  return null;
}

interface Core {
  forward: Kernel[];
  backward: Kernel[];
}

/** Bytes per element of LlamaRMSNorm's forward ops, per row extra, and its launches. */
export function rmsNormEager(e: number): { forward: number; backward: number; rowForward: number; rowBackward: number; forwardLaunches: number; backwardLaunches: number } {
  const cast = e === 4 ? 0 : 1;
  return {
    // to(fp32), pow, mean, ·rsqrt, to(dtype), weight·
    forward: cast * (e + 4) + 8 + 4 + 8 + cast * (4 + e) + 2 * e,
    // weight· bwd, cast bwd, ·rsqrt bwd, mean bwd, pow bwd, add of x's two gradients, cast bwd
    backward: 6 * e + cast * (e + 4) + 24 + 4 + 28 + 12 + cast * (4 + e),
    // mean's output (4), +eps (8), rsqrt (8); backward: rsqrt's (r³, ·−0.5, ·grad: 12 each)
    rowForward: 20,
    rowBackward: 36,
    forwardLaunches: 6 + 2 * cast,
    backwardLaunches: 14 + 2 * cast,
  };
}

/** LlamaRMSNorm over `rows` tokens of width h as eager ops (forward, or autograd's backward as `${name}.bwd`); also the model's final norm. */
export function eagerNorm(name: string, rows: number, h: number, e: number, backward: boolean): Kernel {
  const r = rmsNormEager(e);
  return backward
    ? memory(`${name}.bwd`, r.backward * rows * h + r.rowBackward * rows, 12 * rows * h, r.backwardLaunches)
    : memory(name, r.forward * rows * h + r.rowForward * rows, 6 * rows * h, r.forwardLaunches);
}

/** Forward kernels of one eager layer and the GEMMs whose weights get gradients. */
export function eagerLayerForward(x: LayerShape, d: LayerDims, core: Core): { weightGemms: Kernel[]; kernels: Kernel[] } {
  const e = x.elementBytes;
  const T = d.tokens;
  const Tn = d.normTokens;
  const h = x.model.hidden;
  const hd = d.headDim;
  const q = linear("q", T, d.headsPerRank * hd, h, x);
  const k = linear("k", T, d.kvHeadsPerRank * hd, h, x);
  const v = linear("v", T, d.kvHeadsPerRank * hd, h, x);
  const o = linear("proj", T, h, d.headsPerRank * d.vHeadDim, x);
  const gate = linear("gate", T, d.ffnPerRank, h, x);
  const up = linear("up", T, d.ffnPerRank, h, x);
  const down = linear("down", T, h, d.ffnPerRank, x);
  const ropeElements = T * (d.headsPerRank + d.kvHeadsPerRank) * hd;
  const ffn = T * d.ffnPerRank;
  const kernels: Kernel[] = [
    eagerNorm("ln1", Tn, h, e, false),
    ...[q, k, v].flatMap((g) => withQuantize(g, x)),
    // LlamaRotaryEmbedding per layer: position ids to fp32, inv_freq @ positions, cat, cos, sin, two casts.
    memory("rope.cos-sin", T * (12 + (2 + 4 + 8 + 8 + 2 * (4 + e)) * hd), 3 * T * hd, 7),
    memory("rope", 10 * e * ropeElements, 3 * ropeElements, 10),
    ...core.forward,
    ...withQuantize(o, x),
    memory("attn.residual", 3 * e * Tn * h, Tn * h),
    eagerNorm("ln2", Tn, h, e, false),
    ...withQuantize(gate, x),
    ...withQuantize(up, x),
    memory("act.silu", 2 * e * ffn, 4 * ffn),
    memory("act.mul", 3 * e * ffn, ffn),
    ...withQuantize(down, x),
    memory("mlp.residual", 3 * e * Tn * h, Tn * h),
  ];
  return { weightGemms: [q, k, v, o, gate, up, down], kernels };
}

/** Backward kernels of one eager layer (autograd's order, reversed forward). */
export function eagerLayerBackward(x: LayerShape, d: LayerDims, core: Core, weightGemms: Kernel[]): Kernel[] {
  const e = x.elementBytes;
  const T = d.tokens;
  const Tn = d.normTokens;
  const h = x.model.hidden;
  const ffn = T * d.ffnPerRank;
  const ropeElements = T * (d.headsPerRank + d.kvHeadsPerRank) * d.headDim;
  const byName = new Map(weightGemms.map((g) => [g.name, g]));
  const back = (name: string): Kernel[] => gemmBackward(byName.get(name)!, e, x, x.fp8);
  const add = (name: string, rows: number, count = 1): Kernel => memory(name, 3 * e * rows * h * count, rows * h * count, count);
  return [
    ...back("down"),
    memory("act.mul.bwd", 6 * e * ffn, 2 * ffn, 2),
    memory("act.silu.bwd", 3 * e * ffn, 6 * ffn),
    ...back("up"),
    ...back("gate"),
    add("mlp.input-grad-add", T),
    eagerNorm("ln2", Tn, h, e, true),
    add("attn.residual.bwd", Tn),
    ...back("proj"),
    ...core.backward,
    memory("rope.bwd", 15 * e * ropeElements, 5 * ropeElements, 18),
    ...back("v"),
    ...back("k"),
    ...back("q"),
    add("qkv.input-grad-add", T, 2),
    eagerNorm("ln1", Tn, h, e, true),
    add("mlp.residual.bwd", Tn),
  ];
}

/**
 * Bytes one eager layer keeps for backward beyond the fused layer's (layerActivationBytes), per
 * micro-batch, unless the layer is recomputed whole: per norm the fp32 copy of its input
 * (4 bytes; the fused norm keeps its e-byte input, eager keeps the normalised tensor instead),
 * the SiLU output beside gate and up (e per ffn element), and the layer's cos and sin.
 */
export function eagerExtraActivationBytes(x: LayerShape, d: LayerDims): number {
  const e = x.elementBytes;
  return 2 * 4 * d.normTokens * x.model.hidden + e * d.tokens * d.ffnPerRank + 2 * e * d.tokens * d.headDim;
}
