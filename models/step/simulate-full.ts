/**
 * One optimizer step with every GPU of the job simulated (`--full`).
 *
 * The folded step (simulate.ts) runs one representative per pipeline stage and
 * lets it compute at the pace of the slowest of its tp·cp·dp GPUs. Here each GPU
 * has its own SM, HBM, NVLink and NIC resources, its own seeded speed, its own
 * compute stream running its stage's pipeline schedule and its own
 * data-parallel stream. Point-to-point sends go to the actual neighbour (same
 * tensor/context/data coordinates, adjacent stage). A collective of a tensor-,
 * context-, expert- or data-parallel group starts when its last member reaches
 * it and ends when its last member's share of the traffic is done, so one slow
 * GPU holds its groups back and stragglers come out of the simulation.
 *
 * Each member's share of a collective is its own activity on its own links, as
 * in the folded model, rather than one activity over the whole ring: a
 * 128-member data-parallel activity would tie every GPU of a stage into one
 * fluid component, and each of millions of events would re-solve all of it.
 * The end barrier gives the ring's "slowest member sets the pace" instead.
 *
 * What stays folded: power. StepPower keeps one meter per stage driven by the
 * stage's first GPU (as in folded mode) and its clock decisions apply to every
 * GPU of the stage; metering each GPU would make every power change cost O(GPUs).
 *
 * Pass plans are built from the same pass-plan.ts pieces as the folded step,
 * once per virtual stage, and shared by every rank; per-rank state lives in
 * typed arrays, so a GPU costs about 2 kB (mostly its six fluid resources).
 *
 * Cost: most work runs at the pace it would have alone (a GEMM on an otherwise
 * idle GPU, or next to a send that leaves room on the HBM they share). That work
 * is timed directly, with the fluid solver's own arithmetic, and enters the fluid
 * model only when it really has to share (see "work that runs at its own pace").
 * On symmetric scenarios full and folded steps agree to ~1e-14.
 */
import type { EventQueue } from "../../sim/event-queue.ts";
import { FluidModel, type Activity, type Resource, type SegmentListener } from "../../sim/fluid.ts";
import { Simulation } from "../../sim/simulation.ts";
import { collectiveLoad, linkWork, type GroupLayout } from "../collectives/alpha-beta.ts";
import { peakFlops } from "../compute/kernel.ts";
import { GPU_SPEED_SIGMA, gpuSpeeds } from "../hardware/variability.ts";
import { pipelineSchedule } from "../parallel/schedule.ts";
import { rankOfVirtualStage } from "../parallel/stages.ts";
import type { PowerClass } from "../power/gpu-power.ts";
import { StepPower, type StageGpu } from "../power/step-power.ts";
import type { ParallelPlan, Scenario } from "../scenario.ts";
import type { Accelerator } from "../hardware/types.ts";
import type { GroupSlowdowns } from "../network/group-slowdown.ts";
import type { RankLayout } from "../parallel/layout.ts";
import {
  embeddingKernels,
  headKernels,
  layerBackwardKernels,
  layerDims,
  layerForwardKernels,
  layerRecomputeKernels,
  type KernelList,
} from "../workload/layer-kernels.ts";
import type { MemoryBreakdown } from "../workload/memory.ts";
import { embeddingParams, headParams } from "../workload/params.ts";
import { stepSetup } from "./setup.ts";
import { CATEGORIES, CATEGORY_INDEX, categoryOfResourceKind, emptyBreakdown, type Category } from "./categories.ts";
import { collectiveItems, kernelItems, type Item, type PlanContext, type ResourceRole } from "./pass-plan.ts";
import type { SimulateOptions, StageResult, StepSimulation } from "./simulate.ts";

export interface FullSimulateOptions extends SimulateOptions {
  /**
   * Speed factor of every GPU (sustained SM throughput relative to the catalog),
   * indexed by global rank in Megatron order (tensor fastest, then context,
   * data, pipeline). Default: drawn from the scenario's seed and gpuVariability.
   */
  gpuSpeeds?: Float64Array;
}

const ROLE_INDEX: Record<ResourceRole, number> = { sm: 0, hbm: 1, nvTx: 2, nvRx: 3, nicTx: 4, nicRx: 5 };
const ROLES = 6;
const NCAT = CATEGORIES.length;
const COMPUTE = CATEGORY_INDEX.compute;
const POWER = CATEGORY_INDEX.power;
const BUBBLE = CATEGORY_INDEX.bubble;

const WORK = 0;
const DELAY = 1;
const GRADS = 2;
const COLLECTIVE = 3;

/**
 * Barrier channels: groups of one kind on one stream. The compute stream's
 * data-parallel all-gather and the data-parallel stream's reductions get separate
 * counters, though one rank never has both open at once.
 */
const CH_TP = 0;
const CH_CP = 1;
const CH_EP = 2;
const CH_DP_COMPUTE = 3;
const CH_DP_STREAM = 4;
const CH_PP = 5;
const CHANNELS = 6;

/** One step of a pass plan, compiled once and shared by every rank that runs it. */
class Op {
  kind = WORK;
  label = "";
  power: PowerClass = "idle";
  /** Resource role per work entry; role + ROLES is that role on the second GPU (a send's receiver). */
  roles: Int8Array = new Int8Array(0);
  amounts: Float64Array = new Float64Array(0);
  /** Fairness size, or NaN for the engine's default (largest work amount). */
  size = NaN;
  seconds = 0;
  category = COMPUTE;
  /** GRADS: the data-parallel op list to enqueue (-1: nothing to reduce). */
  gradList = -1;
  /** COLLECTIVE: barrier channel on the compute stream. */
  channel = CH_TP;
  latency = 0;
  latencyLabel = "";
  latencyCategory = COMPUTE;
  /** Where a member waiting for the others to finish their share counts its time. */
  linkCategory = COMPUTE;
  // Precomputed for ops timed alone (see trySolo): per resource work/size, and the category it bounds as.
  soloLoads: Float64Array = new Float64Array(0);
  soloSize = 1;
  roleCategories: Int8Array = new Int8Array(0);
}

const ROLE_CATEGORY: readonly number[] = [COMPUTE, CATEGORY_INDEX.hbm, CATEGORY_INDEX.nvlink, CATEGORY_INDEX.nvlink, CATEGORY_INDEX.network, CATEGORY_INDEX.network];

function setWork(op: Op, work: [ResourceRole, number][], size: number | undefined): void {
  setRoles(op, Int8Array.from(work.map(([role]) => ROLE_INDEX[role])), Float64Array.from(work.map(([, amount]) => amount)), size);
}

function setRoles(op: Op, roles: Int8Array, amounts: Float64Array, size: number | undefined): void {
  op.roles = roles;
  op.amounts = amounts;
  op.size = size ?? NaN;
  // The fluid model's default fairness size: the largest work amount.
  op.soloSize = size ?? (Math.max(0, ...op.amounts) || 1);
  // As FluidModel.init computes an activity's load per level: (m / M_r) · work · weight / size.
  op.soloLoads = op.amounts.map((w) => w / op.soloSize);
  op.roleCategories = Int8Array.from(op.roles, (r) => ROLE_CATEGORY[r % ROLES] as number);
}

function workOp(item: Extract<Item, { kind: "work" }>): Op {
  const op = new Op();
  op.kind = WORK;
  op.label = item.label;
  op.power = item.power;
  setWork(op, item.work, item.size);
  return op;
}

function delayOp(item: Extract<Item, { kind: "delay" }>): Op {
  const op = new Op();
  op.kind = DELAY;
  op.label = item.label;
  op.power = item.power;
  op.seconds = item.seconds;
  op.category = CATEGORY_INDEX[item.category];
  return op;
}

function plainOps(items: Item[]): Op[] {
  const out: Op[] = [];
  for (const item of items) {
    if (item.kind === "work") out.push(workOp(item));
    else if (item.kind === "delay") out.push(delayOp(item));
    else throw new Error("gradient hand-over inside a kernel list");
  }
  return out;
}

/** collectiveItems' [link work][latency] as one barrier-synchronised op (none for a group of one). */
function collectiveOp(items: Item[], channel: number, group: GroupLayout): Op[] {
  if (items.length === 0) return [];
  const op = new Op();
  op.kind = COLLECTIVE;
  op.channel = channel;
  op.power = "comm";
  const crosses = Math.ceil(group.size / Math.max(1, group.perNode)) > 1;
  op.linkCategory = CATEGORY_INDEX[crosses ? "network" : "nvlink"];
  for (const item of items) {
    if (item.kind === "work") {
      op.label = item.label;
      setWork(op, item.work, item.size);
    } else if (item.kind === "delay") {
      op.latency = item.seconds;
      op.latencyLabel = item.label;
      op.latencyCategory = CATEGORY_INDEX[item.category];
      if (op.label === "") op.label = item.label;
    }
  }
  return [op];
}

/**
 * A FluidModel that StepPower drives one "SM" per stage on: each clock it sets
 * is applied to the SMs of every GPU of that stage, each at its own speed.
 */
class StageClocks extends FluidModel {
  constructor(
    queue: EventQueue,
    private readonly stagePeak: Float64Array,
    private readonly apply: (stage: number, clock: number) => void,
  ) {
    super(queue);
  }

  override setCapacity(resource: Resource, capacity: number): void {
    if (!(capacity >= 0)) throw new RangeError(`resource ${resource.name}: capacity must be >= 0, got ${capacity}`);
    if (capacity === resource.capacity) return;
    resource.capacity = capacity;
    // Resources of this model are created in stage order: the id is the stage.
    this.apply(resource.id, capacity / (this.stagePeak[resource.id] as number));
  }
}

/** First member of `g`'s group on `channel` (members are `stride` apart; see FullStepRun.channelStride). */
function groupBaseByShape(g: number, channel: number, p: ParallelPlan, R: number, dpShard: number): number {
  const tp = p.tp;
  const cpTp = p.cp * p.tp;
  const st = Math.floor(g / R);
  const q = g - st * R;
  const t = q % tp;
  switch (channel) {
    case CH_TP:
      return g - t;
    case CH_CP:
      return g - (Math.floor(q / tp) % p.cp) * tp;
    case CH_EP:
      return g - (Math.floor(q / cpTp) % p.ep) * cpTp;
    case CH_DP_COMPUTE:
    case CH_DP_STREAM:
      return st * R + t;
    default:
      // Tied embeddings: the first and the last stage at the same position.
      return q;
  }
}

/**
 * One full step: its state (fields, set up by `run`) and the handlers that advance it
 * (methods). A class rather than one function whose handlers are closures: V8 compiles
 * a closure against the one context it has seen, and from the second step simulated in
 * a process (a sweep's next point, a benchmark's next run) every handler site has many,
 * so the handlers were recompiled without inlining one another, about 20 % slower per
 * event. A method is one function for the life of the process. The `name$` fields are
 * handlers bound to this step, for the event queue and the fluid model to call back.
 */
class FullStepRun implements SegmentListener {
  p!: ParallelPlan;
  categoryOfResource!: Int8Array;
  gpu!: Accelerator;
  slowdown!: GroupSlowdowns;
  ctx!: PlanContext;
  micro!: number;
  V!: number;
  dpShard!: number;
  dpGroup!: GroupLayout;
  layout!: RankLayout;
  record!: boolean;
  R!: number;
  N!: number;
  queue!: EventQueue;
  fluid!: FluidModel;
  res!: Resource[];
  resCapacity!: Float64Array<ArrayBuffer>;
  resFluidCount!: Int32Array<ArrayBuffer>;
  power!: StepPower;
  times!: Float64Array<ArrayBuffer>;
  spans!: { track: string; name: string; category: string; start: number; end: number; }[];
  tracks!: string[];
  powerActive!: boolean;
  dpLists!: Op[][];
  dpListOfBytes!: Map<number, number>;
  plans!: Op[][];
  forwardPlan!: Int32Array<ArrayBuffer>;
  backwardPlan!: Int32Array<ArrayBuffer>;
  lastBackwardPlan!: Int32Array<ArrayBuffer>;
  finalGradList!: Int32Array<ArrayBuffer>;
  afterPlan!: Int32Array<ArrayBuffer>;
  activationBytes!: number;
  p2pBytes!: number;
  regather!: boolean;
  sendOps!: Op[][];
  schedKind!: Uint8Array<ArrayBufferLike>[];
  schedChunk!: Int32Array<ArrayBufferLike>[];
  schedMb!: Int32Array<ArrayBufferLike>[];
  schedLastBackward!: Uint8Array<ArrayBufferLike>[];
  fwdArrived!: Uint8Array<ArrayBuffer>;
  bwdArrived!: Uint8Array<ArrayBuffer>;
  passIndex!: Int32Array<ArrayBuffer>;
  plan!: Int32Array<ArrayBuffer>;
  item!: Int32Array<ArrayBuffer>;
  inPass!: Uint8Array<ArrayBuffer>;
  waitKey!: Int32Array<ArrayBuffer>;
  waitSince!: Float64Array<ArrayBuffer>;
  arriveTime!: Float64Array<ArrayBuffer>;
  dpArriveTime!: Float64Array<ArrayBuffer>;
  shareDoneTime!: Float64Array<ArrayBuffer>;
  sendTo!: Int32Array<ArrayBuffer>;
  sendKey!: Int32Array<ArrayBuffer>;
  gradsWaitSince!: Float64Array<ArrayBuffer>;
  endTimes!: Float64Array<ArrayBuffer>;
  dpCapacity!: number;
  dpQueue!: Int32Array<ArrayBuffer>;
  dpHead!: Int32Array<ArrayBuffer>;
  dpTail!: Int32Array<ArrayBuffer>;
  dpCurrent!: Int32Array<ArrayBuffer>;
  dpItem!: Int32Array<ArrayBuffer>;
  arrivedCount!: Int32Array<ArrayBufferLike>[];
  doneCount!: Int32Array<ArrayBufferLike>[];
  groupSoloEvent!: Float64Array<ArrayBufferLike>[];
  activities!: number;
  finished!: number;
  scratch!: [Resource, number][][];
  spec!: { work: [Resource, number][]; label: string; data: number; size: number | undefined; onComplete: (a: Activity) => void; };
  COMPUTE_WORK!: 0;
  DP_WORK!: 1;
  SHARE!: 2;
  SEND!: 3;
  onFluidDone!: ((a: Activity) => void)[];
  MAX_SOLO_PER_GPU!: 6;
  SOLO_HEADROOM!: number;
  sOp!: (Op | null)[];
  sG!: Int32Array<ArrayBuffer>;
  sTo!: Int32Array<ArrayBuffer>;
  sKind!: Uint8Array<ArrayBuffer>;
  sData!: Float64Array<ArrayBuffer>;
  sStart!: Float64Array<ArrayBuffer>;
  sDue!: Float64Array<ArrayBuffer>;
  sRate!: Float64Array<ArrayBuffer>;
  sLevel!: Float64Array<ArrayBuffer>;
  sBottleneck!: Int8Array<ArrayBuffer>;
  sEvent!: Float64Array<ArrayBuffer>;
  sGrouped!: Uint8Array<ArrayBuffer>;
  sTail!: Float64Array<ArrayBuffer>;
  sCounted!: Uint8Array<ArrayBuffer>;
  freeIds!: Int32Array<ArrayBuffer>;
  freeCount!: number;
  gpuSolos!: Int32Array<ArrayBuffer>;
  gpuSoloCount!: Uint8Array<ArrayBuffer>;
  resSoloCount!: Int32Array<ArrayBuffer>;
  resSoloUse!: Float64Array<ArrayBuffer>;
  resSoloWork!: Float64Array<ArrayBuffer>;
  memberSolo!: Int32Array<ArrayBuffer>;
  soloLevel!: number;
  soloBottleneck!: number;
  /** Per GPU: its pipeline stage, 1 if it is its stage's metered GPU (the first), its node. */
  stageOf!: Int32Array;
  metered!: Uint8Array;
  nodeOf!: Int32Array;
  /** Per channel and GPU: the first member of its group; per channel: the members' stride and count. */
  groupBaseOf!: Int32Array;
  channelStride!: Int32Array;
  channelCount!: Int32Array;
  gradsCategory!: number;
  soloEnd$!: (id: number) => void;
  soloGroupEnd$!: (key: number) => void;
  computeDelayDone$!: (g: number) => void;
  dpDelayDone$!: (g: number) => void;
  latencyDone$!: (key: number) => void;
  startSend$!: (g: number) => void;

  /**
   * Sets the step up and simulates it. What it sets up is local; what a handler needs is
   * also copied into a field (`this.x = x`): the setup works on locals, the handlers on
   * fields.
   */
  run(s: Scenario, options: FullSimulateOptions): StepSimulation {
    // Made in an object literal, not assigned one by one (`this.x = () => …`): V8 puts a
    // function literal assigned straight to a property in the old generation, where, dead
    // after the run, it would keep the run's objects alive until a full collection.
    Object.assign(this, {
      soloEnd$: (id: number): void => this.soloEnd(id),
      soloGroupEnd$: (key: number): void => this.soloGroupEnd(key),
      computeDelayDone$: (g: number): void => this.computeDelayDone(g),
      dpDelayDone$: (g: number): void => this.dpDelayDone(g),
      latencyDone$: (key: number): void => this.latencyDone(key),
      startSend$: (g: number): void => this.startSend(g),
    });

    const { p, gpu, precision, slowdown, ctx, shape, model, micro, V, split, gradBytes, weightBytes, layerParamsPerRank, dpShard, dpGroup, memory } = stepSetup(s, options.slowdown);
    this.p = p;
    this.gpu = gpu;
    this.slowdown = slowdown;
    this.ctx = ctx;
    this.micro = micro;
    this.V = V;
    this.dpShard = dpShard;
    this.dpGroup = dpGroup;
    const layout = ctx.layout;
    this.layout = layout;
    const record = options.record ?? false;
    this.record = record;

    // ---- ranks: Megatron order, tensor fastest, then context, data, pipeline ----
    const R = p.tp * p.cp * p.dp;
    this.R = R;
    const N = R * p.pp;
    this.N = N;
    const gpusPerNode = s.cluster.gpusPerNode;

    const sim = new Simulation({ seed: s.seed, record });
    const queue = sim.queue;
    this.queue = queue;
    const fluid = sim.fluid;
    this.fluid = fluid;

    let speeds: Float64Array;
    if (options.gpuSpeeds !== undefined) {
      speeds = options.gpuSpeeds;
      if (speeds.length !== N) throw new RangeError(`gpuSpeeds has ${speeds.length} entries; the job has ${N} GPUs`);
      for (let g = 0; g < N; g++) if (!((speeds[g] as number) > 0)) throw new RangeError(`gpuSpeeds[${g}] must be > 0, got ${speeds[g]}`);
    } else {
      // Drawn in rank order from the stream the folded step uses, so with one seed the
      // folded stage speed is exactly the slowest of these GPUs of that stage.
      speeds = gpuSpeeds(N, s.cluster.gpuVariability ?? GPU_SPEED_SIGMA, s.cluster.stragglers ?? [], sim.rng("gpu-variability"));
    }

    const peak = peakFlops(gpu, precision);
    const res: Resource[] = new Array<Resource>(N * ROLES);
    this.res = res;
    for (let g = 0; g < N; g++) {
      const b = g * ROLES;
      res[b] = fluid.addResource({ name: `gpu${g}.sm`, kind: "sm", capacity: peak * (speeds[g] as number) });
      res[b + 1] = fluid.addResource({ name: `gpu${g}.hbm`, kind: "hbm", capacity: gpu.hbmBandwidth });
      res[b + 2] = fluid.addResource({ name: `gpu${g}.nvlink.tx`, kind: "nvlink", capacity: gpu.scaleUpBandwidth });
      res[b + 3] = fluid.addResource({ name: `gpu${g}.nvlink.rx`, kind: "nvlink", capacity: gpu.scaleUpBandwidth });
      res[b + 4] = fluid.addResource({ name: `gpu${g}.nic.tx`, kind: "nic", capacity: s.cluster.network.nicBandwidth });
      res[b + 5] = fluid.addResource({ name: `gpu${g}.nic.rx`, kind: "nic", capacity: s.cluster.network.nicBandwidth });
    }
    // What soloRate asks of every resource of every op it considers, kept in flat arrays next
    // to the other per-resource state: looked up on the Resource objects, spread over the
    // heap, these reads were the cache misses of the hottest function of a full step.
    /** Capacity of each resource (res index = resource id), as the fluid model holds it. */
    const resCapacity = new Float64Array(res.length);
    this.resCapacity = resCapacity;
    for (let x = 0; x < res.length; x++) resCapacity[x] = (res[x] as Resource).capacity;
    /** Activities the fluid model runs on each resource. */
    const resFluidCount = new Int32Array(res.length);
    this.resFluidCount = resFluidCount;
    // Bottleneck resource → category, by resource id (every resource here is a GPU's).
    const categoryOfResource = new Int8Array(fluid.resources.length);
    for (const r of fluid.resources) categoryOfResource[r.id] = CATEGORY_INDEX[categoryOfResourceKind(r.kind)];
    this.categoryOfResource = categoryOfResource;

    // ---- power: one meter per stage, driven by its first GPU ----
    const stagePeak = new Float64Array(p.pp);
    for (let st = 0; st < p.pp; st++) stagePeak[st] = peak * (speeds[st * R] as number);
    const clocks = new StageClocks(queue, stagePeak, (stage, clock) => {
      for (let g = stage * R; g < (stage + 1) * R; g++) {
        const sm = res[g * ROLES] as Resource;
        const capacity = peak * (speeds[g] as number) * clock;
        if (capacity === resCapacity[g * ROLES]) continue;
        this.clearSolos(sm);
        fluid.setCapacity(sm, capacity);
        resCapacity[g * ROLES] = capacity;
      }
    });
    const stageGpus: StageGpu[] = [];
    for (let st = 0; st < p.pp; st++) {
      stageGpus.push({ sm: clocks.addResource({ name: `stage${st}.clock`, kind: "sm", capacity: stagePeak[st] as number }), peak: stagePeak[st] as number, multiplicity: R });
    }
    const power = new StepPower(queue, clocks, s, stageGpus, options.powerControl ?? true, sim.rng("power-supply"));
    this.power = power;
    power.start(s.cluster.power.controllerInterval ?? 0.1);

    // ---- accounting ----
    const times = new Float64Array(N * NCAT);
    this.times = times;
    const spans: StepSimulation["spans"] = [];
    this.spans = spans;
    const tracks = Array.from({ length: p.pp }, (_, st) => `stage ${st}`);
    this.tracks = tracks;
    const powerActive = power.active;
    this.powerActive = powerActive;
    fluid.segmentListener = this;

    // Data-parallel op lists, one per distinct gradient size.
    const dpLists: Op[][] = [];
    this.dpLists = dpLists;
    const dpListOfBytes = new Map<number, number>();
    this.dpListOfBytes = dpListOfBytes;

    const fwdLayer = layerForwardKernels(shape);
    const bwdLayer = layerBackwardKernels(shape);
    const recLayer = layerRecomputeKernels(shape, p.recompute);
    const perLayerGradBytes = layerParamsPerRank * gradBytes;
    const embedGradBytes = (embeddingParams(model) / p.tp) * gradBytes;
    const headGradBytes = (headParams(model) / p.tp) * gradBytes;

    const plans: Op[][] = [];
    this.plans = plans;
    const forwardPlan = new Int32Array(V);
    this.forwardPlan = forwardPlan;
    const backwardPlan = new Int32Array(V);
    this.backwardPlan = backwardPlan;
    const lastBackwardPlan = new Int32Array(V);
    this.lastBackwardPlan = lastBackwardPlan;
    for (let v = 0; v < V; v++) {
      const L = split[v] as number;
      const first = v === 0;
      const last = v === V - 1;
      const f: Op[] = [];
      if (first) f.push(...this.listOps(embeddingKernels(shape, "forward"), 1, "embedding"));
      f.push(...this.listOps(fwdLayer, L, "forward"));
      if (last) f.push(...this.listOps(headKernels(shape, "forward"), 1, "head"));
      forwardPlan[v] = plans.push(f) - 1;

      const b: Op[] = [];
      if (last) b.push(...this.listOps(headKernels(shape, "backward"), 1, "head.bwd"));
      b.push(...this.listOps(recLayer, L, "backward:recompute"), ...this.listOps(bwdLayer, L, "backward"));
      if (first) b.push(...this.listOps(embeddingKernels(shape, "backward"), 1, "embedding.bwd"));
      backwardPlan[v] = plans.push(b) - 1;

      // The chunk's last backward hands gradients over layer by layer (bucketed DDP).
      const lb: Op[] = [];
      if (last) {
        lb.push(...this.listOps(headKernels(shape, "backward"), 1, "head.bwd"));
        lb.push(...this.gradsOp(headGradBytes));
      }
      for (let l = 0; l < L; l++) {
        lb.push(...this.listOps(recLayer, 1, "backward:recompute"), ...this.listOps(bwdLayer, 1, "backward"));
        lb.push(...this.gradsOp(perLayerGradBytes));
      }
      if (first) {
        lb.push(...this.listOps(embeddingKernels(shape, "backward"), 1, "embedding.bwd"));
        lb.push(...this.gradsOp(embedGradBytes));
      }
      lastBackwardPlan[v] = plans.push(lb) - 1;
    }

    // After the last pass: gradients not reduced on the fly (per stage), then tied
    // embeddings, the optimizer and ZeRO's parameter all-gather.
    const finalGradList = new Int32Array(p.pp).fill(-1);
    this.finalGradList = finalGradList;
    const afterPlan = new Int32Array(p.pp);
    this.afterPlan = afterPlan;
    for (let st = 0; st < p.pp; st++) {
      if (!p.overlapGradReduce) {
        let bytes = 0;
        for (let v = 0; v < V; v++) if (rankOfVirtualStage(v, p.pp) === st) bytes += (split[v] as number) * perLayerGradBytes;
        if (st === 0) bytes += embedGradBytes;
        if (st === p.pp - 1) bytes += headGradBytes;
        finalGradList[st] = this.gradList(bytes);
      }
      const ops: Op[] = [];
      // Tied embeddings: the first and last stage all-reduce their copies' gradients. Here
      // the earlier one waits for the other (folded mode lets each side run it alone), so
      // the last stage may end later than folded, though never the step.
      if (model.tiedEmbeddings && p.pp > 1 && (st === 0 || st === p.pp - 1)) {
        const sameNode = layout.stageNode(0) === layout.stageNode(p.pp - 1);
        const group = this.pairNode(sameNode);
        ops.push(...collectiveOp(collectiveItems("all-reduce", ((model.vocab * model.hidden) / p.tp) * gradBytes, group, "pp", 1, ctx, "embedding:tied-grads"), CH_PP, group));
      }
      const mem = memory[st] as MemoryBreakdown;
      const params = mem.params;
      const shardParams = params / (p.zero >= 1 ? dpShard : 1);
      // Per parameter of the shard, as simulate.ts: grads to fp32, fp16 unscale, norm, Adam, master→model copy, zero grads.
      const mixed = weightBytes === 2;
      const perParam = (gradBytes === 4 ? 0 : gradBytes + 4) + (precision === "fp16" ? 8 : 0) + 4 + 28 + (mixed ? 4 + weightBytes : 0) + gradBytes;
      ops.push(...plainOps(kernelItems([{ name: "optimizer", kind: "memory", flops: 12 * shardParams, bytes: shardParams * perParam, launches: 8 }], 1, ctx, "optimizer")));
      if (p.zero >= 1 && dpShard > 1) ops.push(...collectiveOp(collectiveItems("all-gather", params * weightBytes, dpGroup, "dp", 1, ctx, "dp:params"), CH_DP_COMPUTE, dpGroup));
      afterPlan[st] = plans.push(ops) - 1;
    }

    // ---- point-to-point sends: work on the sender (side 0) and receiver (side 1) ----
    const d = layerDims(shape);
    const activationBytes = shape.elementBytes * d.tokens * model.hidden;
    this.activationBytes = activationBytes;
    const p2pBytes = activationBytes / p.tp;
    this.p2pBytes = p2pBytes;
    const regather = p.tp > 1 && !shape.sequenceParallel;
    this.regather = regather;
    // [same node?][backward?]
    const sendOps: Op[][] = [false, true].map((sameNode) => ["p2p:activations", "p2p:gradients"].map((label) => this.sendOp(sameNode, label)));
    this.sendOps = sendOps;

    // ---- schedules per stage, flattened ----
    const schedKind: Uint8Array[] = [];
    this.schedKind = schedKind;
    const schedChunk: Int32Array[] = [];
    this.schedChunk = schedChunk;
    const schedMb: Int32Array[] = [];
    this.schedMb = schedMb;
    const schedLastBackward: Uint8Array[] = [];
    this.schedLastBackward = schedLastBackward;
    for (let st = 0; st < p.pp; st++) {
      const order = pipelineSchedule(st, p.pp, p.virtualStages, micro);
      const kind = new Uint8Array(order.length);
      const chunk = new Int32Array(order.length);
      const mb = new Int32Array(order.length);
      const lastB = new Uint8Array(order.length);
      const lastIdx = new Array<number>(p.virtualStages).fill(-1);
      order.forEach((ps, i) => {
        kind[i] = ps.kind === "F" ? 0 : 1;
        chunk[i] = ps.chunk;
        mb[i] = ps.microBatch;
        if (ps.kind === "B") lastIdx[ps.chunk] = i;
      });
      for (const i of lastIdx) if (i >= 0) lastB[i] = 1;
      schedKind.push(kind);
      schedChunk.push(chunk);
      schedMb.push(mb);
      schedLastBackward.push(lastB);
    }

    // ---- per-rank state ----
    // Inputs that arrived, per (position in stage, virtual stage, micro-batch).
    const fwdArrived = new Uint8Array(R * V * micro);
    this.fwdArrived = fwdArrived;
    const bwdArrived = new Uint8Array(R * V * micro);
    this.bwdArrived = bwdArrived;
    const passIndex = new Int32Array(N);
    this.passIndex = passIndex;
    const plan = new Int32Array(N);
    this.plan = plan;
    const item = new Int32Array(N);
    this.item = item;
    const inPass = new Uint8Array(N);
    this.inPass = inPass;
    const waitKey = new Int32Array(N).fill(-1);
    this.waitKey = waitKey;
    const waitSince = new Float64Array(N);
    this.waitSince = waitSince;
    const arriveTime = new Float64Array(N);
    this.arriveTime = arriveTime;
    const dpArriveTime = new Float64Array(N);
    this.dpArriveTime = dpArriveTime;
    const shareDoneTime = new Float64Array(N);
    this.shareDoneTime = shareDoneTime;
    const sendTo = new Int32Array(N);
    this.sendTo = sendTo;
    const sendKey = new Int32Array(N);
    this.sendKey = sendKey;
    const gradsWaitSince = new Float64Array(N).fill(-1);
    this.gradsWaitSince = gradsWaitSince;
    const endTimes = new Float64Array(N);
    this.endTimes = endTimes;
    // Data-parallel stream: a FIFO of op lists per rank in one typed array.
    this.dpCapacity = 1;
    for (let st = 0; st < p.pp; st++) {
      let n = finalGradList[st]! >= 0 ? 1 : 0;
      for (let v = st; v < V; v += p.pp) for (const op of plans[lastBackwardPlan[v] as number] as Op[]) if (op.kind === GRADS) n++;
      this.dpCapacity = Math.max(this.dpCapacity, n);
    }
    const dpQueue = new Int32Array(N * this.dpCapacity);
    this.dpQueue = dpQueue;
    const dpHead = new Int32Array(N);
    this.dpHead = dpHead;
    const dpTail = new Int32Array(N);
    this.dpTail = dpTail;
    const dpCurrent = new Int32Array(N).fill(-1);
    this.dpCurrent = dpCurrent;
    const dpItem = new Int32Array(N);
    this.dpItem = dpItem;
    // Barrier counters per channel, indexed by the group's first rank.
    const arrivedCount: Int32Array[] = Array.from({ length: CHANNELS }, () => new Int32Array(N));
    this.arrivedCount = arrivedCount;
    const doneCount: Int32Array[] = Array.from({ length: CHANNELS }, () => new Int32Array(N));
    this.doneCount = doneCount;
    // The completion event shared by a group's solo shares of its current collective.
    const groupSoloEvent: Float64Array[] = Array.from({ length: CHANNELS }, () => new Float64Array(N));
    this.groupSoloEvent = groupSoloEvent;

    this.activities = 0;
    this.finished = 0;

    // Reused spec for fluid.start: the engine copies the work out of it.
    const scratch: [Resource, number][][] = [];
    this.scratch = scratch;
    const spec: {
      work: [Resource, number][];
      label: string;
      data: number;
      size: number | undefined;
      onComplete: (a: Activity) => void;
    } = { work: [], label: "", data: 0, size: undefined, onComplete: () => {} };
    this.spec = spec;

    // What to do when an op's work is done, by kind; `data` says whose (see segment()).
    const COMPUTE_WORK = 0;
    this.COMPUTE_WORK = COMPUTE_WORK;
    const DP_WORK = 1;
    this.DP_WORK = DP_WORK;
    const SHARE = 2;
    this.SHARE = SHARE;
    const SEND = 3;
    this.SEND = SEND;
    const onFluidDone: ((a: Activity) => void)[] = [COMPUTE_WORK, DP_WORK, SHARE, SEND].map((kind) => (a: Activity): void => {
      const data = a.data as number;
      for (const r of a.resources) resFluidCount[r.id] = (resFluidCount[r.id] as number) - 1;
      fluid.recycle(a);
      this.finishOp(kind, data);
    });
    this.onFluidDone = onFluidDone;

    // ---- work that runs at its own pace ----
    // Most kernel groups, collective shares and sends run while nothing else limits
    // them: alone on their GPU, or next to others that leave room on every resource
    // they share (a send next to an SM-bound GEMM uses a sliver of HBM). Max-min
    // fairness then gives each its rate alone, min over its resources of C/load, and
    // progressive filling computes exactly that (each freezes at a resource only it
    // uses, from full capacity). So such work is timed here with the solver's own
    // arithmetic, and handed to the fluid model, for what is left of it, only when
    // something it would have to share with starts or its SM clock changes. That
    // saves the solver two passes and an event per op. Riding on it: a launch delay
    // right after a solo kernel group shares its completion event, and the equal
    // shares of a collective's members share one event.
    const MAX_SOLO_PER_GPU = 6;
    this.MAX_SOLO_PER_GPU = MAX_SOLO_PER_GPU;
    /** Combined solo use of a resource must stay this far below capacity (float noise of the solver). */
    const SOLO_HEADROOM = 1 - 1e-9;
    this.SOLO_HEADROOM = SOLO_HEADROOM;
    const poolSize = N * MAX_SOLO_PER_GPU;
    const sOp: (Op | null)[] = new Array<Op | null>(poolSize).fill(null);
    this.sOp = sOp;
    const sG = new Int32Array(poolSize);
    this.sG = sG;
    const sTo = new Int32Array(poolSize);
    this.sTo = sTo;
    const sKind = new Uint8Array(poolSize);
    this.sKind = sKind;
    const sData = new Float64Array(poolSize);
    this.sData = sData;
    const sStart = new Float64Array(poolSize);
    this.sStart = sStart;
    const sDue = new Float64Array(poolSize);
    this.sDue = sDue;
    const sRate = new Float64Array(poolSize);
    this.sRate = sRate;
    /** Progressive-filling level at which it froze: its use of resource i is load_i · level. */
    const sLevel = new Float64Array(poolSize);
    this.sLevel = sLevel;
    const sBottleneck = new Int8Array(poolSize);
    this.sBottleneck = sBottleneck;
    const sEvent = new Float64Array(poolSize).fill(-1);
    this.sEvent = sEvent;
    /** The completion event is its group's (not cancelled when one member moves to the fluid model). */
    const sGrouped = new Uint8Array(poolSize);
    this.sGrouped = sGrouped;
    /** Seconds of launch delay that follow in the same event (0: none). */
    const sTail = new Float64Array(poolSize);
    this.sTail = sTail;
    /** The work is over and counted (its event is still to come, for the tail or at this instant). */
    const sCounted = new Uint8Array(poolSize);
    this.sCounted = sCounted;
    const freeIds = new Int32Array(poolSize);
    this.freeIds = freeIds;
    this.freeCount = 0;
    for (let id = poolSize - 1; id >= 0; id--) freeIds[this.freeCount++] = id;
    // Solo ops on each GPU (a send is on both of its GPUs), and their use of each resource.
    const gpuSolos = new Int32Array(N * MAX_SOLO_PER_GPU);
    this.gpuSolos = gpuSolos;
    const gpuSoloCount = new Uint8Array(N);
    this.gpuSoloCount = gpuSoloCount;
    const resSoloCount = new Int32Array(res.length);
    this.resSoloCount = resSoloCount;
    const resSoloUse = new Float64Array(res.length);
    this.resSoloUse = resSoloUse;
    /** Work done by solo ops per resource (the fluid model counts the rest), for the busy shares. */
    const resSoloWork = new Float64Array(res.length);
    this.resSoloWork = resSoloWork;
    /** Per channel and member: its solo share of the group's current collective. */
    const memberSolo = new Int32Array(CHANNELS * N).fill(-1);
    this.memberSolo = memberSolo;

    this.soloLevel = 0;
    this.soloBottleneck = -1;

    // ---- group membership: (first rank, stride, count) by coordinates ----
    const tp = p.tp;
    const cpTp = p.cp * p.tp;
    // Divisions by the job's shape, done once here rather than on every event: a full step
    // asks a GPU's stage, node and group thousands of times.
    this.stageOf = new Int32Array(N);
    this.metered = new Uint8Array(N);
    this.nodeOf = new Int32Array(N);
    for (let g = 0; g < N; g++) {
      this.stageOf[g] = Math.floor(g / R);
      this.metered[g] = g % R === 0 ? 1 : 0;
      this.nodeOf[g] = Math.floor(g / gpusPerNode);
    }
    this.channelStride = Int32Array.from([1, tp, cpTp, tp, tp, (p.pp - 1) * R]);
    this.channelCount = Int32Array.from([tp, p.cp, p.ep, dpShard, dpShard, 2]);
    this.groupBaseOf = new Int32Array(CHANNELS * N);
    for (let channel = 0; channel < CHANNELS; channel++) for (let g = 0; g < N; g++) this.groupBaseOf[channel * N + g] = groupBaseByShape(g, channel, p, R, dpShard);
    const gradsCategory = CATEGORY_INDEX[Math.ceil(dpGroup.size / dpGroup.perNode) > 1 ? "network" : "nvlink"];
    this.gradsCategory = gradsCategory;

    for (let g = 0; g < N; g++) this.nextPass(g);
    sim.run();
    if (this.finished !== N) throw new Error(`full step: ${N - this.finished} of ${N} GPUs never finished (a collective or send was left waiting)`);

    // ---- results ----
    let stepSeconds = 0;
    for (let g = 0; g < N; g++) stepSeconds = Math.max(stepSeconds, endTimes[g] as number);
    const stages: StageResult[] = [];
    const total = new Float64Array(NCAT);
    for (let st = 0; st < p.pp; st++) {
      const sum = new Float64Array(NCAT);
      let end = 0;
      for (let g = st * R; g < (st + 1) * R; g++) {
        this.charge(g, BUBBLE, stepSeconds - (endTimes[g] as number));
        end = Math.max(end, endTimes[g] as number);
        for (let c = 0; c < NCAT; c++) sum[c] = (sum[c] as number) + (times[g * NCAT + c] as number);
      }
      const b = emptyBreakdown();
      for (let c = 0; c < NCAT; c++) {
        b[CATEGORIES[c] as Category] = (sum[c] as number) / R / stepSeconds;
        total[c] = (total[c] as number) + (sum[c] as number);
      }
      stages.push({ stage: st, endSeconds: end, breakdown: b });
    }
    const breakdown = emptyBreakdown();
    for (let c = 0; c < NCAT; c++) breakdown[CATEGORIES[c] as Category] = (total[c] as number) / N / stepSeconds;
    let smBusy = 0;
    let hbmBusy = 0;
    for (let g = 0; g < N; g++) {
      const sm = res[g * ROLES] as Resource;
      const hbm = res[g * ROLES + 1] as Resource;
      fluid.settleResource(sm);
      fluid.settleResource(hbm);
      smBusy += (sm.workDone + (resSoloWork[sm.id] as number)) / sm.capacity / stepSeconds / N;
      hbmBusy += (hbm.workDone + (resSoloWork[hbm.id] as number)) / hbm.capacity / stepSeconds / N;
    }
    return {
      stepSeconds,
      breakdown,
      stages,
      memory,
      power: power.report(stepSeconds),
      events: queue.processed,
      activities: this.activities,
      mode: "full",
      modeReason: "every GPU simulated",
      smBusyShare: smBusy,
      hbmBusyShare: hbmBusy,
      spans,
    };
  }

  setClass(g: number, cls: PowerClass): void {
    if (this.metered[g] === 1) this.power.setClass(this.stageOf[g] as number, cls);
  }

  charge(g: number, category: number, seconds: number): void {
    this.times[g * NCAT + category] = (this.times[g * NCAT + category] as number) + seconds;
  }

  span(g: number, name: string, category: number, start: number, end: number): void {
    this.spans.push({ track: this.tracks[g / this.R] as string, name, category: CATEGORIES[category] as string, start, end });
  }

  /** The fluid model's report of a stretch: compute-stream work carries its rank as data, data-parallel-stream work -(rank + 1). */
  onSegment(a: Activity, t0: number, t1: number, bottleneck: Resource | null): void {
    this.segment(a.data as number, a.label, t0, t1, bottleneck === null ? COMPUTE : (this.categoryOfResource[bottleneck.id] as number));
  }

  segment(g: number, label: string, t0: number, t1: number, cat: number): void {
    if (g < 0) return;
    const rep = this.record && this.metered[g] === 1;
    if (cat === COMPUTE && this.powerActive) {
      const clock = this.power.clockDuring((this.stageOf[g] as number), t1);
      this.charge(g, COMPUTE, (t1 - t0) * clock);
      this.charge(g, POWER, (t1 - t0) * (1 - clock));
      if (rep) this.span(g, label, clock < 1 ? POWER : COMPUTE, t0, t1);
      return;
    }
    this.charge(g, cat, t1 - t0);
    if (rep) this.span(g, label, cat, t0, t1);
  }

  // ---- pass plans per virtual stage (as simulate.ts builds them) ----
  channelOf(group: "tp" | "ep" | "cp"): number {
    return (group === "tp" ? CH_TP : group === "ep" ? CH_EP : CH_CP);
  }

  layoutOf(group: "tp" | "ep" | "cp"): GroupLayout {
    return (group === "tp" ? this.layout.tp : group === "ep" ? this.layout.ep : this.layout.cp);
  }

  listOps(list: KernelList, times_: number, label: string): Op[] {
    const out = plainOps(kernelItems(list.kernels, times_, this.ctx, label));
    for (const c of list.collectives) {
      const group = this.layoutOf(c.group);
      out.push(...collectiveOp(collectiveItems(c.op, c.bytes, group, c.group, c.count * times_, this.ctx, `${label}:${c.group}-${c.op}`), this.channelOf(c.group), group));
    }
    return out;
  }

  gradList(bytes: number): number {
    if (this.dpShard <= 1 || bytes <= 0) return -1;
    let id = this.dpListOfBytes.get(bytes);
    if (id === undefined) {
      const ops = collectiveOp(collectiveItems(this.p.zero >= 1 ? "reduce-scatter" : "all-reduce", bytes, this.dpGroup, "dp", 1, this.ctx, "dp:grads"), CH_DP_STREAM, this.dpGroup);
      id = this.dpLists.length;
      this.dpLists.push(ops);
      this.dpListOfBytes.set(bytes, id);
    }
    return id;
  }

  gradsOp(bytes: number): Op[] {
    if (!this.p.overlapGradReduce) return [];
    const op = new Op();
    op.kind = GRADS;
    op.label = "grads";
    op.gradList = this.gradList(bytes);
    return op.gradList < 0 ? [] : [op];
  }

  pairNode(sameNode: boolean): GroupLayout {
    return ({ size: 2, perNode: sameNode ? 2 : 1 });
  }

  /** A send as one op over two GPUs: the sender's roles, and the receiver's as role + ROLES. */
  sendOp(sameNode: boolean, label: string): Op {
    const load = collectiveLoad("send", this.p2pBytes, this.pairNode(sameNode));
    const link = linkWork(load);
    const nic = link.nic * this.slowdown.pp;
    const nv = link.nvlink * this.slowdown.pp;
    const w: [number, number][] = [];
    if (nic > 0) w.push([ROLE_INDEX.nicTx, nic], [ROLES + ROLE_INDEX.nicRx, nic]);
    if (nv > 0) w.push([ROLE_INDEX.nvTx, nv], [ROLES + ROLE_INDEX.nvRx, nv]);
    if (this.regather) {
      const ag = linkWork(collectiveLoad("all-gather", this.activationBytes, this.layout.tp)).nvlink;
      w.push([ROLES + ROLE_INDEX.nvTx, ag], [ROLES + ROLE_INDEX.nvRx, ag]);
    }
    const hbm = this.p2pBytes / this.gpu.efficiency.hbmPeakFraction;
    w.push([ROLE_INDEX.hbm, hbm], [ROLES + ROLE_INDEX.hbm, hbm]);
    const op = new Op();
    op.label = label;
    op.power = "comm";
    setRoles(op, Int8Array.from(w.map((x) => x[0])), Float64Array.from(w.map((x) => x[1])), this.p2pBytes);
    op.latency = load.latencySeconds;
    op.latencyCategory = CATEGORY_INDEX[sameNode ? "nvlink" : "network"];
    return op;
  }

  scratchOf(n: number): [Resource, number][] {
    let w = this.scratch[n];
    if (w === undefined) {
      w = Array.from({ length: n }, (): [Resource, number] => [this.res[0] as Resource, 0]);
      this.scratch[n] = w;
    }
    return w;
  }

  finishOp(kind: number, data: number): void {
    if (kind === this.COMPUTE_WORK) this.computeWorkDone(data);
    else if (kind === this.DP_WORK) this.dpWorkDone(-1 - data);
    else if (kind === this.SHARE) this.shareDone(data);
    else this.sendDone(data);
  }

  /** The resource of work entry `i` of `op` run by `g` (and `to`, a send's receiver). */
  resourceOf(op: Op, i: number, g: number, to: number): Resource {
    const k = op.roles[i] as number;
    return this.res[k < ROLES ? g * ROLES + k : to * ROLES + k - ROLES] as Resource;
  }

  /** Rate of `op` at its own pace (fraction per second), or 0 if it would have to share. */
  soloRate(op: Op, g: number, to: number): number {
    if ((this.gpuSoloCount[g] as number) >= this.MAX_SOLO_PER_GPU || (to >= 0 && (this.gpuSoloCount[to] as number) >= this.MAX_SOLO_PER_GPU)) return 0;
    const n = op.roles.length;
    const loads = op.soloLoads;
    const roles = op.roles;
    const gb = g * ROLES;
    const tb = to * ROLES - ROLES;
    let level = Infinity;
    this.soloBottleneck = -1;
    for (let i = 0; i < n; i++) {
      const k = roles[i] as number;
      const x = k < ROLES ? gb + k : tb + k;
      if ((this.resFluidCount[x] as number) > 0) return 0;
      const load = loads[i] as number;
      const capacity = this.resCapacity[x] as number;
      if (load === 0 || capacity === Infinity) continue;
      // As FluidModel's progressive filling: level = free / load.
      const l = capacity / load;
      if (l < level) {
        level = l;
        this.soloBottleneck = i;
      }
    }
    if (level !== Infinity) {
      for (let i = 0; i < n; i++) {
        const k = roles[i] as number;
        const x = k < ROLES ? gb + k : tb + k;
        if ((this.resSoloCount[x] as number) === 0) continue;
        const capacity = this.resCapacity[x] as number;
        if (capacity !== Infinity && !((this.resSoloUse[x] as number) + (loads[i] as number) * level <= this.SOLO_HEADROOM * capacity)) return 0;
      }
    }
    this.soloLevel = level;
    const rate = level / op.soloSize;
    return rate > 0 ? rate : 0;
  }

  addToGpu(g: number, id: number): void {
    const n = this.gpuSoloCount[g] as number;
    this.gpuSolos[g * this.MAX_SOLO_PER_GPU + n] = id;
    this.gpuSoloCount[g] = n + 1;
  }

  removeFromGpu(g: number, id: number): void {
    const b = g * this.MAX_SOLO_PER_GPU;
    const n = (this.gpuSoloCount[g] as number) - 1;
    for (let k = 0; k <= n; k++) {
      if (this.gpuSolos[b + k] === id) {
        this.gpuSolos[b + k] = this.gpuSolos[b + n] as number;
        break;
      }
    }
    this.gpuSoloCount[g] = n;
  }

  /** Record `op` as running at its own pace from now (rate from soloRate, just called); returns its id. */
  beginSolo(op: Op, g: number, to: number, data: number, kind: number, rate: number): number {
    const id = this.freeIds[--this.freeCount] as number;
    const now = this.queue.now;
    const level = this.soloLevel;
    this.sOp[id] = op;
    this.sG[id] = g;
    this.sTo[id] = to;
    this.sKind[id] = kind;
    this.sData[id] = data;
    this.sStart[id] = now;
    this.sDue[id] = rate === Infinity ? now : now + 1 / rate;
    this.sRate[id] = rate;
    this.sLevel[id] = level;
    this.sBottleneck[id] = this.soloBottleneck;
    this.sGrouped[id] = 0;
    this.sTail[id] = 0;
    this.sCounted[id] = 0;
    if (level !== Infinity) {
      const loads = op.soloLoads;
      const roles = op.roles;
      const gb = g * ROLES;
      const tb = to * ROLES - ROLES;
      for (let i = 0; i < roles.length; i++) {
        const load = loads[i] as number;
        if (load === 0) continue;
        const k = roles[i] as number;
        const x = k < ROLES ? gb + k : tb + k;
        this.resSoloCount[x] = (this.resSoloCount[x] as number) + 1;
        this.resSoloUse[x] = (this.resSoloUse[x] as number) + load * level;
      }
    }
    this.addToGpu(g, id);
    if (to >= 0) this.addToGpu(to, id);
    return id;
  }

  /** Its resources are free again: drop its use of them. */
  releaseSolo(id: number): void {
    const op = this.sOp[id] as Op;
    const g = this.sG[id] as number;
    const to = this.sTo[id] as number;
    const level = this.sLevel[id] as number;
    if (level !== Infinity) {
      const loads = op.soloLoads;
      const roles = op.roles;
      const gb = g * ROLES;
      const tb = to * ROLES - ROLES;
      for (let i = 0; i < roles.length; i++) {
        const load = loads[i] as number;
        if (load === 0) continue;
        const k = roles[i] as number;
        const x = k < ROLES ? gb + k : tb + k;
        const n = (this.resSoloCount[x] as number) - 1;
        this.resSoloCount[x] = n;
        // Back to exactly zero when the last one leaves, so rounding cannot pile up.
        this.resSoloUse[x] = n === 0 ? 0 : (this.resSoloUse[x] as number) - load * level;
      }
    }
    this.removeFromGpu(g, id);
    if (to >= 0) this.removeFromGpu(to, id);
  }

  freeSolo(id: number): void {
    this.sOp[id] = null;
    this.sEvent[id] = -1;
    this.freeIds[this.freeCount++] = id;
  }

  /** Attribute [t0, t1] of solo `id` and count `fraction` of its work as done. */
  soloProgress(id: number, t0: number, t1: number, fraction: number): void {
    const op = this.sOp[id] as Op;
    if (t1 > t0) {
      const b = this.sBottleneck[id] as number;
      this.segment(this.sData[id] as number, op.label, t0, t1, b < 0 ? COMPUTE : (op.roleCategories[b] as number));
    }
    // Only SM and HBM work is reported (busy shares).
    const gb = (this.sG[id] as number) * ROLES;
    const tb = (this.sTo[id] as number) * ROLES - ROLES;
    const roles = op.roles;
    for (let i = 0; i < roles.length; i++) {
      const k = roles[i] as number;
      const x = k <= ROLE_INDEX.hbm ? gb + k : k === ROLES + ROLE_INDEX.hbm ? tb + k : -1;
      if (x >= 0) this.resSoloWork[x] = (this.resSoloWork[x] as number) + (op.amounts[i] as number) * fraction;
    }
  }

  /** The work is over (at its due time): count it and free its resources; its event still comes. */
  soloWorkOver(id: number): void {
    this.soloProgress(id, this.sStart[id] as number, this.sDue[id] as number, 1);
    this.sCounted[id] = 1;
    this.releaseSolo(id);
  }

  soloEnd(id: number): void {
    if (this.sCounted[id] === 0) this.soloWorkOver(id);
    const g = this.sG[id] as number;
    const kind = this.sKind[id] as number;
    const data = this.sData[id] as number;
    const tail = this.sTail[id] as number;
    const due = this.sDue[id] as number;
    this.freeSolo(id);
    if (tail > 0) {
      // The launch delay (compute stream only), as computeStep would have run it at the due time.
      const delay = (this.plans[this.plan[g] as number] as Op[])[(this.item[g] as number) + 1] as Op;
      this.charge(g, delay.category, tail);
      if (this.record && this.metered[g] === 1) this.span(g, delay.label, delay.category, due, due + tail);
      this.item[g] = (this.item[g] as number) + 2;
      this.computeStep(g);
      return;
    }
    this.finishOp(kind, data);
  }

  soloGroupEnd(key: number): void {
    const channel = Math.floor(key / this.N);
    const base = key - channel * this.N;
    const handle = (this.groupSoloEvent[channel] as Float64Array)[base] as number;
    const stride = this.channelStride[channel] as number;
    const count = this.channelCount[channel] as number;
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      const id = this.memberSolo[channel * this.N + m] as number;
      if (id >= 0 && this.sOp[id] !== null && this.sGrouped[id] === 1 && this.sEvent[id] === handle) this.soloEnd(id);
    }
  }

  /** Something it would share with is about to start: solo `id` continues in the fluid model from here. */
  toFluid(id: number): void {
    if (this.sCounted[id] === 1) return;
    const now = this.queue.now;
    const t0 = this.sStart[id] as number;
    // Settled as the fluid model settles an activity: remaining -= rate·dt.
    let remaining = 1;
    if (now > t0) remaining -= (this.sRate[id] as number) * (now - t0);
    if (!(remaining > 0)) {
      // Its work ends at this very instant: its completion event is queued already.
      this.soloWorkOver(id);
      return;
    }
    if (this.sGrouped[id] === 0) this.queue.cancel(this.sEvent[id] as number);
    this.soloProgress(id, t0, now, 1 - remaining);
    this.releaseSolo(id);
    const op = this.sOp[id] as Op;
    const g = this.sG[id] as number;
    const to = this.sTo[id] as number;
    const data = this.sData[id] as number;
    const kind = this.sKind[id] as number;
    this.freeSolo(id);
    this.startFluid(op, g, to, data, kind, remaining);
  }

  /** Move every solo op using `r` into the fluid model. */
  clearSolos(r: Resource): void {
    const g = Math.floor(r.id / ROLES);
    while ((this.resSoloCount[r.id] as number) > 0) {
      let found = -1;
      const b = g * this.MAX_SOLO_PER_GPU;
      for (let k = 0; k < (this.gpuSoloCount[g] as number) && found < 0; k++) {
        const id = this.gpuSolos[b + k] as number;
        const op = this.sOp[id] as Op;
        for (let i = 0; i < op.roles.length; i++) {
          if ((op.soloLoads[i] as number) > 0 && this.resourceOf(op, i, this.sG[id] as number, this.sTo[id] as number) === r) {
            found = id;
            break;
          }
        }
      }
      if (found < 0) throw new Error(`full step: ${r.name} counts solo work that no solo op holds`);
      this.toFluid(found);
    }
  }

  startFluid(op: Op, g: number, to: number, data: number, kind: number, scale: number): void {
    const n = op.roles.length;
    for (let i = 0; i < n; i++) {
      const r = this.resourceOf(op, i, g, to);
      if ((this.resSoloCount[r.id] as number) > 0) this.clearSolos(r);
    }
    // Filled only now: moving solo ops into the fluid model above uses the same spec.
    const w = this.scratchOf(n);
    for (let i = 0; i < n; i++) {
      const t = w[i] as [Resource, number];
      t[0] = this.resourceOf(op, i, g, to);
      t[1] = (op.amounts[i] as number) * scale;
    }
    this.spec.work = w;
    this.spec.label = op.label;
    this.spec.data = data;
    this.spec.size = op.size === op.size ? op.size * scale : undefined;
    this.spec.onComplete = this.onFluidDone[kind] as (a: Activity) => void;
    for (const r of this.fluid.start(this.spec).resources) this.resFluidCount[r.id] = (this.resFluidCount[r.id] as number) + 1;
  }

  /** Start `op` (on `g`, and `to` for a send): at its own pace if it can, else in the fluid model. */
  startWork(op: Op, g: number, to: number, data: number, kind: number): void {
    this.activities++;
    const rate = this.soloRate(op, g, to);
    if (rate === 0) {
      this.startFluid(op, g, to, data, kind, 1);
      return;
    }
    const id = this.beginSolo(op, g, to, data, kind, rate);
    let at = this.sDue[id] as number;
    if (kind === this.COMPUTE_WORK) {
      // A launch delay next: if nothing changes at the due time, one event does both. Only a
      // stage's metered GPU (its first) reports its power class, so only there must a change of
      // class happen on time.
      const next = (this.plans[this.plan[g] as number] as Op[])[(this.item[g] as number) + 1];
      if (next !== undefined && next.kind === DELAY && (next.power === op.power || this.metered[g] === 0)) {
        this.sTail[id] = next.seconds;
        at += next.seconds;
      }
    }
    this.sEvent[id] = this.queue.scheduleCall(at, this.soloEnd$, id);
  }

  startOp(g: number, op: Op, data: number, kind: number): void {
    return this.startWork(op, g, -1, data, kind);
  }

  /** Every member of a group starts its share of a collective at once: equal shares, one event. */
  startShares(base: number, stride: number, count: number, op: Op, channel: number, dp: boolean): void {
    let handle = -1;
    let groupDue = NaN;
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      const data = dp ? -1 - m : m;
      this.activities++;
      const rate = this.soloRate(op, m, -1);
      if (rate === 0) {
        this.memberSolo[channel * this.N + m] = -1;
        this.startFluid(op, m, -1, data, this.SHARE, 1);
        continue;
      }
      const id = this.beginSolo(op, m, -1, data, this.SHARE, rate);
      this.memberSolo[channel * this.N + m] = id;
      const due = this.sDue[id] as number;
      if (handle < 0) {
        handle = this.queue.scheduleCall(due, this.soloGroupEnd$, channel * this.N + base);
        (this.groupSoloEvent[channel] as Float64Array)[base] = handle;
        groupDue = due;
      }
      if (due === groupDue) {
        this.sEvent[id] = handle;
        this.sGrouped[id] = 1;
      } else this.sEvent[id] = this.queue.scheduleCall(due, this.soloEnd$, id);
    }
  }

  groupBase(g: number, channel: number): number {
    return this.groupBaseOf[channel * this.N + g] as number;
  }


  // ---- compute stream ----
  computeStep(g: number): void {
    const ops = this.plans[this.plan[g] as number] as Op[];
    let i = this.item[g] as number;
    while (i < ops.length) {
      const op = ops[i] as Op;
      if (op.kind === GRADS) {
        this.dpEnqueue(g, op.gradList);
        i++;
        continue;
      }
      this.item[g] = i;
      this.setClass(g, op.power);
      if (op.kind === WORK) {
        this.startOp(g, op, g, this.COMPUTE_WORK);
      } else if (op.kind === DELAY) {
        this.charge(g, op.category, op.seconds);
        if (this.record && this.metered[g] === 1) this.span(g, op.label, op.category, this.queue.now, this.queue.now + op.seconds);
        this.queue.scheduleCall(this.queue.now + op.seconds, this.computeDelayDone$, g);
      } else {
        this.arrive(g, op, op.channel);
      }
      return;
    }
    this.item[g] = i;
    if (this.inPass[g] === 1) this.passDone(g);
    else this.planFinished(g);
  }

  computeWorkDone(g: number): void {
    this.item[g] = (this.item[g] as number) + 1;
    this.computeStep(g);
  }

  computeDelayDone(g: number): void {
    this.item[g] = (this.item[g] as number) + 1;
    this.computeStep(g);
  }

  // ---- data-parallel stream ----
  dpEnqueue(g: number, list: number): void {
    this.dpQueue[g * this.dpCapacity + (this.dpTail[g] as number)] = list;
    this.dpTail[g] = (this.dpTail[g] as number) + 1;
    if (this.dpCurrent[g] === -1) this.dpNext(g);
  }

  dpNext(g: number): void {
    if (this.dpHead[g] === this.dpTail[g]) {
      if (this.dpCurrent[g] !== -1 && this.metered[g] === 1) this.power.background(this.stageOf[g] as number, -1);
      this.dpCurrent[g] = -1;
      if ((this.gradsWaitSince[g] as number) >= 0) this.gradsReduced(g);
      return;
    }
    if (this.dpCurrent[g] === -1 && this.metered[g] === 1) this.power.background(this.stageOf[g] as number, +1);
    this.dpCurrent[g] = this.dpQueue[g * this.dpCapacity + (this.dpHead[g] as number)] as number;
    this.dpHead[g] = (this.dpHead[g] as number) + 1;
    this.dpItem[g] = 0;
    this.dpStep(g);
  }

  dpStep(g: number): void {
    const ops = this.dpLists[this.dpCurrent[g] as number] as Op[];
    const i = this.dpItem[g] as number;
    if (i >= ops.length) {
      this.dpNext(g);
      return;
    }
    const op = ops[i] as Op;
    if (op.kind === COLLECTIVE) this.arrive(-1 - g, op, CH_DP_STREAM);
    else if (op.kind === WORK) this.startOp(g, op, -1 - g, this.DP_WORK);
    else this.queue.scheduleCall(this.queue.now + op.seconds, this.dpDelayDone$, g);
  }

  dpWorkDone(g: number): void {
    this.dpItem[g] = (this.dpItem[g] as number) + 1;
    this.dpStep(g);
  }

  dpDelayDone(g: number): void {
    this.dpItem[g] = (this.dpItem[g] as number) + 1;
    this.dpStep(g);
  }

  // ---- collectives: barrier, each member's share, barrier, latency ----
  // A member is `m` (compute stream) or `-1 - m` (data-parallel stream).
  opOf(member: number): Op {
    return member >= 0 ? ((this.plans[this.plan[member] as number] as Op[])[this.item[member] as number] as Op) : ((this.dpLists[this.dpCurrent[-1 - member] as number] as Op[])[this.dpItem[-1 - member] as number] as Op);
  }

  arrive(member: number, op: Op, channel: number): void {
    const g = member >= 0 ? member : -1 - member;
    // Compute-stream waits are charged here; the data-parallel stream runs behind the
    // compute stream and its waits matter only once compute waits for the gradients.
    if (member >= 0) this.arriveTime[g] = this.queue.now;
    else this.dpArriveTime[g] = this.queue.now;
    const base = this.groupBase(g, channel);
    const counts = this.arrivedCount[channel] as Int32Array;
    const count = this.channelCount[channel] as number;
    if (++counts[base]! < count) return;
    counts[base] = 0;
    const stride = this.channelStride[channel] as number;
    const now = this.queue.now;
    const dp = member < 0;
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      if (!dp) {
        const waited = now - (this.arriveTime[m] as number);
        if (waited > 0) {
          this.charge(m, BUBBLE, waited);
          if (this.record && this.metered[m] === 1) this.span(m, `wait:${op.label}`, BUBBLE, this.arriveTime[m] as number, now);
        }
      } else if ((this.gradsWaitSince[m] as number) >= 0) {
        // m's compute is done and waits for its gradients, which wait here for a slower
        // replica: that is imbalance, not the fabric. (Until m's own stream got here, it
        // was still moving earlier gradients: that part is the fabric's.)
        const since = this.gradsWaitSince[m] as number;
        const from = Math.max(since, this.dpArriveTime[m] as number);
        if (now > from) {
          this.chargeGradsWait(m, since, from);
          this.charge(m, BUBBLE, now - from);
          if (this.record && this.metered[m] === 1) this.span(m, "wait:dp-peers", BUBBLE, from, now);
          this.gradsWaitSince[m] = now;
        }
      }
    }
    if (op.roles.length === 0) {
      this.latencyPhase(base, stride, count, op, channel);
      return;
    }
    this.startShares(base, stride, count, op, channel, dp);
  }

  shareDone(member: number): void {
    const dp = member < 0;
    const g = dp ? -1 - member : member;
    const op = this.opOf(member);
    const channel = dp ? CH_DP_STREAM : op.channel;
    const now = this.queue.now;
    if (!dp) this.shareDoneTime[g] = now;
    const base = this.groupBase(g, channel);
    const counts = this.doneCount[channel] as Int32Array;
    const count = this.channelCount[channel] as number;
    if (++counts[base]! < count) return;
    counts[base] = 0;
    const stride = this.channelStride[channel] as number;
    if (!dp) {
      // A ring runs at its slowest member's pace: the others' links stay busy until it is done.
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        const waited = now - (this.shareDoneTime[m] as number);
        if (waited > 0) {
          this.charge(m, op.linkCategory, waited);
          if (this.record && this.metered[m] === 1) this.span(m, op.label, op.linkCategory, this.shareDoneTime[m] as number, now);
        }
      }
    }
    this.latencyPhase(base, stride, count, op, channel);
  }

  latencyPhase(base: number, stride: number, count: number, op: Op, channel: number): void {
    if (op.latency <= 0) {
      this.release(base, stride, count, channel);
      return;
    }
    if (channel !== CH_DP_STREAM) {
      const now = this.queue.now;
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        this.charge(m, op.latencyCategory, op.latency);
        if (this.record && this.metered[m] === 1) this.span(m, op.latencyLabel, op.latencyCategory, now, now + op.latency);
      }
    }
    // One event for the whole group: every member waits the same latency.
    this.queue.scheduleCall(this.queue.now + op.latency, this.latencyDone$, channel * this.N + base);
  }

  latencyDone(key: number): void {
    const channel = Math.floor(key / this.N);
    const base = key - channel * this.N;
    this.release(base, this.channelStride[channel] as number, this.channelCount[channel] as number, channel);
  }

  release(base: number, stride: number, count: number, channel: number): void {
    // Released members may reach their next collective at once; the counters are already reset.
    if (channel === CH_DP_STREAM) {
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        this.dpItem[m] = (this.dpItem[m] as number) + 1;
        this.dpStep(m);
      }
    } else {
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        this.item[m] = (this.item[m] as number) + 1;
        this.computeStep(m);
      }
    }
  }

  // ---- pipeline ----
  nextPass(g: number): void {
    const st = (this.stageOf[g] as number);
    const i = this.passIndex[g] as number;
    const kinds = this.schedKind[st] as Uint8Array;
    if (i >= kinds.length) {
      this.finish(g);
      return;
    }
    const q = g - st * this.R;
    const vs = (this.schedChunk[st] as Int32Array)[i]! * this.p.pp + st;
    const mb = (this.schedMb[st] as Int32Array)[i] as number;
    const forward = kinds[i] === 0;
    const slot = (q * this.V + vs) * this.micro + mb;
    const ready = forward ? vs === 0 || this.fwdArrived[slot] === 1 : vs === this.V - 1 || this.bwdArrived[slot] === 1;
    if (ready) this.runPass(g);
    else {
      this.waitKey[g] = (forward ? 0 : this.V * this.micro) + vs * this.micro + mb;
      this.waitSince[g] = this.queue.now;
      this.setClass(g, "idle");
    }
  }

  arrived(g: number, key: number): void {
    if (this.waitKey[g] !== key) return;
    const since = this.waitSince[g] as number;
    this.charge(g, BUBBLE, this.queue.now - since);
    if (this.record && this.metered[g] === 1) this.span(g, "wait:pipeline", BUBBLE, since, this.queue.now);
    this.waitKey[g] = -1;
    this.runPass(g);
  }

  runPass(g: number): void {
    const st = (this.stageOf[g] as number);
    const i = this.passIndex[g] as number;
    const vs = (this.schedChunk[st] as Int32Array)[i]! * this.p.pp + st;
    this.plan[g] = (this.schedKind[st] as Uint8Array)[i] === 0 ? (this.forwardPlan[vs] as number) : (this.schedLastBackward[st] as Uint8Array)[i] === 1 ? (this.lastBackwardPlan[vs] as number) : (this.backwardPlan[vs] as number);
    this.item[g] = 0;
    this.inPass[g] = 1;
    this.computeStep(g);
  }

  passDone(g: number): void {
    const st = (this.stageOf[g] as number);
    const i = this.passIndex[g] as number;
    this.passIndex[g] = i + 1;
    const q = g - st * this.R;
    const vs = (this.schedChunk[st] as Int32Array)[i]! * this.p.pp + st;
    const mb = (this.schedMb[st] as Int32Array)[i] as number;
    const forward = (this.schedKind[st] as Uint8Array)[i] === 0;
    let toVs: number;
    if (forward && vs < this.V - 1) toVs = vs + 1;
    else if (!forward && vs > 0) toVs = vs - 1;
    else {
      this.nextPass(g);
      return;
    }
    const to = rankOfVirtualStage(toVs, this.p.pp) * this.R + q;
    this.sendTo[g] = to;
    // Arrival key, with the direction in its sign-free offset (as waitKey encodes it).
    this.sendKey[g] = (forward ? 0 : this.V * this.micro) + toVs * this.micro + mb;
    if (to === g) {
      this.deliver(g);
      this.nextPass(g);
      return;
    }
    // Megatron's p2p is synchronous: the sender continues once its send completes.
    const t = this.sendOpOf(g);
    this.setClass(g, "comm");
    if (t.latency > 0) {
      this.charge(g, t.latencyCategory, t.latency);
      this.queue.scheduleCall(this.queue.now + t.latency, this.startSend$, g);
    } else this.startSend(g);
  }

  sendOpOf(g: number): Op {
    const to = this.sendTo[g] as number;
    const sameNode = this.nodeOf[g] === this.nodeOf[to];
    return (this.sendOps[sameNode ? 1 : 0] as Op[])[(this.sendKey[g] as number) < this.V * this.micro ? 0 : 1] as Op;
  }

  startSend(g: number): void {
    this.startWork(this.sendOpOf(g), g, this.sendTo[g] as number, g, this.SEND);
  }

  sendDone(g: number): void {
    this.deliver(g);
    this.nextPass(g);
  }

  deliver(g: number): void {
    const to = this.sendTo[g] as number;
    const key = this.sendKey[g] as number;
    const q = to - (this.stageOf[to] as number) * this.R;
    const backward = key >= this.V * this.micro;
    const local = backward ? key - this.V * this.micro : key;
    if (backward) this.bwdArrived[q * this.V * this.micro + local] = 1;
    else this.fwdArrived[q * this.V * this.micro + local] = 1;
    this.arrived(to, key);
  }

  // ---- end of the step ----
  finish(g: number): void {
    const st = (this.stageOf[g] as number);
    const list = this.finalGradList[st] as number;
    if (list >= 0) this.dpEnqueue(g, list);
    this.setClass(g, "idle");
    if (this.dpCurrent[g] === -1) this.afterGrads(g);
    else this.gradsWaitSince[g] = this.queue.now;
  }

  /** Compute waited on its own gradients' transfers from `since` to `until`. */
  chargeGradsWait(g: number, since: number, until: number): void {
    if (until > since) {
      this.charge(g, this.gradsCategory, until - since);
      if (this.record && this.metered[g] === 1) this.span(g, "wait:dp-grads", this.gradsCategory, since, until);
    }
  }

  gradsReduced(g: number): void {
    const since = this.gradsWaitSince[g] as number;
    this.gradsWaitSince[g] = -1;
    this.chargeGradsWait(g, since, this.queue.now);
    this.afterGrads(g);
  }

  afterGrads(g: number): void {
    this.plan[g] = this.afterPlan[(this.stageOf[g] as number)] as number;
    this.item[g] = 0;
    this.inPass[g] = 0;
    this.computeStep(g);
  }

  planFinished(g: number): void {
    this.endTimes[g] = this.queue.now;
    this.setClass(g, "idle");
    if (++this.finished === this.N) this.power.stop();
  }
}


export function simulateStepFull(s: Scenario, options: FullSimulateOptions = {}): StepSimulation {
  return new FullStepRun().run(s, options);
}

