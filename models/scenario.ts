/**
 * The validated, unit-free scenario the physics runs on: plain data in SI units.
 * experiments/ turns YAML/JSON (with "3.35 TB/s" and friends) into this shape
 * and checks it; models/ never parses text. The loader fills every default (the
 * schema's, in experiments/schema.ts), so a required field here is one the loader
 * always sets; an optional one is absent on purpose (no cap, no limit, no schedule).
 */
import type { NormKernel } from "./hardware/catalog/memory-kernels.ts";
import type { Fp8Recipe } from "./workload/fp8.ts";
import type { RematSpec } from "./workload/remat-names.ts";
import type { DataSpec } from "./data/types.ts";
import type { Accelerator, AttentionBackend, Precision } from "./hardware/types.ts";

export type TopologyKind = "rail-optimized" | "fat-tree" | "torus" | "nvl72";

export interface NetworkSpec {
  topology: TopologyKind;
  /** Scale-out bandwidth per GPU per direction, bytes/s. */
  nicBandwidth: number;
  /** Leaf downlinks : uplinks ratio (1 = non-blocking, 2 = half the uplink bandwidth). */
  oversubscription: number;
  /** Torus topologies: chips along each dimension (2 or 3 numbers); default the most cube-like 3D shape. */
  torusShape?: number[];
  /** Uplink choice in switch fabrics: a hash of each flow (ECMP) or the destination (D-mod-K, InfiniBand fat-tree routing). */
  routing: "ecmp" | "dmodk";
  /** Flows (queue pairs) each inter-node connection is split into, for routing entropy. */
  flowsPerConnection: number;
  /** Ports per fabric switch: sets leaves per pod and when a third tier is needed. */
  switchRadix: number;
}

export interface PowerSpec {
  /** Per-GPU power limit (nvidia-smi -pl), watts. */
  gpuPowerLimit?: number;
  /** Facility cap, watts. */
  facilityCap?: number;
  /** Facility cap changing over time: from each `at` (seconds) on, `watts` (overrides facilityCap from then). */
  facilityCapSchedule?: { at: number; watts: number }[];
  /**
   * A fluctuating supply as the facility cap: a firm grid share plus an on-site
   * variable source (wind, solar) whose output jumps to a new seeded uniform level
   * after exponentially distributed intervals.
   */
  facilitySupply?: { gridWatts: number; variableWatts: number; meanPeriodSeconds: number };
  /** Rack power limit (PDU/busbar), watts, and nodes per rack. */
  rackCap?: number;
  nodesPerRack: number;
  pue: number;
  /** Reaction interval of the facility power controller, seconds. */
  controllerInterval: number;
  /** Mitigation: GPUs never draw less than this share of TDP (burning power while they wait). */
  powerFloor?: number;
  /**
   * Mitigation: start the data-parallel groups' steps in `groups` waves `offsetSeconds`
   * apart, so their compute and communication phases stop lining up.
   */
  stagger?: { groups: number; offsetSeconds: number };
  /** Mitigation: energy storage between grid and cluster that smooths the draw. */
  storage?: { capacityJoules: number; powerWatts: number };
  /** Non-GPU power per node (CPUs, memory, NICs, switches, fans), watts. */
  nodeOverheadWatts: number;
  /** Electricity price, currency units per kWh. */
  pricePerKWh?: number;
  /** Price of one GPU for one hour, the same currency units (trainsim plan --objective cost-per-token). */
  pricePerGpuHour?: number;
  /** Grid carbon intensity, grams CO2 per kWh. */
  carbonGramsPerKWh?: number;
}

export interface Straggler {
  /** Global rank of the GPU in the job. */
  gpu: number;
  /** Its speed relative to a healthy GPU, in (0, 1]. */
  speed: number;
}

export interface ClusterSpec {
  gpu: Accelerator;
  nodes: number;
  gpusPerNode: number;
  /** Standard deviation of sustained GPU speed across the cluster's GPUs (0 = identical GPUs). */
  gpuVariability: number;
  /**
   * GPUs known to run slower than their peers (a throttling or degraded part), by the
   * job's global rank (Megatron order: tensor fastest, then context, data, pipeline):
   * each multiplies that GPU's sustained SM throughput. Ranks then differ, so the step
   * is simulated in full unless the caller forces folding.
   */
  stragglers?: Straggler[];
  /** GPUs joined by a scale-up switch or directly in a mesh; "auto" (or absent) picks by accelerator and node size (models/network/scale-up.ts). */
  scaleUpTopology?: "auto" | "switch" | "mesh";
  /**
   * How the scheduler placed the job's nodes on scale-up domains (models/network/placement.ts):
   * segmentNodes consecutive nodes never straddle a domain (Slurm --segment). Absent: nodes fill
   * domains in order.
   */
  placement?: { segmentNodes: number };
  network: NetworkSpec;
  power: PowerSpec;
}

export interface ModelSpec {
  name: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  /** Width of one attention head (HF head_dim); absent: hidden/heads. Q/K/V project hidden → heads·headDim (kvHeads·headDim), the output projection back. */
  headDim?: number;
  /** MLP inner size (per expert for MoE). */
  ffn: number;
  /** Vocabulary rows of the embedding and output layer, after padding (see unpaddedVocab). */
  vocab: number;
  /**
   * The tokenizer's vocabulary when the loader padded `vocab` to a multiple of
   * workload.vocabDivisibleBy × tp, as Megatron-LM does (--make-vocab-size-divisible-by);
   * absent when no padding was needed.
   */
  unpaddedVocab?: number;
  /** SwiGLU-style gated MLP (two input projections). */
  gatedMlp: boolean;
  /** Number of experts (1 = dense). */
  experts: number;
  /** Experts each token is routed to. */
  topK: number;
  /** MoE: inner size of one routed expert (default ffn; models/workload/moe.ts). */
  expertFfn?: number;
  /** MoE: always-active shared experts, each of size expertFfn (default 0). */
  sharedExperts?: number;
  /** MoE: the first k layers are dense MLPs of size ffn (default 0). */
  denseLayers?: number;
  /** MoE: how the router scores experts before its top-k (default softmax). */
  routerScoring?: RouterScoring;
  /** MoE group-limited routing (DeepSeek n_group): the experts form this many contiguous groups (default: no groups). */
  expertGroups?: number;
  /** MoE group-limited routing (DeepSeek topk_group): groups a token's experts may come from. */
  expertGroupsPerToken?: number;
  /** Input embedding and output projection share weights. */
  tiedEmbeddings: boolean;
  /** Learned absolute position embeddings (GPT-2/3 style) of this many positions; 0 = rotary. */
  positionEmbeddings: number;
  /** Dropout in the layer (GPT-style 0.1) or none (Llama-style): decides mask traffic and memory. */
  dropout: boolean;
  /** Linear layers carry biases (GPT) or not (Llama): small, but in the parameter count. */
  bias: boolean;
  /**
   * Multi-head latent attention (DeepSeek-V2/V3), on when kvLoraRank is set: keys and values
   * come from a kvLoraRank-wide latent, queries from a qLoraRank-wide one (absent or 0: a full
   * query projection); each head's query and key are qkNopeHeadDim + qkRopeHeadDim wide (the
   * rotary part decoupled, one shared rotary key), its value vHeadDim. See workload/mla.ts.
   */
  kvLoraRank?: number;
  qLoraRank?: number;
  qkRopeHeadDim?: number;
  qkNopeHeadDim?: number;
  vHeadDim?: number;
  /** Sliding-window attention: each query sees at most this many keys (itself and the ones before). */
  slidingWindow?: number;
  /** With slidingWindow: every N-th layer (the N-th, 2N-th, …) attends globally, the others in the window (Gemma 3: 6); absent: every layer in the window. */
  slidingWindowPattern?: number;
  /** Multi-token-prediction depths (DeepSeek-V3: 1): one more transformer block each, with its projection and the shared output head, on the last pipeline stage. */
  mtpLayers?: number;
  /** Where the numbers come from. */
  source: string;
}

export const ROUTER_SCORING = ["softmax", "sigmoid"] as const;
export type RouterScoring = (typeof ROUTER_SCORING)[number];

export const MOE_OVERLAP = ["none", "shared-experts", "attention"] as const;
export type MoeOverlap = (typeof MOE_OVERLAP)[number];

export const MOE_DISPATCH = ["all-to-all", "deepep"] as const;
export type MoeDispatch = (typeof MOE_DISPATCH)[number];

export const MOE_LOAD_DISTRIBUTIONS = ["random", "balanced", "lognormal", "zipf"] as const;
export type MoeLoadDistribution = (typeof MOE_LOAD_DISTRIBUTIONS)[number];

/** How routed tokens spread over the experts (workload.moe; models/workload/moe-routing.ts). */
export interface MoeRoutingSpec {
  /** Tokens an expert takes, as a multiple of its balanced share; more are dropped. Absent: dropless. */
  capacityFactor?: number;
  /**
   * With capacityFactor: every expert's input is padded up to its capacity (Megatron-Core
   * --moe-pad-expert-input-to-capacity), so each expert computes exactly its capacity and the
   * all-to-all moves fixed-size buffers whose split sizes the host knows without asking the GPU.
   */
  padToCapacity?: boolean;
  /**
   * FP8: the router pads each rank's routing map so every expert's count is a multiple of the
   * FP8 alignment (Megatron-Core --moe-router-padding-for-fp8 / --moe-router-padding-for-quantization).
   */
  routerPadding?: boolean;
  /**
   * FP8 with Transformer Engine's recipes, TEGroupedMLP: its Fp8Padding / Fp8Unpadding copy the
   * received rows even when every expert's count is already aligned (Transformer Engine up to v2.2;
   * from v2.3 an aligned count is passed through). Matters only padded to an aligned capacity.
   */
  fp8PadAlways?: boolean;
  /** Megablox grouped matmuls (MaxText megablox): rows per m tile (tile_batch_seq); a tile two experts share is computed for each (megablox-tiles.ts). */
  gmmTileRows?: number;
  /** Megablox's n tile (MaxText tile_mlp_dim / tile_embed_dim): on a megacore chip the TensorCores share each grouped matmul's column tiles (megablox-tiles.ts). */
  gmmTileCols?: number;
  /** Per-expert load shares, drawn per MoE layer from the seeded stream "moe-routing". */
  imbalance: { distribution: MoeLoadDistribution; spread: number };
}

/** How attention runs: the fused flash kernel, or materialised scores (pre-2022 stacks). */
export type AttentionKernel = "flash" | "unfused";

export interface WorkloadSpec {
  model: ModelSpec;
  seqLength: number;
  /** Sequences per optimizer step. */
  globalBatch: number;
  precision: Precision;
  attention: AttentionKernel;
  /** precision fp8 only: how tensors are scaled to FP8 (default delayed). */
  fp8Recipe?: Fp8Recipe;
  /** precision fp8 only: flash attention runs in FP8 too (default false: BF16). */
  fp8Attention?: boolean;
  /**
   * "fp32" (default, mixed precision): the optimizer updates an fp32 master copy and keeps
   * fp32 Adam moments; "none": parameters, gradients and Adam moments stay in the training
   * dtype (pure bf16: 8 bytes per parameter instead of 16).
   */
  masterWeights?: MasterWeights;
  /** How the AdamW update runs (default "fused": one kernel; "foreach": torch.optim's default _foreach ops, 20 passes instead of 7). */
  optimizerImplementation?: OptimizerImplementation;
  /** How the loss holds the logits at its peak (default "fused-fp32", Megatron's vocab-parallel kernel). */
  crossEntropy?: CrossEntropyKind;
  /** The loss over this many token chunks, one chunk's logits live at a time (MaxText num_vocab_tiling; default 1). */
  lossChunks?: number;
  /** The flash-attention kernel asked for (absent: the one the accelerator's catalog levels measure); cluster.gpu already carries its levels. */
  attentionBackend?: AttentionBackend;
  /** The LayerNorm/RMSNorm kernel the run called (absent: the catalog's median over implementations); cluster.gpu already carries its shares of STREAM. */
  normKernel?: NormKernel;
  /** Flash backward as two kernels (dK/dV, then dQ) that each recompute the scores (JAX Pallas TPU flash, splash unfused); absent: one fused kernel. */
  flashBackward?: "split";
  /** The flash kernel's query and key block (MaxText sa_block_q = sa_block_kv): causal masking skips only blocks wholly above the diagonal; absent: 128. */
  flashBlock?: number;
  /** MoE routing: capacity and load imbalance (absent: dropless, random: moe-routing.ts). */
  moe?: MoeRoutingSpec;
  /** How each transformer layer runs: fused kernels (default, Megatron-Core/TE) or eager PyTorch ops (Hugging Face modeling code). */
  layerImplementation?: LayerImplementation;
}

export const MASTER_WEIGHTS = ["fp32", "none"] as const;
export type MasterWeights = (typeof MASTER_WEIGHTS)[number];
/** How the AdamW update runs: one fused kernel, or torch.optim's foreach ops (workload/optimizer-kernel.ts). */
export const OPTIMIZER_IMPLEMENTATIONS = ["fused", "foreach"] as const;
export type OptimizerImplementation = (typeof OPTIMIZER_IMPLEMENTATIONS)[number];
/** How a transformer layer is implemented: fused kernels (Megatron-Core / Transformer Engine) or Hugging Face's eager PyTorch ops (workload/eager-layer.ts). */
export const LAYER_IMPLEMENTATIONS = ["fused", "eager"] as const;
export type LayerImplementation = (typeof LAYER_IMPLEMENTATIONS)[number];
export const CROSS_ENTROPY = ["fused-fp32", "eager-fp32", "compiled-fp32", "eager"] as const;
export type CrossEntropyKind = (typeof CROSS_ENTROPY)[number];

/**
 * none; selective (Megatron: the attention core is recomputed); full (each layer from its input);
 * per-op (torchtitan's per-op selective AC: the outputs of every other matmul and of attention are
 * kept, the rest of the layer is recomputed).
 */
export type RecomputeMode = "none" | "selective" | "full" | "per-op";
/**
 * Megatron-Core's --recompute-modules (transformer_config.py recompute_modules), with recompute
 * selective: which submodules of each layer are recomputed in backward (workload/recompute-modules.ts).
 */
export const RECOMPUTE_MODULES = ["core_attn", "layernorm", "mla_up_proj", "mlp", "moe", "moe_act", "shared_experts"] as const;
export type RecomputeModule = (typeof RECOMPUTE_MODULES)[number];
/**
 * Megatron-Core's --fine-grained-activation-offloading --offload-modules (transformer_config.py
 * offload_modules): the submodules whose saved inputs go to host memory (workload/offload-modules.ts).
 * Only the routed experts' two are modelled.
 */
export const OFFLOAD_MODULES = ["expert_fc1", "moe_act"] as const;
export type OffloadModule = (typeof OFFLOAD_MODULES)[number];

/** How context parallelism exchanges keys and values (Megatron-Core --cp-comm-type). */
export type CpCommType = "p2p" | "all-gather" | "a2a";
/** How a causal sequence is split over context-parallel ranks. */
export type CpLayout = "zigzag" | "contiguous";
/** Which ring-attention code runs cpCommType p2p, where its per-step merges are modelled (absent: the ring's blocks only). */
export type CpRingImplementation = "ring-flash-attn";

export interface ParallelPlan {
  tp: number;
  pp: number;
  dp: number;
  cp: number;
  ep: number;
  microBatch: number;
  virtualStages: number;
  /** 0-3; 3 = FSDP-style parameter sharding. */
  zero: 0 | 1 | 2 | 3;
  recompute: RecomputeMode;
  /** recompute selective only: Megatron-Core's --recompute-modules as written (absent: [core_attn], the attention core). */
  recomputeModules?: readonly RecomputeModule[];
  /** Megatron-Core's --offload-modules as written (absent or empty: nothing offloaded; workload/offload-modules.ts). */
  offloadModules?: readonly OffloadModule[];
  /** With recompute full: the tensors kept beside the layer input, by name (MaxText's remat_policy; workload/remat-policy.ts). */
  remat?: RematSpec;
  sequenceParallel: boolean;
  /** Data-parallel gradient reduction overlaps the last micro-batch's backward (bucketed DDP). */
  overlapGradReduce: boolean;
  /** Precision of gradient buffers and their reduction. */
  gradReduceDtype: "fp32" | "bf16" | "fp16";
  /**
   * The weight-gradient GEMM accumulates into the gradient buffer in its epilogue
   * (Megatron-LM --gradient-accumulation-fusion, on by default since early 2022;
   * Transformer Engine). When false, a separate elementwise kernel adds each
   * micro-batch's fresh gradient into the buffer (PyTorch autograd, Megatron-LM 2021).
   */
  gradAccumulationFusion: boolean;
  /**
   * Layers on the first / last virtual pipeline stage when they should carry
   * fewer than the rest (they also hold the embedding and the output layer);
   * the other stages split the remaining layers evenly. As Megatron-LM's
   * --decoder-first/last-pipeline-num-layers; Llama 3 405B ran 126 layers on 16
   * stages this way.
   */
  firstStageLayers?: number;
  lastStageLayers?: number;
  /** ZeRO-3/FSDP wrap unit in transformer layers (default 1: one block per unit). */
  fsdpUnitLayers?: number;
  /** ZeRO-3/FSDP: free gathered parameters after forward and gather again for backward (default true). */
  reshardAfterForward?: boolean;
  /**
   * ZeRO-3/FSDP: how sharded parameters are laid out. "flat" (default): gathered straight into a
   * flat parameter the layers view (FSDP1). "per-parameter": each parameter its own shard (FSDP2
   * fully_shard), so every gather is copied in and out and every reduce-scatter input is copied
   * in (step/fsdp-copies.ts).
   */
  fsdpLayout?: "flat" | "per-parameter";
  /** ZeRO-3/FSDP: units all-gathered ahead of the one computing (default 1). */
  fsdpPrefetch?: number;
  /** ZeRO-3: prefetch by a parameter budget instead (DeepSpeed stage3_prefetch_bucket_size, elements); overrides fsdpPrefetch. */
  fsdpPrefetchParams?: number;
  /** ZeRO-3: DeepSpeed's submodule fetching (fsdpUnit: module) instead of wrap units of layers. */
  fsdpModuleUnits?: boolean;
  /** fsdpUnit module: DeepSpeed stage3_max_live_parameters (elements; default 1e9). */
  fsdpMaxLiveParams?: number;
  /** fsdpUnit module: DeepSpeed stage3_max_reuse_distance (elements; default 1e9). */
  fsdpMaxReuseParams?: number;
  /** fsdpUnit module: DeepSpeed stage3_param_persistence_threshold (elements; default 1e5). */
  fsdpPersistParams?: number;
  /** fsdpUnit module: DeepSpeed reduce_bucket_size (gradient elements per reduce-scatter; default 5e8). */
  fsdpReduceBucketParams?: number;
  /** Data-parallel ranks that ZeRO/FSDP state is sharded over (HSDP: replicated across groups); default dp. */
  shardGroup?: number;
  /** Optimizer state and fp32 master weights live in host memory (ZeRO-Offload): gradient shards cross PCIe, Adam runs on the host CPU. */
  offloadOptimizer?: boolean;
  /** Sequence-parallel TP collectives pipelined with their GEMMs (Megatron-Core --tp-comm-overlap, TE userbuffers; PyTorch AsyncTP); default false. */
  tpCommOverlap?: boolean;
  /** XLA collective matmul: each TP collective windowed with its dot (SPMD windowed einsum; libtpu's default), permutes one or both ways round the ring; absent: none. */
  tpCollectiveMatmul?: "one-way" | "two-way";
  /** Interleaved 1F1B: pipeline sends run beside the next pass instead of blocking the sender (Megatron-LM overlap_p2p_comm); default false. */
  overlapP2P?: boolean;
  /** Context-parallel exchange of K and V; default p2p (the overlapped ring). */
  cpCommType?: CpCommType;
  /** Causal sequence split over context-parallel ranks; default zigzag (load-balanced). */
  cpLayout?: CpLayout;
  /** cpCommType a2a: K and V repeated to the query heads before the all-to-alls (XTuner); default false. */
  cpRepeatKv?: boolean;
  /** cpCommType p2p: the ring is ring-flash-attention's (fp32 merges per step, fp32 dK/dV round the ring); absent: not modelled. */
  cpRingImplementation?: CpRingImplementation;
  /** MoE: tensor-parallel degree of the routed experts (Megatron-Core --expert-tensor-parallel-size); default tp. */
  expertTp?: number;
  /** MoE: what the expert-parallel all-to-alls run beside (default none: exposed). */
  moeOverlap?: Exclude<MoeOverlap, "none">;
  /** MoE: how tokens are dispatched and combined over the EP group (default all-to-all, NCCL). */
  moeDispatch?: MoeDispatch;
  /** MoE: SMs the dispatch and combine kernels hold while compute runs beside them (moeOverlap); default NCCL's channels or DeepEP's 20. */
  moeDispatchSms?: number;
  /** ZeRO-1/2 parameter all-gather overlapped with the next step's forward (Megatron --overlap-param-gather); default false. */
  overlapParamGather?: boolean;
  /** ZeRO-3: parameter shards live in host memory and cross PCIe before every all-gather (DeepSpeed offload_param). */
  offloadParams?: boolean;
  /** Saved activations of this many layers per pipeline stage live in host memory, copied out in forward and back in backward. */
  offloadActivationLayers?: number;
  /** Same as a share of each stage's layers (0–1); used when offloadActivationLayers is absent. */
  offloadActivationShare?: number;
  /**
   * ZeRO-3/FSDP with gradient accumulation: "last-micro-batch" skips the gradient sync on all
   * micro-batches but the last (FSDP2 set_requires_gradient_sync(False), FSDP1 no_sync()), so
   * each GPU accumulates its stage's unsharded gradients; default "every-micro-batch".
   */
  fsdpGradSync?: "every-micro-batch" | "last-micro-batch";
  /**
   * The loss runs on vocabulary shards (Megatron's vocab-parallel cross-entropy, torchtitan's
   * loss_parallel; default true). false: the output layer's logits are all-gathered so every
   * tensor rank holds the full vocabulary (DTensor ColwiseParallel with a replicated output):
   * in memory, and in the step time as the logits' all-gather and a full-vocabulary loss.
   */
  lossParallel?: boolean;
  /**
   * Recompute per-op: whether the policy's save list holds the attention op that ran. false: the
   * attention forward runs again in backward (torchtitan before b39377f9f, December 2025, listed
   * only SDPA's flash and efficient ops, so cuDNN's attention was recomputed). Default true.
   */
  perOpSavesAttention?: boolean;
}

export type FailureClass = "gpu" | "hbm" | "host" | "nic" | "switch" | "software" | "maintenance";

export interface FailureProcess {
  /** Failures per component per hour (GPU, node, NIC...; software and maintenance: per GPU). */
  ratePerHour: number;
  distribution: "exponential" | "weibull";
  /** Weibull shape (1 = exponential). */
  shape?: number;
  /** Switch failures: a cable or port takes one node out; a leaf switch, every node under it. */
  blastRadius?: "node" | "leaf";
}

export interface ReliabilitySpec {
  /** Seconds of training between checkpoints; "young-daly" picks √(2·δ·MTBF). */
  checkpointInterval: number | "young-daly";
  /** sync: training waits for the write; async: only for the copy to host memory. */
  checkpointMode: "sync" | "async";
  /** Aggregate write bandwidth of the checkpoint storage, bytes/s (unlimited when absent). */
  storageBandwidth?: number;
  /** Per-node bandwidth to storage (frontend NICs), bytes/s. */
  nodeStorageBandwidth: number;
  /** From a failure to the job noticing it (heartbeats, NCCL watchdog), seconds. */
  detectionTime: number;
  /** From noticing to training again: reschedule, restart, reload the checkpoint, seconds. */
  restartTime: number;
  /** Healthy nodes on standby to replace failed ones. */
  spareNodes: number;
  /** Time to repair a failed node and return it to the pool, seconds. */
  repairTime: number;
  failures: Record<FailureClass, FailureProcess>;
}

export interface RunSpec {
  steps: number;
  /** Simulated wall-clock time of a long run, seconds (reliability: failures, checkpoints). */
  duration?: number;
  /** Train until this many tokens are done (long run). */
  tokens?: number;
}

export interface Scenario {
  name: string;
  seed: number;
  cluster: ClusterSpec;
  workload: WorkloadSpec;
  parallelism: ParallelPlan;
  reliability?: ReliabilitySpec;
  /** The input pipeline (models/data); absent: not modelled, the data category stays 0. */
  data?: DataSpec;
  run: RunSpec;
}
