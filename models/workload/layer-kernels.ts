/**
 * The kernels one tensor-parallel rank runs for one micro-batch: per
 * transformer layer (forward, backward, recompute), for the embedding, and for
 * the output projection and loss — each with the FLOPs it executes and the HBM
 * bytes it moves, plus the tensor-parallel collectives it waits for.
 *
 * Conventions: T = micro-batch tokens on this rank (b·s/cp); tensors are stored
 * in `e` bytes per element; GEMM bytes are one read of each input and one write
 * of the output (tiles re-read from L2, not HBM). Attention with the flash
 * kernel never writes the s×s scores; the unfused path (pre-2022 stacks such as
 * Megatron-LM 2021) materialises them, with a fused scale-mask-softmax.
 */
import type { Kernel } from "../compute/kernel.ts";
import type { Precision } from "../hardware/types.ts";
import type { AttentionKernel, CpCommType, CpLayout, CpRingImplementation, LayerImplementation, ModelSpec, MoeDispatch, MoeRoutingSpec, ParallelPlan, RecomputeMode, RecomputeModule } from "../scenario.ts";
import type { Fp8Settings } from "./fp8.ts";
import { windowBlockFraction } from "./attention-variants.ts";
import { mlaBackward, mlaDims, mlaForward, mlaLatentCollective } from "./mla.ts";
import { headDim } from "./head-dim.ts";
import { activation, gemm, gemmBackward, gradAccumulateKernel, highPrecision, inHighPrecision, linear, memory, normBackwardKernel, normKernel, ropeKernel, withQuantize } from "./kernel-builders.ts";
import type { DeepepRouting } from "../collectives/deepep.ts";
import { deepepRouting, expertFfnOf } from "./moe.ts";
import { moeAllToAllBytes, moeExpertTpBytes, moeMlpBackward, moeMlpForward, sharedExpertGemms, type MoeBuilders, type MoeLayerInput } from "./moe-kernels.ts";
import { BALANCED_LOAD, type RoutingLoad } from "./moe-routing.ts";
import { eagerLayerBackward, eagerLayerForward, eagerNorm } from "./eager-layer.ts";
import type { QuantPadding } from "./moe-padding.ts";
import { recomputeModuleKernels } from "./recompute-modules.ts";
import { ringGradientExchangeFactor, ringMergeBackwardBytes, ringMergeForwardBytes, ringMergeLaunches, type RingMergeShape } from "./ring-merge.ts";
import type { RematSpec } from "./remat-names.ts";
import { rematRecomputeKernels } from "./remat-policy.ts";
import { collectiveMatmulLayer, windowedRerun } from "./xla-collective-matmul.ts";

export interface LayerShape {
  model: ModelSpec;
  microBatch: number;
  seqLength: number;
  tp: number;
  cp: number;
  ep: number;
  sequenceParallel: boolean;
  attention: AttentionKernel;
  /** Bytes per activation element. */
  elementBytes: number;
  /** Bytes per gradient element accumulated across micro-batches (main grads). */
  gradBytes: number;
  /**
   * How a weight gradient joins the gradient buffer. Fused: the wgrad GEMM
   * accumulates into the buffer in its epilogue (Megatron-LM
   * --gradient-accumulation-fusion since 2022, Transformer Engine). Unfused:
   * the GEMM writes a fresh gradient and a separate elementwise kernel adds it in.
   */
  gradAccumulationFusion: boolean;
  /**
   * Unfused only: the share of micro-batches whose weight gradients take that
   * separate add. PyTorch autograd keeps the first micro-batch's gradient as
   * the buffer (no add) when gradients stay in the parameter dtype, so
   * (m−1)/m; Megatron's DDP hook adds into zeroed fp32 main grads every time, so 1.
   */
  gradAccumulateShare: number;
  /** FP8 run (workload.precision fp8): the recipe; absent in BF16/FP16 runs. */
  fp8?: Fp8Settings;
  /** Tensor-parallel collectives pipelined with their GEMMs (parallelism.tpCommOverlap, with sequence parallelism). */
  tpCommOverlap?: boolean;
  /** XLA's windowed einsum of each TP collective with its dot (parallelism.tpCollectiveMatmul; xla-collective-matmul.ts). */
  tpCollectiveMatmul?: "one-way" | "two-way";
  /** Flash backward as two kernels each recomputing the scores (workload.flashBackward split); absent: fused. */
  flashBackward?: "split";
  /** The flash kernel's query and key block (workload.flashBlock); absent: QUERY_BLOCK. */
  flashBlock?: number;
  /** How context parallelism exchanges K and V (parallelism.cpCommType; default p2p, the overlapped ring). */
  cpCommType?: CpCommType;
  /** How a causal sequence is split over the context-parallel ranks (parallelism.cpLayout; default zigzag). */
  cpLayout?: CpLayout;
  /** cpCommType a2a: K and V cross the all-to-alls repeated to every query head (parallelism.cpRepeatKv). */
  cpRepeatKv?: boolean;
  /** cpCommType p2p: the ring's code, for its per-step merges (parallelism.cpRingImplementation; ring-merge.ts). */
  cpRingImplementation?: CpRingImplementation;
  /** This layer's sliding window (keys per query) when shorter than the sequence; absent: global causal attention. */
  window?: number;
  /** MoE: tensor-parallel degree of the routed experts (parallelism.expertTp; default tp). */
  expertTp?: number;
  /** MoE: the busiest EP rank's load and the kept share of routed tokens (workload.moe; default balanced). */
  moeLoad?: RoutingLoad;
  /** MoE: what the expert-parallel all-to-alls run beside (parallelism.moeOverlap; absent: exposed). */
  moeOverlap?: ParallelPlan["moeOverlap"];
  /** MoE: dispatch and combine by DeepEP's node-deduplicating kernels instead of NCCL all-to-all (parallelism.moeDispatch). */
  moeDispatch?: MoeDispatch;
  /** Hugging Face eager PyTorch ops instead of fused kernels (workload.layerImplementation; absent: fused). */
  layerImplementation?: LayerImplementation;
  /** MoE: workload.moe as written (capacity factor, padding: the router's kernels). */
  moeRouting?: MoeRoutingSpec;
  /** MoE: host wait of the dispatcher's device-to-host synchronisation per layer forward (moe-host-sync.ts). */
  moeHostSyncSeconds?: number;
  /** MoE, FP8: how each expert's rows are aligned for its grouped GEMM (moe-padding.ts). */
  moePadding?: QuantPadding;
  /** Recompute selective: Megatron-Core's --recompute-modules (recompute-modules.ts); absent: [core_attn]. */
  recomputeModules?: readonly RecomputeModule[];
  /** Recompute full keeping these named tensors (parallelism.remat; remat-policy.ts). */
  remat?: RematSpec;
  /** tp > 1 with parallelism.lossParallel false: the logits are all-gathered and every tensor rank runs the loss over the whole vocabulary. */
  replicatedLoss?: true;
  /** Recompute per-op with parallelism.perOpSavesAttention false: the attention forward runs again in backward. */
  perOpRecomputesAttention?: true;
}


/** A collective the compute stream waits for, on the tensor-parallel group unless stated. */
export interface StreamCollective {
  op: "all-reduce" | "all-gather" | "reduce-scatter" | "all-to-all";
  group: "tp" | "ep" | "cp" | "etp";
  /** Bytes of the full (unsharded) buffer on each rank. */
  bytes: number;
  count: number;
  /**
   * Runs alongside these kernels of the list (by name) instead of after them: the GEMM is
   * split into `splits` chunks pipelined with the collective's chunks, so the pair takes about
   * max(GEMM, collective) plus one chunk of the shorter (pipeline fill); splits 0: bulk overlap,
   * both run whole side by side, no fill. windowed: XLA's windowed einsum (xla-collective-matmul.ts),
   * its permutes this many times slower than the collective, kept only where XLA's cost check says it pays.
   */
  overlap?: { kernels: string[]; splits: number; windowed?: number };
  /** MoE dispatch/combine by DeepEP's kernels (parallelism.moeDispatch deepep): `bytes` is one copy of the tokens, sent to topK experts. */
  deepep?: DeepepRouting;
}

export interface KernelList {
  kernels: Kernel[];
  collectives: StreamCollective[];
}

const QUERY_BLOCK = 128;

export interface LayerDims {
  /** Tokens per micro-batch on this rank (queries). */
  tokens: number;
  /** Tokens per rank for norms, dropout, residual (sharded by sequence parallelism). */
  normTokens: number;
  headsPerRank: number;
  kvHeadsPerRank: number;
  headDim: number;
  /** Query/key and value widths per head in the attention core (both headDim except under MLA). */
  qkHeadDim: number;
  vHeadDim: number;
  ffnPerRank: number;
  /** Keys each query attends over (the whole sequence, also under context parallelism). */
  keyLength: number;
  queryLength: number;
}

export function layerDims(x: LayerShape): LayerDims {
  const m = x.model;
  const tokens = (x.microBatch * x.seqLength) / x.cp;
  const mla = mlaDims(m);
  const hd = headDim(m);
  return {
    tokens,
    normTokens: x.sequenceParallel ? tokens / x.tp : tokens,
    headsPerRank: m.heads / x.tp,
    // MLA's up projection gives every head its own key and value.
    kvHeadsPerRank: mla !== undefined ? m.heads / x.tp : Math.max(1, m.kvHeads / x.tp),
    headDim: hd,
    qkHeadDim: mla?.qkHeadDim ?? hd,
    vHeadDim: mla?.vHeadDim ?? hd,
    ffnPerRank: m.ffn / x.tp,
    keyLength: x.seqLength,
    queryLength: x.seqLength / x.cp,
  };
}

/** Causal flash attention skips key blocks above the diagonal: (nb+1)/(2·nb) of the square. */
function causalFraction(seq: number, block = QUERY_BLOCK): number {
  const nb = Math.ceil(seq / block);
  return (nb + 1) / (2 * nb);
}

/** Share of a causal score matrix at or below the diagonal, by rows of `sk` keys (queries are the last `sq` positions). */
function causalRowFraction(sq: number, sk: number): number {
  // Row i (0-based, of sq) sees sk − sq + i + 1 keys.
  return (sk - sq + (sq + 1) / 2) / sk;
}

/**
 * Rotary position embedding on the queries and keys (models without learned positions):
 * Megatron-Core's fused RoPE kernel (TE fused_rope / apex fused_rotary_positional_embedding),
 * called once for Q and once for K, reads and writes each in place; its backward rotates the
 * gradients the same way.
 */
function rope(x: LayerShape, d: LayerDims, name: string): Kernel[] {
  if (x.model.positionEmbeddings > 0) return [];
  const elements = d.tokens * (d.headsPerRank + d.kvHeadsPerRank) * d.headDim;
  return [ropeKernel(name, elements, x.elementBytes)];
}

/** Kernels of the attention core (scores, softmax, weighted sum) of one layer, both directions. */
function attentionCore(x: LayerShape, d: LayerDims): { forward: Kernel[]; backward: Kernel[] } {
  const e = x.elementBytes;
  const b = x.microBatch;
  const ah = d.headsPerRank;
  const sq = d.queryLength;
  const sk = d.keyLength;
  const hd = d.headDim;
  // Head dims of the two products: QK over qkHeadDim, AV over vHeadDim (equal but for MLA).
  const qkd = d.qkHeadDim;
  const vd = d.vHeadDim;
  if (x.attention === "flash") {
    // FP8 attention (TE's FP8 DotProductAttention) reads and writes Q, K, V and O in one byte.
    const fp8 = x.fp8?.attention === true;
    const qe = fp8 ? 1 : e;
    // A sliding window skips the key blocks wholly outside it as the causal mask skips those above the diagonal.
    const block = x.flashBlock ?? QUERY_BLOCK;
    const visited = x.window !== undefined ? windowBlockFraction(sk, x.window, block) : causalFraction(sk, block);
    const flops = 2 * b * sq * sk * ah * (qkd + vd) * visited * cpImbalance(x);
    const bytes = qe * (b * sq * ah * (qkd + vd) + b * sk * d.kvHeadsPerRank * (qkd + vd)) + 4 * b * sq * ah;
    const precision: Precision | undefined = fp8 ? "fp8" : highPrecision(x);
    const fwd: Kernel = { name: "attention.flash", kind: "attention", flops, bytes, attentionBlocks: b * ah * Math.ceil(sq / QUERY_BLOCK), attentionKeys: sk * visited, attentionHeadDims: [qkd, vd], launches: 1, ...(precision ? { precision } : {}) };
    // Flash backward recomputes the scores and runs five GEMM-like products for forward's two; split
    // into a dK/dV and a dQ kernel, each recomputes the scores and dP: seven, one forward more.
    const bwd = x.flashBackward === "split" ? 3.5 : 2.5;
    const backward: Kernel = { ...fwd, name: "attention.flash.bwd", flops: bwd * flops, bytes: bwd * bytes, backward: true };
    const merge = ringMerge(x, d);
    if (merge === undefined) return { forward: [fwd], backward: [backward] };
    return { forward: [fwd, merge.forward], backward: [backward, merge.backward] };
  }
  // Megatron-LM's unfused core (megatron/model/transformer.py ParallelAttention, 2020-22):
  // baddbmm Q·Kᵀ into [b·np, sq, sk], scaled_upper_triang_masked_softmax, dropout, bmm with V.
  const scores = b * ah * sq * sk;
  const qk = inHighPrecision(gemm("attention.qk", sq, sk, qkd, e, b * ah), x);
  const av = inHighPrecision(gemm("attention.av", sq, vd, sk, e, b * ah), x);
  const dropout = x.model.dropout;
  // The causal softmax kernel (megatron/fused_kernels/scaled_upper_triang_masked_softmax.h)
  // loads only the row's first `blockIdx.x + 1` scores (forward: inputs; backward: incoming
  // gradients and saved outputs) and writes the whole row, zeros above the diagonal.
  const causal = causalRowFraction(sq, sk);
  const forward: Kernel[] = [qk, memory("attention.softmax", (causal + 1) * e * scores, 5 * causal * scores)];
  if (dropout) forward.push(memory("attention.dropout", (2 * e + 1) * scores, scores));
  // The weighted sum comes out as [b·np, sq, hn]; `permute(2, 0, 1, 3).contiguous()` copies
  // it back to the [s, b, h] layout the output projection reads.
  const context = e * d.tokens * ah * vd;
  forward.push(av, memory("attention.context-permute", 2 * context));
  // Backward: the permuted gradient is reshaped (copied) for the bmm, and the Q, K and V
  // gradients, produced per head, are concatenated into the fused QKV layout
  // (the backward of split_tensor_along_last_dim).
  const backward: Kernel[] = [memory("attention.context-permute.bwd", 2 * context), ...gemmBackward(av, e, null)];
  if (dropout) backward.push(memory("attention.dropout.bwd", (2 * e + 1) * scores, scores));
  const qkvWidth = hd === qkd && hd === vd ? (ah + 2 * d.kvHeadsPerRank) * hd : (ah + d.kvHeadsPerRank) * qkd + d.kvHeadsPerRank * vd;
  backward.push(
    memory("attention.softmax.bwd", (2 * causal + 1) * e * scores, 4 * causal * scores),
    ...gemmBackward(qk, e, null),
    memory("attention.qkv-concat.bwd", 2 * e * d.tokens * qkvWidth),
  );
  return { forward, backward };
}

/** ring-flash-attention's per-step fp32 merges (ring-merge.ts), with cpCommType p2p and cpRingImplementation set. */
function ringMerge(x: LayerShape, d: LayerDims): { forward: Kernel; backward: Kernel } | undefined {
  if (x.cpRingImplementation === undefined || x.cp <= 1 || (x.cpCommType ?? "p2p") !== "p2p") return undefined;
  const tokens = x.microBatch * d.queryLength;
  const shape: RingMergeShape = {
    cp: x.cp,
    layout: x.cpLayout ?? "zigzag",
    elementBytes: x.elementBytes,
    outElements: tokens * d.headsPerRank * d.vHeadDim,
    gradElements: tokens * (d.headsPerRank * d.qkHeadDim + d.kvHeadsPerRank * (d.qkHeadDim + d.vHeadDim)),
  };
  return {
    forward: memory("attention.ring-merge", ringMergeForwardBytes(shape), shape.outElements * (x.cp - 1), ringMergeLaunches(shape, false)),
    backward: { ...memory("attention.ring-merge.bwd", ringMergeBackwardBytes(shape), shape.gradElements * (x.cp - 1), ringMergeLaunches(shape, true)), backward: true },
  };
}

interface LayerForward {
  /** GEMM kernels whose weights get gradients (for the backward). */
  weightGemms: Kernel[];
  kernels: Kernel[];
}

function layerForward(x: LayerShape): LayerForward {
  const m = x.model;
  const d = layerDims(x);
  if (x.layerImplementation === "eager") return eagerLayerForward(x, d, attentionCore(x, d));
  const e = x.elementBytes;
  const T = d.tokens;
  const Tn = d.normTokens;
  const h = m.hidden;
  const mask = m.dropout ? 1 : 0;
  const norm = (name: string): Kernel => normKernel(name, Tn, h, e);
  const residual = (name: string): Kernel => memory(name, (3 * e + mask) * Tn * h, 3 * Tn * h);

  const mla = mlaDims(m);
  const proj = linear("proj", T, h, d.headsPerRank * d.vHeadDim, x);
  let weightGemms: Kernel[];
  let kernels: Kernel[];
  if (mla !== undefined) {
    const a = mlaForward(x, d, mla);
    weightGemms = [...a.weightGemms, proj];
    kernels = [norm("ln1"), ...a.kernels, ...attentionCore(x, d).forward, ...withQuantize(proj, x), residual("attn.residual"), norm("ln2")];
  } else {
    const qkv = linear("qkv", T, (d.headsPerRank + 2 * d.kvHeadsPerRank) * d.headDim, h, x);
    weightGemms = [qkv, proj];
    kernels = [norm("ln1"), ...withQuantize(qkv, x), ...rope(x, d, "rope"), ...attentionCore(x, d).forward, ...withQuantize(proj, x), residual("attn.residual"), norm("ln2")];
  }

  const gate = m.gatedMlp ? 2 : 1;
  if (m.experts > 1) {
    const moe = moeMlpForward(moeInput(x, d), moeBuilders(x));
    weightGemms.push(...moe.weightGemms);
    kernels.push(...moe.kernels);
  } else {
    const fc1 = linear("fc1", T, d.ffnPerRank * gate, h, x);
    const fc2 = linear("fc2", T, h, d.ffnPerRank, x);
    weightGemms.push(fc1, fc2);
    kernels.push(...withQuantize(fc1, x), activation(memory("act", e * T * d.ffnPerRank * (gate + 1), 8 * T * d.ffnPerRank * gate), gate), ...withQuantize(fc2, x));
  }
  kernels.push(residual("mlp.residual"));
  return { weightGemms, kernels };
}

function moeInput(x: LayerShape, d: LayerDims): MoeLayerInput {
  return {
    model: x.model, tokens: d.tokens, normTokens: d.normTokens, tp: x.tp, ep: x.ep, expertTp: x.expertTp ?? x.tp, elementBytes: x.elementBytes, load: x.moeLoad ?? BALANCED_LOAD,
    ...(x.moeRouting !== undefined ? { routing: x.moeRouting } : {}),
    ...(x.moeHostSyncSeconds !== undefined ? { hostSyncSeconds: x.moeHostSyncSeconds } : {}),
    ...(x.moePadding !== undefined ? { padding: x.moePadding } : {}),
  };
}

function moeBuilders(x: LayerShape): MoeBuilders {
  return {
    linear: (name, m, n, k, batch) => linear(name, m, n, k, x, batch),
    highGemm: (name, m, n, k) => inHighPrecision(gemm(name, m, n, k, x.elementBytes), x),
    memory,
    withQuantize: (k) => withQuantize(k, x),
    backward: (fwd) => gemmBackward(fwd, x.elementBytes, x, x.fp8),
  };
}

/** Tensor-parallel (and expert, context-parallel) collectives of one layer in one direction. */
function layerCollectives(x: LayerShape, backward: boolean): StreamCollective[] {
  const d = layerDims(x);
  const bytes = x.elementBytes * d.tokens * x.model.hidden;
  const out: StreamCollective[] = [];
  // A MoE layer's routed experts take the sequence-parallel tokens as they are (dispatch, then the
  // expert-TP gather); only shared experts, a dense TP MLP, gather the sequence.
  const mlpGather = x.model.experts > 1 && (x.model.sharedExperts ?? 0) === 0 ? 0 : 1;
  const mla = mlaDims(x.model);
  if (x.tp > 1 && mla !== undefined) {
    // MLA: the collective on the attention input becomes the latents' (mla.ts); the rest as below.
    const latent: StreamCollective[] = mlaLatentCollective(x, d, mla, backward);
    const input = backward ? "qkv.wgrad" : "qkv";
    const mlp: StreamCollective[] = mlpGather === 1 ? [{ op: "all-gather", group: "tp", bytes, count: 1 }, { op: "reduce-scatter", group: "tp", bytes, count: 1 }] : [];
    if (x.sequenceParallel && x.tpCommOverlap) out.push(...overlappedTp(x, bytes, backward).flatMap((c): StreamCollective[] => (c.overlap?.kernels[0] === input ? latent : [c])));
    else if (x.sequenceParallel) out.push(...latent, { op: backward ? "all-gather" : "reduce-scatter", group: "tp", bytes, count: 1 }, ...mlp);
    else out.push(...latent, ...(backward ? [] : [{ op: "all-reduce" as const, group: "tp" as const, bytes, count: 1 }]), { op: "all-reduce", group: "tp", bytes, count: 1 });
  } else if (x.tp > 1) {
    if (x.sequenceParallel && x.tpCollectiveMatmul !== undefined) out.push(...collectiveMatmulLayer(x, x.tpCollectiveMatmul, bytes, backward, mlpGather));
    else if (x.sequenceParallel && x.tpCommOverlap) out.push(...overlappedTp(x, bytes, backward));
    else if (x.sequenceParallel) {
      out.push({ op: "all-gather", group: "tp", bytes, count: 1 + mlpGather }, { op: "reduce-scatter", group: "tp", bytes, count: 1 + mlpGather });
    } else {
      out.push({ op: "all-reduce", group: "tp", bytes, count: 2 });
    }
  }
  if (x.model.experts > 1 && x.ep > 1) {
    // Dispatch and combine: each token's hidden state to topK experts and back.
    const moe = moeInput(x, d);
    const beside = moeOverlapKernels(x, d, moe, backward, out);
    const overlap = beside.length > 0 ? { overlap: { kernels: beside, splits: 0 } } : {};
    if (x.moeDispatch === "deepep") out.push({ op: "all-to-all", group: "ep", bytes: moeAllToAllBytes(moe) / x.model.topK, count: 2, deepep: deepepRouting(x.model), ...overlap });
    else out.push({ op: "all-to-all", group: "ep", bytes: moeAllToAllBytes(moe), count: 2, ...overlap });
  }
  if (x.model.experts > 1) {
    // The received copies gathered over the expert-TP group before the experts, reduce-scattered after.
    const etpBytes = moeExpertTpBytes(moeInput(x, d));
    if (etpBytes > 0) out.push({ op: "all-gather", group: "etp", bytes: etpBytes, count: 1 }, { op: "reduce-scatter", group: "etp", bytes: etpBytes, count: 1 });
  }
  if (x.cp > 1) out.push(cpCollective(x, d, backward));
  return out;
}

/**
 * Kernels the MoE all-to-alls run beside (bulk, on a communication stream). shared-experts: the
 * shared experts' GEMMs (Megatron-Core --moe-shared-expert-overlap). attention: the attention
 * block's GEMMs and core, standing for the other micro-batch's compute that Megatron-Core's
 * --overlap-moe-expert-parallel-comm (combined 1F1B) and DeepSeek-V3's DualPipe run the
 * all-to-alls under. Kernels another collective already overlaps are left to it.
 */
function moeOverlapKernels(x: LayerShape, d: LayerDims, moe: MoeLayerInput, backward: boolean, others: StreamCollective[]): string[] {
  if (x.moeOverlap === "shared-experts") return sharedExpertGemms(moe, backward);
  if (x.moeOverlap !== "attention") return [];
  const taken = new Set(others.flatMap((c) => c.overlap?.kernels ?? []));
  const core = attentionCore(x, d);
  const names = backward
    ? ["proj.dgrad", "proj.wgrad", ...core.backward.map((k) => k.name), "qkv.dgrad", "qkv.wgrad"]
    : ["qkv", ...core.forward.map((k) => k.name), "proj"];
  return names.filter((n) => !taken.has(n));
}

/**
 * Sequence-parallel TP collectives under Transformer Engine's userbuffers overlap, by the
 * default methods of initialize_ub (TE main, Aug 2026, transformer_engine/pytorch/module/base.py):
 * ring exchange (tp splits) for the all-gathers feeding qkv/fc1 forward and proj/fc2 dgrad,
 * pipelined reduce-scatter (4 splits) after proj/fc2 forward, bulk overlap of the dgrad
 * reduce-scatter with qkv/fc1 wgrad. The backward re-gather of the sequence-parallel input for
 * wgrad (bulk with the dgrad GEMM) stays uncounted, as with overlap off. Expert MLPs are not
 * TE userbuffer layers: their collectives stay exposed. In FP8 runs the overlapped all-gathers
 * move FP8 data (initialize_ub: "AllGather buffers use fp8 when using fp8 recipe").
 */
function overlappedTp(x: LayerShape, bytes: number, backward: boolean): StreamCollective[] {
  const ring = x.tp;
  const pipeline = 4;
  const gatherBytes = x.fp8 ? bytes / x.elementBytes : bytes;
  const pair = (op: "all-gather" | "reduce-scatter", kernel: string, splits: number): StreamCollective => ({ op, group: "tp", bytes: op === "all-gather" ? gatherBytes : bytes, count: 1, overlap: { kernels: [kernel], splits } });
  const moe = x.model.experts > 1;
  const out: StreamCollective[] = backward
    ? [pair("all-gather", "proj.dgrad", ring), pair("reduce-scatter", "qkv.wgrad", 0)]
    : [pair("all-gather", "qkv", ring), pair("reduce-scatter", "proj", pipeline)];
  if (moe) {
    if ((x.model.sharedExperts ?? 0) > 0) out.push({ op: "all-gather", group: "tp", bytes, count: 1 }, { op: "reduce-scatter", group: "tp", bytes, count: 1 });
  }
  else if (backward) out.push(pair("all-gather", "fc2.dgrad", ring), pair("reduce-scatter", "fc1.wgrad", 0));
  else out.push(pair("all-gather", "fc1", ring), pair("reduce-scatter", "fc2", pipeline));
  return out;
}

/**
 * K and V across the context-parallel group. p2p (Megatron-Core's default --cp-comm-type,
 * TE's ring attention; also ring-flash-attention's): cp−1 ring steps, each block's transfer
 * posted before the attention of the block in hand, so they overlap (cp splits); backward
 * circulates K, V and their gradients (twice the bytes). all-gather: K and V gathered before
 * the attention (Llama 3's all-gather CP), exposed. a2a (DeepSpeed-Ulysses): all-to-alls of
 * Q, K, V before and of the output after the attention, exposed; with cpRepeatKv K and V carry
 * every query head (repeated before the all-to-all), as many bytes as Q and the output.
 */
function cpCollective(x: LayerShape, d: LayerDims, backward: boolean): StreamCollective {
  const kv = x.elementBytes * d.tokens * d.kvHeadsPerRank * (d.qkHeadDim + d.vHeadDim);
  const type = x.cpCommType ?? "p2p";
  if (type === "a2a") {
    const a2aKv = x.cpRepeatKv === true ? x.elementBytes * d.tokens * d.headsPerRank * (d.qkHeadDim + d.vHeadDim) : kv;
    return { op: "all-to-all", group: "cp", bytes: a2aKv + x.elementBytes * d.tokens * d.headsPerRank * (d.qkHeadDim + d.vHeadDim), count: 1 };
  }
  if (type === "all-gather" || x.attention !== "flash") return { op: "all-gather", group: "cp", bytes: kv * x.cp, count: 1 };
  // Backward: K and V, and their gradients (in fp32 with ring-flash-attention, ring-merge.ts).
  const gradients = x.cpRingImplementation === "ring-flash-attn" ? ringGradientExchangeFactor(x.elementBytes) : 2;
  return { op: "all-gather", group: "cp", bytes: kv * x.cp * (backward ? gradients : 1), count: 1, overlap: { kernels: [backward ? "attention.flash.bwd" : "attention.flash"], splits: x.cp } };
}

/**
 * Causal attention under context parallelism split into cp contiguous blocks: rank i's
 * queries see i+1 blocks, so the last rank computes cp − 1/2 blocks' worth while a balanced
 * (zigzag: 2·cp chunks, rank i holding i and 2·cp−1−i, as Megatron-Core's
 * get_batch_on_this_cp_rank and ring-flash-attention's zigzag_ring) rank computes cp/2; every
 * ring step waits for the slowest. Ulysses (a2a) gives each rank whole sequences: balanced.
 */
function cpImbalance(x: LayerShape): number {
  if (x.cp <= 1 || x.cpLayout !== "contiguous" || x.cpCommType === "a2a") return 1;
  return (2 * x.cp - 1) / x.cp;
}

export function layerForwardKernels(x: LayerShape): KernelList {
  return { kernels: layerForward(x).kernels, collectives: layerCollectives(x, false) };
}

/** What the backward pass re-runs before it can start, by recompute mode. */
export function layerRecomputeKernels(x: LayerShape, mode: RecomputeMode): KernelList {
  if (mode === "none") return { kernels: [], collectives: [] };
  if (mode === "full" && x.remat !== undefined) return windowedRerun(x, rematRecomputeKernels(x, layerDims(x), x.remat, layerForwardKernels(x)));
  if (mode === "full") {
    // The recomputed forward reuses the FP8 weights cast in the first forward (TE caches them).
    const list = layerForwardKernels(x);
    return { ...list, kernels: list.kernels.filter((k) => !k.name.endsWith(".fp8-cast-weight")) };
  }
  if (mode === "per-op") return perOpRecompute(x);
  const d = layerDims(x);
  if (x.recomputeModules !== undefined) {
    const moeBlock = x.model.experts > 1 ? moeMlpForward(moeInput(x, d), moeBuilders(x)).kernels : [];
    const bytes = x.elementBytes * d.tokens * x.model.hidden;
    const mlpCollectives: StreamCollective[] = x.tp <= 1 ? [] : x.sequenceParallel ? [{ op: "all-gather", group: "tp", bytes, count: 1 }, { op: "reduce-scatter", group: "tp", bytes, count: 1 }] : [{ op: "all-reduce", group: "tp", bytes, count: 1 }];
    return recomputeModuleKernels(x, { kernels: layerForward(x).kernels, attentionCore: attentionCore(x, d).forward, moeBlock, collectives: layerCollectives(x, false), mlpCollectives });
  }
  return { kernels: attentionCore(x, d).forward, collectives: [] };
}

/**
 * torchtitan's per-op selective AC keeps attention's output and every other matmul's in forward
 * order (Q, V, gate or fc1, down); backward re-runs the K projection, the output projection, the
 * up projection (fc2 without a gate), the norms, RoPE and the activation. The tensor-parallel
 * collectives of the recomputed projections are not re-run here (torchtitan saves the
 * reduce-scatter outputs).
 */
function perOpRecompute(x: LayerShape): KernelList {
  const m = x.model;
  const d = layerDims(x);
  const T = d.tokens;
  const h = m.hidden;
  // MoE: the routed copies of the expert-TP group, (T/tp)·topK·expertTp, on expertFfn/expertTp columns.
  const etp = x.expertTp ?? x.tp;
  const tokensMlp = m.experts > 1 ? (T / x.tp) * m.topK * etp : T;
  const ffn = m.experts > 1 ? expertFfnOf(m) / etp : d.ffnPerRank;
  const mla = mlaDims(m);
  // MLA: the key's producer is the kv up projection.
  const k = mla !== undefined ? linear("kv-up.recompute", T, d.headsPerRank * (mla.qkNopeHeadDim + mla.vHeadDim), mla.kvLoraRank, x) : linear("k.recompute", T, d.kvHeadsPerRank * d.headDim, h, x);
  const proj = linear("proj.recompute", T, h, d.headsPerRank * d.vHeadDim, x);
  const mlp = m.gatedMlp ? linear("fc1-up.recompute", tokensMlp, ffn, h, x) : linear("fc2.recompute", tokensMlp, h, ffn, x);
  const elementwise = layerForward(x).kernels.filter((kn) => kn.name === "ln1" || kn.name === "ln2" || kn.name.endsWith("-norm") || kn.name.startsWith("rope") || kn.name === "act" || kn.name === "expert.act");
  const gemms = [k, proj, mlp].flatMap((g) => withQuantize(g, x)).filter((kn) => !kn.name.endsWith(".fp8-cast-weight"));
  const attention = x.perOpRecomputesAttention === true ? attentionCore(x, d).forward : [];
  return { kernels: [...elementwise, ...gemms, ...attention], collectives: [] };
}

export function layerBackwardKernels(x: LayerShape): KernelList {
  const m = x.model;
  const d = layerDims(x);
  const e = x.elementBytes;
  const Tn = d.normTokens;
  const T = d.tokens;
  const h = m.hidden;
  const mask = m.dropout ? 1 : 0;
  const fwd = layerForward(x);
  if (x.layerImplementation === "eager") return { kernels: [...eagerLayerBackward(x, d, attentionCore(x, d), fwd.weightGemms), ...biasGradKernels(x, d)], collectives: layerCollectives(x, true) };
  const kernels: Kernel[] = [];
  const normBwd = (name: string): Kernel => normBackwardKernel(name, Tn, h, e, x.gradBytes);
  const residualBwd = (name: string): Kernel => memory(name, (2 * e + mask) * Tn * h, Tn * h);
  const gate = m.gatedMlp ? 2 : 1;
  kernels.push(residualBwd("mlp.residual.bwd"));
  const byName = new Map(fwd.weightGemms.map((k) => [k.name, k]));
  if (m.experts > 1) {
    kernels.push(...moeMlpBackward(moeInput(x, d), moeBuilders(x), byName));
  } else {
    kernels.push(...gemmBackward(byName.get("fc2")!, e, x, x.fp8));
    kernels.push(activation(memory("act.bwd", e * T * d.ffnPerRank * (2 * gate + 1), 12 * T * d.ffnPerRank * gate), gate));
    kernels.push(...gemmBackward(byName.get("fc1")!, e, x, x.fp8));
  }
  kernels.push(normBwd("ln2.bwd"), residualBwd("attn.residual.bwd"));
  kernels.push(...gemmBackward(byName.get("proj")!, e, x, x.fp8));
  const mla = mlaDims(m);
  if (mla !== undefined) kernels.push(...attentionCore(x, d).backward, ...mlaBackward(x, d, mla, fwd));
  else {
    kernels.push(...attentionCore(x, d).backward, ...rope(x, d, "rope.bwd"));
    kernels.push(...gemmBackward(byName.get("qkv")!, e, x, x.fp8));
  }
  kernels.push(normBwd("ln1.bwd"), ...biasGradKernels(x, d));
  return { kernels, collectives: layerCollectives(x, true) };
}

/**
 * Bias gradients of a dense layer with biases (GPT-style): Megatron-LM's linear layers compute
 * grad_output.sum(dim=0) as a reduction of its own (ColumnParallelLinear/RowParallelLinear
 * backward, and autograd's reduction of the fused bias-GeLU and bias-dropout-add gradients),
 * one read of each output gradient: QKV and fc1 over the tokens, the row-parallel proj and fc2
 * over the sequence-parallel tokens. In FP8 runs Transformer Engine folds it into the cast.
 */
function biasGradKernels(x: LayerShape, d: LayerDims): Kernel[] {
  const m = x.model;
  if (!m.bias || m.experts > 1 || x.fp8) return [];
  const qkvWidth = (d.headsPerRank + 2 * d.kvHeadsPerRank) * d.headDim;
  const gate = m.gatedMlp ? 2 : 1;
  const elements = d.tokens * (qkvWidth + d.ffnPerRank * gate) + 2 * d.normTokens * m.hidden;
  return [memory("bias-grad", x.elementBytes * elements, elements, 4)];
}

/** Input embedding (first pipeline stage): a gather, plus learned positions. */
export function embeddingKernels(x: LayerShape, direction: "forward" | "backward"): KernelList {
  const d = layerDims(x);
  const e = x.elementBytes;
  const h = x.model.hidden;
  const pos = x.model.positionEmbeddings > 0 ? 1 : 0;
  // Vocab-parallel embedding: each rank looks up its rows, then the partial sums are reduced.
  const collectives: StreamCollective[] = x.tp > 1 ? [{ op: x.sequenceParallel ? "reduce-scatter" : "all-reduce", group: "tp", bytes: e * d.tokens * h, count: 1 }] : [];
  if (direction === "forward") {
    return { kernels: [memory("embedding", (2 + 2 * pos) * e * d.tokens * h)], collectives };
  }
  // PyTorch's dense embedding backward (embedding_dense_backward) zero-fills a gradient of the
  // whole (vocab-parallel) table and adds the token rows into it; that gradient then joins the
  // buffer like any weight gradient, by a separate add (no GEMM to fuse it into): Megatron's DDP
  // hook every micro-batch, or autograd's accumulation when gradients stay in the parameter dtype.
  const table = (x.model.vocab / x.tp) * h;
  const share = x.gradAccumulationFusion ? 1 : x.gradAccumulateShare;
  return {
    kernels: [
      memory("embedding.bwd", (3 + 2 * pos) * e * d.tokens * h + e * table),
      ...gradAccumulateKernel("embedding", table, { ...x, gradAccumulateShare: share }),
    ],
    collectives,
  };
}

/**
 * Final norm, output projection over the vocabulary, and the (vocab-parallel, fp32) cross-entropy.
 * With a replicated loss (lossParallel false: DTensor ColwiseParallel with output_layouts
 * Replicate) the column-parallel logits are all-gathered on the compute stream (tokens × vocab
 * elements, the loss waits for them) and every rank runs the loss passes over the whole
 * vocabulary; their backward hands each rank its column shard locally (Replicate → Shard is a
 * chunk, no collective), and no vocab-parallel all-reduces run.
 */
export function headKernels(x: LayerShape, direction: "forward" | "backward"): KernelList {
  const d = layerDims(x);
  const e = x.elementBytes;
  const h = x.model.hidden;
  const vocabPerRank = x.model.vocab / x.tp;
  const T = d.tokens;
  const replicated = x.replicatedLoss === true && x.tp > 1;
  const lossVocab = replicated ? x.model.vocab : vocabPerRank;
  // Megatron's output layer is a plain ColumnParallelLinear, not a TE module: BF16 in FP8 runs.
  const logits = inHighPrecision(gemm("logits", T, vocabPerRank, h, e), x);
  const lossCollectives: StreamCollective[] =
    x.tp <= 1 ? [] : replicated ? [{ op: "all-gather", group: "tp", bytes: e * T * x.model.vocab, count: 1 }] : [{ op: "all-reduce", group: "tp", bytes: 3 * 4 * T, count: 1 }];
  const gatherIn: StreamCollective[] = x.tp > 1 && x.sequenceParallel ? [{ op: "all-gather", group: "tp", bytes: e * T * h, count: 1 }] : [];
  // Megatron-LM's default loss (no --fp16-lm-cross-entropy, no loss fusion) casts the
  // logits to fp32 and runs vocab_parallel_cross_entropy as separate passes over them.
  // Forward, per logit: the cast (read e, write 4), max (read 4), subtract the max in
  // place (4 + 4), exp in place (4 + 4), sum (read 4), divide in place to keep the
  // softmax for backward (4 + 4). Backward: scale the saved softmax by the incoming
  // gradient in place (4 + 4), then the cast's backward (read 4, write e).
  const cast = e < 4 ? e + 4 : 0;
  const lossForwardBytes = cast + 4 + 8 + 8 + 4 + 8;
  const lossBackwardBytes = 8 + (e < 4 ? 4 + e : 0);
  // Eager layers come with the model's final norm as eager ops too (HF's LlamaModel.norm is a LlamaRMSNorm).
  const eager = x.layerImplementation === "eager";
  if (direction === "forward") {
    return {
      kernels: [eager ? eagerNorm("final.ln", d.normTokens, h, e, false) : normKernel("final.ln", d.normTokens, h, e), logits, memory("cross-entropy", lossForwardBytes * T * lossVocab, 5 * T * lossVocab, 6)],
      collectives: [...gatherIn, ...lossCollectives],
    };
  }
  return {
    kernels: [memory("cross-entropy.bwd", lossBackwardBytes * T * lossVocab, 2 * T * lossVocab, 2), ...gemmBackward(logits, e, x), eager ? eagerNorm("final.ln", d.normTokens, h, e, true) : normBackwardKernel("final.ln.bwd", d.normTokens, h, e, 0)],
    collectives: x.tp > 1 ? [{ op: x.sequenceParallel ? "reduce-scatter" : "all-reduce", group: "tp", bytes: e * T * h, count: 1 }] : [],
  };
}
