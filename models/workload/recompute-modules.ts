/**
 * Megatron-Core's selective recompute by module (--recompute-granularity selective
 * --recompute-modules ...), as NVIDIA/Megatron-LM applies it at commit d98e8a6 (2026-08-22):
 * - core_attn: the attention core in a checkpoint (attention.py, checkpoint_core_attention);
 *   trainsim's recompute selective, the default list.
 * - layernorm: output-discarding checkpoints of the layer's norms that are modules of their own
 *   (transformer_layer.py; an IdentityOp norm fused into a TE LayerNorm-linear is skipped). In the
 *   TE layer specs (gpt_layer_specs.py) that is the pre-MLP norm of a MoE layer and the input norm
 *   of MLA (unless --mla-down-proj-fusion); a GQA layer's input norm and a dense MLP's are fused.
 * - moe_act: the routed experts' activation output discarded, recomputed before fc2's backward (experts.py).
 * - moe: the whole MoE layer in a checkpoint that keeps its input (moe_layer.py: router, permute,
 *   token dispatch, experts, combine, shared experts all inside custom_forward).
 * - shared_experts: the shared experts in a checkpoint (moe_layer.py shared_experts_compute).
 * - mlp: a dense layer's MLP in a checkpoint (transformer_layer.py; not on MoE layers). With TE its
 *   input is the pre-norm hidden state (the norm is fused into fc1), which the residual keeps anyway.
 * - mla_up_proj: the q and kv up projections and RoPE in an output-discarding checkpoint: Q, K, V
 *   dropped after the attention core (multi_latent_attention.py qkv_up_checkpoint).
 */
import type { Kernel } from "../compute/kernel.ts";
import type { ModelSpec, ParallelPlan, RecomputeModule } from "../scenario.ts";
import { mlaDims } from "./mla.ts";
import { denseLayersOf, expertFfnOf, moeLayersOf } from "./moe.ts";

/** What this module reads of a layer's shape and per-rank dims (layer-kernels.ts's LayerShape and LayerDims have these). */
type LayerShape = {
  model: ModelSpec;
  elementBytes: number;
  tp: number;
  expertTp?: number;
  moeLoad?: { rankFactor: number };
  recomputeModules?: readonly RecomputeModule[];
};
type LayerDims = { tokens: number; normTokens: number; headsPerRank: number; ffnPerRank: number };
/** A collective the compute stream waits for (layer-kernels.ts's StreamCollective). */
interface Collective {
  group: string;
  overlap?: { kernels: string[]; splits: number };
}

/** Megatron-Core's default list: the attention core (trainsim's recompute selective). */
export const DEFAULT_RECOMPUTE_MODULES: readonly RecomputeModule[] = ["core_attn"];

export function recomputeModulesOf(x: Pick<LayerShape, "recomputeModules">): ReadonlySet<RecomputeModule> {
  return new Set(x.recomputeModules ?? DEFAULT_RECOMPUTE_MODULES);
}

/** What a MoE layer saves for its backward beyond its input's norm, per micro-batch and rank (memory.ts sums them). */
export interface MoeSavedTerms {
  /** fp32 router scores. */
  router: number;
  /** The routed copies the experts' fc1 reads. */
  expertInputs: number;
  /** fc1 outputs and activation outputs (fc2's input) of the routed copies. */
  experts: number;
  /** Of `experts`: the activation outputs (what moe_act drops). */
  expertActOutputs: number;
  /** The shared experts' fc1 and activation outputs. */
  shared: number;
}

/**
 * Router scores; per routed copy (on the busiest rank, rankFactor × the balanced copies of its
 * expert-TP group, (T/tp)·topK·expertTp) the expert input and fc1/act outputs; the shared experts
 * as a dense tensor-parallel MLP. q: bytes per element of a linear layer's saved input.
 */
export function moeSavedTerms(x: LayerShape, d: LayerDims, q: number): MoeSavedTerms {
  const m = x.model;
  const e = x.elementBytes;
  const gate = m.gatedMlp ? 2 : 1;
  const etp = x.expertTp ?? x.tp;
  const copies = (d.tokens / x.tp) * m.topK * etp * (x.moeLoad?.rankFactor ?? 1);
  const expertFfn = expertFfnOf(m) / etp;
  const sharedFfn = ((m.sharedExperts ?? 0) * expertFfnOf(m)) / x.tp;
  return {
    router: 4 * d.normTokens * m.experts,
    expertInputs: q * copies * m.hidden,
    experts: copies * expertFfn * (e * gate + q),
    expertActOutputs: copies * expertFfn * q,
    shared: d.tokens * sharedFfn * (e * gate + q),
  };
}

/**
 * Bytes of one layer's saved activations (recompute none, as memory.ts counts them) that the
 * listed modules do not keep. A separate norm's output is counted as the next linear layer's saved
 * input (q per element); a checkpoint that keeps it as its own input keeps it in the compute dtype
 * (e) unless layernorm discards it too (the checkpoint then holds the emptied tensor).
 */
export function droppedActivationBytes(x: LayerShape, d: LayerDims, q: number): number {
  const mods = recomputeModulesOf(x);
  const m = x.model;
  const e = x.elementBytes;
  const h = m.hidden;
  const normOutput = q * d.normTokens * h;
  const toComputeDtype = mods.has("layernorm") ? 0 : (e - q) * d.normTokens * h;
  const mla = mlaDims(m);
  let drop = 0;
  if (mods.has("layernorm")) drop += (m.experts > 1 ? normOutput : 0) + (mla !== undefined ? normOutput : 0);
  if (m.experts > 1) {
    const t = moeSavedTerms(x, d, q);
    if (mods.has("moe")) drop += t.router + t.expertInputs + t.experts + t.shared - toComputeDtype;
    else {
      if (mods.has("moe_act")) drop += t.expertActOutputs;
      if (mods.has("shared_experts") && t.shared > 0) drop += t.shared - toComputeDtype;
    }
  } else if (mods.has("mlp")) {
    // fc1's input (the fused norm's output) and the fc1/activation outputs; the block's input stays.
    const gate = m.gatedMlp ? 2 : 1;
    drop += normOutput + d.tokens * d.ffnPerRank * (e * gate + q);
  }
  if (mla !== undefined && mods.has("mla_up_proj")) {
    // Q, K, V as the flash kernel saved them; the up projections' inputs now kept by the checkpoint in e.
    drop += e * d.tokens * d.headsPerRank * (2 * mla.qkHeadDim + mla.vHeadDim) - (e - q) * d.tokens * (mla.qLoraRank + mla.kvLoraRank);
  }
  return drop;
}

/**
 * What layer-kernels.ts hands over of one layer's forward: its kernels, the attention core's and
 * the MoE block's, its collectives, and a dense tensor-parallel MLP's own (the gather before fc1
 * and reduce-scatter after fc2 with sequence parallelism, else the all-reduce after fc2).
 */
export interface LayerForwardParts<C extends Collective> {
  kernels: readonly Kernel[];
  attentionCore: readonly Kernel[];
  moeBlock: readonly Kernel[];
  collectives: readonly C[];
  mlpCollectives: readonly C[];
}

const MLP_KERNELS = new Set(["ln2", "fc1", "act", "fc2"]);
const MLA_UP_KERNELS = new Set(["q-up", "kv-up", "rope", "mla.qk-concat"]);

/**
 * The forward kernels and collectives the backward re-runs for the listed modules, in forward
 * order. Weight casts are not re-run (TE caches the FP8 weights of the first forward). moe re-runs
 * the token dispatcher's all-to-alls (and expert-TP gathers) with the rest of the block, as
 * custom_forward in moe_layer.py runs them inside the checkpoint; mlp and shared_experts re-run
 * their tensor-parallel collectives. As trainsim's selective, core_attn re-runs no context-parallel exchange.
 */
export function recomputeModuleKernels<C extends Collective>(x: LayerShape, f: LayerForwardParts<C>): { kernels: Kernel[]; collectives: C[] } {
  const mods = recomputeModulesOf(x);
  const m = x.model;
  const moe = m.experts > 1;
  const mla = mlaDims(m);
  const names = new Set<string>();
  if (mods.has("core_attn")) for (const k of f.attentionCore) names.add(k.name);
  if (mods.has("layernorm")) {
    if (moe) names.add("ln2");
    if (mla !== undefined) names.add("ln1");
  }
  if (mla !== undefined && mods.has("mla_up_proj")) for (const n of MLA_UP_KERNELS) names.add(n);
  if (mla !== undefined && mla.qLoraRank === 0 && mods.has("mla_up_proj")) names.add("q");
  if (moe && mods.has("moe")) for (const k of f.moeBlock) names.add(k.name);
  if (moe && mods.has("moe_act")) names.add("expert.act");
  if (moe && mods.has("shared_experts")) for (const k of f.moeBlock) if (k.name.startsWith("shared.")) names.add(k.name);
  if (!moe && mods.has("mlp")) for (const n of MLP_KERNELS) names.add(n);
  const picked = (k: Kernel): boolean => !k.name.endsWith(".fp8-cast-weight") && (names.has(k.name) || (k.name.endsWith(".fp8-cast-input") && names.has(k.name.slice(0, -".fp8-cast-input".length))));
  const kernels = f.kernels.filter(picked);
  return { kernels, collectives: recomputeCollectives(x, mods, f, new Set(kernels.map((k) => k.name))) };
}

function recomputeCollectives<C extends Collective>(x: LayerShape, mods: ReadonlySet<RecomputeModule>, f: LayerForwardParts<C>, rerun: ReadonlySet<string>): C[] {
  const moe = x.model.experts > 1;
  const out: C[] = [];
  const shared = (x.model.sharedExperts ?? 0) > 0;
  if (moe && mods.has("moe")) {
    if (shared) out.push(...f.mlpCollectives);
    out.push(...f.collectives.filter((c) => c.group === "ep" || c.group === "etp"));
  } else if (moe && shared && mods.has("shared_experts")) out.push(...f.mlpCollectives);
  else if (!moe && mods.has("mlp")) {
    // Under TE userbuffers the forward's fc1/fc2 pairs, as overlapped there.
    const paired = f.collectives.filter((c) => c.group === "tp" && c.overlap !== undefined && (c.overlap.kernels[0] === "fc1" || c.overlap.kernels[0] === "fc2"));
    out.push(...(paired.length > 0 ? paired : f.mlpCollectives));
  }
  // An overlap naming kernels that are not re-run runs exposed.
  return out.map((c) => (c.overlap === undefined || c.overlap.kernels.every((k) => rerun.has(k)) ? c : withoutOverlap(c)));
}

function withoutOverlap<C extends Collective>(c: C): C {
  const { overlap: _o, ...rest } = c;
  return rest as C;
}

/**
 * Why a --recompute-modules list cannot apply to this run, by module, or null: modules for layers
 * the model does not have, and the combinations Megatron-Core's TransformerConfig refuses.
 */
export function recomputeModulesProblem(
  module: RecomputeModule,
  m: ModelSpec,
  p: Pick<ParallelPlan, "moeOverlap" | "recompute">,
  w: { precision: string; fp8Recipe?: string; layerImplementation?: string },
): string | null {
  if (w.layerImplementation === "eager") return "recomputeModules are Megatron-Core's; the eager layer is Hugging Face's (layerImplementation eager)";
  const moe = m.experts > 1;
  const denseLayers = !moe || (m.denseLayers ?? 0) > 0;
  if ((module === "moe" || module === "moe_act" || module === "shared_experts") && !moe) return "the model has no mixture-of-experts layers (experts 1)";
  if (module === "shared_experts" && (m.sharedExperts ?? 0) === 0) return "the model has no shared experts (sharedExperts 0)";
  if (module === "mlp" && !denseLayers) return "the model has no dense MLP layers (Megatron-Core's mlp skips MoE layers; give moe, moe_act or shared_experts)";
  if (module === "mla_up_proj" && mlaDims(m) === undefined) return "the model has no multi-latent attention (kvLoraRank); Megatron-Core refuses mla_up_proj without it";
  if (module === "shared_experts" && p.moeOverlap === "shared-experts") return "Megatron-Core refuses shared_experts recompute with --moe-shared-expert-overlap (moeOverlap shared-experts)";
  if (module === "moe" && p.moeOverlap === "attention") return "Megatron-Core refuses moe recompute with --overlap-moe-expert-parallel-comm (moeOverlap attention)";
  if ((module === "moe_act" || module === "layernorm") && w.precision === "fp8" && (w.fp8Recipe ?? "delayed") === "delayed") return "Megatron-Core refuses moe_act and layernorm recompute with FP8 delayed scaling (fp8Recipe delayed)";
  return null;
}

/**
 * Forward matrix FLOPs per step the listed modules run again (hardware FLOPs), given the model's
 * tokens per step and its attention-core forward FLOPs (flops.ts): the MoE block's router and
 * active experts, the shared experts, a dense MLP, MLA's up projections. Norms and activations
 * are element-wise (not counted, as in model FLOPs).
 */
export function recomputeModuleFlops(m: ModelSpec, modules: readonly RecomputeModule[], tokens: number, attentionForward: number): number {
  const mods = new Set(modules);
  const gate = m.gatedMlp ? 2 : 1;
  const mlp = (ffn: number): number => m.hidden * ffn * (gate + 1);
  const moeLayers = moeLayersOf(m);
  const denseLayers = m.experts > 1 ? denseLayersOf(m) : m.layers;
  const shared = (m.sharedExperts ?? 0) * mlp(expertFfnOf(m));
  let params = 0;
  if (mods.has("moe")) params += moeLayers * (m.topK * mlp(expertFfnOf(m)) + shared + m.hidden * m.experts);
  else if (mods.has("shared_experts")) params += moeLayers * shared;
  if (mods.has("mlp")) params += denseLayers * mlp(m.ffn);
  const mla = mlaDims(m);
  if (mla !== undefined && mods.has("mla_up_proj")) {
    const q = (mla.qLoraRank > 0 ? mla.qLoraRank : m.hidden) * m.heads * mla.qkHeadDim;
    params += m.layers * (q + mla.kvLoraRank * m.heads * (mla.qkNopeHeadDim + mla.vHeadDim));
  }
  return 2 * tokens * params + (mods.has("core_attn") ? attentionForward : 0);
}
