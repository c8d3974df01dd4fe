/**
 * Rematerialisation by named tensors, as JAX's checkpoint policies run it and MaxText sets it
 * (remat_policy; decoders.py get_remat_policy and minimal_policy at maxtext 92e59fd / 3eb77db;
 * layers/models.py at 76bd53b0f). The layer's input is always kept; a tensor the backward reads
 * is kept in HBM if the policy saves it, copied to host memory if it offloads it, and otherwise
 * rebuilt in backward by re-running its producer, whose own inputs then follow the same rule.
 * Kernels whose outputs the backward never reads (the MLP's down projection and the residual
 * add after it) are not re-run: JAX dead-code-eliminates the recomputation. A MoE layer's routed
 * down projection is read (the top-k weighted sum's VJP needs it for the router scores), so it
 * and the unsort after it re-run unless mlpwo is kept.
 *
 * MaxText's names (checkpoint_name tags): decoder_layer_input, query_proj, key_proj, value_proj,
 * qkv_proj, context (the flash kernel's output and logsumexp: splash attention's
 * residual_checkpoint_name), out_proj, mlpwi (one up projection), mlpwi_0 / mlpwi_1 (gate and
 * up), mlpwo. The norms' outputs, the residual sum, the MLP activation's output, MLA's latents
 * and a MoE layer's routed tokens carry no MaxText name (no policy can save them); trainsim
 * names them so a set can state any policy: saving every tensor is recompute none.
 */
import type { Kernel } from "../compute/kernel.ts";
import type { ModelSpec } from "../scenario.ts";
import { mlaDims } from "./mla.ts";
import { expertFfnOf } from "./moe.ts";
import type { RematPolicy, RematSpec, RematTensorName } from "./remat-names.ts";

// What this module reads of layer-kernels.ts's LayerShape and LayerDims (kept structural: layer-kernels imports this module).
interface LayerShape {
  model: ModelSpec;
  microBatch: number;
  tp: number;
  elementBytes: number;
  expertTp?: number;
  moeLoad?: { rankFactor: number };
  remat?: RematSpec;
}
interface LayerDims {
  tokens: number;
  normTokens: number;
  headsPerRank: number;
  kvHeadsPerRank: number;
  qkHeadDim: number;
  vHeadDim: number;
  ffnPerRank: number;
  queryLength: number;
}
interface KernelList<C> {
  kernels: Kernel[];
  collectives: C[];
}

const QKV: readonly RematTensorName[] = ["query_proj", "value_proj", "key_proj", "qkv_proj"];
const MINIMAL: readonly RematTensorName[] = [...QKV, "out_proj", "mlpwi_0", "mlpwi_1", "mlpwi", "mlpwo"];

/** What each policy keeps on device and offloads (save_only_these_names / save_and_offload_only_these_names). */
const POLICY_SETS: Readonly<Record<RematPolicy, { device: readonly RematTensorName[]; offload: readonly RematTensorName[] }>> = {
  // 76bd53b0f: checkpoint_dots_with_no_batch_dims, every weight GEMM's output (attention's
  // products have batch dims; the flash kernel is no dot): the same set as 92e59fd's list.
  minimal: { device: MINIMAL, offload: [] },
  minimal_with_context: { device: [...MINIMAL, "context"], offload: [] },
  minimal_flash: { device: [...MINIMAL, "context"], offload: [] },
  save_dot_with_context_except_mlp: { device: [...QKV, "context", "out_proj"], offload: [] },
  save_dot_except_mlpwi: { device: [...QKV, "out_proj", "mlpwo"], offload: [] },
  save_dot_except_mlp: { device: [...QKV, "out_proj"], offload: [] },
  save_qkv_proj: { device: QKV, offload: [] },
  proj: { device: ["query_proj", "value_proj", "key_proj"], offload: [] },
  qkv_proj_offloaded: { device: [], offload: ["query_proj", "value_proj", "key_proj"] },
  minimal_offloaded: { device: [], offload: MINIMAL },
  save_out_proj: { device: ["out_proj"], offload: [] },
  // base.yml's custom defaults: decoder_layer_input on device, every other tensor 'remat'.
  custom: { device: [], offload: [] },
  full: { device: [], offload: [] },
};

/** Names kept on device and in host memory once the policy and the lists are combined (offload wins). */
export function rematNameSets(spec: RematSpec): { device: Set<RematTensorName>; offload: Set<RematTensorName> } {
  const base = POLICY_SETS[spec.policy ?? "full"];
  const offload = new Set<RematTensorName>([...base.offload, ...(spec.offload ?? [])]);
  const device = new Set<RematTensorName>([...base.device, ...(spec.save ?? [])].filter((n) => !offload.has(n)));
  return { device, offload };
}

/** trainsim's tensors of one layer (shared: the shared experts' MLP). */
type Tensor = "input" | "norm1" | "latents" | "q" | "k" | "v" | "context" | "out" | "resid" | "norm2" | "routing" | "wi0" | "wi1" | "act" | "wo" | "swi0" | "swi1" | "sact";

function tensorsOf(name: RematTensorName, gated: boolean): Tensor[] {
  switch (name) {
    case "decoder_layer_input": return ["input"];
    case "query_proj": return ["q"];
    case "key_proj": return ["k"];
    case "value_proj": return ["v"];
    case "qkv_proj": return ["q", "k", "v"];
    case "context": return ["context"];
    case "out_proj": return ["out"];
    // One up projection (relu) is mlpwi; a gated MLP's gate and up are mlpwi_0 and mlpwi_1 (fused_mlp: mlpwi).
    case "mlpwi": return gated ? ["wi0", "wi1", "swi0", "swi1"] : ["wi0", "swi0"];
    case "mlpwi_0": return gated ? ["wi0", "swi0"] : [];
    case "mlpwi_1": return gated ? ["wi1", "swi1"] : [];
    case "mlpwo": return ["wo"];
    case "attention_norm": return ["norm1"];
    case "attention_residual": return ["resid"];
    case "mlp_norm": return ["norm2"];
    case "mlp_activation": return ["act", "sact"];
    case "mla_latents": return ["latents"];
    case "moe_routing": return ["routing"];
  }
}

/** A producer of the layer's forward. */
export interface RematNode {
  /** Forward kernels that produce the outputs, by name (a name ending in "." matches every kernel it starts). */
  kernels: readonly string[];
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
}

/** The layer's producers in forward order (names as layer-kernels.ts, mla.ts and moe-kernels.ts give them). */
function layerNodes(x: LayerShape): RematNode[] {
  const m = x.model;
  const mla = mlaDims(m) !== undefined;
  const nodes: RematNode[] = [{ kernels: ["ln1"], inputs: ["input"], outputs: ["norm1"] }];
  if (mla) {
    nodes.push({ kernels: ["q-down", "kv-down", "q-norm", "kv-norm"], inputs: ["norm1"], outputs: ["latents"] });
    nodes.push({ kernels: ["q-up", "q", "kv-up", "rope", "mla.qk-concat"], inputs: ["latents", "norm1"], outputs: ["q", "k", "v"] });
  } else {
    nodes.push({ kernels: ["qkv", "rope"], inputs: ["norm1"], outputs: ["q", "k", "v"] });
  }
  nodes.push(
    { kernels: ["attention."], inputs: ["q", "k", "v"], outputs: ["context"] },
    { kernels: ["proj"], inputs: ["context"], outputs: ["out"] },
    { kernels: ["attn.residual"], inputs: ["input", "out"], outputs: ["resid"] },
    { kernels: ["ln2"], inputs: ["resid"], outputs: ["norm2"] },
  );
  if (m.experts > 1) {
    nodes.push(
      { kernels: ["router", "router.", "expert.permute", "expert.sort-chunks", "moe.host-sync"], inputs: ["norm2"], outputs: ["routing"] },
      { kernels: ["expert.fc1"], inputs: ["routing"], outputs: ["wi0", "wi1"] },
      { kernels: ["expert.act"], inputs: ["wi0", "wi1"], outputs: ["act"] },
      // The unpermute's weighted sum reads fc2's outputs for the router scores' gradient (MaxText
      // moe.py unpermute: einsum 'BKE,BK -> BE' of the unsorted expert outputs and the top-k
      // weights), so a MoE layer's fc2 is not dead code: not kept, it re-runs with the unsort.
      { kernels: ["expert.fc2", "expert.unpermute"], inputs: ["act"], outputs: ["wo"] },
      { kernels: ["shared.fc1"], inputs: ["norm2"], outputs: ["swi0", "swi1"] },
      { kernels: ["shared.act"], inputs: ["swi0", "swi1"], outputs: ["sact"] },
    );
  } else {
    nodes.push(
      { kernels: ["fc1"], inputs: ["norm2"], outputs: ["wi0", "wi1"] },
      { kernels: ["act"], inputs: ["wi0", "wi1"], outputs: ["act"] },
      { kernels: ["fc2"], inputs: ["act"], outputs: ["wo"] },
    );
  }
  return nodes;
}

/** What the layer's backward reads (the tensors recompute none keeps). */
function backwardReads(x: LayerShape): Tensor[] {
  const m = x.model;
  const attention: Tensor[] = ["input", "norm1", ...(mlaDims(m) !== undefined ? (["latents"] as Tensor[]) : []), "q", "k", "v", "context", "resid", "norm2"];
  if (m.experts <= 1) return [...attention, "wi0", "wi1", "act"];
  return [...attention, "routing", "wi0", "wi1", "act", "wo", ...((m.sharedExperts ?? 0) > 0 ? (["swi0", "swi1", "sact"] as Tensor[]) : [])];
}

/**
 * Bytes of each tensor per micro-batch on one rank; the tensors the backward reads add up to
 * layerActivationBytes(x, "none") for a flash-attention layer without dropout or FP8.
 */
function tensorBytes(x: LayerShape, d: LayerDims): Record<Tensor, number> {
  const m = x.model;
  const e = x.elementBytes;
  const T = d.tokens;
  const Tn = d.normTokens;
  const h = m.hidden;
  const mla = mlaDims(m);
  const latents = mla === undefined ? 0 : T * ((mla.qLoraRank > 0 ? 2 * e * mla.qLoraRank : 0) + 2 * e * mla.kvLoraRank + e * mla.qkRopeHeadDim);
  const gate = m.gatedMlp ? 1 : 0;
  let mlp = { routing: 0, wi: 0, act: 0, wo: e * Tn * h, swi: 0, sact: 0 };
  if (m.experts > 1) {
    const etp = x.expertTp ?? x.tp;
    const copies = (T / x.tp) * m.topK * etp * (x.moeLoad?.rankFactor ?? 1);
    const ffn = expertFfnOf(m) / etp;
    const shared = ((m.sharedExperts ?? 0) * expertFfnOf(m)) / x.tp;
    mlp = { routing: 4 * Tn * m.experts + e * copies * h, wi: e * copies * ffn, act: e * copies * ffn, wo: e * copies * h, swi: e * T * shared, sact: e * T * shared };
  } else {
    mlp = { ...mlp, wi: e * T * d.ffnPerRank, act: e * T * d.ffnPerRank };
  }
  return {
    input: e * Tn * h,
    norm1: e * Tn * h,
    latents,
    q: e * T * d.headsPerRank * d.qkHeadDim,
    k: e * T * d.kvHeadsPerRank * d.qkHeadDim,
    v: e * T * d.kvHeadsPerRank * d.vHeadDim,
    context: e * T * d.headsPerRank * d.vHeadDim + 4 * x.microBatch * d.headsPerRank * d.queryLength,
    out: e * Tn * h,
    resid: e * Tn * h,
    norm2: e * Tn * h,
    routing: mlp.routing,
    wi0: mlp.wi,
    wi1: gate * mlp.wi,
    act: mlp.act,
    wo: mlp.wo,
    swi0: mlp.swi,
    swi1: gate * mlp.swi,
    sact: mlp.sact,
  };
}

export interface RematPlan {
  /** Bytes per layer and micro-batch kept in HBM for the backward. */
  deviceBytes: number;
  /** Bytes per layer and micro-batch copied to host memory in forward and back in backward. */
  hostBytes: number;
  /** The producers re-run in backward, with the share of their work (a partly kept output: its part; 0 < share ≤ 1). */
  recompute: ReadonlyMap<RematNode, number>;
}

/** Walk the producers from the last: a read tensor not kept makes its producer re-run, whose inputs are then read too. */
export function rematPlan(x: LayerShape, d: LayerDims, spec: RematSpec): RematPlan {
  const names = rematNameSets(spec);
  const gated = x.model.gatedMlp;
  const device = new Set<Tensor>([...names.device].flatMap((n) => tensorsOf(n, gated)));
  const host = new Set<Tensor>([...names.offload].flatMap((n) => tensorsOf(n, gated)));
  const bytes = tensorBytes(x, d);
  const read = new Set<Tensor>(backwardReads(x));
  const kept = { device: 0, host: 0 };
  const keep = (t: Tensor): void => {
    if (host.has(t)) kept.host += bytes[t];
    else kept.device += bytes[t];
  };
  const recompute = new Map<RematNode, number>();
  const nodes = layerNodes(x);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i] as RematNode;
    let rebuilt = 0;
    let total = 0;
    for (const t of node.outputs) {
      total += bytes[t];
      if (!read.has(t)) continue;
      if (device.has(t) || host.has(t)) keep(t);
      else rebuilt += bytes[t];
    }
    if (rebuilt > 0) {
      recompute.set(node, rebuilt / total);
      for (const t of node.inputs) read.add(t);
    }
  }
  // The layer input is the scan's checkpoint: always kept (on device unless offloaded).
  keep("input");
  return { deviceBytes: kept.device, hostBytes: kept.host, recompute };
}

/**
 * Bytes a recomputed layer's backward adds while it runs, counted as recompute full counts them
 * (the layer's whole set, its input again included): what the policy did not keep, plus the input;
 * 0 when nothing is re-run. `none` is layerActivationBytes(x, "none"), the set the backward reads.
 */
export function rematTransientBytes(x: LayerShape & { remat: RematSpec }, dims: LayerDims, none: number): number {
  const plan = rematPlan(x, dims, x.remat);
  if (plan.recompute.size === 0) return 0;
  return none - plan.deviceBytes - plan.hostBytes + x.elementBytes * dims.normTokens * x.model.hidden;
}

function matches(node: RematNode, name: string): boolean {
  return node.kernels.some((k) => (k.endsWith(".") ? name.startsWith(k) : name === k));
}

function scaled(k: Kernel, share: number): Kernel {
  if (share === 1) return k;
  return { ...k, flops: k.flops * share, bytes: k.bytes * share, ...(k.gemm !== undefined ? { gemm: { ...k.gemm, n: k.gemm.n * share } } : {}) };
}

/**
 * The kernels backward re-runs: each forward kernel of a re-run producer, a partly kept one's
 * GEMMs narrowed to the columns not kept. The forward collectives (tensor- and expert-parallel)
 * are re-run with the output projection or the router (the dispatch follows it), whose outputs cross them.
 */
export function rematRecomputeKernels<C>(x: LayerShape, d: LayerDims, spec: RematSpec, forward: KernelList<C>): KernelList<C> {
  const plan = rematPlan(x, d, spec);
  const kernels: Kernel[] = [];
  for (const k of forward.kernels) {
    for (const [node, share] of plan.recompute) if (matches(node, k.name)) kernels.push(scaled(k, share));
  }
  const crossing = [...plan.recompute.keys()].some((n) => n.kernels.includes("proj") || n.kernels.includes("router"));
  return { kernels, collectives: crossing ? forward.collectives : [] };
}
