/**
 * One optimizer step of a training job, run on the event engine.
 *
 * Identical ranks are folded: tensor-, context- and data-parallel peers do the
 * same work at the same times, so one representative rank per pipeline stage
 * runs, standing for tp·cp·dp GPUs. (On the non-blocking fabric of this model
 * they share nothing but what each GPU owns.) Each representative has its own
 * SM, HBM, NVLink and NIC resources, a compute stream that runs its pipeline
 * schedule pass by pass, and a data-parallel stream for gradient collectives.
 * Passes wait for their inputs from neighbouring stages (sent point-to-point);
 * that waiting is the pipeline bubble. After the last pass each rank waits for
 * its gradients to be reduced, runs the optimizer, and (with ZeRO) gathers the
 * updated weights. The step ends when the last rank is done.
 */
import { Simulation } from "../../sim/simulation.ts";
import type { Activity, FluidModel, Resource, SegmentListener } from "../../sim/fluid.ts";
import { peakFlops } from "../compute/kernel.ts";
import { collectiveLoad, linkWork, type GroupLayout } from "../collectives/alpha-beta.ts";
import type { GroupSlowdowns } from "../network/group-slowdown.ts";
import { StepPower, type StepPowerReport } from "../power/step-power.ts";
import { GPU_SPEED_SIGMA, gpuSpeeds } from "../hardware/variability.ts";
import { pipelineSchedule, type Pass } from "../parallel/schedule.ts";
import { rankOfVirtualStage } from "../parallel/stages.ts";
import type { ModelSpec, ParallelPlan, Scenario } from "../scenario.ts";
import type { Precision } from "../hardware/types.ts";
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
import { CATEGORIES, CATEGORY_INDEX, categoryOfResourceKind, emptyBreakdown, type Breakdown, type Category } from "./categories.ts";
import { collectiveItems, kernelListItems, kernelItems, type Item, type PlanContext, type ResourceRole } from "./pass-plan.ts";
import { simulateStepFull } from "./simulate-full.ts";
import { chooseStepMode, type StepMode, type StepModeRequest } from "./symmetry.ts";

export interface StageResult {
  stage: number;
  /** When this stage's GPUs finished the step, seconds. */
  endSeconds: number;
  breakdown: Breakdown;
}

export interface StepSimulation {
  stepSeconds: number;
  /** Share of step time per category, averaged over all GPUs; sums to 1. */
  breakdown: Breakdown;
  stages: StageResult[];
  memory: MemoryBreakdown[];
  events: number;
  activities: number;
  /** How the step was simulated, and why. */
  mode: StepMode;
  modeReason: string;
  /** Mean HBM utilisation and SM busy share over the step, averaged over GPUs (for power). */
  smBusyShare: number;
  hbmBusyShare: number;
  spans: { track: string; name: string; category: string; start: number; end: number }[];
  power: StepPowerReport;
}

export interface SimulateOptions {
  /** Keep per-activity spans for timelines and traces. */
  record?: boolean;
  /** Topology slowdowns per group kind (default: measured on the scenario's topology). */
  slowdown?: GroupSlowdowns;
  /** Let power caps act on clocks (default true); false keeps every clock at 1 and only meters power. */
  powerControl?: boolean;
  /**
   * Folded (one GPU per pipeline stage), full (every GPU, simulate-full.ts: slower, exact
   * stragglers), or auto (default): folded unless the scenario's ranks differ.
   */
  mode?: StepModeRequest;
}

const ROLES: ResourceRole[] = ["sm", "hbm", "nvTx", "nvRx", "nicTx", "nicRx"];

interface Account {
  times: Float64Array;
  track: string;
  stage: number;
}

/** A rank working through a list of items (see FoldedStepRun.runItems). */
interface ItemRun {
  readonly items: Item[];
  i: number;
  readonly rank: number;
  readonly account: Account | undefined;
  readonly done: () => void;
  readonly res: Record<ResourceRole, Resource>;
  step: () => void;
}

/** A send's link work and latency: they depend only on whether it stays within a node. */
interface SendCost {
  nic: number;
  nvlink: number;
  latencySeconds: number;
}

/**
 * The spec of every activity a step starts, one object reused: the engine copies the work
 * out of it. Nothing keeps an activity once it ends, so the engine recycles each.
 */
interface StepActivitySpec {
  work: [Resource, number][];
  label: string;
  data: Account | undefined;
  size: number | undefined;
  onComplete: () => void;
  recycle: true;
}

function stepActivitySpec(): StepActivitySpec {
  return { work: [], label: "", data: undefined, size: undefined, onComplete: () => {}, recycle: true };
}

/** Sets slot `k` of a scratch work list; returns the next slot. */
function setWork(work: [Resource, number][], k: number, resource: Resource, amount: number): number {
  const slot = work[k] as [Resource, number];
  slot[0] = resource;
  slot[1] = amount;
  return k + 1;
}

function charge(acc: Account, category: Category, seconds: number): void {
  const i = CATEGORY_INDEX[category];
  acc.times[i] = (acc.times[i] as number) + seconds;
}

interface PassPlan {
  items: Item[];
}

interface DataParallelStream {
  enqueue(items: Item[]): void;
  /** Calls `fn` once the stream has nothing queued or running. */
  whenIdle(fn: () => void): void;
}

interface PipelineRank {
  begin(): void;
  /** An input arrived; resume if it is the one the rank waits for. */
  arrived(key: number): void;
}

/**
 * A run's `step`, made by a call rather than written `run.step = () => …`: V8 allocates a
 * function literal assigned straight to a property in the old generation, guessing it is a
 * long-lived method. Such a closure, dead once its items have run, still keeps its context
 * and all the step reaches alive through every minor collection until a full one: each
 * sweep point's objects were copied and then promoted instead of dying young (0.4 MB a
 * point), and the copying was most of what each minor collection cost.
 */
function stepOf(self: FoldedStepRun, run: ItemRun): () => void {
  return () => self.advanceItems(run);
}

/**
 * One folded step: its state (fields, set up by `run`) and the handlers that advance it
 * (methods), a class for the reason given at FullStepRun (simulate-full.ts): handlers that
 * are closures of one function are recompiled without inlining one another from the second
 * step simulated in a process, as every sweep point after the first is.
 */
class FoldedStepRun implements SegmentListener {
  p!: ParallelPlan;
  precision!: Precision;
  ctx!: PlanContext;
  model!: ModelSpec;
  micro!: number;
  V!: number;
  split!: number[];
  gradBytes!: number;
  weightBytes!: number;
  dpShard!: number;
  dpGroup!: GroupLayout;
  memory!: MemoryBreakdown[];
  layout!: RankLayout;
  sim!: Simulation;
  fluid!: FluidModel;
  resources!: Record<ResourceRole, Resource>[];
  power!: StepPower;
  accounts!: Account[];
  spans!: { track: string; name: string; category: string; start: number; end: number; }[];
  record!: boolean;
  bwdLayer!: KernelList;
  recLayer!: KernelList;
  perLayerGradBytes!: number;
  embedGradBytes!: number;
  headGradBytes!: number;
  forwardPlans!: PassPlan[];
  backwardPlans!: PassPlan[];
  lastBackwardPlans!: PassPlan[];
  p2pBytes!: number;
  regather!: boolean;
  fwdArrived!: Uint8Array<ArrayBuffer>;
  bwdArrived!: Uint8Array<ArrayBuffer>;
  schedules!: Pass[][];
  lastBackwardIndex!: Int32Array[];
  activities!: number;
  finished!: number;
  endTimes!: Float64Array<ArrayBuffer>;
  dpStreams!: DataParallelStream[];
  scratch!: [Resource, number][][];
  itemSpec!: StepActivitySpec;
  transferSpec!: StepActivitySpec;
  sendCosts!: SendCost[];
  regatherNvlink!: number;
  p2pHbm!: number;
  ranks!: PipelineRank[];

  /** Charges each stretch of an activity's time to its stage's account, by what bounded it. */
  onSegment(a: Activity, t0: number, t1: number, bottleneck: Resource | null): void {
    const acc = a.data as Account | undefined;
    if (acc === undefined) return;
    const cat = bottleneck === null ? "compute" : categoryOfResourceKind(bottleneck.kind);
    if (cat === "compute" && this.power.active) {
      // SM-bound at a throttled clock: the part of the time the clock cost is power's.
      const clock = this.power.clockDuring(acc.stage, t1);
      charge(acc, "compute", (t1 - t0) * clock);
      charge(acc, "power", (t1 - t0) * (1 - clock));
      if (this.record) this.spans.push({ track: acc.track, name: a.label, category: clock < 1 ? "power" : "compute", start: t0, end: t1 });
      return;
    }
    charge(acc, cat, t1 - t0);
    if (this.record) this.spans.push({ track: acc.track, name: a.label, category: cat, start: t0, end: t1 });
  }

  /**
   * Sets the step up and simulates it. What it sets up is local; what a handler needs is
   * also copied into a field (`this.x = x`): the setup works on locals, the handlers on
   * fields.
   */
  run(s: Scenario, options: SimulateOptions): StepSimulation {
    const choice = chooseStepMode(s, options.mode);
    if (choice.mode === "full") return { ...simulateStepFull(s, options), mode: "full", modeReason: choice.reason };
    const { p, gpu, precision, slowdown, ctx, shape, model, micro, V, split, gradBytes, weightBytes, layerParamsPerRank, dpShard, dpGroup, memory } = stepSetup(s, options.slowdown);
    this.p = p;
    this.precision = precision;
    this.ctx = ctx;
    this.model = model;
    this.micro = micro;
    this.V = V;
    this.split = split;
    this.gradBytes = gradBytes;
    this.weightBytes = weightBytes;
    this.dpShard = dpShard;
    this.dpGroup = dpGroup;
    this.memory = memory;
    const layout = ctx.layout;
    this.layout = layout;

    const sim = new Simulation({ seed: s.seed, record: options.record ?? false });
    this.sim = sim;
    const fluid = sim.fluid;
    this.fluid = fluid;

    // ---- resources per pipeline stage (one representative GPU each) ----
    // Each stage computes at the pace of the slowest of its tp·dp·cp GPUs (seeded draw).
    const variability = s.cluster.gpuVariability ?? GPU_SPEED_SIGMA;
    const speedRng = sim.rng("gpu-variability");
    const peers = p.tp * p.dp * p.cp;
    const speeds = gpuSpeeds(peers * p.pp, variability, s.cluster.stragglers ?? [], speedRng);
    const stageSpeed = Array.from({ length: p.pp }, (_, r) => speeds.subarray(r * peers, (r + 1) * peers).reduce((a, b) => Math.min(a, b), Infinity));
    const resources: Record<ResourceRole, Resource>[] = [];
    this.resources = resources;
    for (let r = 0; r < p.pp; r++) {
      resources.push({
        sm: fluid.addResource({ name: `stage${r}.sm`, kind: "sm", capacity: peakFlops(gpu, precision) * (stageSpeed[r] as number) }),
        hbm: fluid.addResource({ name: `stage${r}.hbm`, kind: "hbm", capacity: gpu.hbmBandwidth }),
        nvTx: fluid.addResource({ name: `stage${r}.nvlink.tx`, kind: "nvlink", capacity: gpu.scaleUpBandwidth }),
        nvRx: fluid.addResource({ name: `stage${r}.nvlink.rx`, kind: "nvlink", capacity: gpu.scaleUpBandwidth }),
        nicTx: fluid.addResource({ name: `stage${r}.nic.tx`, kind: "nic", capacity: s.cluster.network.nicBandwidth }),
        nicRx: fluid.addResource({ name: `stage${r}.nic.rx`, kind: "nic", capacity: s.cluster.network.nicBandwidth }),
      });
    }

    const multiplicity = p.tp * p.dp * p.cp;
    const power = new StepPower(
      sim.queue,
      fluid,
      s,
      resources.map((r, i) => ({ sm: r.sm, peak: peakFlops(gpu, precision) * (stageSpeed[i] as number), multiplicity })),
      options.powerControl ?? true,
      sim.rng("power-supply"),
    );
    this.power = power;
    power.start(s.cluster.power.controllerInterval ?? 0.1);

    const accounts: Account[] = Array.from({ length: p.pp }, (_, r) => ({ times: new Float64Array(CATEGORIES.length), track: `stage ${r}`, stage: r }));
    this.accounts = accounts;
    const spans: StepSimulation["spans"] = [];
    this.spans = spans;
    this.record = options.record ?? false;
    fluid.segmentListener = this;

    // ---- pass plans per virtual stage ----
    const fwdLayer = layerForwardKernels(shape);
    const bwdLayer = layerBackwardKernels(shape);
    this.bwdLayer = bwdLayer;
    const recLayer = layerRecomputeKernels(shape, p.recompute);
    this.recLayer = recLayer;
    const perLayerGradBytes = layerParamsPerRank * gradBytes;
    this.perLayerGradBytes = perLayerGradBytes;
    const embedGradBytes = (embeddingParams(model) / p.tp) * gradBytes;
    this.embedGradBytes = embedGradBytes;
    const headGradBytes = (headParams(model) / p.tp) * gradBytes;
    this.headGradBytes = headGradBytes;

    const forwardPlans: PassPlan[] = [];
    this.forwardPlans = forwardPlans;
    const backwardPlans: PassPlan[] = [];
    this.backwardPlans = backwardPlans;
    const lastBackwardPlans: PassPlan[] = [];
    this.lastBackwardPlans = lastBackwardPlans;
    for (let v = 0; v < V; v++) {
      const L = split[v] as number;
      const first = v === 0;
      const last = v === V - 1;
      const f: Item[] = [];
      if (first) f.push(...kernelListItems(embeddingKernels(shape, "forward"), 1, ctx, "embedding"));
      f.push(...kernelListItems(fwdLayer, L, ctx, "forward"));
      if (last) f.push(...kernelListItems(headKernels(shape, "forward"), 1, ctx, "head"));
      forwardPlans.push({ items: f });

      const b: Item[] = [];
      if (last) b.push(...kernelListItems(headKernels(shape, "backward"), 1, ctx, "head.bwd"));
      b.push(...kernelListItems(recLayer, L, ctx, "backward:recompute"), ...kernelListItems(bwdLayer, L, ctx, "backward"));
      if (first) b.push(...kernelListItems(embeddingKernels(shape, "backward"), 1, ctx, "embedding.bwd"));
      backwardPlans.push({ items: b });

      // The chunk's last backward hands gradients over layer by layer, so the
      // data-parallel reduction overlaps the rest of it (bucketed DDP).
      const lb: Item[] = [];
      if (last) {
        lb.push(...kernelListItems(headKernels(shape, "backward"), 1, ctx, "head.bwd"));
        lb.push({ kind: "grads", bytes: headGradBytes });
      }
      for (let l = 0; l < L; l++) {
        lb.push(...this.oneLayerBwd("backward"));
        lb.push({ kind: "grads", bytes: perLayerGradBytes });
      }
      if (first) {
        lb.push(...kernelListItems(embeddingKernels(shape, "backward"), 1, ctx, "embedding.bwd"));
        lb.push({ kind: "grads", bytes: embedGradBytes });
      }
      lastBackwardPlans.push({ items: lb });
    }

    // Point-to-point activation / gradient transfer between virtual stages:
    // scatter/gather sends 1/tp of the tensor per rank, re-assembled over NVLink.
    const d = layerDims(shape);
    const activationBytes = shape.elementBytes * d.tokens * model.hidden;
    const p2pBytes = activationBytes / p.tp;
    this.p2pBytes = p2pBytes;
    const regather = p.tp > 1 && !shape.sequenceParallel;
    this.regather = regather;

    // ---- dependency state ----
    const fwdArrived = new Uint8Array(V * micro);
    this.fwdArrived = fwdArrived;
    const bwdArrived = new Uint8Array(V * micro);
    this.bwdArrived = bwdArrived;
    const schedules: Pass[][] = Array.from({ length: p.pp }, (_, r) => pipelineSchedule(r, p.pp, p.virtualStages, micro));
    this.schedules = schedules;
    // Typed arrays, and a list built by push: arrays made by map() or new Array(n) get
    // another hidden class once run() is optimized (it inlines them), and the handlers
    // compiled against the first point's deoptimized at the next point's.
    const lastBackwardIndex: Int32Array[] = [];
    for (const order of schedules) {
      const lastIdx = new Int32Array(p.virtualStages).fill(-1);
      order.forEach((ps, i) => {
        if (ps.kind === "B") lastIdx[ps.chunk] = i;
      });
      lastBackwardIndex.push(lastIdx);
    }
    this.lastBackwardIndex = lastBackwardIndex;

    this.activities = 0;
    this.finished = 0;
    const endTimes = new Float64Array(p.pp);
    this.endTimes = endTimes;

    const dpStreams = Array.from({ length: p.pp }, (_, r) => this.dataParallelStream(r));
    this.dpStreams = dpStreams;

    // Starts with its empty list, so that it holds lists from the start (see scratchWork).
    const scratch: [Resource, number][][] = [[]];
    this.scratch = scratch;
    this.itemSpec = stepActivitySpec();
    this.transferSpec = stepActivitySpec();

    // A send's link work and latency depend only on whether it stays within a node.
    const sendCostOf = (sameNode: boolean): SendCost => {
      const load = collectiveLoad("send", p2pBytes, { size: 2, perNode: sameNode ? 2 : 1 });
      const link = linkWork(load);
      return { nic: link.nic * slowdown.pp, nvlink: link.nvlink * slowdown.pp, latencySeconds: load.latencySeconds };
    };
    // A literal, for the reason given above lastBackwardIndex.
    const sendCosts = [sendCostOf(false), sendCostOf(true)];
    this.sendCosts = sendCosts;
    const regatherNvlink = regather ? linkWork(collectiveLoad("all-gather", activationBytes, layout.tp)).nvlink : 0;
    this.regatherNvlink = regatherNvlink;
    const p2pHbm = p2pBytes / gpu.efficiency.hbmPeakFraction;
    this.p2pHbm = p2pHbm;

    const ranks: PipelineRank[] = Array.from({ length: p.pp }, (_, r) => this.pipelineRank(r));
    this.ranks = ranks;
    for (const r of ranks) r.begin();
    sim.run();

    const stepSeconds = Math.max(...endTimes);
    const stages: StageResult[] = [];
    const total = emptyBreakdown();
    for (let r = 0; r < p.pp; r++) {
      const acc = accounts[r] as Account;
      charge(acc, "bubble", stepSeconds - (endTimes[r] as number));
      // Every second of every rank is attributed, so these sum to 1 by construction
      // (a test holds us to that); no renormalisation hides a gap.
      const b = emptyBreakdown();
      for (let i = 0; i < CATEGORIES.length; i++) {
        const c = CATEGORIES[i] as Category;
        b[c] = (acc.times[i] as number) / stepSeconds;
        total[c] += b[c] / p.pp;
      }
      stages.push({ stage: r, endSeconds: endTimes[r] as number, breakdown: b });
    }
    let smBusy = 0;
    let hbmBusy = 0;
    for (const res of resources) {
      fluid.settleResource(res.sm);
      fluid.settleResource(res.hbm);
      smBusy += res.sm.workDone / res.sm.capacity / stepSeconds / p.pp;
      hbmBusy += res.hbm.workDone / res.hbm.capacity / stepSeconds / p.pp;
    }
    return {
      stepSeconds,
      breakdown: total,
      stages,
      memory,
      power: power.report(stepSeconds),
      events: sim.queue.processed,
      activities: this.activities,
      mode: "folded",
      modeReason: choice.reason,
      smBusyShare: smBusy,
      hbmBusyShare: hbmBusy,
      spans,
    };
  }

  oneLayerBwd(label: string): Item[] {
    return [...kernelListItems(this.recLayer, 1, this.ctx, `${label}:recompute`), ...kernelListItems(this.bwdLayer, 1, this.ctx, label)];
  }

  /**
   * A rank's data-parallel stream: reductions run one after another, beside compute.
   * Built by a factory, not by a class declared in this method: that would be a new class,
   * with new hidden classes, on every step, and every sweep point in a worker would then
   * deoptimize and recompile the code that touches it.
   */
  dataParallelStream(rank: number): DataParallelStream {
    const queue: Item[][] = [];
    let busy = false;
    let idleWaiters: (() => void)[] = [];
    const next = (): void => {
      const items = queue.shift();
      if (items === undefined) {
        if (busy) this.power.background(rank, -1);
        busy = false;
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
        return;
      }
      if (!busy) this.power.background(rank, +1);
      busy = true;
      this.runItems(items, 0, rank, undefined, next);
    };
    return {
      enqueue: (items: Item[]): void => {
        queue.push(items);
        if (!busy) next();
      },
      whenIdle: (fn: () => void): void => {
        if (!busy && queue.length === 0) fn();
        else idleWaiters.push(fn);
      },
    };
  }

  gradReduceItems(bytes: number): Item[] {
    if (this.dpShard <= 1 || bytes <= 0) return [];
    return collectiveItems(this.p.zero >= 1 ? "reduce-scatter" : "all-reduce", bytes, this.dpGroup, "dp", 1, this.ctx, "dp:grads");
  }

  scratchWork(n: number): [Resource, number][] {
    // Grown a length at a time (entry k holds k pairs): never read past its end nor holey,
    // either of which would deoptimize advanceItems in every sweep thread.
    const scratch = this.scratch;
    while (scratch.length <= n) scratch.push(Array.from({ length: scratch.length }, (): [Resource, number] => [this.resources[0]!.sm, 0]));
    return scratch[n] as [Resource, number][];
  }

  /**
   * Runs items in order on one rank's resources; `account` set = attributed to that rank's
   * compute stream. The state is a plain object and its `step` comes from stepOf, not from
   * a closure bound to a name: tsx keeps function names by redefining `name` on every such
   * closure, and class fields are defined one by one; either cost ~8 % of a step simulation.
   */
  runItems(items: Item[], start: number, rank: number, account: Account | undefined, done: () => void): void {
    const run: ItemRun = { items, i: start, rank, account, done, res: this.resources[rank] as Record<ResourceRole, Resource>, step: done };
    run.step = stepOf(this, run);
    run.step();
  }

  advanceItems(run: ItemRun): void {
    const { items, rank, account, res } = run;
    while (run.i < items.length) {
      const item = items[run.i++] as Item;
      if (item.kind === "grads") {
        if (this.p.overlapGradReduce) this.dpStreams[rank]!.enqueue(this.gradReduceItems(item.bytes));
        continue;
      }
      if (account !== undefined) this.power.setClass(rank, item.power);
      if (item.kind === "delay") {
        if (account !== undefined) charge(account, item.category, item.seconds);
        if (this.record && account !== undefined) this.spans.push({ track: account.track, name: item.label, category: item.category, start: this.sim.now, end: this.sim.now + item.seconds });
        this.sim.after(item.seconds, run.step);
        return;
      }
      // The engine copies the work out of the spec, so both are reused.
      const n = item.work.length;
      const work = this.scratchWork(n);
      for (let k = 0; k < n; k++) {
        const entry = item.work[k] as [ResourceRole, number];
        setWork(work, k, res[entry[0]], entry[1]);
      }
      this.itemSpec.work = work;
      this.itemSpec.label = item.label;
      this.itemSpec.data = account;
      this.itemSpec.size = item.size;
      this.itemSpec.onComplete = run.step;
      this.activities++;
      this.fluid.start(this.itemSpec);
      return;
    }
    run.done();
  }

  /** Start a transfer from rank `from` to rank `to` now (its latency, if any, has passed). */
  startTransfer(from: number, to: number, cost: SendCost, label: string, account: Account, done: () => void): void {
    const src = this.resources[from] as Record<ResourceRole, Resource>;
    const dst = this.resources[to] as Record<ResourceRole, Resource>;
    const work = this.scratchWork((cost.nic > 0 ? 2 : 0) + (cost.nvlink > 0 ? 2 : 0) + (this.regather ? 2 : 0) + 2);
    let k = 0;
    if (cost.nic > 0) {
      k = setWork(work, k, src.nicTx, cost.nic);
      k = setWork(work, k, dst.nicRx, cost.nic);
    }
    if (cost.nvlink > 0) {
      k = setWork(work, k, src.nvTx, cost.nvlink);
      k = setWork(work, k, dst.nvRx, cost.nvlink);
    }
    if (this.regather) {
      k = setWork(work, k, dst.nvTx, this.regatherNvlink);
      k = setWork(work, k, dst.nvRx, this.regatherNvlink);
    }
    k = setWork(work, k, src.hbm, this.p2pHbm);
    setWork(work, k, dst.hbm, this.p2pHbm);
    const spec = this.transferSpec;
    spec.work = work;
    spec.label = label;
    spec.data = account;
    spec.size = this.p2pBytes;
    spec.onComplete = done;
    this.activities++;
    this.fluid.start(spec);
  }

  /** Run a transfer whose work spans two ranks (sender tx, receiver rx), after its latency. */
  transfer(from: number, to: number, account: Account, label: string, done: () => void): void {
    const sameNode = this.layout.stageNode(from) === this.layout.stageNode(to);
    const cost = this.sendCosts[sameNode ? 1 : 0] as SendCost;
    this.power.setClass(from, "comm");
    if (cost.latencySeconds > 0) {
      charge(account, sameNode ? "nvlink" : "network", cost.latencySeconds);
      this.sim.after(cost.latencySeconds, () => this.startTransfer(from, to, cost, label, account, done));
    } else this.startTransfer(from, to, cost, label, account, done);
  }

  /** One pipeline stage's rank working through its schedule (a factory: see dataParallelStream). */
  pipelineRank(rank: number): PipelineRank {
    let index = 0;
    let waitingSince = -1;
    let waitingKey = -1;
    const account = this.accounts[rank] as Account;
    const order = this.schedules[rank] as Pass[];

    const nextPass = (): void => {
      if (index >= order.length) {
        finish();
        return;
      }
      const ps = order[index] as Pass;
      const vs = ps.chunk * this.p.pp + rank;
      const key = (ps.kind === "F" ? 0 : 1) * this.V * this.micro + vs * this.micro + ps.microBatch;
      const ready = ps.kind === "F" ? vs === 0 || this.fwdArrived[vs * this.micro + ps.microBatch] === 1 : vs === this.V - 1 || this.bwdArrived[vs * this.micro + ps.microBatch] === 1;
      if (ready) runPass();
      else {
        waitingKey = key;
        waitingSince = this.sim.now;
        this.power.setClass(rank, "idle");
      }
    };

    const runPass = (): void => {
      const ps = order[index] as Pass;
      const vs = ps.chunk * this.p.pp + rank;
      const isLastBackward = ps.kind === "B" && (this.lastBackwardIndex[rank] as Int32Array)[ps.chunk] === index;
      const plan = ps.kind === "F" ? this.forwardPlans[vs] : isLastBackward ? this.lastBackwardPlans[vs] : this.backwardPlans[vs];
      this.runItems((plan as PassPlan).items, 0, rank, account, () => passDone(ps, vs));
    };

    const passDone = (ps: Pass, vs: number): void => {
      index++;
      const mb = ps.microBatch;
      if (ps.kind === "F" && vs < this.V - 1) {
        const to = rankOfVirtualStage(vs + 1, this.p.pp);
        send(to, `p2p:activations`, () => {
          this.fwdArrived[(vs + 1) * this.micro + mb] = 1;
          this.ranks[to]!.arrived(0 * this.V * this.micro + (vs + 1) * this.micro + mb);
        });
      } else if (ps.kind === "B" && vs > 0) {
        const to = rankOfVirtualStage(vs - 1, this.p.pp);
        send(to, `p2p:gradients`, () => {
          this.bwdArrived[(vs - 1) * this.micro + mb] = 1;
          this.ranks[to]!.arrived(1 * this.V * this.micro + (vs - 1) * this.micro + mb);
        });
      } else {
        nextPass();
      }
    };

    /** Megatron's p2p is synchronous: the sender continues once its send completes. */
    const send = (to: number, label: string, delivered: () => void): void => {
      if (to === rank) {
        delivered();
        nextPass();
        return;
      }
      this.transfer(rank, to, account, label, () => {
        delivered();
        nextPass();
      });
    };

    const finish = (): void => {
      const r = rank;
      const dp = this.dpStreams[r] as DataParallelStream;
      if (!this.p.overlapGradReduce) {
        let bytes = 0;
        for (let v = 0; v < this.V; v++) if (rankOfVirtualStage(v, this.p.pp) === r) bytes += (this.split[v] as number) * this.perLayerGradBytes;
        if (r === 0) bytes += this.embedGradBytes;
        if (r === this.p.pp - 1) bytes += this.headGradBytes;
        dp.enqueue(this.gradReduceItems(bytes));
      }
      const waitStart = this.sim.now;
      this.power.setClass(r, "idle");
      dp.whenIdle(() => {
        const waited = this.sim.now - waitStart;
        if (waited > 0) {
          const crosses = Math.ceil(this.dpGroup.size / this.dpGroup.perNode) > 1;
          const cat: Category = crosses ? "network" : "nvlink";
          charge(account, cat, waited);
          if (this.record) this.spans.push({ track: account.track, name: "wait:dp-grads", category: cat, start: waitStart, end: this.sim.now });
        }
        afterGrads();
      });
    };

    const afterGrads = (): void => {
      const r = rank;
      const items: Item[] = [];
      // Tied embeddings: first and last stage sum their copies' gradients.
      if (this.model.tiedEmbeddings && this.p.pp > 1 && (r === 0 || r === this.p.pp - 1)) {
        const sameNode = this.layout.stageNode(0) === this.layout.stageNode(this.p.pp - 1);
        items.push(...collectiveItems("all-reduce", ((this.model.vocab * this.model.hidden) / this.p.tp) * this.gradBytes, { size: 2, perNode: sameNode ? 2 : 1 }, "pp", 1, this.ctx, "embedding:tied-grads"));
      }
      const mem = this.memory[r] as MemoryBreakdown;
      const params = mem.params;
      const shardParams = params / (this.p.zero >= 1 ? this.dpShard : 1);
      // Mixed-precision optimizer step, per parameter of this rank's shard (bytes read + written):
      // low-precision grads → fp32 main grads (2 + 4) unless accumulated in fp32; fp16 loss-scale
      // unscale and inf check (4 + 4); gradient norm for clipping (4); Adam on master weights,
      // m and v (read g, p, m, v; write p, m, v: 28); master → model copy (4 + 2); zero grads.
      const mixed = this.weightBytes === 2;
      const perParam =
        (this.gradBytes === 4 ? 0 : this.gradBytes + 4) + (this.precision === "fp16" ? 8 : 0) + 4 + 28 + (mixed ? 4 + this.weightBytes : 0) + this.gradBytes;
      const optimizerBytes = shardParams * perParam;
      items.push(...kernelItems([{ name: "optimizer", kind: "memory", flops: 12 * shardParams, bytes: optimizerBytes, launches: 8 }], 1, this.ctx, "optimizer"));
      if (this.p.zero >= 1 && this.dpShard > 1) items.push(...collectiveItems("all-gather", params * this.weightBytes, this.dpGroup, "dp", 1, this.ctx, "dp:params"));
      this.runItems(items, 0, r, account, () => {
        this.endTimes[r] = this.sim.now;
        this.power.setClass(r, "idle");
        if (++this.finished === this.p.pp) this.power.stop();
      });
    };

    return {
      begin: nextPass,
      arrived: (key: number): void => {
        if (waitingKey !== key) return;
        charge(account, "bubble", this.sim.now - waitingSince);
        if (this.record) this.spans.push({ track: account.track, name: "wait:pipeline", category: "bubble", start: waitingSince, end: this.sim.now });
        waitingKey = -1;
        waitingSince = -1;
        runPass();
      },
    };
  }
}


export function simulateStep(s: Scenario, options: SimulateOptions = {}): StepSimulation {
  return new FoldedStepRun().run(s, options);
}

