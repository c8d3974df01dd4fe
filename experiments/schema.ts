/**
 * The scenario schema, written once as data. The same description validates a parsed
 * config (converting units to SI and filling static defaults) and is exported as JSON
 * Schema for editors, so the two can never disagree.
 *
 * Defaults that depend on other keys (dp, sequenceParallel, nicBandwidth from the GPU, ...)
 * are stated here as text and computed by the loader, which knows the catalogs.
 */
import type { NormKernel } from "../models/hardware/catalog/memory-kernels.ts";
import { CATALOG } from "../models/hardware/catalog.ts";
import { PRESET_NAMES } from "./presets.ts";
import type { AttentionBackend, Precision, ScaleUpKind } from "../models/hardware/types.ts";
import { CROSS_ENTROPY, LAYER_IMPLEMENTATIONS, MASTER_WEIGHTS, OPTIMIZER_IMPLEMENTATIONS, MOE_DISPATCH, MOE_LOAD_DISTRIBUTIONS, MOE_OVERLAP, OFFLOAD_MODULES, RECOMPUTE_MODULES, ROUTER_SCORING, type AttentionKernel, type RecomputeMode, type TopologyKind } from "../models/scenario.ts";
import { BUILTIN_MODELS } from "../models/workload/builtins.ts";
import { FP8_RECIPES } from "../models/workload/fp8.ts";
import { REMAT_POLICIES, REMAT_TENSOR_NAMES } from "../models/workload/remat-names.ts";
import { SCALE_UP_TOPOLOGIES } from "../models/network/scale-up.ts";
import { DATA_KINDS, EPOCH_BOUNDARIES, LOADER_PLACEMENTS } from "../models/data/types.ts";
import { STORAGE_PRESET_NAMES } from "../models/data/storage.ts";
import type { ConfigProblem } from "./errors.ts";
import { DIMENSIONS, allowedText, formatQuantity, parseQuantity, quantityPattern, type Dimension } from "./units.ts";

// ---------------------------------------------------------------------------
// The schema language

interface NodeBase {
  description: string;
  required?: boolean;
  /** Filled in when the key is absent (already in SI units). */
  default?: unknown;
  /** A default computed from other keys: told to users, computed by the loader. */
  derivedDefault?: string;
  /** Other spellings accepted for this key (friendlier names, kept for configs in the wild). */
  aliases?: readonly string[];
}

export interface ObjectNode extends NodeBase {
  kind: "object";
  fields: Readonly<Record<string, SchemaNode>>;
  /** An absent optional object is filled from its fields' defaults, or left out. */
  whenAbsent?: "fill" | "omit";
}
export interface QuantityNode extends NodeBase {
  kind: "quantity";
  dimension: Dimension;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
}
export interface IntNode extends NodeBase {
  kind: "int";
  minimum: number;
  maximum?: number;
}
export interface NumberNode extends NodeBase {
  kind: "number";
}
export interface EnumNode extends NodeBase {
  kind: "enum";
  values: readonly string[];
  /** "a GPU in the catalog": what a wrong value is not. */
  noun?: string;
}
export interface BoolNode extends NodeBase {
  kind: "bool";
}
export interface StringNode extends NodeBase {
  kind: "string";
}
export interface RecordNode extends NodeBase {
  kind: "record";
  values: SchemaNode;
}
export interface ListNode extends NodeBase {
  kind: "list";
  items: SchemaNode;
}
export interface UnionOption {
  /** Name the loader switches on. */
  key: string;
  /** How a value selects this option; the first match wins. */
  when: "string" | "number" | "object" | { hasKey: string };
  label: string;
  node: SchemaNode;
}
export interface UnionNode extends NodeBase {
  kind: "union";
  options: readonly UnionOption[];
}

export type SchemaNode = ObjectNode | QuantityNode | IntNode | NumberNode | EnumNode | BoolNode | StringNode | RecordNode | ListNode | UnionNode;

/** What validating a union yields: which option matched, and the converted value. */
export interface Tagged {
  option: string;
  value: unknown;
}

const MAX_INT = Number.MAX_SAFE_INTEGER;
/** run.duration: ten years (3650 d); 1,000,000 d with failures ran for minutes (issue 24). */
export const MAX_RUN_SECONDS = 3650 * 86400;

/** Wrong items of one list reported one by one; the rest are counted in one more problem. */
const MAX_ITEM_PROBLEMS = 10;

type Extra<N> = Partial<Omit<N, "kind" | "description">>;

const obj = (description: string, fields: Record<string, SchemaNode>, extra: Extra<ObjectNode> = {}): ObjectNode => ({ kind: "object", description, fields, ...extra });
const qty = (dimension: Dimension, description: string, extra: Extra<QuantityNode> = {}): QuantityNode => ({ kind: "quantity", dimension, description, ...extra });
const int = (description: string, minimum: number, extra: Extra<IntNode> = {}): IntNode => ({ kind: "int", description, minimum, ...extra });
const num = (description: string, extra: Extra<NumberNode> = {}): NumberNode => ({ kind: "number", description, ...extra });
const oneOf = (values: readonly string[], description: string, extra: Extra<EnumNode> = {}): EnumNode => ({ kind: "enum", values, description, ...extra });
const bool = (description: string, extra: Extra<BoolNode> = {}): BoolNode => ({ kind: "bool", description, ...extra });
const str = (description: string, extra: Extra<StringNode> = {}): StringNode => ({ kind: "string", description, ...extra });

/** The same object with every key optional and no defaults: the shape of an override. */
export function partial(node: ObjectNode): ObjectNode {
  const fields: Record<string, SchemaNode> = {};
  for (const [name, child] of Object.entries(node.fields)) fields[name] = loosen(child);
  return { ...node, fields };
}

function loosen(node: SchemaNode): SchemaNode {
  const { required: _r, default: _d, derivedDefault: _dd, ...rest } = node;
  if (rest.kind === "object") return { ...partial(rest), required: false, whenAbsent: "omit" };
  return rest;
}

// ---------------------------------------------------------------------------
// The scenario

/** Groups of published cases (`trainsim validate --category`); `small` is ≤ 8B parameters. */
export const VALIDATION_CATEGORIES = ["dense-bf16", "fp8", "fsdp", "small", "long-context", "reliability", "moe", "blackwell", "tpu", "amd"] as const;

export const PRECISIONS: readonly Precision[] = ["fp32", "tf32", "bf16", "fp16", "fp8"];
export const TOPOLOGIES: readonly TopologyKind[] = ["rail-optimized", "fat-tree", "torus", "nvl72"];
const SCALE_UP_KINDS: readonly ScaleUpKind[] = ["nvlink", "xgmi", "ici", "roce"];
const RECOMPUTE: readonly RecomputeMode[] = ["none", "selective", "full", "per-op"];
const ATTENTION: readonly AttentionKernel[] = ["flash", "unfused"];
const ATTENTION_BACKENDS: readonly AttentionBackend[] = ["flash-attention", "flash-attention-1", "cudnn", "aotriton"];
const NORM_KERNEL_NAMES: readonly NormKernel[] = ["apex-persistent", "apex-fused"];

export const GPU_NAMES: readonly string[] = Object.keys(CATALOG);
export const MODEL_NAMES: readonly string[] = Object.keys(BUILTIN_MODELS);

const fraction = (description: string, fallback: number): QuantityNode =>
  qty("ratio", description, { exclusiveMinimum: 0, maximum: 1, default: fallback });

/*
 * Lower bounds on rates (issue 24): far below any real part, high enough that a step stays
 * within what the engine and the power series can hold (docs/limits.md). A bandwidth of
 * 1 b/s or 1e-300 B/s made steps of 1e20 s and beyond: NaN, or arrays too long to allocate.
 */
const MIN_FLOPS = 1e11; // 100 GFLOP/s: a 2010s laptop CPU
const MIN_MEMORY_BANDWIDTH = 1e9; // 1 GB/s: HBM and scale-up links are hundreds
const MIN_NETWORK_BANDWIDTH = 1.25e8; // 1 Gb/s Ethernet
const MIN_STORAGE_BANDWIDTH = 1e7; // 10 MB/s
const atLeast = (bound: string): string => ` At least ${bound} (docs/limits.md).`;

const peakFlops = obj(
  "Dense peak FLOP/s per precision (no 2:4 sparsity). Leave a precision out if the part does not support it.",
  Object.fromEntries(PRECISIONS.map((p) => [p, qty("flops", `Dense ${p} peak, FLOP/s.${atLeast("100 GFLOP/s")}`, { minimum: MIN_FLOPS })])),
  { required: true },
);

const efficiency = obj(
  "How close real kernels get to the datasheet (measured calibrations).",
  {
    gemmPeakFraction: fraction("Fraction of dense peak a large, well-shaped GEMM reaches.", 0.8),
    hbmPeakFraction: fraction("Fraction of datasheet HBM bandwidth a streaming kernel reaches.", 0.85),
    kernelLaunchSeconds: qty("time", "Fixed cost of one kernel launch and tail.", { default: 3e-6 }),
    attentionPeakFraction: fraction("Fraction of dense peak a fused flash-attention kernel reaches at long sequence.", 0.6),
    fp8GemmPeakFraction: qty("ratio", "Fraction of the FP8 peak a large square FP8 GEMM reaches.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "gemmPeakFraction" }),
    attentionBackwardPeakFraction: qty("ratio", "Fraction of BF16 peak the flash-attention backward reaches.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "attentionPeakFraction" }),
    fp8RowwiseGemmRelative: qty("ratio", "Throughput of a row-wise-scaled FP8 GEMM (torchao rowwise recipes' forward: PyTorch _scaled_mm with per-row scales) relative to a tensorwise one.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "1" }),
    mxfp8GemmRelative: qty("ratio", "Throughput of an MXFP8 GEMM (fp8Recipe mxfp8: an E8M0 scale per 32 elements, block-scaled tensor cores) relative to a per-tensor-scaled FP8 GEMM of the same shape, forward and backward.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (B200, GB200, GB300 0.951: Transformer Engine's benchmark_gemm.py on B300, pre-quantized); absent: 1" }),
    fp8BlockwiseGemmRelative: qty("ratio", "Throughput of a block-scaled FP8 GEMM as Transformer Engine's Float8BlockScaling runs it (fp8Recipe blockwise: 1x128 scales on activations and gradients, 128x128 on weights, applied in the GEMM's main loop) relative to a per-tensor-scaled FP8 GEMM of the same shape, forward and backward.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (H100, H200 0.818: Transformer Engine's benchmark_gemm.py on H200 NVL, autocast, less the quantization); absent: 1" }),
    normStreamRelative: qty("ratio", "Share of the STREAM bandwidth (hbmPeakFraction) a forward RMSNorm/LayerNorm kernel of the training stacks reaches.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (NVIDIA and AMD 0.72: the median of ATen, Inductor, Apex and cuDNN norms measured on A100, H100 and B200); absent: 1" }),
    normBackwardStreamRelative: qty("ratio", "Share of the STREAM bandwidth a norm's backward (dx and the weight-gradient reduction over the rows) reaches.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (NVIDIA and AMD 0.41: ATen and Apex norm backwards on A100, H100 and GB300); absent: 1" }),
    ropeStreamRelative: qty("ratio", "Share of the STREAM bandwidth a fused rotary-embedding kernel (forward and backward) reaches.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (NVIDIA and AMD 0.48: Transformer Engine's fused RoPE on GB200 and H800); absent: 1" }),
    gatedActivationStreamRelative: qty("ratio", "Share of the STREAM bandwidth a fused gated activation (SwiGLU, GeGLU; forward and backward) reaches.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (NVIDIA and AMD 0.62: Megatron-Core's TorchScript bias_swiglu on H100); absent: 1" }),
    fp8CastStreamRelative: qty("ratio", "Share of the STREAM bandwidth an FP8 quantization (cast, transpose, scales) reaches.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (NVIDIA and AMD 0.76: Transformer Engine, torchao and Inductor casts on H100 and B200); absent: 1" }),
    fp8AttentionPeakFraction: qty("ratio", "Fraction of the FP8 peak an FP8 flash-attention forward reaches (workload.fp8Attention).", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "attentionPeakFraction" }),
    fp8AttentionBackwardPeakFraction: qty("ratio", "Fraction of the FP8 peak an FP8 flash-attention backward reaches.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "fp8AttentionPeakFraction x backward/forward of BF16" }),
    attentionFillKeys: int("Keys' worth of fixed work each query block of the flash-attention forward pays around its key loop (sets how fast short sequences run; the attention levels hold at 16k keys).", 0, { derivedDefault: "the catalog GPU's (128: FlashAttention-2 on H100; about 1400 for cuDNN on B200)" }),
    attentionBackwardFillKeys: int("The same for the flash-attention backward.", 0, { derivedDefault: "the catalog GPU's (256: FlashAttention-2 on H100; about 1660 for cuDNN on B200)" }),
    attentionClockRatio: qty("ratio", "Where the attention levels were timed at a free clock (one kernel between pauses) but gemmPeakFraction at the sustained, power-saturated clock: a compute-bound kernel's throughput at the sustained clock over the free clock's, which multiplies every attention level. 1: both at one clock.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (B200 0.815, H200 0.846: mamf-finder's sustained over burst GEMM throughput); absent: 1" }),
    fp8RunAttentionClockRatio: qty("ratio", "attentionClockRatio for runs with precision fp8, on GPUs whose FP8 GEMM level is a sustained measurement while the BF16 GEMM level is a burst figure: the FP8 GEMM's sustained over burst throughput, which multiplies every attention level of an FP8 run. 1: both at one clock.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (GB200, GB300 0.796: Azure's 10,000-iteration cuBLASLt FP8 8192^3 over mamf-finder's FP8 burst on GB200); absent: attentionClockRatio" }),
    cudnnAttentionPeakFraction: qty("ratio", "cuDNN's fused flash attention (workload.attentionBackend: cudnn) where attentionPeakFraction measures another kernel: its forward level at 16k keys.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (H100, H200: 0.579, the FlashAttention-3 paper's cuDNN bars); absent: no cuDNN levels" }),
    cudnnAttentionBackwardPeakFraction: qty("ratio", "cuDNN's flash-attention backward level (workload.attentionBackend: cudnn).", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (H100, H200: 0.554)" }),
    cudnnFp8AttentionPeakFraction: qty("ratio", "cuDNN's FP8 flash-attention forward, fraction of the FP8 peak (workload.attentionBackend: cudnn).", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (H100, H200: 0.509)" }),
    cudnnFp8AttentionBackwardPeakFraction: qty("ratio", "cuDNN's FP8 flash-attention backward, fraction of the FP8 peak (workload.attentionBackend: cudnn).", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (H100, H200: 0.238)" }),
    cudnnAttentionFillKeys: int("cuDNN's forward key-loop fill (workload.attentionBackend: cudnn).", 0, { derivedDefault: "the catalog GPU's (H100, H200: 128)" }),
    cudnnAttentionBackwardFillKeys: int("cuDNN's backward key-loop fill (workload.attentionBackend: cudnn).", 0, { derivedDefault: "the catalog GPU's (H100, H200: 384)" }),
    fa2AttentionPeakFraction: qty("ratio", "FlashAttention-2 (PyTorch SDPA's flash backend; workload.attentionBackend: flash-attention) where attentionPeakFraction measures cuDNN's kernel: its BF16 forward level at 16k keys.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (B200: 0.159, tritonbench's flash_v2 on B200); absent: no FlashAttention-2 levels" }),
    fa2AttentionBackwardPeakFraction: qty("ratio", "FlashAttention-2's backward level (workload.attentionBackend: flash-attention).", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (B200: 0.148)" }),
    fa2AttentionFillKeys: int("FlashAttention-2's forward key-loop fill (workload.attentionBackend: flash-attention).", 0, { derivedDefault: "the catalog GPU's (B200: 128)" }),
    fa2AttentionBackwardFillKeys: int("FlashAttention-2's backward key-loop fill (workload.attentionBackend: flash-attention).", 0, { derivedDefault: "the catalog GPU's (B200: 256)" }),
    aotritonAttentionPeakFraction: qty("ratio", "AOTriton (PyTorch SDPA's default flash backend on ROCm; workload.attentionBackend: aotriton) where attentionPeakFraction measures another kernel (CK's FlashAttention-2 on MI300X): its BF16 forward level at 16k keys.", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (MI300X, MI325X: 0.237, PyTorch SDPA on MI300X in midiareshadi/attn-dsl-bench); absent: no AOTriton levels" }),
    aotritonAttentionBackwardPeakFraction: qty("ratio", "AOTriton's backward level (workload.attentionBackend: aotriton), in FlashAttention's convention of 2.5 forwards of FLOPs: the extra recompute of its split dK/dV and dQ kernels is inside the level (do not add flashBackward: split).", { exclusiveMinimum: 0, maximum: 1, derivedDefault: "the catalog GPU's (MI300X, MI325X: 0.109, AOTriton 0.11b's op tuning table on gfx942)" }),
    commSmsScaleUp: int("SMs one collective's kernel holds while it runs within the scale-up domain (NCCL: one CTA per channel); compute overlapping it runs on the rest. 0: communication takes no SMs.", 0, { derivedDefault: "the catalog GPU's (24 on A100/H100/H200); none for a GPU given in full" }),
    commSmsPerNic: int("SMs one collective's kernel holds while it runs across nodes, per member of its group on a node (each drives its own NIC; NCCL: 2 channels per NIC). 0: none.", 0, { derivedDefault: "the catalog GPU's (2 on A100/H100/H200); none for a GPU given in full" }),
  },
);

const acceleratorSpec = obj("A full accelerator spec, for a part not in the catalog.", {
  name: str("Name of this accelerator, shown in results.", { default: "custom-gpu" }),
  vendor: str("Vendor name.", { default: "custom" }),
  peakFlops,
  hbmBytes: qty("bytes", "HBM capacity per GPU.", { required: true, exclusiveMinimum: 0 }),
  hbmBandwidth: qty("bandwidth", `Datasheet HBM bandwidth per GPU.${atLeast("1 GB/s")}`, { required: true, minimum: MIN_MEMORY_BANDWIDTH }),
  scaleUpBandwidth: qty("bandwidth", `Scale-up (NVLink / xGMI / ICI) bandwidth per GPU per direction.${atLeast("1 GB/s")}`, { required: true, minimum: MIN_MEMORY_BANDWIDTH }),
  scaleUpKind: oneOf(SCALE_UP_KINDS, "Kind of scale-up fabric.", { default: "nvlink" }),
  scaleUpDomain: int("GPUs reachable over the scale-up fabric in one hop (8 for a DGX node, 72 for NVL72).", 1, { default: 8 }),
  nicBandwidth: qty("bandwidth", `Scale-out NIC bandwidth per GPU per direction.${atLeast("1 Gb/s")}`, { required: true, minimum: MIN_NETWORK_BANDWIDTH }),
  hostCopyBandwidth: qty("bandwidth", `Pinned host ↔ device copy bandwidth per GPU per direction (offload copies), where the host link is not the GPU's PCIe x16 (Grace's NVLink-C2C).${atLeast("1 Gb/s")}`, { minimum: MIN_NETWORK_BANDWIDTH, derivedDefault: "the catalog GPU's (GB200, GB300: 197 GB/s); else 0.8 × PCIe x16 (Gen4 31.5, Gen5 63 GB/s)" }),
  tdpWatts: qty("power", "Thermal design power (maximum board power) per GPU.", { required: true, exclusiveMinimum: 0, aliases: ["tdp"] }),
  idleWatts: qty("power", "Board power when idle.", { required: true, aliases: ["idlePower"] }),
  smCount: int("Streaming multiprocessors / compute units: sets GEMM wave quantisation.", 1, { required: true }),
  mxfp8: bool("Tensor cores run microscaling FP8 (MXFP8, Blackwell and later): allows workload.fp8Recipe mxfp8.", { derivedDefault: "false; a catalog base keeps its own" }),
  efficiency,
  sources: {
    kind: "record",
    description: "Citation per field path (\"hbmBandwidth\", \"peakFlops.bf16\", ...). Fields without one are marked user-defined.",
    values: str("Where this number comes from."),
  },
});

const gpuOverride = obj("A catalog GPU with some fields changed.", {
  base: oneOf(GPU_NAMES, "The catalog GPU to start from.", { required: true, noun: "a GPU in the catalog" }),
  ...partial(acceleratorSpec).fields,
  name: str("Name of the changed accelerator.", { derivedDefault: "the base name followed by *" }),
});

const gpu: UnionNode = {
  kind: "union",
  description: "The accelerator: a catalog name, an inline spec, or {base: <catalog name>, ...fields to change}.",
  required: true,
  options: [
    { key: "catalog", when: "string", label: "a catalog GPU name", node: oneOf(GPU_NAMES, "A GPU from the catalog.", { noun: "a GPU in the catalog" }) },
    { key: "override", when: { hasKey: "base" }, label: "{base: <catalog GPU>, ...overrides}", node: gpuOverride },
    { key: "inline", when: "object", label: "an inline accelerator spec", node: acceleratorSpec },
  ],
};

const cluster = obj(
  "The machines: accelerator, node count, network and power.",
  {
    gpu,
    nodes: int("Number of nodes.", 1, { required: true }),
    preset: oneOf(PRESET_NAMES, "A known system to start from (GPU, node size, network); the file's own keys override it. See trainsim catalog presets.", { noun: "a cluster preset" }),
    gpusPerNode: int("GPUs per node.", 1, { default: 8 }),
    scaleUpTopology: oneOf(
      SCALE_UP_TOPOLOGIES,
      "How a node's GPUs are joined: switch (an NVSwitch board or NVL72 rack: any GPU reaches any other at its full NVLink rate, with in-switch reduction on H100 and later) or mesh (direct GPU-GPU links: each pair gets 1/(board-1) of a GPU's scale-up bandwidth, so a group uses only its members' pair links and there is no in-switch reduction). auto: mesh for xGMI (MI300X/MI325X, 8-GPU boards) and Gaudi 3 RoCE, and for an NVLink GPU in nodes of 4 (NVIDIA HGX A100/H100/H200 4-GPU boards have no NVSwitch); switch otherwise.",
      { default: "auto" },
    ),
    placement: obj(
      "How the scheduler placed the job's nodes on scale-up domains (GB200/GB300 NVL72 racks of 18 trays). Absent: nodes fill domains in rank order, so with 64 trays of 4 the rack boundary at GPU 72 cuts through whatever group spans it. Optional.",
      {
        segmentNodes: int(
          "Slurm's --segment on a block topology: the job is built of segments of this many consecutive nodes, each inside one scale-up domain; a domain holds floor(domain nodes / segmentNodes) whole segments and the rest of its nodes stay idle for this job (16 on NVL72: racks of 16 trays, 64 GPUs). Ranks keep node order, so a domain holds that many consecutive ranks. At most the nodes of one domain; a job larger than one segment must be a whole number of segments. Megatron-Core MoE recipes on GB200 set EP x TP / 4, one expert-parallel group per rack.",
          1,
          { required: true },
        ),
      },
      { whenAbsent: "omit" },
    ),
    calibration: str(
      "A calibration file written by `trainsim calibrate` from your own cluster's nccl-tests outputs and kernel timings (path relative to this scenario file): its fitted fabric bandwidths, size curves and kernel levels replace the catalog's, including an explicit network.nicBandwidth where it measured the scale-out level. See docs/calibrate.md. Optional.",
    ),
    gpuVariability: qty("ratio", "Standard deviation of sustained speed across identical GPUs (Sinha et al., SC'22: ~1.2 %); each pipeline stage computes at its slowest GPU's pace. 0 = identical GPUs.", { minimum: 0, maximum: 0.5, default: 0.012 }),
    stragglers: {
      kind: "record",
      description:
        "GPUs that run slower than their peers (thermal throttling, a degraded part): the GPU's global rank in the job (tensor fastest, then context, data, pipeline) mapped to its speed relative to a healthy GPU, e.g. {17: 0.7} or {17: 70 %}. Ranks then differ, so `run` simulates every GPU (as with --full). Optional.",
      values: qty("ratio", "Sustained speed of this GPU relative to a healthy one.", { exclusiveMinimum: 0, maximum: 1 }),
    },
    network: obj("The scale-out fabric.", {
      topology: oneOf(TOPOLOGIES, "Fabric topology.", { default: "rail-optimized" }),
      nicBandwidth: qty("bandwidth", `Scale-out bandwidth per GPU per direction.${atLeast("1 Gb/s")}`, { minimum: MIN_NETWORK_BANDWIDTH, derivedDefault: "the GPU's nicBandwidth" }),
      oversubscription: qty("ratio", "Oversubscription of the leaf switches: downlink / uplink bandwidth (1 = non-blocking, 2 = 2:1).", { minimum: 1, default: 1 }),
      routing: oneOf(["dmodk", "ecmp"], "Uplink choice in switch fabrics: by destination (D-mod-K, what InfiniBand subnet managers program on fat-trees; collision-free for shift patterns) or a seeded hash of each flow (ECMP, as Ethernet/RoCE fabrics do).", { default: "dmodk" }),
      switchRadix: int("Ports per fabric switch (64 for 400G InfiniBand NDR / Spectrum-4 class); fewer ports mean more tiers.", 4, { default: 64 }),
      flowsPerConnection: int("Flows (queue pairs) each inter-node NCCL connection is split into, for routing entropy (NCCL_IB_QPS_PER_CONNECTION; Llama 3 used 16).", 1, { default: 1 }),
      torusShape: {
        kind: "list",
        description:
          "topology torus only: chips along each dimension of one slice (2 or 3 numbers, x first; ranks fill x fastest, so a tensor-parallel group of x chips is one x ring), e.g. [16, 8, 4] for a v5p-1024 slice of 4x8x16 chips; their product must divide the job's chips (several slices are joined by the data-centre network). Default: the most cube-like 3D shape of one ICI domain. Dimensions that are multiples of 4 have wraparound links.",
        items: int("Chips along one torus dimension.", 1),
      },
    }),
    power: obj("Power limits and facility overhead.", {
      gpuPowerLimit: qty("power", "Per-GPU power limit (nvidia-smi -pl); between the GPU's idle power and its TDP. Optional.", { exclusiveMinimum: 0 }),
      facilityCap: qty("power", "Facility power cap. Optional.", { exclusiveMinimum: 0 }),
      pue: qty("ratio", "Power usage effectiveness: facility power / IT power.", { minimum: 1, default: 1.2 }),
      controllerInterval: qty("time", `How often the facility power controller re-divides the cap among GPUs.${atLeast("1 ms")}`, { minimum: 1e-3, default: 0.1 }),
      facilityCapSchedule: {
        kind: "record",
        description: "The facility cap over time: times (from the start) mapped to caps, e.g. {0 s: 1 MW, 2 s: 0.8 MW}. Optional.",
        values: qty("power", "The cap from this time on.", { exclusiveMinimum: 0 }),
      },
      facilitySupply: obj("A fluctuating supply as the facility cap: firm grid power plus a variable on-site source that jumps to a new seeded level after exponentially distributed intervals. Optional.", {
        grid: qty("power", "Firm (grid) power always available.", { minimum: 0 }),
        variable: qty("power", "Peak of the variable source; its output is uniform between 0 and this.", { minimum: 0 }),
        meanPeriod: qty("time", `Mean time between changes of the variable output.${atLeast("1 s")}`, { minimum: 1 }),
      }, { whenAbsent: "omit" }),
      rackCap: qty("power", "Rack power limit: each GPU gets at most its share of it (after the nodes' other power). Optional.", { exclusiveMinimum: 0 }),
      nodesPerRack: int("Nodes in a rack (for rackCap); the default is four DGX H100 (~41 kW) per rack.", 1, { default: 4 }),
      powerFloor: qty("ratio", "Mitigation: GPUs never draw less than this share of their TDP (they burn power while waiting), 0-1. Optional.", { minimum: 0, maximum: 1 }),
      stagger: obj("Mitigation: start data-parallel groups in waves a little apart, so their power phases stop lining up (each step gets (groups-1)·offset longer). Optional.", {
        groups: int("Waves.", 1, { default: 1 }),
        offset: qty("time", "Delay between consecutive waves.", { minimum: 0, default: 0 }),
      }, { whenAbsent: "omit" }),
      storage: obj("Mitigation: energy storage between the grid and the cluster that smooths the draw. Optional.", {
        capacity: qty("energy", "Energy the storage holds (give it with power).", { exclusiveMinimum: 0 }),
        power: qty("power", "Most power it can deliver or absorb (give it with capacity).", { exclusiveMinimum: 0 }),
      }),
      nodeOverhead: qty("power", "Power of each node besides its GPUs (CPUs, memory, NICs, switches, fans).", { minimum: 0, derivedDefault: "45 % of the node's GPU TDP" }),
      pricePerKWh: qty("ratio", "Electricity price per kWh (any currency); adds cost to the results. Optional.", { minimum: 0 }),
      pricePerGpuHour: qty("ratio", "Price of one GPU for one hour (any currency, the same as pricePerKWh): rent or amortised purchase. Used by trainsim plan --objective cost-per-token. Optional.", { minimum: 0 }),
      carbonGramsPerKWh: qty("ratio", "Grid carbon intensity in g CO2 per kWh; adds emissions to the results. Optional.", { minimum: 0 }),
    }),
  },
  { required: true },
);

const modelSpec = obj("An inline transformer shape.", {
  name: str("Model name, shown in results.", { default: "custom" }),
  layers: int("Transformer layers.", 1, { required: true }),
  hidden: int("Hidden size (d_model); a multiple of heads unless headDim is set.", 1, { required: true }),
  heads: int("Attention heads; a multiple of kvHeads.", 1, { required: true }),
  kvHeads: int("Key/value heads (GQA); equal to heads for multi-head attention.", 1, { derivedDefault: "heads" }),
  headDim: int("Width of one attention head, in elements (HF head_dim), for models whose heads × headDim differs from hidden (Qwen3-8B: 32 × 128 over hidden 4096; Gemma 7B: 16 × 256 over 3072): Q/K/V project hidden to heads·headDim and kvHeads·headDim, the output projection back to hidden. Under MLA it is the default of qkNopeHeadDim and vHeadDim.", 1, { derivedDefault: "hidden/heads" }),
  ffn: int("MLP inner size (per expert for MoE).", 1, { derivedDefault: "4·hidden" }),
  vocab: int("Vocabulary size.", 1, { required: true }),
  gatedMlp: bool("SwiGLU-style gated MLP (two input projections).", { default: false }),
  experts: int("Number of experts (1 = dense).", 1, { default: 1 }),
  topK: int("Experts each token is routed to (at most experts).", 1, { default: 1 }),
  expertFfn: int("MoE: inner size of one routed expert (HF moe_intermediate_size); the dense first layers keep ffn.", 1, { derivedDefault: "ffn" }),
  sharedExperts: int("MoE: always-active shared experts per MoE layer, each of size expertFfn, run as one dense tensor-parallel MLP (HF n_shared_experts; Megatron-Core --moe-shared-expert-intermediate-size = sharedExperts·expertFfn).", 0, { default: 0 }),
  denseLayers: int("MoE: the first this many layers are dense MLPs of size ffn (HF first_k_dense_replace; DeepSeek-V3: 3); they sit on the first pipeline stage(s). Below layers.", 0, { default: 0 }),
  routerScoring: oneOf(ROUTER_SCORING, "MoE: how the router scores experts before its top-k (HF scoring_func): softmax (Mixtral, Qwen3-MoE) or sigmoid (DeepSeek-V3, with aux-loss-free bias balancing). Same kernel traffic either way.", { default: "softmax" }),
  expertGroups: int("MoE group-limited routing (HF n_group; DeepSeek-V3: 8): the experts form this many contiguous groups; give with expertGroupsPerToken. Only parallelism.moeDispatch deepep uses it: a token then reaches at most the nodes holding its groups.", 1, { derivedDefault: "none (no group limit)" }),
  expertGroupsPerToken: int("MoE group-limited routing (HF topk_group; DeepSeek-V3: 4): groups each token's experts may come from; at most expertGroups.", 1, { derivedDefault: "none (no group limit)" }),
  tiedEmbeddings: bool("Input embedding and output projection share weights.", { default: true }),
  positionEmbeddings: int("Learned absolute position embeddings of this many positions; 0 = rotary.", 0, { default: 0 }),
  dropout: bool("Dropout in the layer (GPT-style) or none (Llama-style).", { default: false }),
  bias: bool("Linear layers carry biases.", { default: false }),
  kvLoraRank: int("Multi-head latent attention (DeepSeek-V2/V3): width of the compressed key/value latent; setting it turns MLA on (HF kv_lora_rank; DeepSeek-V3: 512). Optional.", 1),
  qLoraRank: int("MLA: width of the compressed query latent; 0 = a full query projection (HF q_lora_rank; DeepSeek-V3: 1536, V2-Lite: none).", 0, { derivedDefault: "0" }),
  qkRopeHeadDim: int("MLA: rotary part of each query/key head, with one rotary key shared by the heads (HF qk_rope_head_dim; DeepSeek-V3: 64).", 0, { derivedDefault: "0" }),
  qkNopeHeadDim: int("MLA: non-rotary part of each query/key head (HF qk_nope_head_dim; DeepSeek-V3: 128).", 1, { derivedDefault: "headDim" }),
  vHeadDim: int("MLA: value width per head (HF v_head_dim; DeepSeek-V3: 128).", 1, { derivedDefault: "headDim" }),
  slidingWindow: int("Sliding-window attention: keys each query sees, itself included, in tokens (HF sliding_window; Mistral 7B: 4096). Optional: global attention.", 1),
  slidingWindowPattern: int("With slidingWindow: every N-th layer (the N-th, 2N-th, ...) attends globally, the others within the window (Gemma 2: 2, Gemma 3: 6). Optional: every layer in the window.", 1),
  mtpLayers: int("Multi-token-prediction depths, each one more transformer block with its projection and the shared output head, on the last pipeline stage (HF num_nextn_predict_layers; DeepSeek-V3: 1).", 0, { derivedDefault: "0" }),
  source: str("Where the shape comes from.", { derivedDefault: "user-defined in <file>" }),
});

const modelOverride = obj("A built-in model with some fields changed.", {
  base: oneOf(MODEL_NAMES, "The built-in model to start from.", { required: true, noun: "a built-in model" }),
  ...partial(modelSpec).fields,
  name: str("Name of the changed model.", { derivedDefault: "the base name followed by *" }),
});

const hfModel = obj(
  "A model read from a local HuggingFace config.json. Every field used is checked, and a bad one is refused by name (workload.model.hf:<field>): sizes and counts (hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, intermediate_size or moe_intermediate_size, vocab_size, num_local_experts or num_experts, num_experts_per_tok) are positive integers; max_position_embeddings or n_positions an integer >= 0; hidden_act or activation_function one of transformers' activation names; tie_word_embeddings, attention_bias and mlp_bias true or false; attention_dropout and hidden_dropout from 0 to 1; rope_theta or rotary_emb_base a positive number; head_dim a positive integer or null (kept when it differs from hidden_size/num_attention_heads; ignored under MLA, where transformers sets it to the rotary width).",
  {
  hf: str("Path to config.json, relative to this scenario file.", { required: true }),
  name: str("Model name, shown in results.", { derivedDefault: "the config's folder name" }),
  },
);

const model: UnionNode = {
  kind: "union",
  description: "The model: a built-in name, {hf: ./config.json}, {base: <built-in>, ...overrides}, or an inline shape.",
  required: true,
  options: [
    { key: "builtin", when: "string", label: "a built-in model name", node: oneOf(MODEL_NAMES, "A built-in model.", { noun: "a built-in model" }) },
    { key: "hf", when: { hasKey: "hf" }, label: "{hf: ./config.json}", node: hfModel },
    { key: "override", when: { hasKey: "base" }, label: "{base: <built-in model>, ...overrides}", node: modelOverride },
    { key: "inline", when: "object", label: "an inline model {layers, hidden, heads, vocab, ...}", node: modelSpec },
  ],
};

const workload = obj(
  "What is trained: the model, sequence length, batch and precision.",
  {
    model,
    seqLength: int("Sequence length in tokens.", 1, { required: true }),
    globalBatch: int("Sequences per optimizer step.", 1, { required: true }),
    precision: oneOf(PRECISIONS, "Compute precision of the matmuls.", { default: "bf16" }),
    attention: oneOf(ATTENTION, "Attention kernel: fused flash, or materialised scores (pre-2022 stacks).", { default: "flash" }),
    flashBackward: oneOf(
      ["fused", "split"],
      "How the flash-attention backward runs (attention: flash). fused: one kernel recomputes the scores once and produces dQ, dK and dV, five products for the forward's two (FlashAttention-2, cuDNN). split: two kernels, dK and dV first, then dQ, each recomputing the scores and dP, seven products: one forward's FLOPs and bytes more. JAX's Pallas TPU flash_attention (jax.experimental.pallas.ops.tpu, 2023: _flash_attention_bwd_dkv then _flash_attention_bwd_dq) and splash attention with use_fused_bwd_kernel False, MaxText's default (base.yml sa_use_fused_bwd_kernel: False).",
      { default: "fused" },
    ),
    flashBlock: int("The flash-attention kernel's query and key block, in tokens (attention: flash; MaxText's splash attention sa_block_q and sa_block_kv, 512 by default in base.yml since 2025, 2048 in the v5p recipes of DeepSeek-V3 and Llama 3.1 405B). A causal mask skips only the blocks wholly above the diagonal and computes the diagonal blocks in full (splash_attention_mask_info.py: a block is all-masked, partial or full; only all-masked ones are skipped): (s/b + 1)/(2·s/b) of the score square instead of about a half. Absent: 128, the query tile of FlashAttention-2.", 1),
    attentionBackend: oneOf(
      ATTENTION_BACKENDS,
      "Which flash-attention kernel runs (attention: flash): flash-attention (Dao's FlashAttention-2, or the vendor's port: PyTorch SDPA's flash backend on NVIDIA, Hugging Face's flash_attention_2, CK's port on AMD) or aotriton (ROCm/aotriton's Triton kernels: what PyTorch SDPA's flash backend runs on ROCm unless TORCH_ROCM_FA_PREFER_CK=1; AMD GPUs with AOTriton levels) or cudnn (cuDNN's fused attention: what Transformer Engine, and so Megatron-Core and NeMo, runs on Hopper and Blackwell, where TE prefers it over FlashAttention), or flash-attention-1 (Dao's FlashAttention 1 of 2022, NVIDIA only: FA2's levels, an upper bound, with its own head-dim kernels 32, 64 and 128, so head dim 96 computes as 128). Dao's kernels pad a head dim to the next one they are compiled for (FA2: multiples of 32, so 80 computes as 96). Each has its own measured levels in the catalog; a GPU without levels for the one asked is refused.",
      { derivedDefault: "the kernel the accelerator's catalog levels measure: cudnn on B200, GB200 and GB300, flash-attention elsewhere" },
    ),
    normKernel: oneOf(
      NORM_KERNEL_NAMES,
      "Which LayerNorm/RMSNorm kernel the run called, when it is known (fused layers; NVIDIA and AMD GPUs): its measured share of the STREAM bandwidth replaces the catalog's median over implementations (normStreamRelative, normBackwardStreamRelative; models/hardware/catalog/memory-kernels.ts). apex-persistent: Apex's contrib FastLayerNorm, Megatron-LM's persistent fused LayerNorm from 2021-10-08 (hidden sizes of its list, unless --no-persist-layer-norm). apex-fused: Apex's FusedLayerNorm (Megatron-LM's MixedFusedLayerNorm before that). Absent: the catalog's median.",
      {},
    ),
    vocabDivisibleBy: int(
      "The vocabulary is padded up to a multiple of this × tp, as Megatron-LM's --make-vocab-size-divisible-by (GPT-2's 50,257 at tp 4: 50,688); the padded rows count in parameters, FLOPs, memory and time. 1: pad only to a multiple of tp.",
      1,
      { default: 128 },
    ),
    fp8Recipe: oneOf(FP8_RECIPES, "precision fp8 only: FP8 scaling recipe: Transformer Engine's delayed, current, mxfp8 (Blackwell), blockwise; torchao.float8's tensorwise, rowwise, rowwise-gw-hp (BF16 weight-gradient GEMM); sets the cast/amax kernels and backward GEMMs.", { default: "delayed" }),
    fp8Attention: bool("precision fp8 only: flash attention runs in FP8 too (TE FP8 DotProductAttention); otherwise it stays in BF16.", { default: false }),
    masterWeights: oneOf(
      MASTER_WEIGHTS,
      "What the optimizer updates. fp32: mixed precision, an fp32 master copy of the parameters and fp32 Adam moments beside the 16-bit weights (16 bytes per parameter with fp32 gradients; under ZeRO-3/FSDP the fp32 shard is the parameter and is cast to the compute dtype when gathered). none: parameters, gradients and Adam moments all stay in the training dtype, no master copy (pure bf16: 8 bytes per parameter; PyTorch AdamW on a model loaded or cast to bf16, as Transformer Engine's Llama tutorials and KempnerForge's param_dtype do). No effect with precision fp32/tf32. Memory only for now: the optimizer kernel's traffic is not changed.",
      { derivedDefault: "fp32" },
    ),
    optimizerImplementation: oneOf(
      OPTIMIZER_IMPLEMENTATIONS,
      "How the AdamW update runs. fused: one kernel reads gradient, parameter and both moments and writes parameter and moments, 7 passes over parameter-sized tensors (torch.optim.AdamW(fused=True), apex / Transformer Engine FusedAdam, Megatron-LM). foreach: torch.optim.AdamW's default on CUDA when neither fused nor foreach is passed: _multi_tensor_adamw's eight torch._foreach_* ops (weight decay, lerp, mul, addcmul, sqrt, div, add, addcdiv), each a full read-modify-write, 20 passes (models/workload/optimizer-kernel.ts).",
      { default: "fused" },
    ),
    moe: obj("Mixture-of-experts routing (models with experts > 1). Absent: dropless routing, each token's experts a random draw (imbalance random: every expert gets T·topK/experts on average and the busiest EP rank the multinomial excess of a micro-batch).", {
      capacityFactor: qty("ratio", "Tokens an expert takes per micro-batch, as a multiple of its balanced share (Switch Transformer's expert capacity; Megatron-Core --moe-expert-capacity-factor); the overflow is dropped, not padded. Omit for dropless routing (Megatron-Core's default).", { exclusiveMinimum: 0, derivedDefault: "none (dropless)" }),
      padToCapacity: bool("With capacityFactor: every expert's input is padded up to its capacity (Megatron-Core --moe-pad-expert-input-to-capacity): each expert computes, and the all-to-all moves, exactly capacityFactor × its balanced share whatever the routing, and the dispatcher needs no device-to-host synchronisation of the split sizes. Needs capacityFactor.", { default: false }),
      routerPadding: bool("precision fp8 with Transformer Engine's recipes: the router pads each rank's routing map so every expert's token count is a multiple of the FP8 grouped GEMM's alignment (16 rows, 32 under mxfp8): Megatron-Core --moe-router-padding-for-fp8 / --moe-router-padding-for-quantization, experts·(alignment−1)/2 more copies per rank on average through the all-to-all and the experts. false: each expert's rows are aligned after the dispatch (TEGroupedMLP's Fp8Padding copies with the all-to-all dispatch; inside DeepEP's permutation with deepep).", { default: false }),
      fp8PadAlways: bool("precision fp8 with Transformer Engine's recipes and the all-to-all dispatch (Megatron-Core TEGroupedMLP): the FP8 padding copies of the received rows (Fp8Padding before fc1, Fp8Unpadding after fc2, each mirrored in the backward: one read and one write of every received row each) run even when every expert's row count is already a multiple of the alignment, as Transformer Engine did up to v2.2 (fp8_padding.py / fp8_unpadding.py copy unconditionally; from v2.3, TE PR #1525, an aligned count is passed through). Only changes a layer padded to an aligned capacity (padToCapacity); dropless layers copy either way. false: an aligned count is not copied.", { default: false }),
      gmmTileRows: int("The routed experts run Megablox's grouped matmuls (MaxText megablox with sparse_matmul, on TPU) with m tiles of this many rows (MaxText tile_batch_seq, 512 by default): all local experts' sorted rows are cut into such tiles and a tile holding two experts' rows is computed in full once for each (jax megablox gmm.py make_group_metadata), so each expert's grouped GEMMs, forward and backward, gain tileRows·(experts − 1)/experts rows. Absent: grouped GEMMs of exactly the routed rows.", 1),
      gmmTileCols: int("With gmmTileRows: Megablox's n tile, the output columns each grid step computes (MaxText tile_mlp_dim and tile_embed_dim, 1024 by default; megablox gmm and tgmm run their grid's first, 'parallel' dimension over the output's column tiles). On a chip whose TensorCores run as a megacore (TPU v4, v5p) Pallas splits those tiles between the two cores, so a grouped GEMM whose output has an odd number of column tiles (DeepSeek-V3's 7168 hidden: 7) waits for the core with one tile more: 2·⌈t/2⌉/t of the even time. Absent: no split modelled.", 1),
      imbalance: obj("How routed tokens spread over the experts: per MoE layer, per-expert load shares drawn from this distribution on the seeded stream \"moe-routing\" (run seed); each EP rank computes its local experts' tokens, and the busiest rank gates the layer's expert GEMMs, permutes and all-to-alls.", {
        distribution: oneOf(MOE_LOAD_DISTRIBUTIONS, "random: each token's topK experts a uniform random subset, drawn per micro-batch (Megatron-Core --moe-router-force-load-balancing replaces the router logits by i.i.d. normal ones, moe_utils.py apply_random_logits): expert counts are multinomial over the tokens the EP group routes per micro-batch (ep × micro-batch × sequence / (cp × tp / expertTp)), so the busiest rank carries the sampling excess, about 1 + 1.4·√(ep·(E−k)/(T·k·(E−1))) with 8 ranks; the floor of any router, and the default. balanced: every expert its exact share (imbalance factor 1); lognormal: each expert's load ∝ exp(spread·N(0,1)); zipf: the expert of popularity rank k (a seeded shuffle) gets ∝ 1/k^spread; lognormal and zipf draw expected shares, the sampling noise is part of spread.", { default: "random" }),
        spread: qty("ratio", "lognormal: standard deviation of the log load; zipf: the exponent. 0 = balanced. Not used by random and balanced.", { minimum: 0, default: 0 }),
      }),
    }, { whenAbsent: "omit" }),
    layerImplementation: oneOf(
      LAYER_IMPLEMENTATIONS,
      "How each transformer layer runs. fused: Megatron-Core / Transformer Engine kernels (one fused RMSNorm, RoPE and SwiGLU kernel each, fused QKV and fc1 GEMMs). eager: the layer as eager PyTorch ops (torch.compile off), modelled on Hugging Face transformers' LlamaDecoderLayer (v4.39-4.41): RMSNorm as fp32 upcast, pow, mean, rsqrt, multiply and casts; rotate_half RoPE (slices, neg, cat, multiplies, add) with cos/sin recomputed per layer; separate Q, K, V and gate, up GEMMs; SiLU and the gate multiply apart; autograd's backward of each op; every op a memory-bound kernel with its own launch, and autograd's saved tensors in memory (fp32 norm inputs). Llama-family dense models only; not with tpCommOverlap or recompute per-op.",
      { default: "fused" },
    ),
    lossChunks: int(
      "The output layer and loss run over this many chunks of the micro-batch's tokens, one chunk's logits live at a time (MaxText's num_vocab_tiling: a scan over token tiles with a custom VJP that recomputes each tile's logits in backward, maxtext_utils.py get_vocab_tiling_loss_linen). Divides the loss's memory (crossEntropy's bytes per logit); memory only for now.",
      1,
      { default: 1 },
    ),
    crossEntropy: oneOf(
      CROSS_ENTROPY,
      "How the loss holds the logits (the last stage's peak, at the start of backward), bytes per logit: fused-fp32 (Megatron's vocab-parallel cross-entropy: the logits in the compute dtype and one fp32 softmax, 2 + 4 in bf16); eager-fp32 (PyTorch F.cross_entropy(logits.float()) with the logits freed before backward, as torchtitan until mid-2025: the fp32 log-softmax, its incoming gradient and its input gradient, 12); compiled-fp32 (the same under torch.compile, as torchtitan since: the bf16 logits are kept and the input gradient written in bf16 by one fused kernel, 2 × 2); eager (F.cross_entropy on bf16 logits the training loop keeps through backward: logits, log-softmax and two gradients, 4 × 2). Memory only for now.",
      { derivedDefault: "fused-fp32" },
    ),
  },
  { required: true },
);

const parallelism = obj("How the model is split over the GPUs.", {
  tp: int("Tensor-parallel degree.", 1, { default: 1 }),
  pp: int("Pipeline-parallel stages.", 1, { default: 1 }),
  dp: int("Data-parallel replicas.", 1, { derivedDefault: "GPUs / (tp·pp·cp)" }),
  cp: int("Context-parallel degree (sequence split across ranks).", 1, { default: 1 }),
  ep: int("Expert-parallel degree (MoE).", 1, { default: 1 }),
  expertTp: int(
    "MoE: tensor-parallel degree of the routed experts (Megatron-Core --expert-tensor-parallel-size). Each rank dispatches its sequence-parallel tokens over the EP group, whose members sit expertTp ranks apart; the copies it receives are all-gathered over the expertTp group before the experts (which hold expertFfn/expertTp columns) and reduce-scattered after. ep·expertTp must divide tp·dp·cp; expert state is sharded by ZeRO over the tp·dp·cp/(ep·expertTp) ranks that replicate it.",
    1,
    { derivedDefault: "tp" },
  ),
  microBatch: int("Sequences per micro-batch.", 1, { default: 1 }),
  virtualStages: int("Interleaved pipeline chunks per rank.", 1, { default: 1 }),
  zero: int("ZeRO stage 0-3. 1 and 2: gradients reduce-scattered and parameters all-gathered once per step; 3 (FSDP-style parameter sharding): per wrap unit and micro-batch an all-gather before forward and backward and a reduce-scatter after backward, overlapping compute (see fsdpUnit, fsdpPrefetch, reshardAfterForward, shardGroup; overlapGradReduce does not apply).", 0, { maximum: 3, default: 1 }),
  recompute: oneOf(
    RECOMPUTE,
    "Activation recomputation. selective: Megatron's, the attention core is recomputed (Korthikanti et al. 2022); full: each layer from its saved input; per-op: torchtitan's per-op selective AC (activation_checkpoint.selective_ac_option \"op\"): the outputs of attention and of every other matmul in forward order (Q, V, gate/fc1, down) are kept, the rest of the layer (K and output projections, up projection or fc2, norms, RoPE, activation) is recomputed in backward.",
    { default: "none" },
  ),
  recomputeModules: {
    kind: "list",
    description:
      "recompute selective only: the submodules each layer recomputes in backward, by Megatron-Core's names (--recompute-modules; default [core_attn], which is recompute selective as before). core_attn: the attention core. layernorm: the norms that are modules of their own in Megatron-Core's TE layers (a MoE layer's pre-MLP norm, MLA's input norm; the others are fused into the next linear) keep no output. mla_up_proj: MLA's up projections and RoPE; Q, K, V are not kept. mlp: a dense layer's MLP from its input (not MoE layers). moe: the whole MoE block (router, permute, dispatch and combine all-to-alls, experts, shared experts) from its input. moe_act: the routed experts' activation output is not kept. shared_experts: the shared experts from their input. Refused where the model has no such layers, and where Megatron-Core refuses (moe with moeOverlap attention, shared_experts with moeOverlap shared-experts, moe_act or layernorm with FP8 delayed scaling).",
    items: oneOf(RECOMPUTE_MODULES, "A module of Megatron-Core's --recompute-modules.", { noun: "a Megatron-Core recompute module" }),
  },
  offloadModules: {
    kind: "list",
    description:
      "Megatron-Core's fine-grained activation offloading (--fine-grained-activation-offloading --offload-modules): the submodules whose saved inputs each MoE layer copies to host memory in forward (device to host on a side stream) and back in backward (host to device one layer ahead), overlapping the layers' compute; absent or empty: none. expert_fc1: the routed experts' fc1 input (the permuted token copies; with fp8Recipe mxfp8 the MXFP8 copy fc1 saves, else the original input, which Megatron-Core then saves in place of the FP8 copy). moe_act: the experts' activation input (fc1's output), also when moe_act is recomputed (the recompute then drops only the activation's output). A tensor under 1024·1024 elements stays on the GPU (min_offloaded_tensor_size); two layers' worth stay in transit. Megatron-Core's other names (attn_norm, qkv_linear, core_attn, attn_proj, mlp_norm, fused_group_mlp, gdp_qkv) are not modelled. Refused without MoE layers, with offloadActivations, with moe in recomputeModules, and with recompute full, per-op or remat.",
    items: oneOf(OFFLOAD_MODULES, "A module of Megatron-Core's --offload-modules.", { noun: "a Megatron-Core offload module" }),
  },
  remat: obj(
    "Recompute full keeping named tensors, as JAX checkpoint policies do (MaxText's remat_policy; workload/remat-policy.ts). The layer input is always kept; a tensor the backward reads is kept in HBM if saved, copied to host memory in forward and back in backward (PCIe, overlapping the layers' compute) if offloaded, else rebuilt by re-running its producer in backward (then its inputs are read too). Kernels whose outputs backward never reads (MLP down projection, last residual add) are not re-run. Sets recompute to full (another recompute value is refused). Needs flash attention, no FP8, no dropout, fused layers, no offloadActivations.",
    {
      policy: oneOf(REMAT_POLICIES, "MaxText's remat_policy (decoders.py get_remat_policy, maxtext 92e59fd): minimal (every projection's output: query/key/value/qkv_proj, out_proj, mlpwi, mlpwi_0, mlpwi_1, mlpwo), minimal_with_context (and context), save_dot_with_context_except_mlp, save_dot_except_mlpwi, save_dot_except_mlp, save_qkv_proj (proj: its 2023 name), qkv_proj_offloaded and minimal_offloaded (those sets to host), save_out_proj, custom (base.yml: nothing but the layer input; state the tensors in save and offload), full (the layer input only).", { default: "full" }),
      save: { kind: "list", description: "Tensors kept in HBM beside the policy's: MaxText's names, or trainsim's for tensors MaxText leaves unnamed (attention_norm, attention_residual, mlp_norm, mlp_activation, mla_latents, moe_routing); every name saved is recompute none. mlpwo is never read by the backward: saving it keeps nothing.", items: oneOf(REMAT_TENSOR_NAMES, "A named tensor of a layer.") },
      offload: { kind: "list", description: "Tensors copied to host memory (MaxText custom policy 'offload', or the *_offloaded policies); decoder_layer_input here moves the layer input off HBM.", items: oneOf(REMAT_TENSOR_NAMES, "A named tensor of a layer.") },
    },
    { whenAbsent: "omit" },
  ),
  sequenceParallel: bool("Megatron sequence parallelism alongside TP.", { derivedDefault: "true when tp > 1" }),
  overlapGradReduce: bool("Gradient reduction overlaps the last micro-batch's backward (bucketed DDP): each layer's gradients are reduced as its backward ends, what outlasts the backward is exposed (Megatron-Core --overlap-grad-reduce, NeMo/Apex overlap_grad_sync).", { default: true }),
  tpCommOverlap: bool(
    "Sequence-parallel TP all-gathers and reduce-scatters pipelined with their GEMMs, as Megatron-Core --tp-comm-overlap (Transformer Engine userbuffers: ring exchange before qkv/fc1 and for the proj/fc2 input gradients, pipelined reduce-scatter after proj/fc2, bulk overlap with the wgrad GEMMs) or PyTorch AsyncTP; each pair takes about max(GEMM, collective) plus one chunk of the shorter. Off in both stacks unless enabled. Needs sequenceParallel.",
    { default: false },
  ),
  tpCollectiveMatmul: oneOf(
    ["none", "one-way", "two-way"],
    "XLA's collective matmul (SPMD windowed einsum; Wang et al., ASPLOS 2023), which libtpu applies by default on TPU (JAX, MaxText): each tensor-parallel all-gather feeding a dot (qkv, fc1; the proj and fc2 input gradients) and reduce-scatter after one (proj, fc2; the qkv and fc1 input gradients) becomes a loop of tp steps, a collective-permute of one chunk beside the dot on the chunk in hand, taking about max(dot, permutes) plus one step of the shorter. one-way: the permutes go one way round the ring (open XLA's default, bidirectional_windowed_einsum false), over one of the two links of the torus axis the ring collective drives, so they take twice the collective's time; two-way: both ways (XLA's bidirectional windowed einsum), the collective's time. Only where XLA decomposes: the activation is at least 256 MiB (SpmdPartitionerOptions threshold_for_windowed_einsum_mib) and XLA's cost check, max(dot, permutes) + 2·permutes/tp < dot + collective, holds (one-way never at tp <= 4). Taken for a tensor group on one torus axis. Needs sequenceParallel (MaxText shards the activations' embedding over the tensor axis); not with tpCommOverlap. none: the collectives run exposed (or as tpCommOverlap says).",
    { default: "none" },
  ),
  overlapP2P: bool("Interleaved 1F1B (virtualStages > 1): a pass's pipeline send runs beside the next pass instead of holding the sender until it is done (Megatron-LM overlap_p2p_comm: on by default for interleaved schedules in Megatron-LM's arguments, off in Megatron-Core's ModelParallelConfig and in 2021 Megatron-LM).", { default: false }),
  cpCommType: oneOf(
    ["p2p", "all-gather", "a2a"],
    "How context parallelism exchanges keys and values (Megatron-Core --cp-comm-type): p2p, the ring, each block's transfer overlapping the attention of the block in hand (Megatron-Core's default; ring-flash-attention); all-gather, K and V gathered before attention (Llama 3), exposed; a2a, DeepSpeed-Ulysses all-to-alls of Q, K, V and the output, exposed.",
    { default: "p2p" },
  ),
  cpLayout: oneOf(
    ["zigzag", "contiguous"],
    "How a causal sequence is split over the context-parallel ranks: zigzag, 2·cp chunks with rank i holding chunks i and 2·cp−1−i, balancing causal attention (Megatron-Core, ring-flash-attention's zigzag_ring); contiguous, one block per rank, where the last rank's attention is (2·cp−1)/cp of the balanced share and every ring step waits for it.",
    { default: "zigzag" },
  ),
  cpRepeatKv: bool(
    "cpCommType a2a with grouped-query attention: K and V are repeated to every query head before the all-to-alls, so they move as many bytes as Q (XTuner's dispatched attention calls HF repeat_kv before its flash-attention wrapper runs the Ulysses all-to-alls: xtuner/model/modules/dispatch/llama.py, v0.1.16 (its first sequence-parallel release) to v0.1.23). false: K and V cross with their own kvHeads. Needs cpCommType a2a.",
    { default: false },
  ),
  cpRingImplementation: oneOf(
    ["ring-flash-attn"],
    "cpCommType p2p: which code runs the ring, for the work it does between the blocks. ring-flash-attn: zhuzilin/ring-flash-attention's ring and zigzag_ring functions (ring_flash_attn/zigzag_ring_flash_attn.py and utils.py, commit 55ff66f, March 2024; EasyContext's ring attention), which merge each block's output into an fp32 output with update_out_and_lse after every ring step, accumulate dQ, dK and dV in fp32 in backward (dq += dq_buffer, dk += dk_buffer) and pass dK and dV round the ring in fp32: memory-bound passes over the rank's Q/K/V-sized tensors per step (models/workload/ring-merge.ts) and twice the gradient bytes. Absent: only the blocks' attention and the K/V (and backward dK/dV) exchange are modelled.",
  ),
  moeOverlap: oneOf(
    MOE_OVERLAP,
    "MoE with ep > 1: what the dispatch and combine all-to-alls run beside, on a communication stream (each pair taking about the longer of the two). none: exposed. shared-experts: the shared experts' GEMMs (Megatron-Core --moe-shared-expert-overlap; no effect without shared experts). attention: the layer's attention GEMMs and core, standing for the other micro-batch's compute under Megatron-Core's --overlap-moe-expert-parallel-comm (combined 1F1B) or DeepSeek-V3's DualPipe.",
    { default: "none" },
  ),
  moeDispatch: oneOf(
    MOE_DISPATCH,
    "MoE with ep > 1: how tokens reach their experts and come back. all-to-all: NCCL all-to-all, every expert copy sent to its GPU (Megatron-Core's alltoall dispatcher). deepep: DeepEP's normal kernels, a token crossing the network once per destination node and forwarded over NVLink there (Megatron-Core --moe-enable-deepep, DeepSeek-V3); experts taken as uniformly placed, no node-limited routing.",
    { default: "all-to-all" },
  ),
  moeDispatchSms: int("MoE with moeOverlap: SMs the dispatch and combine kernels hold while the compute beside them runs on the rest (DeepEP's Buffer.set_num_sms, Megatron-Core --moe-deepep-num-sms / --moe-hybridep-num-sms / --moe-flex-dispatcher-num-sms). Exposed all-to-alls block the compute anyway.", 1, { derivedDefault: "deepep: 20 (Megatron-Core's default); all-to-all: NCCL's channels, the accelerator's commSmsScaleUp within a node, commSmsPerNic per member on a node across nodes" }),
  overlapParamGather: bool(
    "ZeRO-1/2: the parameter all-gather runs during the next step's first micro-batch forward instead of blocking after the optimizer: bucket by bucket (the DDP buckets, >= 40M parameters each), one bucket in flight, each layer waiting for its bucket, the first bucket exposed (Megatron-Core --overlap-param-gather, NeMo/Apex overlap_param_sync; off by default).",
    { default: false },
  ),
  gradReduceDtype: oneOf(["fp32", "bf16", "fp16"], "Precision of gradient buffers and their reduction.", { derivedDefault: "fp16 when precision is fp16, else fp32" }),
  gradAccumulationFusion: bool(
    "The weight-gradient GEMM accumulates into the gradient buffer in its epilogue (Megatron-LM --gradient-accumulation-fusion, default since 2022; Transformer Engine). false: each micro-batch's fresh weight gradient is added in by a separate elementwise kernel (PyTorch autograd; Megatron-LM 2021).",
    { default: true },
  ),
  firstStageLayers: int("Layers on the first (virtual) pipeline stage, when it should carry fewer than the rest (it also holds the embedding); the other stages split the remainder evenly.", 0),
  lastStageLayers: int("Layers on the last (virtual) pipeline stage, when it should carry fewer than the rest (it also holds the output layer and loss).", 0),
  fsdpUnit: {
    kind: "union",
    description:
      "ZeRO-3/FSDP wrap unit, all-gathered and reduce-scattered as one collective in the simulated step: \"layer\" (one transformer block, as PyTorch FSDP's transformer wrap policy) or a number of layers. The embedding and the output layer are units of their own. \"module\": DeepSpeed ZeRO-3's submodule fetching (partitioned_param_coordinator.py): every module (q, k, v, o projections, norms, gate/up/down, and the parameterless layer, attention, rotary, MLP and activation modules) is a hook; at each hook its own parameters are gathered, the compute stream joins every gather issued so far, then the next parameters in trace order are prefetched as one coalesced all-gather up to fsdpPrefetchParams elements (at least one parameter while fewer than fsdpMaxLiveParams are live); parameters are freed after their module unless used again within fsdpMaxReuseParams elements, never partitioned at or below fsdpPersistParams, and gradients reduce-scattered in buckets of fsdpReduceBucketParams. Single stage (pp 1), dense models without MLA or MTP.",
    derivedDefault: "layer",
    options: [
      { key: "layer", when: "string", label: "\"layer\" or \"module\"", node: oneOf(["layer", "module"], "layer: one transformer block per unit; module: DeepSpeed ZeRO-3's submodule fetching.") },
      { key: "layers", when: "number", label: "a number of layers", node: int("Transformer layers per unit.", 1) },
    ],
  },
  reshardAfterForward: bool("ZeRO-3/FSDP: free each unit's gathered parameters after its forward and gather them again for backward (simulated: a second all-gather per unit and micro-batch). false: keep them to backward (more memory, one all-gather fewer).", { derivedDefault: "true" }),
  fsdpPrefetch: int("ZeRO-3/FSDP: units all-gathered ahead of the one computing (PyTorch FSDP's backward prefetch, FSDP2's implicit prefetch: 1). Simulated: the gathers run on the communication stream this far ahead and overlap the compute of the units before; 0 exposes every gather.", 0, { derivedDefault: "1" }),
  fsdpPrefetchParams: int(
    "ZeRO-3: prefetch by a parameter budget instead of a unit count (overrides fsdpPrefetch), as DeepSpeed does: after a unit's gather the next units are gathered while fewer than this many parameters (elements, per rank before sharding) are in flight beyond it, at least one unit if > 0. DeepSpeed's stage3_prefetch_bucket_size: 5e7 by default (deepspeed/runtime/zero/config.py); the Hugging Face / Accelerate integration's \"auto\" is 0.9 x hidden^2. With fsdpUnit module, DeepSpeed's own rule: at each module hook, after the join, up to this many new elements are prefetched (default there 5e7).",
    0,
    { derivedDefault: "none (fsdpPrefetch)" },
  ),
  fsdpMaxLiveParams: int("fsdpUnit module: most parameter elements gathered at once before prefetching stops (DeepSpeed stage3_max_live_parameters; default 1e9, deepspeed/runtime/zero/config.py).", 0, { derivedDefault: "1e9" }),
  fsdpMaxReuseParams: int("fsdpUnit module: a module's parameters stay gathered after it if the trace uses them again within this many elements (DeepSpeed stage3_max_reuse_distance; default 1e9). With activation checkpointing this keeps a recomputed module's weights for its backward.", 0, { derivedDefault: "1e9" }),
  fsdpPersistParams: int("fsdpUnit module: parameters of at most this many elements are never partitioned nor gathered (DeepSpeed stage3_param_persistence_threshold; default 1e5; Hugging Face / Accelerate \"auto\": 10 x hidden).", 0, { derivedDefault: "1e5" }),
  fsdpReduceBucketParams: int("fsdpUnit module: gradient elements per reduce-scatter; a bucket is reduced when the next parameter's gradient would overflow it, the rest after the backward (DeepSpeed reduce_bucket_size; default 5e8; Hugging Face / Accelerate \"auto\": hidden^2).", 1, { derivedDefault: "5e8" }),
  shardGroup: int("Data-parallel ranks ZeRO/FSDP state is sharded over; replicated across the dp/shardGroup groups (HSDP). Must divide dp. With zero 3 the simulated gathers and reduce-scatters run within the shard group and the gradient shards are all-reduced across the replicas; zero 1-2 traffic still runs over all dp ranks.", 1, { derivedDefault: "dp" }),
  fsdpLayout: oneOf(
    ["flat", "per-parameter"],
    "ZeRO-3/FSDP: how the sharded parameters are laid out. flat: the all-gather writes straight into a flat parameter that the layers view, and the flat gradient is reduce-scattered in place (FSDP1's FlatParameter). per-parameter: every parameter is its own shard (PyTorch FSDP2 fully_shard, e.g. torchtitan), so each all-gather is preceded by a copy-in of the shards into a flat buffer (cast to the compute dtype, on a side stream) and followed by a copy-out into every parameter (split_with_sizes_copy, compute stream), and each reduce-scatter by a chunk_cat of the gradients into a reduce-dtype buffer (compute stream): memory-bound kernels in the step.",
    { derivedDefault: "flat" },
  ),
  fsdpGradSync: oneOf(
    ["every-micro-batch", "last-micro-batch"],
    "ZeRO-3/FSDP with gradient accumulation: when the gradients are reduce-scattered. every-micro-batch: after each micro-batch's backward, accumulated in the shard (torchtitan, FSDP's default). last-micro-batch: sync skipped on all but the last micro-batch (FSDP2 set_requires_gradient_sync(False), FSDP1 no_sync()), so each GPU accumulates its stage's unsharded gradients, in gradReduceDtype (FSDP2 upcasts them to its reduce_dtype). Simulated: only the last micro-batch's backward reduce-scatters (the all-gathers still run every micro-batch); with fsdpLayout per-parameter the accumulation into the reduce dtype is a memory-bound kernel after each other backward.",
    { derivedDefault: "every-micro-batch" },
  ),
  lossParallel: bool(
    "tp > 1: the loss runs on vocabulary shards (Megatron's vocab-parallel cross-entropy, torchtitan's loss_parallel). false: the output layer's logits are all-gathered so every tensor rank holds the full vocabulary (DTensor ColwiseParallel with a replicated output, e.g. KempnerForge). Simulated: the all-gather of the logits (tokens × vocabulary) on the compute stream before the loss, and the loss passes over the whole vocabulary on every rank, forward and backward.",
    { derivedDefault: "true" },
  ),
  perOpSavesAttention: bool(
    "recompute per-op: whether the policy saves the attention op's output. false: backward runs the attention forward again and its output and logsumexp are not kept, as torchtitan's per-op policy did with cuDNN's attention before commit b39377f9f (2025-12-01: its save list named only SDPA's flash and efficient ops; torchtitan ran cuDNN first on B200 from mid-2025).",
    { derivedDefault: "true" },
  ),
  offloadOptimizer: bool(
    "Optimizer state and fp32 master weights in host memory (ZeRO-Offload; from zero 2 also the gradient shard). Simulated: each reduced gradient shard crosses PCIe to the host (zero 3: after every unit's reduce-scatter, every micro-batch), Adam runs on the host CPU (DeepSpeed CPU-Adam, the node's ranks sharing one host) while the GPU waits, and the updated parameter shard comes back over PCIe unless offloadParams.",
    { derivedDefault: "false" },
  ),
  offloadParams: bool("zero 3 only: parameter shards in host memory (DeepSpeed offload_param). Simulated: before each all-gather of a unit its shard is copied host to device over PCIe on the communication stream (prefetched with the gather).", { derivedDefault: "false" }),
  offloadActivations: qty("ratio", "Saved activations kept in host memory: a share of each pipeline stage's layers (0 to 1, or \"50 %\") or a whole number of layers above 1. Simulated: their bytes cross PCIe to the host during forward and back during backward, overlapping those passes' GEMMs (the slower of the two sets the pace).", { minimum: 0, derivedDefault: "0" }),
});

const failureProcess = (what: string): ObjectNode =>
  obj(`Failures of ${what}; default from the Llama 3 405B snapshot (Table 5).`, {
    mtbf: qty("time", `Mean time between failures of ONE such component (e.g. 1e5 h).${atLeast("1 h")}`, { minimum: 3600 }),
    distribution: oneOf(["exponential", "weibull"], "Distribution of times between failures.", { default: "exponential" }),
    shape: qty("ratio", "Weibull shape k (< 1: infant mortality, > 1: wear-out).", { exclusiveMinimum: 0 }),
  });

const reliability = obj(
  "Failures, checkpoints and restarts over long runs (use with run.duration, run.tokens or run.steps).",
  {
    checkpointInterval: qty("time", `Training time between checkpoints; omit for the Young/Daly optimum √(2·δ·MTBF) of the simulated system.${atLeast("1 s")}`, { minimum: 1 }),
    checkpointMode: oneOf(["sync", "async"], "sync: training waits for the whole write; async: only for the copy to host memory.", { default: "sync" }),
    storageBandwidth: qty("bandwidth", `Aggregate write bandwidth of the checkpoint storage (Llama 3: 2 TB/s sustained).${atLeast("10 MB/s")}`, { minimum: MIN_STORAGE_BANDWIDTH, derivedDefault: "unlimited: the nodes' storage NICs bind" }),
    nodeStorageBandwidth: qty("bandwidth", `Bandwidth from each node to storage.${atLeast("10 MB/s")}`, { minimum: MIN_STORAGE_BANDWIDTH, derivedDefault: "2 × the per-GPU NIC bandwidth (DGX nodes have two storage NICs)" }),
    detectionTime: qty("time", "From a failure to the job noticing it (heartbeats, NCCL watchdog).", { minimum: 0, default: 60 }),
    restartTime: qty("time", "From noticing a failure to training again: reschedule, restart, reload the checkpoint.", { minimum: 0, default: 600 }),
    spareNodes: int("Healthy nodes on standby to replace failed ones.", 0, { derivedDefault: "2 % of the nodes, at least 1" }),
    repairTime: qty("time", "Time to repair a failed node and return it to the spare pool.", { minimum: 0, default: 86400 }),
    failures: obj("Failure processes per component class.", {
      gpu: failureProcess("a GPU (faulty GPU, SRAM, system processor, silent data corruption, thermal)"),
      hbm: failureProcess("a GPU's HBM"),
      host: failureProcess("a host (CPU, memory, SSD, power supply, chassis, unplanned maintenance)"),
      nic: failureProcess("a NIC"),
      switch: { ...failureProcess("the network, per GPU (switches and cables)"), fields: { ...failureProcess("").fields, blastRadius: oneOf(["node", "leaf"], "What one failure takes out: a cable/port, one node; a leaf switch, every node under it.", { default: "node" }) } },
      software: failureProcess("the software stack, per GPU"),
      maintenance: failureProcess("planned maintenance, per GPU (checkpointed first: no work lost)"),
    }),
  },
  { whenAbsent: "omit" },
);

const storageTier = obj("A storage tier's read figures.", {
  readBandwidth: qty("bandwidth", `Aggregate read bandwidth of the whole tier (all clients together).${atLeast("10 MB/s")}`, { required: true, minimum: MIN_STORAGE_BANDWIDTH }),
  clientBandwidth: qty("bandwidth", `Read bandwidth one client node can draw from the tier.${atLeast("10 MB/s")}`, { minimum: MIN_STORAGE_BANDWIDTH, derivedDefault: "unlimited: the node's storage NICs bind" }),
  requestsPerSecond: qty("count", "Read requests per second the whole tier serves (IOPS, or an object store's GET rate); at least 1.", { minimum: 1, derivedDefault: "unlimited" }),
  requestLatency: qty("time", "From issuing a read to its first byte; with data.readsInFlight per worker it caps each loader's request rate. At most 1 h.", { minimum: 0, maximum: 3600, default: 0 }),
});

export const storageNode: UnionNode = {
  kind: "union",
  description: `Where the samples are read from: a preset (${STORAGE_PRESET_NAMES.join(", ")}; models/data/storage.ts gives each figure's source), {base: <preset>, ...fields to change}, or an inline tier.`,
  required: true,
  options: [
    { key: "preset", when: "string", label: "a storage preset name", node: oneOf(STORAGE_PRESET_NAMES, "A storage preset.", { noun: "a storage preset" }) },
    { key: "override", when: { hasKey: "base" }, label: "{base: <storage preset>, ...overrides}", node: obj("A storage preset with some fields changed.", { base: oneOf(STORAGE_PRESET_NAMES, "The preset to start from.", { required: true, noun: "a storage preset" }), ...partial(storageTier).fields }) },
    { key: "inline", when: "object", label: "an inline tier {readBandwidth, clientBandwidth?, requestsPerSecond?, requestLatency?}", node: storageTier },
  ],
};

const data = obj(
  "The input pipeline from storage to the GPU (docs/data.md): a GPU waiting on its prefetch queue counts as the data category. Absent: not modelled.",
  {
    storage: storageNode,
    kind: oneOf(DATA_KINDS, "What a sample is: pre-tokenized text (seqLength tokens), or images, video frames or audio clips.", { default: "text" }),
    bytesPerToken: qty("bytes", "text: stored bytes per token (at most 8).", { exclusiveMinimum: 0, maximum: 8, derivedDefault: "2 when the vocabulary fits in uint16 (at most 65,536 entries), else 4 (Megatron's indexed dataset dtype)" }),
    itemsPerSample: int("image, video, audio: images, frames or clips per sample (at most 1,000,000).", 1, { default: 1, maximum: 1e6 }),
    bytesPerItem: qty("bytes", "image, video, audio: stored (encoded) bytes per item, at most 1 TB; required for those kinds.", { exclusiveMinimum: 0, maximum: 1e12 }),
    deviceBytesPerSample: qty("bytes", "Bytes per sample copied host to device after decoding (at most 1 PB).", { minimum: 0, maximum: 1e15, derivedDefault: "the stored bytes per sample" }),
    decodeCoreSeconds: qty("time", "CPU core-seconds per sample to decode, tokenize and augment; required for image, video and audio (no sourced default). At most 1 h.", { minimum: 0, maximum: 3600, derivedDefault: "0 for text (pre-tokenized and memory-mapped)" }),
    workers: int("CPU worker processes per loader (DataLoader num_workers; default Megatron-LM's --num-workers); 0: the training process loads inline, synchronously. At most 1,000,000.", 0, { default: 2, maximum: 1e6 }),
    prefetch: int("Batches each loader keeps ready ahead of the step (default PyTorch DataLoader's prefetch_factor); 0: loading is synchronous with training.", 0, { default: 2, maximum: 1e6 }),
    cpuCoresPerNode: int("CPU cores per node the loaders may use together (at most 1,000,000).", 1, { maximum: 1e6, derivedDefault: "unlimited: only each loader's workers bind" }),
    readSize: qty("bytes", "Bytes per read request (at least 1 B).", { minimum: 1, derivedDefault: "one request per sample; with shuffle false, 8 MB (a typical byte-range GET size, Amazon S3 performance guidelines)" }),
    shuffle: bool("true: samples are read in random order, each in whole requests of readSize; false: streamed in storage order through large shards (WebDataset tar shards, Megatron's memory-mapped .bin), a request of readSize covering several samples, so request rate and latency rarely bind.", { default: true }),
    readsInFlight: int("Read requests each worker keeps in flight (at most 1,000,000).", 1, { default: 1, maximum: 1e6 }),
    nodeStorageBandwidth: qty("bandwidth", `Bandwidth from each node to storage (frontend NICs).${atLeast("10 MB/s")}`, { minimum: MIN_STORAGE_BANDWIDTH, derivedDefault: "reliability.nodeStorageBandwidth, else 2 × the per-GPU NIC bandwidth" }),
    cacheHitRate: qty("ratio", "Share of reads served from the node's cache: 0 for a cold first epoch, up to 1 when the dataset fits in the cache.", { minimum: 0, maximum: 1, default: 0 }),
    cacheBandwidth: qty("bandwidth", `Read bandwidth of each node's cache (local NVMe).${atLeast("10 MB/s")}`, { minimum: MIN_STORAGE_BANDWIDTH, derivedDefault: "unlimited (host memory)" }),
    sharedWithCheckpoints: bool("Asynchronous checkpoint writes (reliability, checkpointMode async, storageBandwidth set) go to this same tier: reads and writes share its time (a byte read costs 1/readBandwidth of it, a byte written 1/storageBandwidth), results report the step during a write under data.duringCheckpoint, and a long run advances at that slower step while each write is in flight (longRun.checkpointWrite). In a cluster file, a job with reliability: {checkpointMode, storageBandwidth} writes its checkpoints (sync or async) to this tier beside the other jobs' reads.", { default: false }),
    loaders: oneOf(LOADER_PLACEMENTS, "Which ranks load: replica, one per data-parallel replica (first pipeline stage, first tensor rank, as Megatron); every-gpu, every GPU loads its replica's batch.", { default: "replica" }),
    datasetSamples: int("Samples in one epoch, at least workload.globalBatch (at most 1e15): every floor(datasetSamples / globalBatch) steps the loaders start a new epoch (results: data.epoch).", 1, { maximum: 1e15, derivedDefault: "none: steady state only, no epoch boundaries" }),
    epochBoundary: oneOf(EPOCH_BOUNDARIES, "With datasetSamples: restart, each epoch is a new DataLoader iterator whose prefetch queue starts empty, so its first step's batches are loaded while the GPUs wait, each by one worker (PyTorch); continuous, a sampler that runs across epochs (Megatron-LM), no wait.", { default: "restart" }),
    cacheWarmsAfterFirstEpoch: bool("With datasetSamples: the first epoch reads every sample from storage, later epochs hit the node's cache at cacheHitRate; the step is a later epoch's, data.epoch.firstEpoch the first's.", { default: false }),
  },
  { whenAbsent: "omit" },
);

export const scenarioSchema: ObjectNode = obj("A trainsim scenario: one cluster, one training job.", {
  name: str("Scenario name, shown in results; run names its output folder out/<name> unless --out is given, so it refuses a name with a slash, . or .., or over 255 bytes.", { derivedDefault: "the file name without extension" }),
  description: str("Free text for readers; ignored by the simulator."),
  seed: int("Seed of every random stream in the run.", 0, { default: 1 }),
  base: str("Another scenario file (relative to this one) whose keys this file overrides."),
  source: str("For published cases: where the published figure comes from."),
  published: obj(
    "For published cases: the figure the simulation is compared against.",
    {
      metric: str("Name of the published metric (e.g. mfu, tokensPerSecond).", { required: true }),
      value: num("The published value.", { required: true }),
      note: str("Anything a reader needs to compare fairly."),
      categories: { kind: "list", description: "Groups `trainsim validate` summarises the case in (and `--category` selects).", items: oneOf(VALIDATION_CATEGORIES, "A validation category.") },
      memoryPerGpu: qty("bytes", "Peak memory per GPU the source states, compared with the memory model's peak.", { exclusiveMinimum: 0 }),
      memoryMeasure: oneOf(
        ["device", "allocator"],
        "What memoryPerGpu measures. device: the GPU's whole use (nvidia-smi, the CUDA context included), compared with the memory model's total. allocator: a PyTorch caching-allocator peak (torch.cuda.max_memory_allocated or max_memory_reserved), which holds tensors only, not the CUDA context or NCCL's own buffers (PyTorch docs, torch.cuda.memory_allocated), so compared with the total less memory.buffers.",
        { default: "device" },
      ),
    },
    { whenAbsent: "omit" },
  ),
  cluster,
  workload,
  parallelism,
  reliability,
  data,
  run: obj("How long to simulate.", {
    steps: int("Optimizer steps to simulate (with reliability and no duration: steps to train, and the run reports the time to train them).", 1, { default: 1 }),
    duration: qty("time", "Wall-clock length of a long run, e.g. 54 d (needs reliability: failures, checkpoints, goodput). At most 3650 d (ten years; docs/limits.md).", { exclusiveMinimum: 0, maximum: MAX_RUN_SECONDS }),
    tokens: qty("count", "Train until this many tokens are done (long run with reliability).", { exclusiveMinimum: 0 }),
  }),
});

/**
 * The default the schema gives the key at a dotted path of a scenario ("cluster.gpuVariability"),
 * in SI units: the one place a static default is written. Throws for a key without one.
 */
export function schemaDefault(path: string): unknown {
  let node: SchemaNode | undefined = scenarioSchema;
  for (const key of path.split(".")) node = node?.kind === "object" ? node.fields[key] : undefined;
  if (node?.default === undefined) throw new Error(`the scenario schema has no default for ${path}`);
  return structuredClone(node.default);
}

// ---------------------------------------------------------------------------
// Validation

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** The value as a reader would recognise it in the file, kept short. */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "number") return String(value);
  const text = safeJson(value) ?? (Array.isArray(value) ? "a list" : "an object");
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function joinPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

const ROOT = "(config)";

/** Unknown keys of one object named in an error; the rest are counted (a stray text file has hundreds). */
export const UNKNOWN_KEYS_SHOWN = 5;
/** Longest key an error shows, in characters (a line of a file that is not YAML can be a key). */
export const SHOWN_KEY_LENGTH = 40;

/** A key as an error names it: at most SHOWN_KEY_LENGTH characters, the cut marked with "…". */
export function shownKey(key: string): string {
  if (key.length <= SHOWN_KEY_LENGTH) return key;
  const n = SHOWN_KEY_LENGTH - 1;
  const last = key.charCodeAt(n - 1);
  return `${key.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n)}…`;
}

/** A dotted path as problems name it: each key shortened by shownKey. */
export function shownPath(path: string): string {
  return path.split(".").map(shownKey).join(".");
}

/** Problems found so far, and which paths hold a value that could not be used. */
export class Problems {
  readonly list: ConfigProblem[] = [];
  private readonly unusable: string[] = [];
  /** Per object path: unknown keys seen, and the "and N more" problem once there are too many. */
  private readonly unknown = new Map<string, { count: number; more?: ConfigProblem }>();

  /** A problem whose value could not be used: later checks that depend on it are skipped. */
  invalid(path: string, value: unknown, detail: string): void {
    this.unusable.push(path);
    this.note(path, value, detail);
  }

  /** A problem that leaves every value usable (an unknown key, say). */
  note(path: string, value: unknown, detail: string): void {
    const where = path === "" ? ROOT : path;
    this.list.push({ path: where, value, message: `${where}: ${detail}` });
  }

  /**
   * An unknown key `key` of the object at `parent`: the first UNKNOWN_KEYS_SHOWN of an object
   * are named, shortened by shownKey (in the problem's path too, which its message starts
   * with), the rest are counted in one "and N more" problem.
   */
  unknownKey(parent: string, key: string, value: unknown, detail: string): void {
    const seen = this.unknown.get(parent) ?? { count: 0 };
    this.unknown.set(parent, seen);
    seen.count++;
    if (seen.count <= UNKNOWN_KEYS_SHOWN) {
      const path = joinPath(parent, shownKey(key)) || ROOT;
      this.list.push({ path, value, message: `${path}: ${detail}` });
      return;
    }
    const hidden = seen.count - UNKNOWN_KEYS_SHOWN;
    const where = parent === "" ? ROOT : parent;
    const message = `${where}: and ${hidden} more unknown key${hidden === 1 ? "" : "s"} ${parent === "" ? "at the top level" : `in ${parent}`} (not listed)`;
    if (seen.more === undefined) {
      seen.more = { path: where, value: undefined, message };
      this.list.push(seen.more);
    } else seen.more.message = message;
  }

  /** Refuses a list that names an entry twice (Megatron-Core's module lists); true when it did. */
  repeated(path: string, list: readonly unknown[]): boolean {
    const twice = list.find((x, i) => list.indexOf(x) !== i);
    if (twice === undefined) return false;
    this.invalid(path, list, `${showValue(list)} is not allowed: ${String(twice)} is listed twice; give each module once`);
    return true;
  }

  /** A problem whose message already starts with its path. */
  push(problem: ConfigProblem, usable = true): void {
    if (!usable) this.unusable.push(problem.path);
    this.list.push(problem);
  }

  /** Whether anything at or under this path could not be used. */
  isInvalid(prefix: string): boolean {
    return this.unusable.some(
      (p) => p === "" || p === prefix || p.startsWith(`${prefix}.`) || p.startsWith(`${prefix}:`) || prefix.startsWith(`${p}.`),
    );
  }
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** Allowed names close enough to `word` to be what was meant: ones it starts, then the nearest typos (edit distance <= 2). */
export function suggest(word: string, allowed: readonly string[]): string[] {
  const w = word.toLowerCase();
  const prefixed = w.length >= 2 ? allowed.filter((c) => c.toLowerCase().startsWith(w) && c.toLowerCase() !== w) : [];
  // A length apart by more than 2 is an edit distance above 2: skipped, so a huge word costs nothing.
  const distances = allowed.filter((c) => !prefixed.includes(c) && Math.abs(c.length - w.length) <= 2).map((c) => ({ c, d: levenshtein(w, c.toLowerCase()) }));
  const nearest = Math.min(2, ...distances.map(({ d }) => d));
  const close = distances.filter(({ d }) => d === nearest).map(({ c }) => c);
  return [...prefixed, ...close].slice(0, 3);
}

function didYouMean(word: string, allowed: readonly string[]): string | undefined {
  const names = suggest(word, allowed);
  return names.length === 0 ? undefined : `did you mean ${names.map((n) => JSON.stringify(n)).join(" or ")}?`;
}

function quote(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

function rangeText(min: number | undefined, exclusiveMin: number | undefined, max: number | undefined, dimension?: Dimension): string {
  // A bound other than 0 in the key's units ("1 GB/s"); counts, ratios and 0 as numbers.
  const show = (x: number): string => (dimension === undefined || x === 0 || dimension === "count" || dimension === "ratio" ? String(x) : formatQuantity(x, dimension));
  const low = exclusiveMin !== undefined ? `> ${show(exclusiveMin)}` : min !== undefined ? `>= ${show(min)}` : "";
  if (max === undefined) return low;
  if (min !== undefined && exclusiveMin === undefined) return `from ${show(min)} to ${show(max)}`;
  return low === "" ? `<= ${show(max)}` : `${low} and <= ${show(max)}`;
}

/** "an integer >= 1", "one of ...": what a key accepts, for messages. */
export function expected(node: SchemaNode): string {
  switch (node.kind) {
    case "object":
      return `an object with keys ${Object.keys(node.fields).join(", ")}`;
    case "quantity": {
      const range = rangeText(node.minimum, node.exclusiveMinimum, node.maximum, node.dimension);
      const noun = node.dimension === "count" || node.dimension === "ratio" ? "a number" : DIMENSIONS[node.dimension].noun;
      return range === "" ? `${noun}: ${allowedText(node.dimension)}` : `${noun} ${range}`;
    }
    case "int":
      return `an integer ${rangeText(node.minimum, undefined, node.maximum)}`;
    case "number":
      return "a number";
    case "enum":
      return `one of ${quote(node.values)}`;
    case "bool":
      return "true or false";
    case "string":
      return "a non-empty string";
    case "record":
      return `an object mapping names to ${expected(node.values)}`;
    case "list":
      return `a list of ${expected(node.items)}`;
    case "union":
      return node.options.map((o) => o.label).join(" or ");
  }
}

function matches(when: UnionOption["when"], value: unknown): boolean {
  if (when === "string") return typeof value === "string";
  if (when === "number") return typeof value === "number";
  if (when === "object") return isPlainObject(value);
  return isPlainObject(value) && Object.hasOwn(value, when.hasKey);
}

function notAllowed(node: SchemaNode, value: unknown): string {
  return `${showValue(value)} is not allowed; expected ${expected(node)}`;
}

/**
 * Checks `value` against `node` and returns it converted (SI numbers, static defaults
 * filled; a union becomes a Tagged). Every problem goes to `out`; returns undefined
 * when the value itself is unusable, so callers can carry on with the rest.
 */
export function validate(node: SchemaNode, value: unknown, path: string, out: Problems): unknown {
  switch (node.kind) {
    case "object":
      return validateObject(node, value, path, out);
    case "quantity": {
      const q = parseQuantity(value, node.dimension);
      if (typeof q !== "number") {
        out.invalid(path, value, q.error);
        return undefined;
      }
      const low = node.minimum !== undefined && q < node.minimum;
      const lowExclusive = node.exclusiveMinimum !== undefined && q <= node.exclusiveMinimum;
      const high = node.maximum !== undefined && q > node.maximum;
      if (low || lowExclusive || high) {
        const converted = typeof value === "string" ? ` (${formatQuantity(q, node.dimension)})` : "";
        out.invalid(path, value, `${showValue(value)}${converted} is not allowed; expected ${expected(node)}`);
        return undefined;
      }
      return q;
    }
    case "int": {
      const max = node.maximum ?? MAX_INT;
      if (typeof value !== "number" || !Number.isInteger(value) || value < node.minimum || value > max) {
        const tooLarge = typeof value === "number" && value > max && node.maximum === undefined;
        out.invalid(path, value, tooLarge ? `${showValue(value)} is too large; expected an integer from ${node.minimum} to ${MAX_INT}` : notAllowed(node, value));
        return undefined;
      }
      return value;
    }
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) {
        out.invalid(path, value, notAllowed(node, value));
        return undefined;
      }
      return value;
    case "enum": {
      if (typeof value === "string" && node.values.includes(value)) return value;
      const close = typeof value === "string" ? didYouMean(value, node.values) : undefined;
      const hint = close === undefined ? "" : ` (${close})`;
      out.invalid(path, value, `${showValue(value)} is not ${node.noun ?? "allowed"}; expected one of ${quote(node.values)}${hint}`);
      return undefined;
    }
    case "bool":
      if (typeof value !== "boolean") {
        out.invalid(path, value, notAllowed(node, value));
        return undefined;
      }
      return value;
    case "string":
      if (typeof value !== "string" || value.length === 0) {
        out.invalid(path, value, notAllowed(node, value));
        return undefined;
      }
      return value;
    case "record": {
      if (!isPlainObject(value)) {
        out.invalid(path, value, notAllowed(node, value));
        return undefined;
      }
      const result: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        const v = validate(node.values, value[key], joinPath(path, key), out);
        if (v !== undefined) define(result, key, v);
      }
      return result;
    }
    case "list": {
      if (!Array.isArray(value)) {
        out.invalid(path, value, notAllowed(node, value));
        return undefined;
      }
      // Problems of the first items only: a long list of wrong items is one mistake, not 100,000 messages.
      const items: unknown[] = [];
      let wrong = 0;
      for (let i = 0; i < value.length; i++) {
        const seen = out.list.length;
        const v = validate(node.items, value[i], joinPath(path, String(i)), wrong < MAX_ITEM_PROBLEMS ? out : new Problems());
        if (v === undefined || out.list.length > seen) wrong++;
        items.push(v);
      }
      if (wrong > MAX_ITEM_PROBLEMS) out.invalid(path, value, `${wrong - MAX_ITEM_PROBLEMS} more of its ${value.length} items are not allowed either; expected each to be ${expected(node.items)}`);
      return items.includes(undefined) ? undefined : items;
    }
    case "union": {
      const option = node.options.find((o) => matches(o.when, value));
      if (option === undefined) {
        out.invalid(path, value, notAllowed(node, value));
        return undefined;
      }
      const v = validate(option.node, value, path, out);
      return v === undefined ? undefined : ({ option: option.key, value: v } satisfies Tagged);
    }
  }
}

/** Own-property write that a key named "__proto__" cannot turn into a prototype change. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Where each key name lives in the scenario, so a key written at the wrong level can be pointed home. */
let homes: Map<string, string[]> | undefined;

function homesOf(key: string): string[] {
  if (homes === undefined) {
    const found = new Map<string, string[]>();
    const walk = (node: SchemaNode, path: string): void => {
      if (node.kind === "union") for (const o of node.options) walk(o.node, path);
      if (node.kind !== "object") return;
      for (const [name, child] of Object.entries(node.fields)) {
        for (const k of [name, ...(child.aliases ?? [])]) {
          const list = found.get(k) ?? [];
          if (!list.includes(path)) list.push(path);
          found.set(k, list);
        }
        walk(child, joinPath(path, name));
      }
    };
    walk(scenarioSchema, "");
    homes = found;
  }
  return homes.get(key) ?? [];
}

function validateObject(node: ObjectNode, value: unknown, path: string, out: Problems): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) {
    out.invalid(path, value, notAllowed(node, value));
    return undefined;
  }
  const canonical = new Map<string, string>();
  for (const [name, child] of Object.entries(node.fields)) {
    canonical.set(name, name);
    for (const alias of child.aliases ?? []) canonical.set(alias, name);
  }
  const written = new Map<string, string>();
  for (const key of Object.keys(value)) {
    const name = canonical.get(key);
    if (name === undefined) {
      const close = didYouMean(key, [...canonical.keys()]);
      const elsewhere = homesOf(key).filter((h) => h !== "" && h !== path);
      const hint = close !== undefined ? ` ${close}` : elsewhere.length > 0 ? ` ${key} belongs in ${elsewhere.join(" or ")};` : "";
      const where = path === "" ? "at the top level" : `in ${path}`;
      out.unknownKey(path, key, value[key], `unknown key;${hint} allowed keys ${where}: ${[...canonical.keys()].join(", ")}`);
      continue;
    }
    const earlier = written.get(name);
    if (earlier !== undefined) {
      // The first spelling is used, so this leaves the value usable.
      out.note(joinPath(path, key), value[key], `${showValue(value[key])} repeats ${joinPath(path, earlier)}; give only one of ${earlier} and ${key}`);
      continue;
    }
    written.set(name, key);
  }
  const result: Record<string, unknown> = {};
  for (const [name, child] of Object.entries(node.fields)) {
    const key = written.get(name);
    const childPath = joinPath(path, key ?? name);
    let v: unknown;
    if (key !== undefined) v = validate(child, value[key], childPath, out);
    else if (child.required === true) out.invalid(childPath, undefined, `required key is missing; expected ${expected(child)}`);
    else if (child.default !== undefined) v = structuredClone(child.default);
    else if (child.kind === "object" && child.whenAbsent !== "omit") v = validate(child, {}, childPath, out);
    if (v !== undefined) define(result, name, v);
  }
  return result;
}

// ---------------------------------------------------------------------------
// JSON Schema (draft 2020-12)

type Json = Record<string, unknown>;

function help(node: SchemaNode): string {
  const parts = [node.description];
  if (node.kind === "quantity" && node.dimension !== "count" && node.dimension !== "ratio") {
    parts.push(`${allowedText(node.dimension).replace(/^use/, "Use")}.`);
  }
  if (node.default !== undefined) {
    const shown = node.kind === "quantity" ? formatQuantity(node.default as number, node.dimension) : JSON.stringify(node.default);
    parts.push(`Default: ${shown}.`);
  }
  if (node.derivedDefault !== undefined) parts.push(`Default: ${node.derivedDefault}.`);
  if (node.required === true) parts.push("Required.");
  return parts.join(" ");
}

function jsonSchemaOf(node: SchemaNode): Json {
  const base: Json = { description: help(node) };
  if (node.default !== undefined) base["default"] = node.default;
  switch (node.kind) {
    case "object": {
      const properties: Json = {};
      const required: string[] = [];
      const alternatives: Json[] = [];
      for (const [name, child] of Object.entries(node.fields)) {
        properties[name] = jsonSchemaOf(child);
        for (const alias of child.aliases ?? []) {
          const own = help(child).replace(/ Required\.$/, "");
          properties[alias] = { ...jsonSchemaOf(child), description: `Same as ${name}${child.required === true ? " (give one of the two)" : ""}. ${own}` };
        }
        if (child.required !== true) continue;
        if (child.aliases === undefined || child.aliases.length === 0) required.push(name);
        else alternatives.push({ anyOf: [name, ...child.aliases].map((k) => ({ required: [k] })) });
      }
      return {
        ...base,
        type: "object",
        properties,
        ...(required.length > 0 ? { required } : {}),
        ...(alternatives.length > 0 ? { allOf: alternatives } : {}),
        additionalProperties: false,
      };
    }
    case "quantity": {
      const numeric: Json = { type: "number" };
      if (node.exclusiveMinimum !== undefined) numeric["exclusiveMinimum"] = node.exclusiveMinimum;
      else numeric["minimum"] = node.minimum ?? 0;
      if (node.maximum !== undefined) numeric["maximum"] = node.maximum;
      if (node.dimension === "count" || node.dimension === "ratio") return { ...base, ...numeric };
      return {
        ...base,
        anyOf: [numeric, { type: "string", pattern: quantityPattern(node.dimension) }],
        examples: DIMENSIONS[node.dimension].examples,
      };
    }
    case "int":
      return { ...base, type: "integer", minimum: node.minimum, maximum: node.maximum ?? MAX_INT };
    case "number":
      return { ...base, type: "number" };
    case "enum":
      return { ...base, type: "string", enum: [...node.values] };
    case "bool":
      return { ...base, type: "boolean" };
    case "string":
      return { ...base, type: "string", minLength: 1 };
    case "record":
      return { ...base, type: "object", additionalProperties: jsonSchemaOf(node.values) };
    case "list":
      return { ...base, type: "array", items: jsonSchemaOf(node.items) };
    case "union":
      return { ...base, anyOf: node.options.map((o) => ({ title: o.label, ...jsonSchemaOf(o.node) })) };
  }
}

/** The scenario schema as JSON Schema (draft 2020-12), for editors and other tools. */
export function scenarioJsonSchema(): Json {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "trainsim scenario",
    ...jsonSchemaOf(scenarioSchema),
  };
}
