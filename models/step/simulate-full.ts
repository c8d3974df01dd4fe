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
import { FluidModel, type Activity, type Resource } from "../../sim/fluid.ts";
import { Simulation } from "../../sim/simulation.ts";
import { collectiveLoad, linkWork, type GroupLayout } from "../collectives/alpha-beta.ts";
import { peakFlops } from "../compute/kernel.ts";
import { GPU_SPEED_SIGMA, gpuSpeeds } from "../hardware/variability.ts";
import { pipelineSchedule } from "../parallel/schedule.ts";
import { rankOfVirtualStage } from "../parallel/stages.ts";
import type { PowerClass } from "../power/gpu-power.ts";
import { StepPower, type StageGpu } from "../power/step-power.ts";
import type { Scenario } from "../scenario.ts";
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
import { collectiveItems, kernelItems, type Item, type ResourceRole } from "./pass-plan.ts";
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

export function simulateStepFull(s: Scenario, options: FullSimulateOptions = {}): StepSimulation {
  const { p, gpu, precision, slowdown, ctx, shape, model, micro, V, split, gradBytes, weightBytes, layerParamsPerRank, dpShard, dpGroup, memory } = stepSetup(s, options.slowdown);
  const layout = ctx.layout;
  const record = options.record ?? false;

  // ---- ranks: Megatron order, tensor fastest, then context, data, pipeline ----
  const R = p.tp * p.cp * p.dp;
  const N = R * p.pp;
  const gpusPerNode = s.cluster.gpusPerNode;

  const sim = new Simulation({ seed: s.seed, record });
  const queue = sim.queue;
  const fluid = sim.fluid;

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
  for (let x = 0; x < res.length; x++) resCapacity[x] = (res[x] as Resource).capacity;
  /** Activities the fluid model runs on each resource. */
  const resFluidCount = new Int32Array(res.length);
  // Bottleneck resource → category, by resource id (every resource here is a GPU's).
  const categoryOfResource = new Int8Array(fluid.resources.length);
  for (const r of fluid.resources) categoryOfResource[r.id] = CATEGORY_INDEX[categoryOfResourceKind(r.kind)];

  // ---- power: one meter per stage, driven by its first GPU ----
  const stagePeak = new Float64Array(p.pp);
  for (let st = 0; st < p.pp; st++) stagePeak[st] = peak * (speeds[st * R] as number);
  const clocks = new StageClocks(queue, stagePeak, (stage, clock) => {
    for (let g = stage * R; g < (stage + 1) * R; g++) {
      const sm = res[g * ROLES] as Resource;
      const capacity = peak * (speeds[g] as number) * clock;
      if (capacity === resCapacity[g * ROLES]) continue;
      clearSolos(sm);
      fluid.setCapacity(sm, capacity);
      resCapacity[g * ROLES] = capacity;
    }
  });
  const stageGpus: StageGpu[] = [];
  for (let st = 0; st < p.pp; st++) {
    stageGpus.push({ sm: clocks.addResource({ name: `stage${st}.clock`, kind: "sm", capacity: stagePeak[st] as number }), peak: stagePeak[st] as number, multiplicity: R });
  }
  const power = new StepPower(queue, clocks, s, stageGpus, options.powerControl ?? true, sim.rng("power-supply"));
  power.start(s.cluster.power.controllerInterval ?? 0.1);
  const setClass = (g: number, cls: PowerClass): void => {
    if (g % R === 0) power.setClass(g / R, cls);
  };

  // ---- accounting ----
  const times = new Float64Array(N * NCAT);
  const spans: StepSimulation["spans"] = [];
  const tracks = Array.from({ length: p.pp }, (_, st) => `stage ${st}`);
  const charge = (g: number, category: number, seconds: number): void => {
    times[g * NCAT + category] = (times[g * NCAT + category] as number) + seconds;
  };
  const span = (g: number, name: string, category: number, start: number, end: number): void => {
    spans.push({ track: tracks[g / R] as string, name, category: CATEGORIES[category] as string, start, end });
  };
  // Compute-stream work carries its rank as data; data-parallel-stream work carries -(rank + 1).
  const powerActive = power.active;
  const segment = (g: number, label: string, t0: number, t1: number, cat: number): void => {
    if (g < 0) return;
    const rep = record && g % R === 0;
    if (cat === COMPUTE && powerActive) {
      const clock = power.clockDuring(Math.floor(g / R), t1);
      charge(g, COMPUTE, (t1 - t0) * clock);
      charge(g, POWER, (t1 - t0) * (1 - clock));
      if (rep) span(g, label, clock < 1 ? POWER : COMPUTE, t0, t1);
      return;
    }
    charge(g, cat, t1 - t0);
    if (rep) span(g, label, cat, t0, t1);
  };
  fluid.onSegment = (a, t0, t1, bottleneck) => {
    segment(a.data as number, a.label, t0, t1, bottleneck === null ? COMPUTE : (categoryOfResource[bottleneck.id] as number));
  };

  // ---- pass plans per virtual stage (as simulate.ts builds them) ----
  const channelOf = (group: "tp" | "ep" | "cp"): number => (group === "tp" ? CH_TP : group === "ep" ? CH_EP : CH_CP);
  const layoutOf = (group: "tp" | "ep" | "cp"): GroupLayout => (group === "tp" ? layout.tp : group === "ep" ? layout.ep : layout.cp);
  const listOps = (list: KernelList, times_: number, label: string): Op[] => {
    const out = plainOps(kernelItems(list.kernels, times_, ctx, label));
    for (const c of list.collectives) {
      const group = layoutOf(c.group);
      out.push(...collectiveOp(collectiveItems(c.op, c.bytes, group, c.group, c.count * times_, ctx, `${label}:${c.group}-${c.op}`), channelOf(c.group), group));
    }
    return out;
  };

  // Data-parallel op lists, one per distinct gradient size.
  const dpLists: Op[][] = [];
  const dpListOfBytes = new Map<number, number>();
  const gradList = (bytes: number): number => {
    if (dpShard <= 1 || bytes <= 0) return -1;
    let id = dpListOfBytes.get(bytes);
    if (id === undefined) {
      const ops = collectiveOp(collectiveItems(p.zero >= 1 ? "reduce-scatter" : "all-reduce", bytes, dpGroup, "dp", 1, ctx, "dp:grads"), CH_DP_STREAM, dpGroup);
      id = dpLists.length;
      dpLists.push(ops);
      dpListOfBytes.set(bytes, id);
    }
    return id;
  };
  const gradsOp = (bytes: number): Op[] => {
    if (!p.overlapGradReduce) return [];
    const op = new Op();
    op.kind = GRADS;
    op.label = "grads";
    op.gradList = gradList(bytes);
    return op.gradList < 0 ? [] : [op];
  };

  const fwdLayer = layerForwardKernels(shape);
  const bwdLayer = layerBackwardKernels(shape);
  const recLayer = layerRecomputeKernels(shape, p.recompute);
  const perLayerGradBytes = layerParamsPerRank * gradBytes;
  const embedGradBytes = (embeddingParams(model) / p.tp) * gradBytes;
  const headGradBytes = (headParams(model) / p.tp) * gradBytes;

  const plans: Op[][] = [];
  const forwardPlan = new Int32Array(V);
  const backwardPlan = new Int32Array(V);
  const lastBackwardPlan = new Int32Array(V);
  for (let v = 0; v < V; v++) {
    const L = split[v] as number;
    const first = v === 0;
    const last = v === V - 1;
    const f: Op[] = [];
    if (first) f.push(...listOps(embeddingKernels(shape, "forward"), 1, "embedding"));
    f.push(...listOps(fwdLayer, L, "forward"));
    if (last) f.push(...listOps(headKernels(shape, "forward"), 1, "head"));
    forwardPlan[v] = plans.push(f) - 1;

    const b: Op[] = [];
    if (last) b.push(...listOps(headKernels(shape, "backward"), 1, "head.bwd"));
    b.push(...listOps(recLayer, L, "backward:recompute"), ...listOps(bwdLayer, L, "backward"));
    if (first) b.push(...listOps(embeddingKernels(shape, "backward"), 1, "embedding.bwd"));
    backwardPlan[v] = plans.push(b) - 1;

    // The chunk's last backward hands gradients over layer by layer (bucketed DDP).
    const lb: Op[] = [];
    if (last) {
      lb.push(...listOps(headKernels(shape, "backward"), 1, "head.bwd"));
      lb.push(...gradsOp(headGradBytes));
    }
    for (let l = 0; l < L; l++) {
      lb.push(...listOps(recLayer, 1, "backward:recompute"), ...listOps(bwdLayer, 1, "backward"));
      lb.push(...gradsOp(perLayerGradBytes));
    }
    if (first) {
      lb.push(...listOps(embeddingKernels(shape, "backward"), 1, "embedding.bwd"));
      lb.push(...gradsOp(embedGradBytes));
    }
    lastBackwardPlan[v] = plans.push(lb) - 1;
  }

  // After the last pass: gradients not reduced on the fly (per stage), then tied
  // embeddings, the optimizer and ZeRO's parameter all-gather.
  const finalGradList = new Int32Array(p.pp).fill(-1);
  const afterPlan = new Int32Array(p.pp);
  const pairNode = (sameNode: boolean): GroupLayout => ({ size: 2, perNode: sameNode ? 2 : 1 });
  for (let st = 0; st < p.pp; st++) {
    if (!p.overlapGradReduce) {
      let bytes = 0;
      for (let v = 0; v < V; v++) if (rankOfVirtualStage(v, p.pp) === st) bytes += (split[v] as number) * perLayerGradBytes;
      if (st === 0) bytes += embedGradBytes;
      if (st === p.pp - 1) bytes += headGradBytes;
      finalGradList[st] = gradList(bytes);
    }
    const ops: Op[] = [];
    // Tied embeddings: the first and last stage all-reduce their copies' gradients. Here
    // the earlier one waits for the other (folded mode lets each side run it alone), so
    // the last stage may end later than folded, though never the step.
    if (model.tiedEmbeddings && p.pp > 1 && (st === 0 || st === p.pp - 1)) {
      const sameNode = layout.stageNode(0) === layout.stageNode(p.pp - 1);
      const group = pairNode(sameNode);
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
  const p2pBytes = activationBytes / p.tp;
  const regather = p.tp > 1 && !shape.sequenceParallel;
  /** A send as one op over two GPUs: the sender's roles, and the receiver's as role + ROLES. */
  const sendOp = (sameNode: boolean, label: string): Op => {
    const load = collectiveLoad("send", p2pBytes, pairNode(sameNode));
    const link = linkWork(load);
    const nic = link.nic * slowdown.pp;
    const nv = link.nvlink * slowdown.pp;
    const w: [number, number][] = [];
    if (nic > 0) w.push([ROLE_INDEX.nicTx, nic], [ROLES + ROLE_INDEX.nicRx, nic]);
    if (nv > 0) w.push([ROLE_INDEX.nvTx, nv], [ROLES + ROLE_INDEX.nvRx, nv]);
    if (regather) {
      const ag = linkWork(collectiveLoad("all-gather", activationBytes, layout.tp)).nvlink;
      w.push([ROLES + ROLE_INDEX.nvTx, ag], [ROLES + ROLE_INDEX.nvRx, ag]);
    }
    const hbm = p2pBytes / gpu.efficiency.hbmPeakFraction;
    w.push([ROLE_INDEX.hbm, hbm], [ROLES + ROLE_INDEX.hbm, hbm]);
    const op = new Op();
    op.label = label;
    op.power = "comm";
    setRoles(op, Int8Array.from(w.map((x) => x[0])), Float64Array.from(w.map((x) => x[1])), p2pBytes);
    op.latency = load.latencySeconds;
    op.latencyCategory = CATEGORY_INDEX[sameNode ? "nvlink" : "network"];
    return op;
  };
  // [same node?][backward?]
  const sendOps: Op[][] = [false, true].map((sameNode) => ["p2p:activations", "p2p:gradients"].map((label) => sendOp(sameNode, label)));

  // ---- schedules per stage, flattened ----
  const schedKind: Uint8Array[] = [];
  const schedChunk: Int32Array[] = [];
  const schedMb: Int32Array[] = [];
  const schedLastBackward: Uint8Array[] = [];
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
  const bwdArrived = new Uint8Array(R * V * micro);
  const passIndex = new Int32Array(N);
  const plan = new Int32Array(N);
  const item = new Int32Array(N);
  const inPass = new Uint8Array(N);
  const waitKey = new Int32Array(N).fill(-1);
  const waitSince = new Float64Array(N);
  const arriveTime = new Float64Array(N);
  const dpArriveTime = new Float64Array(N);
  const shareDoneTime = new Float64Array(N);
  const sendTo = new Int32Array(N);
  const sendKey = new Int32Array(N);
  const gradsWaitSince = new Float64Array(N).fill(-1);
  const endTimes = new Float64Array(N);
  // Data-parallel stream: a FIFO of op lists per rank in one typed array.
  let dpCapacity = 1;
  for (let st = 0; st < p.pp; st++) {
    let n = finalGradList[st]! >= 0 ? 1 : 0;
    for (let v = st; v < V; v += p.pp) for (const op of plans[lastBackwardPlan[v] as number] as Op[]) if (op.kind === GRADS) n++;
    dpCapacity = Math.max(dpCapacity, n);
  }
  const dpQueue = new Int32Array(N * dpCapacity);
  const dpHead = new Int32Array(N);
  const dpTail = new Int32Array(N);
  const dpCurrent = new Int32Array(N).fill(-1);
  const dpItem = new Int32Array(N);
  // Barrier counters per channel, indexed by the group's first rank.
  const arrivedCount: Int32Array[] = Array.from({ length: CHANNELS }, () => new Int32Array(N));
  const doneCount: Int32Array[] = Array.from({ length: CHANNELS }, () => new Int32Array(N));
  // The completion event shared by a group's solo shares of its current collective.
  const groupSoloEvent: Float64Array[] = Array.from({ length: CHANNELS }, () => new Float64Array(N));

  let activities = 0;
  let finished = 0;

  // Reused spec for fluid.start: the engine copies the work out of it.
  const scratch: [Resource, number][][] = [];
  const scratchOf = (n: number): [Resource, number][] => {
    let w = scratch[n];
    if (w === undefined) {
      w = Array.from({ length: n }, (): [Resource, number] => [res[0] as Resource, 0]);
      scratch[n] = w;
    }
    return w;
  };
  const spec: {
    work: [Resource, number][];
    label: string;
    data: number;
    size: number | undefined;
    onComplete: (a: Activity) => void;
  } = { work: [], label: "", data: 0, size: undefined, onComplete: () => {} };

  // What to do when an op's work is done, by kind; `data` says whose (see segment()).
  const COMPUTE_WORK = 0;
  const DP_WORK = 1;
  const SHARE = 2;
  const SEND = 3;
  const finishOp = (kind: number, data: number): void => {
    if (kind === COMPUTE_WORK) computeWorkDone(data);
    else if (kind === DP_WORK) dpWorkDone(-1 - data);
    else if (kind === SHARE) shareDone(data);
    else sendDone(data);
  };
  const onFluidDone: ((a: Activity) => void)[] = [COMPUTE_WORK, DP_WORK, SHARE, SEND].map((kind) => (a: Activity): void => {
    const data = a.data as number;
    for (const r of a.resources) resFluidCount[r.id] = (resFluidCount[r.id] as number) - 1;
    fluid.recycle(a);
    finishOp(kind, data);
  });

  /** The resource of work entry `i` of `op` run by `g` (and `to`, a send's receiver). */
  const resourceOf = (op: Op, i: number, g: number, to: number): Resource => {
    const k = op.roles[i] as number;
    return res[k < ROLES ? g * ROLES + k : to * ROLES + k - ROLES] as Resource;
  };

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
  /** Combined solo use of a resource must stay this far below capacity (float noise of the solver). */
  const SOLO_HEADROOM = 1 - 1e-9;
  const poolSize = N * MAX_SOLO_PER_GPU;
  const sOp: (Op | null)[] = new Array<Op | null>(poolSize).fill(null);
  const sG = new Int32Array(poolSize);
  const sTo = new Int32Array(poolSize);
  const sKind = new Uint8Array(poolSize);
  const sData = new Float64Array(poolSize);
  const sStart = new Float64Array(poolSize);
  const sDue = new Float64Array(poolSize);
  const sRate = new Float64Array(poolSize);
  /** Progressive-filling level at which it froze: its use of resource i is load_i · level. */
  const sLevel = new Float64Array(poolSize);
  const sBottleneck = new Int8Array(poolSize);
  const sEvent = new Float64Array(poolSize).fill(-1);
  /** The completion event is its group's (not cancelled when one member moves to the fluid model). */
  const sGrouped = new Uint8Array(poolSize);
  /** Seconds of launch delay that follow in the same event (0: none). */
  const sTail = new Float64Array(poolSize);
  /** The work is over and counted (its event is still to come, for the tail or at this instant). */
  const sCounted = new Uint8Array(poolSize);
  const freeIds = new Int32Array(poolSize);
  let freeCount = 0;
  for (let id = poolSize - 1; id >= 0; id--) freeIds[freeCount++] = id;
  // Solo ops on each GPU (a send is on both of its GPUs), and their use of each resource.
  const gpuSolos = new Int32Array(N * MAX_SOLO_PER_GPU);
  const gpuSoloCount = new Uint8Array(N);
  const resSoloCount = new Int32Array(res.length);
  const resSoloUse = new Float64Array(res.length);
  /** Work done by solo ops per resource (the fluid model counts the rest), for the busy shares. */
  const resSoloWork = new Float64Array(res.length);
  /** Per channel and member: its solo share of the group's current collective. */
  const memberSolo = new Int32Array(CHANNELS * N).fill(-1);

  let soloLevel = 0;
  let soloBottleneck = -1;
  /** Rate of `op` at its own pace (fraction per second), or 0 if it would have to share. */
  const soloRate = (op: Op, g: number, to: number): number => {
    if ((gpuSoloCount[g] as number) >= MAX_SOLO_PER_GPU || (to >= 0 && (gpuSoloCount[to] as number) >= MAX_SOLO_PER_GPU)) return 0;
    const n = op.roles.length;
    const loads = op.soloLoads;
    const roles = op.roles;
    const gb = g * ROLES;
    const tb = to * ROLES - ROLES;
    let level = Infinity;
    soloBottleneck = -1;
    for (let i = 0; i < n; i++) {
      const k = roles[i] as number;
      const x = k < ROLES ? gb + k : tb + k;
      if ((resFluidCount[x] as number) > 0) return 0;
      const load = loads[i] as number;
      const capacity = resCapacity[x] as number;
      if (load === 0 || capacity === Infinity) continue;
      // As FluidModel's progressive filling: level = free / load.
      const l = capacity / load;
      if (l < level) {
        level = l;
        soloBottleneck = i;
      }
    }
    if (level !== Infinity) {
      for (let i = 0; i < n; i++) {
        const k = roles[i] as number;
        const x = k < ROLES ? gb + k : tb + k;
        if ((resSoloCount[x] as number) === 0) continue;
        const capacity = resCapacity[x] as number;
        if (capacity !== Infinity && !((resSoloUse[x] as number) + (loads[i] as number) * level <= SOLO_HEADROOM * capacity)) return 0;
      }
    }
    soloLevel = level;
    const rate = level / op.soloSize;
    return rate > 0 ? rate : 0;
  };

  const addToGpu = (g: number, id: number): void => {
    const n = gpuSoloCount[g] as number;
    gpuSolos[g * MAX_SOLO_PER_GPU + n] = id;
    gpuSoloCount[g] = n + 1;
  };
  const removeFromGpu = (g: number, id: number): void => {
    const b = g * MAX_SOLO_PER_GPU;
    const n = (gpuSoloCount[g] as number) - 1;
    for (let k = 0; k <= n; k++) {
      if (gpuSolos[b + k] === id) {
        gpuSolos[b + k] = gpuSolos[b + n] as number;
        break;
      }
    }
    gpuSoloCount[g] = n;
  };

  /** Record `op` as running at its own pace from now (rate from soloRate, just called); returns its id. */
  const beginSolo = (op: Op, g: number, to: number, data: number, kind: number, rate: number): number => {
    const id = freeIds[--freeCount] as number;
    const now = queue.now;
    const level = soloLevel;
    sOp[id] = op;
    sG[id] = g;
    sTo[id] = to;
    sKind[id] = kind;
    sData[id] = data;
    sStart[id] = now;
    sDue[id] = rate === Infinity ? now : now + 1 / rate;
    sRate[id] = rate;
    sLevel[id] = level;
    sBottleneck[id] = soloBottleneck;
    sGrouped[id] = 0;
    sTail[id] = 0;
    sCounted[id] = 0;
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
        resSoloCount[x] = (resSoloCount[x] as number) + 1;
        resSoloUse[x] = (resSoloUse[x] as number) + load * level;
      }
    }
    addToGpu(g, id);
    if (to >= 0) addToGpu(to, id);
    return id;
  };
  /** Its resources are free again: drop its use of them. */
  const releaseSolo = (id: number): void => {
    const op = sOp[id] as Op;
    const g = sG[id] as number;
    const to = sTo[id] as number;
    const level = sLevel[id] as number;
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
        const n = (resSoloCount[x] as number) - 1;
        resSoloCount[x] = n;
        // Back to exactly zero when the last one leaves, so rounding cannot pile up.
        resSoloUse[x] = n === 0 ? 0 : (resSoloUse[x] as number) - load * level;
      }
    }
    removeFromGpu(g, id);
    if (to >= 0) removeFromGpu(to, id);
  };
  const freeSolo = (id: number): void => {
    sOp[id] = null;
    sEvent[id] = -1;
    freeIds[freeCount++] = id;
  };
  /** Attribute [t0, t1] of solo `id` and count `fraction` of its work as done. */
  const soloProgress = (id: number, t0: number, t1: number, fraction: number): void => {
    const op = sOp[id] as Op;
    if (t1 > t0) {
      const b = sBottleneck[id] as number;
      segment(sData[id] as number, op.label, t0, t1, b < 0 ? COMPUTE : (op.roleCategories[b] as number));
    }
    // Only SM and HBM work is reported (busy shares).
    const gb = (sG[id] as number) * ROLES;
    const tb = (sTo[id] as number) * ROLES - ROLES;
    const roles = op.roles;
    for (let i = 0; i < roles.length; i++) {
      const k = roles[i] as number;
      const x = k <= ROLE_INDEX.hbm ? gb + k : k === ROLES + ROLE_INDEX.hbm ? tb + k : -1;
      if (x >= 0) resSoloWork[x] = (resSoloWork[x] as number) + (op.amounts[i] as number) * fraction;
    }
  };
  /** The work is over (at its due time): count it and free its resources; its event still comes. */
  const soloWorkOver = (id: number): void => {
    soloProgress(id, sStart[id] as number, sDue[id] as number, 1);
    sCounted[id] = 1;
    releaseSolo(id);
  };
  const soloEnd = (id: number): void => {
    if (sCounted[id] === 0) soloWorkOver(id);
    const g = sG[id] as number;
    const kind = sKind[id] as number;
    const data = sData[id] as number;
    const tail = sTail[id] as number;
    const due = sDue[id] as number;
    freeSolo(id);
    if (tail > 0) {
      // The launch delay (compute stream only), as computeStep would have run it at the due time.
      const delay = (plans[plan[g] as number] as Op[])[(item[g] as number) + 1] as Op;
      charge(g, delay.category, tail);
      if (record && g % R === 0) span(g, delay.label, delay.category, due, due + tail);
      item[g] = (item[g] as number) + 2;
      computeStep(g);
      return;
    }
    finishOp(kind, data);
  };
  const soloGroupEnd = (key: number): void => {
    const channel = Math.floor(key / N);
    const base = key - channel * N;
    const handle = (groupSoloEvent[channel] as Float64Array)[base] as number;
    groupBase(base, channel);
    const stride = groupStride;
    const count = groupCount;
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      const id = memberSolo[channel * N + m] as number;
      if (id >= 0 && sOp[id] !== null && sGrouped[id] === 1 && sEvent[id] === handle) soloEnd(id);
    }
  };
  /** Something it would share with is about to start: solo `id` continues in the fluid model from here. */
  const toFluid = (id: number): void => {
    if (sCounted[id] === 1) return;
    const now = queue.now;
    const t0 = sStart[id] as number;
    // Settled as the fluid model settles an activity: remaining -= rate·dt.
    let remaining = 1;
    if (now > t0) remaining -= (sRate[id] as number) * (now - t0);
    if (!(remaining > 0)) {
      // Its work ends at this very instant: its completion event is queued already.
      soloWorkOver(id);
      return;
    }
    if (sGrouped[id] === 0) queue.cancel(sEvent[id] as number);
    soloProgress(id, t0, now, 1 - remaining);
    releaseSolo(id);
    const op = sOp[id] as Op;
    const g = sG[id] as number;
    const to = sTo[id] as number;
    const data = sData[id] as number;
    const kind = sKind[id] as number;
    freeSolo(id);
    startFluid(op, g, to, data, kind, remaining);
  };
  /** Move every solo op using `r` into the fluid model. */
  const clearSolos = (r: Resource): void => {
    const g = Math.floor(r.id / ROLES);
    while ((resSoloCount[r.id] as number) > 0) {
      let found = -1;
      const b = g * MAX_SOLO_PER_GPU;
      for (let k = 0; k < (gpuSoloCount[g] as number) && found < 0; k++) {
        const id = gpuSolos[b + k] as number;
        const op = sOp[id] as Op;
        for (let i = 0; i < op.roles.length; i++) {
          if ((op.soloLoads[i] as number) > 0 && resourceOf(op, i, sG[id] as number, sTo[id] as number) === r) {
            found = id;
            break;
          }
        }
      }
      if (found < 0) throw new Error(`full step: ${r.name} counts solo work that no solo op holds`);
      toFluid(found);
    }
  };

  const startFluid = (op: Op, g: number, to: number, data: number, kind: number, scale: number): void => {
    const n = op.roles.length;
    for (let i = 0; i < n; i++) {
      const r = resourceOf(op, i, g, to);
      if ((resSoloCount[r.id] as number) > 0) clearSolos(r);
    }
    // Filled only now: moving solo ops into the fluid model above uses the same spec.
    const w = scratchOf(n);
    for (let i = 0; i < n; i++) {
      const t = w[i] as [Resource, number];
      t[0] = resourceOf(op, i, g, to);
      t[1] = (op.amounts[i] as number) * scale;
    }
    spec.work = w;
    spec.label = op.label;
    spec.data = data;
    spec.size = op.size === op.size ? op.size * scale : undefined;
    spec.onComplete = onFluidDone[kind] as (a: Activity) => void;
    for (const r of fluid.start(spec).resources) resFluidCount[r.id] = (resFluidCount[r.id] as number) + 1;
  };

  /** Start `op` (on `g`, and `to` for a send): at its own pace if it can, else in the fluid model. */
  const startWork = (op: Op, g: number, to: number, data: number, kind: number): void => {
    activities++;
    const rate = soloRate(op, g, to);
    if (rate === 0) {
      startFluid(op, g, to, data, kind, 1);
      return;
    }
    const id = beginSolo(op, g, to, data, kind, rate);
    let at = sDue[id] as number;
    if (kind === COMPUTE_WORK) {
      // A launch delay next: if nothing changes at the due time, one event does both. Only a
      // stage's metered GPU (its first) reports its power class, so only there must a change of
      // class happen on time.
      const next = (plans[plan[g] as number] as Op[])[(item[g] as number) + 1];
      if (next !== undefined && next.kind === DELAY && (next.power === op.power || g % R !== 0)) {
        sTail[id] = next.seconds;
        at += next.seconds;
      }
    }
    sEvent[id] = queue.scheduleCall(at, soloEnd, id);
  };
  const startOp = (g: number, op: Op, data: number, kind: number): void => startWork(op, g, -1, data, kind);

  /** Every member of a group starts its share of a collective at once: equal shares, one event. */
  const startShares = (base: number, stride: number, count: number, op: Op, channel: number, dp: boolean): void => {
    let handle = -1;
    let groupDue = NaN;
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      const data = dp ? -1 - m : m;
      activities++;
      const rate = soloRate(op, m, -1);
      if (rate === 0) {
        memberSolo[channel * N + m] = -1;
        startFluid(op, m, -1, data, SHARE, 1);
        continue;
      }
      const id = beginSolo(op, m, -1, data, SHARE, rate);
      memberSolo[channel * N + m] = id;
      const due = sDue[id] as number;
      if (handle < 0) {
        handle = queue.scheduleCall(due, soloGroupEnd, channel * N + base);
        (groupSoloEvent[channel] as Float64Array)[base] = handle;
        groupDue = due;
      }
      if (due === groupDue) {
        sEvent[id] = handle;
        sGrouped[id] = 1;
      } else sEvent[id] = queue.scheduleCall(due, soloEnd, id);
    }
  };

  // ---- group membership: (first rank, stride, count) by coordinates ----
  const tp = p.tp;
  const cpTp = p.cp * p.tp;
  let groupStride = 0;
  let groupCount = 0;
  const groupBase = (g: number, channel: number): number => {
    const st = Math.floor(g / R);
    const q = g - st * R;
    const t = q % tp;
    switch (channel) {
      case CH_TP:
        groupStride = 1;
        groupCount = tp;
        return g - t;
      case CH_CP: {
        const c = Math.floor(q / tp) % p.cp;
        groupStride = tp;
        groupCount = p.cp;
        return g - c * tp;
      }
      case CH_EP: {
        const dd = Math.floor(q / cpTp);
        groupStride = cpTp;
        groupCount = p.ep;
        return g - (dd % p.ep) * cpTp;
      }
      case CH_DP_COMPUTE:
      case CH_DP_STREAM:
        groupStride = tp;
        groupCount = dpShard;
        return st * R + t;
      default:
        // Tied embeddings: the first and the last stage at the same position.
        groupStride = (p.pp - 1) * R;
        groupCount = 2;
        return q;
    }
  };

  // ---- compute stream ----
  const computeStep = (g: number): void => {
    const ops = plans[plan[g] as number] as Op[];
    let i = item[g] as number;
    while (i < ops.length) {
      const op = ops[i] as Op;
      if (op.kind === GRADS) {
        dpEnqueue(g, op.gradList);
        i++;
        continue;
      }
      item[g] = i;
      setClass(g, op.power);
      if (op.kind === WORK) {
        startOp(g, op, g, COMPUTE_WORK);
      } else if (op.kind === DELAY) {
        charge(g, op.category, op.seconds);
        if (record && g % R === 0) span(g, op.label, op.category, queue.now, queue.now + op.seconds);
        queue.scheduleCall(queue.now + op.seconds, computeDelayDone, g);
      } else {
        arrive(g, op, op.channel);
      }
      return;
    }
    item[g] = i;
    if (inPass[g] === 1) passDone(g);
    else planFinished(g);
  };
  const computeWorkDone = (g: number): void => {
    item[g] = (item[g] as number) + 1;
    computeStep(g);
  };
  const computeDelayDone = (g: number): void => {
    item[g] = (item[g] as number) + 1;
    computeStep(g);
  };

  // ---- data-parallel stream ----
  const dpEnqueue = (g: number, list: number): void => {
    dpQueue[g * dpCapacity + (dpTail[g] as number)] = list;
    dpTail[g] = (dpTail[g] as number) + 1;
    if (dpCurrent[g] === -1) dpNext(g);
  };
  const dpNext = (g: number): void => {
    if (dpHead[g] === dpTail[g]) {
      if (dpCurrent[g] !== -1 && g % R === 0) power.background(g / R, -1);
      dpCurrent[g] = -1;
      if ((gradsWaitSince[g] as number) >= 0) gradsReduced(g);
      return;
    }
    if (dpCurrent[g] === -1 && g % R === 0) power.background(g / R, +1);
    dpCurrent[g] = dpQueue[g * dpCapacity + (dpHead[g] as number)] as number;
    dpHead[g] = (dpHead[g] as number) + 1;
    dpItem[g] = 0;
    dpStep(g);
  };
  const dpStep = (g: number): void => {
    const ops = dpLists[dpCurrent[g] as number] as Op[];
    const i = dpItem[g] as number;
    if (i >= ops.length) {
      dpNext(g);
      return;
    }
    const op = ops[i] as Op;
    if (op.kind === COLLECTIVE) arrive(-1 - g, op, CH_DP_STREAM);
    else if (op.kind === WORK) startOp(g, op, -1 - g, DP_WORK);
    else queue.scheduleCall(queue.now + op.seconds, dpDelayDone, g);
  };
  const dpWorkDone = (g: number): void => {
    dpItem[g] = (dpItem[g] as number) + 1;
    dpStep(g);
  };
  const dpDelayDone = (g: number): void => {
    dpItem[g] = (dpItem[g] as number) + 1;
    dpStep(g);
  };

  // ---- collectives: barrier, each member's share, barrier, latency ----
  // A member is `m` (compute stream) or `-1 - m` (data-parallel stream).
  const opOf = (member: number): Op =>
    member >= 0 ? ((plans[plan[member] as number] as Op[])[item[member] as number] as Op) : ((dpLists[dpCurrent[-1 - member] as number] as Op[])[dpItem[-1 - member] as number] as Op);

  const arrive = (member: number, op: Op, channel: number): void => {
    const g = member >= 0 ? member : -1 - member;
    // Compute-stream waits are charged here; the data-parallel stream runs behind the
    // compute stream and its waits matter only once compute waits for the gradients.
    if (member >= 0) arriveTime[g] = queue.now;
    else dpArriveTime[g] = queue.now;
    const base = groupBase(g, channel);
    const counts = arrivedCount[channel] as Int32Array;
    if (++counts[base]! < groupCount) return;
    counts[base] = 0;
    const stride = groupStride;
    const count = groupCount;
    const now = queue.now;
    const dp = member < 0;
    for (let k = 0; k < count; k++) {
      const m = base + k * stride;
      if (!dp) {
        const waited = now - (arriveTime[m] as number);
        if (waited > 0) {
          charge(m, BUBBLE, waited);
          if (record && m % R === 0) span(m, `wait:${op.label}`, BUBBLE, arriveTime[m] as number, now);
        }
      } else if ((gradsWaitSince[m] as number) >= 0) {
        // m's compute is done and waits for its gradients, which wait here for a slower
        // replica: that is imbalance, not the fabric. (Until m's own stream got here, it
        // was still moving earlier gradients: that part is the fabric's.)
        const since = gradsWaitSince[m] as number;
        const from = Math.max(since, dpArriveTime[m] as number);
        if (now > from) {
          chargeGradsWait(m, since, from);
          charge(m, BUBBLE, now - from);
          if (record && m % R === 0) span(m, "wait:dp-peers", BUBBLE, from, now);
          gradsWaitSince[m] = now;
        }
      }
    }
    if (op.roles.length === 0) {
      latencyPhase(base, stride, count, op, channel);
      return;
    }
    startShares(base, stride, count, op, channel, dp);
  };

  const shareDone = (member: number): void => {
    const dp = member < 0;
    const g = dp ? -1 - member : member;
    const op = opOf(member);
    const channel = dp ? CH_DP_STREAM : op.channel;
    const now = queue.now;
    if (!dp) shareDoneTime[g] = now;
    const base = groupBase(g, channel);
    const counts = doneCount[channel] as Int32Array;
    if (++counts[base]! < groupCount) return;
    counts[base] = 0;
    const stride = groupStride;
    const count = groupCount;
    if (!dp) {
      // A ring runs at its slowest member's pace: the others' links stay busy until it is done.
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        const waited = now - (shareDoneTime[m] as number);
        if (waited > 0) {
          charge(m, op.linkCategory, waited);
          if (record && m % R === 0) span(m, op.label, op.linkCategory, shareDoneTime[m] as number, now);
        }
      }
    }
    latencyPhase(base, stride, count, op, channel);
  };

  const latencyPhase = (base: number, stride: number, count: number, op: Op, channel: number): void => {
    if (op.latency <= 0) {
      release(base, stride, count, channel);
      return;
    }
    if (channel !== CH_DP_STREAM) {
      const now = queue.now;
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        charge(m, op.latencyCategory, op.latency);
        if (record && m % R === 0) span(m, op.latencyLabel, op.latencyCategory, now, now + op.latency);
      }
    }
    // One event for the whole group: every member waits the same latency.
    queue.scheduleCall(queue.now + op.latency, latencyDone, channel * N + base);
  };
  const latencyDone = (key: number): void => {
    const channel = Math.floor(key / N);
    const base = key - channel * N;
    groupBase(base, channel);
    release(base, groupStride, groupCount, channel);
  };
  const release = (base: number, stride: number, count: number, channel: number): void => {
    // Released members may reach their next collective at once; the counters are already reset.
    if (channel === CH_DP_STREAM) {
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        dpItem[m] = (dpItem[m] as number) + 1;
        dpStep(m);
      }
    } else {
      for (let k = 0; k < count; k++) {
        const m = base + k * stride;
        item[m] = (item[m] as number) + 1;
        computeStep(m);
      }
    }
  };

  // ---- pipeline ----
  const nextPass = (g: number): void => {
    const st = Math.floor(g / R);
    const i = passIndex[g] as number;
    const kinds = schedKind[st] as Uint8Array;
    if (i >= kinds.length) {
      finish(g);
      return;
    }
    const q = g - st * R;
    const vs = (schedChunk[st] as Int32Array)[i]! * p.pp + st;
    const mb = (schedMb[st] as Int32Array)[i] as number;
    const forward = kinds[i] === 0;
    const slot = (q * V + vs) * micro + mb;
    const ready = forward ? vs === 0 || fwdArrived[slot] === 1 : vs === V - 1 || bwdArrived[slot] === 1;
    if (ready) runPass(g);
    else {
      waitKey[g] = (forward ? 0 : V * micro) + vs * micro + mb;
      waitSince[g] = queue.now;
      setClass(g, "idle");
    }
  };
  const arrived = (g: number, key: number): void => {
    if (waitKey[g] !== key) return;
    const since = waitSince[g] as number;
    charge(g, BUBBLE, queue.now - since);
    if (record && g % R === 0) span(g, "wait:pipeline", BUBBLE, since, queue.now);
    waitKey[g] = -1;
    runPass(g);
  };
  const runPass = (g: number): void => {
    const st = Math.floor(g / R);
    const i = passIndex[g] as number;
    const vs = (schedChunk[st] as Int32Array)[i]! * p.pp + st;
    plan[g] = (schedKind[st] as Uint8Array)[i] === 0 ? (forwardPlan[vs] as number) : (schedLastBackward[st] as Uint8Array)[i] === 1 ? (lastBackwardPlan[vs] as number) : (backwardPlan[vs] as number);
    item[g] = 0;
    inPass[g] = 1;
    computeStep(g);
  };
  const passDone = (g: number): void => {
    const st = Math.floor(g / R);
    const i = passIndex[g] as number;
    passIndex[g] = i + 1;
    const q = g - st * R;
    const vs = (schedChunk[st] as Int32Array)[i]! * p.pp + st;
    const mb = (schedMb[st] as Int32Array)[i] as number;
    const forward = (schedKind[st] as Uint8Array)[i] === 0;
    let toVs: number;
    if (forward && vs < V - 1) toVs = vs + 1;
    else if (!forward && vs > 0) toVs = vs - 1;
    else {
      nextPass(g);
      return;
    }
    const to = rankOfVirtualStage(toVs, p.pp) * R + q;
    sendTo[g] = to;
    // Arrival key, with the direction in its sign-free offset (as waitKey encodes it).
    sendKey[g] = (forward ? 0 : V * micro) + toVs * micro + mb;
    if (to === g) {
      deliver(g);
      nextPass(g);
      return;
    }
    // Megatron's p2p is synchronous: the sender continues once its send completes.
    const t = sendOpOf(g);
    setClass(g, "comm");
    if (t.latency > 0) {
      charge(g, t.latencyCategory, t.latency);
      queue.scheduleCall(queue.now + t.latency, startSend, g);
    } else startSend(g);
  };
  const sendOpOf = (g: number): Op => {
    const to = sendTo[g] as number;
    const sameNode = Math.floor(g / gpusPerNode) === Math.floor(to / gpusPerNode);
    return (sendOps[sameNode ? 1 : 0] as Op[])[(sendKey[g] as number) < V * micro ? 0 : 1] as Op;
  };
  const startSend = (g: number): void => {
    startWork(sendOpOf(g), g, sendTo[g] as number, g, SEND);
  };
  const sendDone = (g: number): void => {
    deliver(g);
    nextPass(g);
  };
  const deliver = (g: number): void => {
    const to = sendTo[g] as number;
    const key = sendKey[g] as number;
    const q = to % R;
    const backward = key >= V * micro;
    const local = backward ? key - V * micro : key;
    if (backward) bwdArrived[q * V * micro + local] = 1;
    else fwdArrived[q * V * micro + local] = 1;
    arrived(to, key);
  };

  // ---- end of the step ----
  const finish = (g: number): void => {
    const st = Math.floor(g / R);
    const list = finalGradList[st] as number;
    if (list >= 0) dpEnqueue(g, list);
    setClass(g, "idle");
    if (dpCurrent[g] === -1) afterGrads(g);
    else gradsWaitSince[g] = queue.now;
  };
  const gradsCategory = CATEGORY_INDEX[Math.ceil(dpGroup.size / dpGroup.perNode) > 1 ? "network" : "nvlink"];
  /** Compute waited on its own gradients' transfers from `since` to `until`. */
  const chargeGradsWait = (g: number, since: number, until: number): void => {
    if (until > since) {
      charge(g, gradsCategory, until - since);
      if (record && g % R === 0) span(g, "wait:dp-grads", gradsCategory, since, until);
    }
  };
  const gradsReduced = (g: number): void => {
    const since = gradsWaitSince[g] as number;
    gradsWaitSince[g] = -1;
    chargeGradsWait(g, since, queue.now);
    afterGrads(g);
  };
  const afterGrads = (g: number): void => {
    plan[g] = afterPlan[Math.floor(g / R)] as number;
    item[g] = 0;
    inPass[g] = 0;
    computeStep(g);
  };
  const planFinished = (g: number): void => {
    endTimes[g] = queue.now;
    setClass(g, "idle");
    if (++finished === N) power.stop();
  };

  for (let g = 0; g < N; g++) nextPass(g);
  sim.run();
  if (finished !== N) throw new Error(`full step: ${N - finished} of ${N} GPUs never finished (a collective or send was left waiting)`);

  // ---- results ----
  let stepSeconds = 0;
  for (let g = 0; g < N; g++) stepSeconds = Math.max(stepSeconds, endTimes[g] as number);
  const stages: StageResult[] = [];
  const total = new Float64Array(NCAT);
  for (let st = 0; st < p.pp; st++) {
    const sum = new Float64Array(NCAT);
    let end = 0;
    for (let g = st * R; g < (st + 1) * R; g++) {
      charge(g, BUBBLE, stepSeconds - (endTimes[g] as number));
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
    activities,
    mode: "full",
    modeReason: "every GPU simulated",
    smBusyShare: smBusy,
    hbmBusyShare: hbmBusy,
    spans,
  };
}
