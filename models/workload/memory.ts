/**
 * Memory footprint per GPU, for every pipeline stage: weights, gradients,
 * optimizer state, stored activations and runtime buffers.
 *
 * Activations per layer follow Korthikanti et al. 2022 (Table 2) term by term
 * — so the unfused-attention, tensor-parallel case reproduces their
 * s·b·h·(10 + 24/t + 5·a·s/(h·t)) — generalised to GQA, gated MLPs, MoE,
 * dropout-free models, and to the flash kernel, which stores no s×s matrix.
 */
import { withMegabloxTiles } from "./megablox-tiles.ts";
import { zero3ModuleBytes, zero3ModuleSettings } from "./zero3-trace.ts";
import { peakInFlight } from "../parallel/schedule.ts";
import { layersPerVirtualStage, rankOfVirtualStage } from "../parallel/stages.ts";
import type { ModelSpec, ParallelPlan, RecomputeMode, Scenario } from "../scenario.ts";
import { fp8Settings, quantizeBytesPerElement, type Fp8Recipe } from "./fp8.ts";
import { layerDims, type LayerShape } from "./layer-kernels.ts";
import { eagerExtraActivationBytes } from "./eager-layer.ts";
import { mlaActivationBytes, mlaDims, mlaParams } from "./mla.ts";
import { mtpDepths } from "./mtp.ts";
import { embeddingParams, headParams, layerParamsPerRank, mtpProjectionParams } from "./params.ts";
import { microBatchesPerStep } from "../parallel/plan.ts";
import { denseLayerModel, denseLayersPerStage, expertFfnOf, isMoe, moeLayersOf } from "./moe.ts";
import { routingLoad, type RoutingLoad } from "./moe-routing.ts";
import { moeHostSyncSeconds } from "./moe-host-sync.ts";
import { NO_PADDING, quantPadding } from "./moe-padding.ts";
import { droppedActivationBytes, moeSavedTerms, recomputeModulesOf } from "./recompute-modules.ts";
import { rematPlan, rematTransientBytes } from "./remat-policy.ts";
import { offloadedModuleBytes } from "./offload-modules.ts";
import { adamUpdatePasses } from "./optimizer-kernel.ts";
import { peakPhase, summedPhases, unitLargestTensors, xlaGatheredBytes, type PhaseParts } from "./peak-phases.ts";

export interface MemoryBreakdown {
  stage: number;
  /** Parameters in the compute dtype or fp32 shard, with FP8 weight workspaces in an FP8 run (below ZeRO-3). */
  weights: number;
  gradients: number;
  optimizer: number;
  activations: number;
  /** CUDA context, NCCL channel buffers, library workspaces (before ZeRO-3 units had their own entry, also the gathered shards). */
  buffers: number;
  total: number;
  /** Parameters held by one GPU of this stage (before ZeRO sharding). */
  params: number;
  /** MoE only: of `params`, the routed experts' (sharded by ZeRO over the expert data-parallel group, tp·dp·cp/(ep·expertTp) ranks). */
  expertParams?: number;
  /**
   * ZeRO-3 / FSDP only: the all-gathered parameter units in flight (the unit computing and
   * those prefetched, in the compute dtype) and in backward their unsharded gradients before
   * the reduce-scatter; with reshardAfterForward false, every unit gathered in forward stays
   * until its backward. At the peak, the start of backward.
   */
  gatheredUnits?: number;
  /** Bytes this GPU keeps in host memory instead (offloadOptimizer, offloadParams, offloadActivations, remat offload, offloadModules); not in total. */
  hostBytes?: number;
}

/**
 * Runtime memory outside the framework's tensors: the CUDA context (~0.5 GiB
 * with cuBLAS/cuDNN handles) and NCCL's per-channel buffers (~0.5 GiB for the
 * communicators of a 3D-parallel job). An estimate, stated as such.
 */
export const RUNTIME_BYTES = 1 * 2 ** 30;

export function elementBytes(precision: string): number {
  return precision === "fp32" || precision === "tf32" ? 4 : 2;
}

export function gradElementBytes(dtype: "fp32" | "bf16" | "fp16"): number {
  return dtype === "fp32" ? 4 : 2;
}

export function layerShape(s: Scenario): LayerShape {
  const p = s.parallelism;
  const e = elementBytes(s.workload.precision);
  const gradBytes = gradElementBytes(p.gradReduceDtype);
  const m = microBatchesPerStep(s);
  // Unfused accumulation: autograd keeps the first micro-batch's gradient when it stays in the
  // parameter dtype (then adds m−1 times); fp32 main grads take an add every micro-batch.
  const gradAccumulateShare = p.gradAccumulationFusion ? 0 : gradBytes === e ? (m - 1) / m : 1;
  return {
    model: s.workload.model,
    microBatch: p.microBatch,
    seqLength: s.workload.seqLength,
    tp: p.tp,
    cp: p.cp,
    ep: p.ep,
    sequenceParallel: p.sequenceParallel && p.tp > 1,
    attention: s.workload.attention,
    elementBytes: e,
    gradBytes,
    gradAccumulationFusion: p.gradAccumulationFusion,
    gradAccumulateShare,
    ...(s.workload.precision === "fp8" ? { fp8: fp8Settings(s.workload.fp8Recipe, s.workload.fp8Attention, m) } : {}),
    ...(p.tpCommOverlap === true ? { tpCommOverlap: true } : {}),
    ...(p.tpCollectiveMatmul !== undefined ? { tpCollectiveMatmul: p.tpCollectiveMatmul } : {}),
    ...(s.workload.flashBackward === "split" ? { flashBackward: "split" as const } : {}),
    ...(s.workload.flashBlock !== undefined ? { flashBlock: s.workload.flashBlock } : {}),
    ...(p.cpCommType !== undefined ? { cpCommType: p.cpCommType } : {}),
    ...(p.cpLayout !== undefined ? { cpLayout: p.cpLayout } : {}),
    ...(p.cpRepeatKv === true ? { cpRepeatKv: true } : {}),
    ...(p.cpRingImplementation !== undefined && p.cp > 1 ? { cpRingImplementation: p.cpRingImplementation } : {}),
    ...(isMoe(s.workload.model) ? moeShapeFields(s) : {}),
    ...(s.workload.layerImplementation === "eager" ? { layerImplementation: "eager" as const } : {}),
    ...(p.recompute === "selective" && p.recomputeModules !== undefined ? { recomputeModules: p.recomputeModules } : {}),
    ...(p.remat !== undefined && p.recompute === "full" ? { remat: p.remat } : {}),
    ...(p.lossParallel === false && p.tp > 1 ? { replicatedLoss: true as const } : {}),
    ...(p.recompute === "per-op" && p.perOpSavesAttention === false ? { perOpRecomputesAttention: true as const } : {}),
  };
}

function moeShapeFields(s: Scenario): Pick<LayerShape, "moeLoad" | "moeOverlap" | "moeDispatch" | "expertTp" | "moeRouting" | "moeHostSyncSeconds" | "moePadding"> {
  const m = s.workload.model;
  const p = s.parallelism;
  const moe = s.workload.moe;
  const padded = moe?.padToCapacity === true ? moe.capacityFactor : undefined;
  const padding = quantPadding({
    fp8Recipe: s.workload.precision === "fp8" ? (s.workload.fp8Recipe ?? "delayed") : undefined,
    routerPadding: moe?.routerPadding === true,
    dispatch: p.moeDispatch ?? "all-to-all",
    experts: m.experts,
    ep: p.ep,
    expertTp: p.expertTp ?? p.tp,
    copiesPerRank: ((p.microBatch * s.workload.seqLength) / p.cp / p.tp) * m.topK,
    ...(padded !== undefined ? { paddedCapacityFactor: padded } : {}),
    ...(moe?.fp8PadAlways === true ? { padAlways: true } : {}),
  });
  const tiled = withMegabloxTiles(padding, moe?.gmmTileRows, m.experts / p.ep, moe?.gmmTileCols, s.cluster.gpu.megacoreTensorCores ?? 1);
  return {
    ...(tiled !== NO_PADDING ? { moePadding: tiled } : {}),
    moeLoad: routingLoadOf(s),
    ...(s.workload.moe !== undefined ? { moeRouting: s.workload.moe } : {}),
    moeHostSyncSeconds: moeHostSyncSeconds({ dispatch: p.moeDispatch, routing: s.workload.moe, xla: s.cluster.gpu.scaleUpKind === "ici" }),
    ...(p.moeOverlap !== undefined ? { moeOverlap: p.moeOverlap } : {}),
    ...(p.moeDispatch === "deepep" ? { moeDispatch: "deepep" as const } : {}),
    ...(p.expertTp !== undefined ? { expertTp: p.expertTp } : {}),
  };
}

/** How `s`'s routed tokens load its experts (moe-routing.ts): the tokens an EP group routes per micro-batch are ep ranks' mb·seq/(cp·tp/expertTp). */
export function routingLoadOf(s: Scenario): RoutingLoad {
  const m = s.workload.model;
  const p = s.parallelism;
  return routingLoad(m.experts, p.ep, moeLayersOf(m), s.workload.moe, s.seed, {
    topK: m.topK,
    tokensPerGroup: (p.ep * p.microBatch * s.workload.seqLength * (p.expertTp ?? p.tp)) / (p.cp * p.tp),
  });
}

/** The shape of a MoE model's dense first layers (the same shape for a dense model). */
export function denseLayerShape(x: LayerShape): LayerShape {
  return isMoe(x.model) ? { ...x, model: denseLayerModel(x.model) } : x;
}

/**
 * Bytes per element of an FP8 tensor with its scales, one copy (one direction): 1, plus the
 * block recipes' scales (half of what a quantization writes: quantizeBytesPerElement at e = 0
 * is the two copies' bytes).
 */
export function fp8SavedBytesPerElement(recipe: Fp8Recipe): number {
  return quantizeBytesPerElement(recipe, 0) / 2;
}

/**
 * Bytes one layer keeps for its backward, per micro-batch, by recompute mode. In an FP8 run the
 * linear layers keep their FP8-cast inputs (Transformer Engine) unless `fp8Inputs` is false
 * (torchao's Float8Linear saves the BF16 input: float8_linear.py, save_for_backward(input_hp, ...)).
 */
export function layerActivationBytes(x: LayerShape, recompute: RecomputeMode, fp8Inputs = true): number {
  const m = x.model;
  const d = layerDims(x);
  const e = x.elementBytes;
  const h = m.hidden;
  const Tn = d.normTokens;
  const T = d.tokens;
  if (recompute === "full" && x.remat !== undefined) return rematPlan(x, d, x.remat).deviceBytes;
  if (recompute === "full") return e * Tn * h;
  if (recompute === "per-op") {
    // The layer's input, then what torchtitan's policy saves: Q and V (1st and 3rd matmul), the
    // attention output and its logsumexp, gate or fc1 (5th) and, with a gate, down (7th; before the
    // tensor-parallel reduction it spans all tokens).
    const etp = x.expertTp ?? x.tp;
    const mlpTokens = m.experts > 1 ? (T / x.tp) * m.topK * etp : T;
    const mla = mlaDims(m);
    let bytes = mla !== undefined ? e * Tn * h + e * T * d.headsPerRank * (d.qkHeadDim + d.vHeadDim) : e * Tn * h + e * T * (d.headsPerRank + d.kvHeadsPerRank) * d.headDim;
    if (x.perOpRecomputesAttention !== true) bytes += e * T * d.headsPerRank * d.vHeadDim + 4 * x.microBatch * d.headsPerRank * d.queryLength;
    const mlpFfn = m.experts > 1 ? expertFfnOf(m) / etp : d.ffnPerRank;
    bytes += e * mlpTokens * mlpFfn + (m.gatedMlp ? e * mlpTokens * h : 0);
    return bytes;
  }
  const mask = m.dropout ? 1 : 0;
  // A linear layer's saved input: in an FP8 run Transformer Engine keeps the FP8 cast it fed
  // the GEMM (module/linear.py, layernorm_linear.py, layernorm_mlp.py: the quantized input,
  // column-wise only), q bytes per element; norms, attention and activations keep BF16.
  const q = x.fp8 && fp8Inputs ? fp8SavedBytesPerElement(x.fp8.recipe) : e;
  // Replicated across tensor ranks unless sequence-parallel: norm inputs, QKV and fc1 inputs, dropout masks.
  const perToken = (2 * e + 2 * q + 2 * mask) * h;
  let bytes = Tn * perToken;
  // Split across tensor ranks: Q, K, V, attention output (flash keeps it for its backward; in
  // FP8 the projection saves its own FP8 cast of it), MLP intermediates (fc1 output, and the
  // activation's output that fc2 takes).
  const mla = mlaDims(m);
  if (mla !== undefined) bytes += mlaActivationBytes(x, d, mla, q);
  else bytes += e * T * (d.headsPerRank + 2 * d.kvHeadsPerRank) * d.headDim;
  bytes += (e + (x.fp8 && fp8Inputs ? q : 0)) * T * d.headsPerRank * d.vHeadDim;
  const gate = m.gatedMlp ? 2 : 1;
  if (m.experts > 1) {
    const t = moeSavedTerms(x, d, q);
    bytes += t.router + t.expertInputs + t.experts + t.shared;
  } else {
    bytes += T * d.ffnPerRank * (e * gate + q);
  }
  const scores = x.microBatch * d.headsPerRank * d.queryLength * d.keyLength;
  // Megatron-Core's --recompute-modules: what the listed modules do not keep (recompute-modules.ts).
  const modules = recompute === "selective" && x.recomputeModules !== undefined;
  if (modules) bytes -= droppedActivationBytes(x, d, q);
  // Softmax output, and with dropout its mask and the dropped-out copy AV reads (Korthikanti: 5·a·s²·b).
  const keepsScores = recompute === "none" || (modules && !recomputeModulesOf(x).has("core_attn"));
  if (x.attention === "unfused" && keepsScores) bytes += (e + mask * (1 + e)) * scores;
  if (x.attention === "flash") bytes += 4 * x.microBatch * d.headsPerRank * d.queryLength;
  if (x.layerImplementation === "eager") bytes += eagerExtraActivationBytes(x, d);
  return bytes;
}

/** The ZeRO-3 / FSDP settings with their defaults (PyTorch FSDP's per-block wrap, FSDP2's one-unit prefetch). */
export function fsdpSettings(p: ParallelPlan): { unitLayers: number; reshardAfterForward: boolean; prefetch: number; shardGroup: number } {
  return { unitLayers: p.fsdpUnitLayers ?? 1, reshardAfterForward: p.reshardAfterForward ?? true, prefetch: p.fsdpPrefetch ?? 1, shardGroup: p.shardGroup ?? p.dp };
}

/**
 * Units gathered beyond unit i when it starts: `prefetch`, or with a parameter budget
 * DeepSpeed ZeRO-3's rule (partitioned_param_coordinator.py, fetch_sub_module, v0.18: after
 * fetching the current module, keep issuing the next parameters in trace order while fewer
 * than stage3_prefetch_bucket_size elements are in flight: at least one unit if the budget > 0).
 */
export function fsdpLookahead(units: readonly { params: number }[], i: number, prefetch: number, budget: number | undefined): number {
  if (budget === undefined) return prefetch;
  let k = 0;
  for (let sum = 0; i + k + 1 < units.length && sum < budget; k++) sum += (units[i + k + 1] as { params: number }).params;
  return k;
}

/**
 * Peak bytes of gathered ZeRO-3 / FSDP units on one GPU, walking the units in backward order
 * (output layer, blocks last to first, embedding). At unit i the GPU holds i and the
 * units after it that `prefetch` or the parameter budget (fsdpLookahead) reaches gathered
 * (with reshardAfterForward false: every unit not yet
 * through backward), i's fresh unsharded gradient in the compute dtype, and i−1's gradient in
 * the reduce dtype while its reduce-scatter runs.
 */
export function gatheredUnitBytes(units: readonly number[], prefetch: number, reshardAfterForward: boolean, elementBytes: number, gradBytes: number, budget?: number): number {
  return gatheredUnitProfile(units, prefetch, reshardAfterForward, elementBytes, gradBytes, budget).reduce((a, b) => Math.max(a, b), 0);
}

/** gatheredUnitBytes unit by unit (in backward order), before taking the peak. */
export function gatheredUnitProfile(units: readonly number[], prefetch: number, reshardAfterForward: boolean, elementBytes: number, gradBytes: number, budget?: number): number[] {
  const byParams = units.map((params) => ({ params }));
  return units.map((unit, i) => {
    const last = reshardAfterForward ? Math.min(units.length, i + 1 + fsdpLookahead(byParams, i, prefetch, budget)) : units.length;
    let params = 0;
    for (let j = i; j < last; j++) params += units[j] as number;
    return params * elementBytes + unit * elementBytes + (i > 0 ? (units[i - 1] as number) * gradBytes : 0);
  });
}

/**
 * Bytes per parameter that live between steps, before ZeRO sharding.
 * - Mixed precision (masterWeights fp32, 16-bit compute): 16-bit weights, gradients in
 *   gradReduceDtype, fp32 master + two fp32 Adam moments (12; ZeRO, Rajbhandari et al. 2020,
 *   Sec. 3.1). Under ZeRO-3 the fp32 shard is the parameter (PyTorch FSDP/FSDP2 with a
 *   mixed-precision policy cast it to the compute dtype only when gathering) and the sharded
 *   gradient is kept in the parameter's dtype: 4 + 4 + 8 (DeepSpeed ZeRO-3 splits the same 16
 *   as 2 + 2 + 12, and keeps that split when the optimizer is offloaded).
 * - Pure 16-bit (masterWeights none): weights, gradients and both Adam moments in the
 *   parameter dtype (torch.optim.AdamW allocates its state like the parameter): 2 + 2 + 4.
 * - fp32/tf32 compute: 4, gradReduceDtype, 8 (no master needed).
 */
export function stateBytesPerParam(s: Scenario): { weights: number; gradients: number; optimizer: number } {
  const e = elementBytes(s.workload.precision);
  const p = s.parallelism;
  if (e === 4) return { weights: 4, gradients: gradElementBytes(p.gradReduceDtype), optimizer: 8 };
  if (s.workload.masterWeights === "none") return { weights: e, gradients: e, optimizer: 2 * e };
  // With the optimizer offloaded (ZeRO-Offload) the fp32 master lives on the host beside the
  // moments and the GPU keeps the 16-bit shard, as DeepSpeed does.
  if (p.zero >= 3 && p.offloadOptimizer !== true) return { weights: 4, gradients: 4, optimizer: 8 };
  return { weights: e, gradients: gradElementBytes(p.gradReduceDtype), optimizer: 12 };
}

/**
 * HBM bytes per parameter of a rank's shard that the optimizer step reads and writes (fused
 * AdamW: read g, p, m, v; write p, m, v), e the compute dtype's bytes, g gradReduceDtype's.
 * - Mixed precision: g → fp32 main grads unless already fp32 (g + 4); fp16 loss-scale unscale
 *   and inf check (4 + 4); gradient norm for clipping (4); Adam on fp32 master, m, v (4 · 4
 *   read + 3 · 4 written = 28); master → model copy (4 + e); zero the grad buffer (g).
 *   bf16 with fp32 grads: 4 + 28 + 6 + 4 = 42; with bf16 grads: 6 + 4 + 28 + 6 + 2 = 46.
 * - Pure 16-bit (masterWeights none): everything in the parameter dtype, no master and no copy:
 *   fp16 unscale (2e); gradient norm (e); Adam (7e); the gradients are freed, not zeroed
 *   (torch.optim zero_grad(set_to_none=True), the default since PyTorch 2.0; te_llama and
 *   KempnerForge are torch.optim AdamW runs). bf16: 2 + 14 = 16.
 * - fp32 compute: as mixed with no master copy (the parameter is the master).
 * Adam's 7 passes (28 bytes in fp32) are 20 with workload.optimizerImplementation foreach
 * (optimizer-kernel.ts).
 */
export function optimizerBytesPerParam(s: Scenario): number {
  const precision = s.workload.precision;
  const e = elementBytes(precision);
  const fp16 = precision === "fp16";
  const adam = adamUpdatePasses(s.workload.optimizerImplementation);
  if (e !== 4 && s.workload.masterWeights === "none") return (fp16 ? 2 * e : 0) + e + adam * e;
  const g = gradElementBytes(s.parallelism.gradReduceDtype);
  return (g === 4 ? 0 : g + 4) + (fp16 ? 8 : 0) + 4 + adam * 4 + (e === 2 ? 4 + e : 0) + g;
}

/**
 * Bytes the loss holds on the last stage at its peak (the start of backward), per micro-batch.
 * Per logit, by workload.crossEntropy (e: compute-dtype bytes):
 * - fused-fp32: the logits and the one fp32 softmax Megatron's vocab-parallel kernel keeps (e + 4);
 * - eager-fp32: F.cross_entropy(logits.float()) with the logits deleted before backward
 *   (torchtitan): log_softmax keeps its fp32 output, nll_loss's backward writes a dense fp32
 *   gradient and log_softmax's backward a third fp32 tensor, all live at once (12); the
 *   forward's peak, logits + fp32 copy + fp32 output (e + 8), is lower;
 * - compiled-fp32: the same under torch.compile: Inductor fuses upcast, log-softmax and loss,
 *   saves the logits (and a logsumexp per row) and writes the input gradient in the compute
 *   dtype (2e);
 * - eager: the same in the compute dtype with the logits kept by the training loop (4e).
 * The vocabulary is split over tensor ranks unless lossParallel is false (logits all-gathered).
 */
export function lossBytes(s: Scenario, x: LayerShape): number {
  const e = x.elementBytes;
  const perLogit = { "fused-fp32": e + 4, "eager-fp32": Math.max(12, e + 8), "compiled-fp32": 2 * e, eager: 4 * e }[s.workload.crossEntropy ?? "fused-fp32"];
  const vocabShare = s.parallelism.lossParallel === false ? 1 : 1 / s.parallelism.tp;
  return (perLogit * layerDims(x).tokens * s.workload.model.vocab * vocabShare) / (s.workload.lossChunks ?? 1);
}

/**
 * Bytes of one MoE layer's saved activations per micro-batch that Megatron-Core's --offload-modules
 * move to host memory (offload-modules.ts). "counted": the same tensors as layerActivationBytes
 * counts them; "saved": as offloaded, where under an FP8 recipe other than MXFP8 fc1 saves its
 * original input instead of its FP8 copy (experts.py: set_save_original_input(linear_fc1)).
 */
export function moduleOffloadBytes(x: LayerShape, p: Pick<ParallelPlan, "offloadModules">, as: "saved" | "counted" = "saved"): number {
  if (p.offloadModules === undefined || p.offloadModules.length === 0) return 0;
  const q = x.fp8 ? fp8SavedBytesPerElement(x.fp8.recipe) : x.elementBytes;
  const fc1 = as === "saved" && x.fp8 !== undefined && x.fp8.recipe !== "mxfp8" ? x.elementBytes : q;
  return offloadedModuleBytes(x, layerDims(x), q, p.offloadModules, fc1);
}

/** Whether parallelism.offloadActivations moves any layer's saved activations to the host. */
export function offloadsActivations(p: ParallelPlan): boolean {
  return (p.offloadActivationLayers ?? 0) > 0 || (p.offloadActivationShare ?? 0) > 0;
}

/** Layers of one stage whose saved activations live on the host. */
export function offloadedLayers(p: ParallelPlan, stageLayers: number): number {
  if (p.offloadActivationLayers !== undefined) return Math.min(stageLayers, p.offloadActivationLayers);
  return Math.round(stageLayers * (p.offloadActivationShare ?? 0));
}

/** The last pipeline stage holds a copy of the embedding table: tied to the output layer, or read by multi-token prediction. */
export function lastStageEmbeddingCopy(m: ModelSpec, pp: number): boolean {
  return pp > 1 && (m.tiedEmbeddings || mtpDepths(m) > 0);
}

/** Footprint of each pipeline stage's GPUs. */
export function memoryByStage(s: Scenario): MemoryBreakdown[] {
  const p = s.parallelism;
  const m = s.workload.model;
  const x = layerShape(s);
  const split = layersPerVirtualStage(m.layers, p);
  if (typeof split === "string") throw new Error(split);
  // Layers of the model's main kind (all of a dense model's; a MoE model's MoE layers) and a MoE
  // model's dense first layers, with their parameters per rank (routed experts apart).
  const main = layerParamsPerRank(m, p);
  const xDense = denseLayerShape(x);
  const front = layerParamsPerRank(xDense.model, p);
  const linearPerLayer = main.linear;
  const denseLinear = front.linear;
  const densePerStage = denseLayersPerStage(m, split);
  // MLA's down projections are linear layers too (FP8 copies), though replicated like the norms.
  const mla = mlaDims(m);
  const mlaDuplicated = mla !== undefined ? mlaParams(m, mla).duplicatedMatrices : 0;
  const weightBytes = elementBytes(s.workload.precision);
  const gradBytes = gradElementBytes(p.gradReduceDtype);
  const state = stateBytesPerParam(s);
  const fsdp = fsdpSettings(p);
  // ZeRO shards over the shard group (HSDP: within it, replicated across groups) and cp.
  const shard = fsdp.shardGroup * p.cp;
  const micro = microBatchesPerStep(s);
  const out: MemoryBreakdown[] = [];
  for (let stage = 0; stage < p.pp; stage++) {
    let layers = 0;
    let denseLayers = 0;
    for (let v = 0; v < split.length; v++) {
      if (rankOfVirtualStage(v, p.pp) !== stage) continue;
      layers += split[v] as number;
      denseLayers += densePerStage[v] as number;
    }
    const mainLayers = layers - denseLayers;
    const first = stage === 0;
    const last = stage === p.pp - 1;
    const mtp = last ? mtpDepths(m) : 0;
    const expertParams = (mainLayers + mtp) * main.expert;
    const embedding = first ? embeddingParams(m) / p.tp : 0;
    const head = last ? headParams(m) / p.tp + (lastStageEmbeddingCopy(m, p.pp) ? (m.vocab * m.hidden) / p.tp : 0) : 0;
    // Multi-token prediction: its blocks (a MoE layer for a MoE model) and projections live with the output layer.
    const mtpParams = mtp * (main.dense + mtpProjectionParams(m).sharded / p.tp + mtpProjectionParams(m).norms);
    const params = mainLayers * main.dense + denseLayers * front.dense + embedding + head + mtpParams + expertParams;
    // ZeRO shards routed-expert state over the expert data-parallel group (tp·dp·cp/(ep·expertTp)), the rest over dp·cp.
    const expertShard = Math.max(1, (shard * p.tp) / (p.ep * (p.expertTp ?? p.tp)));
    const sharded = (perParam: number, on: boolean): number => (on ? ((params - expertParams) * perParam) / shard + (expertParams * perParam) / expertShard : params * perParam);
    let weights = sharded(state.weights, p.zero >= 3);
    let gradients = sharded(state.gradients, p.zero >= 2);
    let optimizer = sharded(state.optimizer, p.zero >= 1);
    let host = 0;
    if (p.offloadOptimizer === true) {
      // ZeRO-Offload: Adam state and fp32 master on the host; from ZeRO-2 on the gradient shard follows them.
      host += optimizer;
      optimizer = 0;
      if (p.zero >= 2) {
        host += gradients;
        gradients = 0;
      }
    }
    // Transformer Engine's FP8 weight workspaces: each FP8 linear weight cast with its column-wise
    // (transposed) copy and saved for the backward (module/linear.py quantize_weight, wt_save),
    // cached across micro-batches or not, so all are live at its start; not under FSDP2, where TE
    // re-casts the gathered weight in backward (issue #2681).
    const fp8Copies = x.fp8 && p.zero < 3 ? ((mainLayers + mtp) * (linearPerLayer + mlaDuplicated) + denseLayers * (denseLinear + mlaDuplicated)) * quantizeBytesPerElement(x.fp8.recipe, 0) : 0;
    weights += fp8Copies;
    if (p.zero >= 3 && p.offloadParams === true) {
      // ZeRO-3 offload_param: the compute-dtype shard lives on the host and is copied in before
      // each gather; without offloadOptimizer the fp32 master stays on the GPU (DeepSpeed's
      // 2 + 2 + 12 split: 4 − e of the 4 B counted as weights remains).
      const shardBytes = (params * weightBytes) / shard;
      host += shardBytes;
      weights -= shardBytes;
    }
    // Activations: chunks in flight × their layers, plus a recomputed layer's full set.
    const inFlight = peakInFlight(stage, p.pp, p.virtualStages, micro);
    const avgChunkLayers = layers / p.virtualStages;
    const perLayerActivations = denseLayers === 0 ? layerActivationBytes(x, p.recompute) : (mainLayers * layerActivationBytes(x, p.recompute) + denseLayers * layerActivationBytes(xDense, p.recompute)) / layers;
    const offloaded = offloadedLayers(p, layers);
    const stored = inFlight * avgChunkLayers * perLayerActivations;
    const onHost = layers > 0 ? (stored * offloaded) / layers : 0;
    // Offloaded layers pass through the GPU: one being copied out or back while another computes.
    let activations = stored - onHost + Math.min(offloaded, 2) * perLayerActivations;
    // An MTP depth keeps a block's activations, its projection's input (2h) and its own logits.
    if (mtp > 0) activations += (inFlight / p.virtualStages) * mtp * (perLayerActivations + 2 * x.elementBytes * layerDims(x).tokens * m.hidden) + mtp * lossBytes(s, x);
    host += onHost;
    // Tensors a remat policy offloads (remat-policy.ts): each stored layer's on the host, two layers' in transit.
    const rematHost = x.remat !== undefined ? rematPlan(mainLayers > 0 ? x : xDense, layerDims(x), x.remat).hostBytes : 0;
    host += stored > 0 ? inFlight * avgChunkLayers * rematHost : 0;
    activations += Math.min(layers, 2) * rematHost;
    // --offload-modules (offload-modules.ts): each stored MoE layer's offloaded bytes on the host, two layers' in transit.
    const moduleHost = mainLayers > 0 && layers > 0 ? moduleOffloadBytes(x, p) : 0;
    const moduleCounted = mainLayers > 0 && layers > 0 ? moduleOffloadBytes(x, p, "counted") : 0;
    const storedMoe = (inFlight * avgChunkLayers * mainLayers) / Math.max(layers, 1);
    host += storedMoe * moduleHost;
    activations -= storedMoe * moduleCounted - Math.min(storedMoe, 2) * moduleHost;
    // The per-op policy is torchtitan's, whose FP8 linear layers are torchao's (BF16 inputs saved).
    const recomputed = mainLayers > 0 ? x : xDense;
    // (An empty recomputeModules list recomputes nothing.)
    const none = p.recompute === "none" || p.recomputeModules?.length === 0 ? 0 : layerActivationBytes(recomputed, "none", p.recompute !== "per-op");
    const transient = recomputed.remat !== undefined ? rematTransientBytes({ ...recomputed, remat: recomputed.remat }, layerDims(recomputed), none) : none;
    const loss = last ? lossBytes(s, x) : 0;
    const buffers = RUNTIME_BYTES + (mainLayers > 0 ? moeDispatchBytes(x) : 0);
    // FSDP without gradient sync before the last micro-batch: the stage's unsharded gradients
    // accumulate in the reduce dtype; the sharded ones only appear as the last micro-batch's
    // backward reduce-scatters them unit by unit (after zero_grad freed the previous step's).
    if (p.zero >= 3 && micro > 1 && p.fsdpGradSync === "last-micro-batch") gradients = Math.max(gradients, params * gradBytes);
    // Under XLA's static buffer assignment the loss and a recomputed layer's transient set share memory (peak-phases.ts).
    const xla = s.cluster.gpu.scaleUpKind === "ici";
    const phases: PhaseParts = { loss, gatheredAtLoss: 0, transient, gatheredAtLayers: 0 };
    if (p.zero >= 3) {
      // Backward order: output layer (with a tied embedding it is the same gathered table), blocks, embedding.
      const units: number[] = [];
      const tiedRoot = m.tiedEmbeddings && first && last;
      if (last) units.push(head + (tiedRoot ? embedding : 0));
      const mtpUnit = mtpParams + mtp * main.expert;
      const perLayer = denseLayers === 0 ? main.dense + main.expert : (params - embedding - head - mtpUnit) / layers;
      // One layer per unit: a MoE model's MoE blocks, then (first in the model, last in backward) its dense ones.
      if (fsdp.unitLayers === 1 && denseLayers > 0) for (let i = 0; i < layers; i++) units.push(i < mainLayers ? main.dense + main.expert : front.dense);
      else for (let left = layers; left > 0; left -= fsdp.unitLayers) units.push(Math.min(fsdp.unitLayers, left) * perLayer);
      if (mtp > 0) units.splice(1, 0, mtpUnit);
      if (first && !tiedRoot) units.push(embedding);
      // DeepSpeed's submodule fetching: the replayed coordinator's peak (zero3-trace.ts), in both phases.
      if (p.fsdpModuleUnits === true) phases.gatheredAtLoss = phases.gatheredAtLayers = zero3ModuleBytes(m, p.tp, p.recompute === "full", zero3ModuleSettings(p), weightBytes);
      else {
        const largest = (): number[] => unitLargestTensors({ model: m, dims: layerDims(x), denseDims: layerDims(xDense), plan: p, units: units.length, head: last, embedding: first && !tiedRoot, mtp, denseLayers });
        const profile = xla ? xlaGatheredBytes(units, largest(), weightBytes) : gatheredUnitProfile(units, fsdp.prefetch, fsdp.reshardAfterForward, weightBytes, gradBytes, p.fsdpPrefetchParams);
        // The output layer (first in backward) runs in the loss phase, the embedding (last) alone, the blocks between.
        const embeddingUnit = first && !tiedRoot;
        phases.gatheredAtLoss = last ? (profile[0] ?? 0) : 0;
        phases.gatheredAtLayers = profile.slice(last ? 1 : 0, embeddingUnit ? -1 : undefined).reduce((a, b) => Math.max(a, b), 0);
        phases.gatheredAtEmbedding = embeddingUnit ? (profile[profile.length - 1] ?? 0) : 0;
      }
    }
    const phase = xla ? peakPhase(phases) : summedPhases(phases);
    activations += phase.activations;
    let total = weights + gradients + optimizer + activations + buffers;
    const row: MemoryBreakdown = { stage, weights, gradients, optimizer, activations, buffers, total, params, ...(expertParams > 0 ? { expertParams } : {}) };
    if (p.zero >= 3) {
      row.gatheredUnits = phase.gathered;
      total += phase.gathered;
    }
    // Pure 16-bit runs step torch.optim, whose zero_grad frees the gradients (set_to_none, the
    // default since PyTorch 2.0). With one micro-batch per step and no DDP buckets (one data-
    // parallel rank, or FSDP) none exist at the start of backward; they appear as activations and
    // saved weight copies are freed. The peak is then the larger of the start of backward without
    // them and the optimizer step (weights, gradients, optimizer state).
    if (s.workload.masterWeights === "none" && weightBytes !== 4 && micro === 1 && (p.zero >= 3 || p.dp * p.cp === 1)) {
      const startOfBackward = total - gradients;
      const optimizerStep = weights - fp8Copies + gradients + optimizer + buffers;
      if (startOfBackward >= optimizerStep) {
        row.gradients = 0;
        total = startOfBackward;
      } else {
        row.weights = weights - fp8Copies;
        row.activations = 0;
        if (row.gatheredUnits !== undefined) row.gatheredUnits = 0;
        total = optimizerStep;
      }
    }
    if (host > 0) row.hostBytes = host;
    row.total = total;
    out.push(row);
  }
  return out;
}

/**
 * MoE dispatch buffers of the layer in flight (Megatron-Core's all-to-all dispatcher): the
 * permuted token copies to send, (T/tp)·topK·hidden elements, and those received, gathered over
 * the expert-TP group (expertTp × as many; the busiest rank rankFactor × that); freed after the
 * combine, so one layer's worth.
 */
export function moeDispatchBytes(x: LayerShape): number {
  const m = x.model;
  if (!isMoe(m) || x.ep <= 1) return 0;
  const copies = (layerDims(x).tokens / x.tp) * m.topK;
  return x.elementBytes * copies * m.hidden * ((x.moeLoad?.keptShare ?? 1) + (x.moeLoad?.rankFactor ?? 1) * (x.expertTp ?? x.tp));
}

/** The stage with the largest footprint. */
export function peakMemory(s: Scenario): MemoryBreakdown {
  return memoryByStage(s).reduce((a, b) => (b.total > a.total ? b : a));
}

/** Null if it fits; otherwise a message naming the largest parts. */
export function outOfMemory(s: Scenario): string | null {
  const peak = peakMemory(s);
  const capacity = s.cluster.gpu.hbmBytes;
  if (peak.total <= capacity) return null;
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
  const parts = (
    [
      ["weights", peak.weights],
      ["gradients", peak.gradients],
      ["optimizer state", peak.optimizer],
      ["activations", peak.activations],
      ["buffers", peak.buffers],
      ["gathered FSDP units", peak.gatheredUnits ?? 0],
    ] as [string, number][]
  ).sort((a, b) => b[1] - a[1]);
  const top = parts
    .slice(0, 3)
    .map(([n, b]) => `${n} ${gib(b)}`)
    .join(", ");
  const hints: string[] = [];
  const p = s.parallelism;
  const largest = parts[0]?.[0];
  if (largest === "activations") hints.push(p.recompute === "full" ? "a smaller microBatch, offloadActivations or more tp/pp" : p.recomputeModules !== undefined ? "more recomputeModules, recompute: full, or a smaller microBatch" : "recompute: selective or full, or a smaller microBatch");
  else if (largest === "gathered FSDP units") hints.push("a smaller fsdpUnit or fsdpPrefetch, reshardAfterForward: true, or more tp");
  else hints.push(p.zero < 3 ? `a higher zero stage (now ${p.zero}) or more tp/pp` : "more tp/pp, offloadOptimizer: true, or GPUs with more memory");
  return `needs ${gib(peak.total)} per GPU on pipeline stage ${peak.stage} but ${s.cluster.gpu.name} has ${gib(capacity)}: largest parts ${top}; try ${hints.join("; ")}`;
}
