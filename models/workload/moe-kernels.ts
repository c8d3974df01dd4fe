/**
 * The MLP half of a MoE layer on one rank: router, token permutes, routed experts as grouped
 * GEMMs, shared experts, and the expert-parallel all-to-alls, as Megatron-Core's
 * MoEAlltoAllTokenDispatcher runs them (megatron/core/transformer/moe/token_dispatcher.py):
 * router and top-k on the rank's sequence-parallel tokens (T/tp); permute of their top-k copies
 * by expert; all-to-all dispatch over the EP group; with expert tensor parallelism an all-gather
 * of the received copies over the expert-TP group (and a reduce-scatter after); with several
 * local experts the received chunks re-sorted by expert (sort_chunks_by_idxs); the experts'
 * fc1, activation and fc2 as grouped GEMMs on expertFfn/expertTp columns; the inverse sort,
 * all-to-all combine, and unpermute (the top-k weighted sum back into token order).
 *
 * Kernel builders come from layer-kernels.ts (precision, FP8 casts, backward GEMMs), passed in.
 */
import type { Kernel } from "../compute/kernel.ts";
import { activation } from "./kernel-builders.ts";
import type { ModelSpec, MoeRoutingSpec } from "../scenario.ts";
import { expertFfnOf, sharedExpertsOf } from "./moe.ts";
import type { RoutingLoad } from "./moe-routing.ts";
import { routerBackwardKernels, routerForwardKernels, type RouterShape } from "./moe-router.ts";
import { NO_PADDING, type QuantPadding } from "./moe-padding.ts";
import { expertCoreSplit } from "./megablox-tiles.ts";

export interface MoeBuilders {
  /** A linear layer's forward GEMM at the run's precision (FP8 where the recipe puts it). */
  linear(name: string, m: number, n: number, k: number, batch?: number): Kernel;
  /** A GEMM kept at high precision (the router). */
  highGemm(name: string, m: number, n: number, k: number): Kernel;
  memory(name: string, bytes: number, flops?: number, launches?: number): Kernel;
  /** Forward kernels of a linear layer: its FP8 casts (if any), then the GEMM. */
  withQuantize(k: Kernel): Kernel[];
  /** dgrad and wgrad of a forward GEMM, with gradient accumulation and FP8 casts. */
  backward(fwd: Kernel): Kernel[];
}

export interface MoeLayerInput {
  model: ModelSpec;
  /** Tokens per micro-batch of the rank's tensor-parallel group (the shared experts' input). */
  tokens: number;
  /** Tokens for the router (sequence-parallel share). */
  normTokens: number;
  tp: number;
  ep: number;
  /** Tensor-parallel degree of the routed experts (parallelism.expertTp, default tp). */
  expertTp: number;
  elementBytes: number;
  load: RoutingLoad;
  /** workload.moe as written: a capacity factor and padding change the router's kernels. */
  routing?: MoeRoutingSpec;
  /** Host wait of the dispatcher's device-to-host synchronisation per layer forward (moe-host-sync.ts); absent or 0: none. */
  hostSyncSeconds?: number;
  /** FP8 alignment of each expert's rows (moe-padding.ts); absent: none. */
  padding?: QuantPadding;
}

interface MoeDims {
  gate: number;
  /** Token copies this rank dispatches before capacity drops: its T/tp tokens × topK. */
  copies: number;
  /** Token copies this rank sends (copies·kept). */
  sent: number;
  /** Token copies the busiest rank computes: what it receives, gathered over the expert-TP group (copies·expertTp·rankFactor). */
  received: number;
  localExperts: number;
  tokensPerExpert: number;
  expertFfnPerRank: number;
  sharedFfnPerRank: number;
}

function moeDims(x: MoeLayerInput): MoeDims {
  const m = x.model;
  const copies = (x.tokens / x.tp) * m.topK;
  const pad = x.padding ?? NO_PADDING;
  // Balanced: each EP rank receives as many copies as it sends, spread over its local experts;
  // the expert-TP group's ranks hold the same experts and compute each other's copies too. The
  // router's FP8 padding adds copies each way; an expert's own alignment adds rows to its GEMMs only.
  const received = pad.routerCopies > 0 ? (copies * x.load.rankFactor + pad.routerCopies) * x.expertTp : copies * x.expertTp * x.load.rankFactor;
  const localExperts = m.experts / x.ep;
  return {
    gate: m.gatedMlp ? 2 : 1,
    copies,
    sent: copies * x.load.keptShare + pad.routerCopies,
    received,
    localExperts,
    tokensPerExpert: pad.expertRows > 0 ? received / localExperts + pad.expertRows : received / localExperts,
    expertFfnPerRank: expertFfnOf(m) / x.expertTp,
    sharedFfnPerRank: (sharedExpertsOf(m) * expertFfnOf(m)) / x.tp,
  };
}

/** The routed experts' GEMMs run as one grouped GEMM per layer (Megatron-Core --moe-grouped-gemm); megablox on a megacore chip splits their column tiles between its cores. */
function grouped(k: Kernel, x: MoeLayerInput): Kernel {
  if (k.gemm === undefined) return k;
  const split = x.padding === undefined ? undefined : expertCoreSplit(x.padding, k.name, x.model.gatedMlp ? 2 : 1);
  return { ...k, gemm: { ...k.gemm, grouped: true, ...(split !== undefined ? { coreSplit: split } : {}) } };
}

/**
 * The permute and unpermute move each routed copy's row by a sort and a gather (MaxText moe.py
 * permute / unpermute: jnp.argsort of the expert ids, then `inputs[sort_indices]`; their backward,
 * with use_custom_sort_vjp, the same gathers by the inverse order): priced at the catalog's
 * gatherPeakFraction where it has one (TPU v5p), else as any stream.
 */
function gather(k: Kernel): Kernel {
  return { ...k, gather: true };
}

/** Re-sorting received chunks by local expert (and back): only with several local experts under EP. */
function sortsChunks(x: MoeLayerInput, d: MoeDims): boolean {
  return x.ep > 1 && d.localExperts > 1;
}

export function moeMlpForward(x: MoeLayerInput, b: MoeBuilders): { weightGemms: Kernel[]; kernels: Kernel[] } {
  const m = x.model;
  const d = moeDims(x);
  const e = x.elementBytes;
  const h = m.hidden;
  const router = b.highGemm("router", x.normTokens, m.experts, h);
  const fc1 = grouped(b.linear("expert.fc1", d.tokensPerExpert, d.expertFfnPerRank * d.gate, h, d.localExperts), x);
  const fc2 = grouped(b.linear("expert.fc2", d.tokensPerExpert, h, d.expertFfnPerRank, d.localExperts), x);
  const weightGemms = [router, fc1, fc2];
  const kernels: Kernel[] = [router, ...routerForwardKernels(routerShape(x), b.memory)];
  kernels.push(...sharedForward(x, d, b, weightGemms));
  kernels.push(gather(b.memory("expert.permute", 2 * e * d.sent * h)));
  // The host waits for the split sizes before it can enqueue the all-to-all and the rest of the layer.
  if ((x.hostSyncSeconds ?? 0) > 0) kernels.push({ name: "moe.host-sync", kind: "memory", flops: 0, bytes: 0, launches: 0, hostSeconds: x.hostSyncSeconds as number });
  if (sortsChunks(x, d)) kernels.push(b.memory("expert.sort-chunks", 2 * e * d.received * h));
  // TEGroupedMLP's Fp8Padding into the aligned layout and Fp8Unpadding back (moe-padding.ts).
  const padCopies = x.padding?.copies === true;
  if (padCopies) kernels.push(b.memory("expert.fp8-pad", 2 * e * d.received * h));
  kernels.push(
    ...b.withQuantize(fc1),
    activation(b.memory("expert.act", e * d.received * d.expertFfnPerRank * (d.gate + 1), 8 * d.received * d.expertFfnPerRank * d.gate), d.gate),
    ...b.withQuantize(fc2),
  );
  if (padCopies) kernels.push(b.memory("expert.fp8-unpad", 2 * e * d.received * h));
  if (sortsChunks(x, d)) kernels.push(b.memory("expert.unsort-chunks", 2 * e * d.received * h));
  kernels.push(gather(b.memory("expert.unpermute", 2 * e * d.sent * h)));
  return { weightGemms, kernels };
}

/** Shared experts: one dense MLP of sharedExperts·expertFfn over every token, tensor-parallel. */
function sharedForward(x: MoeLayerInput, d: MoeDims, b: MoeBuilders, weightGemms: Kernel[]): Kernel[] {
  if (d.sharedFfnPerRank <= 0) return [];
  const T = x.tokens;
  const fc1 = b.linear("shared.fc1", T, d.sharedFfnPerRank * d.gate, x.model.hidden);
  const fc2 = b.linear("shared.fc2", T, x.model.hidden, d.sharedFfnPerRank);
  weightGemms.push(fc1, fc2);
  const act = activation(b.memory("shared.act", x.elementBytes * T * d.sharedFfnPerRank * (d.gate + 1), 8 * T * d.sharedFfnPerRank * d.gate), d.gate);
  return [...b.withQuantize(fc1), act, ...b.withQuantize(fc2)];
}

export function moeMlpBackward(x: MoeLayerInput, b: MoeBuilders, byName: ReadonlyMap<string, Kernel>): Kernel[] {
  const d = moeDims(x);
  const e = x.elementBytes;
  const h = x.model.hidden;
  const out: Kernel[] = [];
  const gemm = (name: string): Kernel[] => b.backward(byName.get(name) as Kernel);
  // The experts' dgrad and wgrad are grouped GEMMs too (Megatron-Core GroupedMLP, TE GroupedLinear).
  const expertGemm = (name: string): Kernel[] => gemm(name).map((k) => grouped(k, x));
  const padCopies = x.padding?.copies === true;
  if (sortsChunks(x, d)) out.push(b.memory("expert.unsort-chunks.bwd", 2 * e * d.received * h));
  if (padCopies) out.push(b.memory("expert.fp8-unpad.bwd", 2 * e * d.received * h));
  out.push(...expertGemm("expert.fc2"));
  out.push(activation(b.memory("expert.act.bwd", e * d.received * d.expertFfnPerRank * (2 * d.gate + 1), 12 * d.received * d.expertFfnPerRank * d.gate), d.gate));
  out.push(...expertGemm("expert.fc1"));
  if (padCopies) out.push(b.memory("expert.fp8-pad.bwd", 2 * e * d.received * h));
  if (sortsChunks(x, d)) out.push(b.memory("expert.sort-chunks.bwd", 2 * e * d.received * h));
  // Unpermute's backward (scatter the gradient to the top-k copies, scaled by their scores) and permute's (gather back).
  out.push(gather(b.memory("expert.permute.bwd", 4 * e * d.sent * h)));
  if (d.sharedFfnPerRank > 0) {
    out.push(...gemm("shared.fc2"));
    out.push(activation(b.memory("shared.act.bwd", e * x.tokens * d.sharedFfnPerRank * (2 * d.gate + 1), 12 * x.tokens * d.sharedFfnPerRank * d.gate), d.gate));
    out.push(...gemm("shared.fc1"));
  }
  out.push(...routerBackwardKernels(routerShape(x), b.memory), ...gemm("router"));
  return out;
}

function routerShape(x: MoeLayerInput): RouterShape {
  const capacity = x.routing?.capacityFactor !== undefined;
  return { tokens: x.normTokens, experts: x.model.experts, topK: x.model.topK, elementBytes: x.elementBytes, capacity, padToCapacity: capacity && x.routing?.padToCapacity === true };
}

/**
 * The dispatch and combine all-to-alls over the EP group, as one collective of the full buffer
 * per rank: each rank sends its (T/tp)·topK·kept token copies of `hidden` elements and the busiest
 * receives (T/tp)·topK·rankFactor, so the exchange lasts as the larger (balanced: (T/tp)·topK·h·e
 * each way, of which (ep−1)/ep leaves the rank).
 */
export function moeAllToAllBytes(x: MoeLayerInput): number {
  const d = moeDims(x);
  const balanced = x.elementBytes * d.copies * x.model.hidden * Math.max(x.load.keptShare, x.load.rankFactor);
  return balanced + x.elementBytes * (x.padding?.routerCopies ?? 0) * x.model.hidden;
}

/** The expert-TP all-gather (before the experts) and reduce-scatter (after) of the received copies: the gathered buffer's bytes; 0 without expert TP. */
export function moeExpertTpBytes(x: MoeLayerInput): number {
  if (x.expertTp <= 1) return 0;
  return x.elementBytes * moeDims(x).received * x.model.hidden;
}

/** Names of the shared-expert GEMMs an overlapped all-to-all runs beside, by direction. */
export function sharedExpertGemms(x: MoeLayerInput, backward: boolean): string[] {
  if (sharedExpertsOf(x.model) <= 0) return [];
  return backward ? ["shared.fc2.dgrad", "shared.fc2.wgrad", "shared.fc1.dgrad", "shared.fc1.wgrad"] : ["shared.fc1", "shared.fc2"];
}
