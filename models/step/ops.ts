/**
 * The op vocabulary of a step program: resource roles of a GPU, op kinds, barrier
 * channels and streams, and the Op record the executor runs (program.ts compiles them).
 */
import type { Accelerator } from "../hardware/types.ts";
import type { PowerClass } from "../power/gpu-power.ts";
import { CATEGORY_INDEX } from "../categories.ts";

/** Resource roles of one GPU; a send's receiver has them at role + ROLES. */
export const ROLES = 8;
export const SM = 0;
export const HBM = 1;
export const NV_TX = 2;
export const NV_RX = 3;
export const NIC_TX = 4;
export const NIC_RX = 5;
/** The GPU's PCIe link to host memory, per direction (offload); every rank has both, used or not. */
export const PCIE_H2D = 6;
export const PCIE_D2H = 7;

/** Per role: the resource's name after the rank's, and its kind (what its waiting counts as). */
export const ROLE_RESOURCES: readonly { readonly suffix: string; readonly kind: string }[] = [
  { suffix: "sm", kind: "sm" },
  { suffix: "hbm", kind: "hbm" },
  { suffix: "nvlink.tx", kind: "nvlink" },
  { suffix: "nvlink.rx", kind: "nvlink" },
  { suffix: "nic.tx", kind: "nic" },
  { suffix: "nic.rx", kind: "nic" },
  { suffix: "pcie.h2d", kind: "host" },
  { suffix: "pcie.d2h", kind: "host" },
];

/** Per role: its capacity on one GPU whose SMs do `smPeak` FLOP/s (bytes/s for the others). */
export function roleCapacities(smPeak: number, gpu: Accelerator, nicBandwidth: number, hostCopyBandwidth: number): number[] {
  return [smPeak, gpu.hbmBandwidth, gpu.scaleUpBandwidth, gpu.scaleUpBandwidth, nicBandwidth, nicBandwidth, hostCopyBandwidth, hostCopyBandwidth];
}

export const WORK = 0;
export const DELAY = 1;
/** Enqueue a data-parallel op list (gradient reductions, FSDP gathers); with a token, remember which enqueue it was. */
export const ENQUEUE = 2;
export const COLLECTIVE = 3;
/** Wait until the list enqueued under `token` in this pass is done (an FSDP unit waits for its gather). */
export const WAIT = 4;

/**
 * Barrier channels: groups of one kind on one stream. The compute stream's
 * data-parallel all-gather and the data-parallel stream's reductions get separate
 * counters, though one rank never has both open at once.
 */
export const CH_TP = 0;
export const CH_CP = 1;
export const CH_EP = 2;
export const CH_DP_COMPUTE = 3;
export const CH_DP_STREAM = 4;
export const CH_PP = 5;
/** ZeRO-3 / FSDP gradients on the data-parallel stream: within the shard group, and (HSDP) across its replicas. */
export const CH_FSDP_SHARD = 6;
export const CH_FSDP_REPLICA = 7;
/** ZeRO-3 / FSDP all-gathers, within the shard group, on their own stream. */
export const CH_FSDP_GATHER = 8;
/** MoE expert-tensor-parallel groups (expertTp consecutive ranks), apart from the dense layers' tp groups. */
export const CH_ETP = 9;
export const CHANNELS = 10;
/**
 * Per channel, the data-parallel stream its collectives run on (-1: the compute stream).
 * Gathers get a stream of their own, as FSDP1 (unshard vs post-backward stream), FSDP2
 * (all-gather vs reduce-scatter stream) and DeepSpeed ZeRO-3 with overlap_comm (allgather vs
 * reduce-and-partition stream) run them: a slow gradient reduction never holds back a gather.
 */
export const DP_STREAM: readonly number[] = [-1, -1, -1, -1, 0, -1, 0, 0, 1, -1];
export const ON_DP_STREAM: readonly boolean[] = DP_STREAM.map((x) => x >= 0);
/** The data-parallel stream of FSDP gathers. */
export const GATHER_STREAM = 1;

const COMPUTE = CATEGORY_INDEX.compute;
const ROLE_CATEGORY: readonly number[] = [COMPUTE, CATEGORY_INDEX.hbm, CATEGORY_INDEX.nvlink, CATEGORY_INDEX.nvlink, CATEGORY_INDEX.network, CATEGORY_INDEX.network, CATEGORY_INDEX.network, CATEGORY_INDEX.network];

/** One step of a plan. */
export class Op {
  kind = WORK;
  label = "";
  /** What the GPU draws power for while this runs. */
  power: PowerClass = "idle";
  /** Resource role per work entry (role + ROLES: the send's receiver), and the work on it. */
  roles: Int8Array = new Int8Array(0);
  amounts: Float64Array = new Float64Array(0);
  /** Fairness size (HBM bytes for kernels, link bytes for transfers), or NaN for the engine's default. */
  size = NaN;
  /** DELAY: its length and category. */
  seconds = 0;
  category = COMPUTE;
  /** ENQUEUE: the data-parallel op list to enqueue. */
  gradList = -1;
  /** ENQUEUE: the slot this enqueue is remembered in (-1: none); WAIT: the slot waited for. */
  token = -1;
  /** ENQUEUE, WAIT: the data-parallel stream (0 reductions, GATHER_STREAM). */
  stream = 0;
  /** COLLECTIVE: barrier channel, latency after the link work, and where waiting for the group's slowest share counts. */
  channel = CH_TP;
  latency = 0;
  latencyLabel = "";
  latencyCategory = COMPUTE;
  linkCategory = COMPUTE;
  /** COLLECTIVE: its group's members on each node when it crosses nodes (0: within one node); each drives its own NIC. */
  groupPerNode = 0;
  /** For work timed alone (uncontended.ts): the fairness size, work / size per entry, the category each entry bounds as. */
  fairSize = 1;
  loads: Float64Array = new Float64Array(0);
  roleCategories: Int8Array = new Int8Array(0);
}

export function setWork(op: Op, roles: number[], amounts: number[], size: number | undefined): void {
  op.roles = Int8Array.from(roles);
  op.amounts = Float64Array.from(amounts);
  op.size = size ?? NaN;
  // The fluid model's default fairness size: the largest work amount.
  op.fairSize = size ?? (Math.max(0, ...op.amounts) || 1);
  // As FluidModel computes an activity's load per level: work · weight / size.
  op.loads = op.amounts.map((w) => w / op.fairSize);
  op.roleCategories = Int8Array.from(op.roles, (r) => ROLE_CATEGORY[r % ROLES] as number);
}

