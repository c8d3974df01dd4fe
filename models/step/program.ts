/**
 * A step, compiled once from the scenario: what every rank of a pipeline stage
 * runs, as ops with their work per resource role, shared by every rank and
 * micro-batch. Which ranks run it, and how, is the executor's business
 * (executor.ts, ranks.ts).
 *
 * - Passes: per virtual stage, a forward, a backward, and the chunk's last
 *   backward, which hands gradients to the data-parallel stream layer by layer
 *   (bucketed DDP).
 * - Identical kernels of a chunk's layers are merged: alone, a sequence of
 *   kernels takes Σ max(F_i/C, B_i/H), which equals max(ΣF/C, ΣB/H) within a
 *   group whose kernels share a bottleneck. So a pass runs one op for its
 *   compute-bound kernels, one for its memory-bound kernels and one launch delay.
 * - Collectives (tensor-, context-, expert-, data-parallel, tied embeddings) are
 *   one op each: a member's link work, then the latency. One that overlaps kernels
 *   (TP communication overlap, the context-parallel ring) also carries their work.
 * - Sends between virtual stages, and what runs after the last pass: the
 *   gradients not reduced on the fly, tied embeddings, the optimizer, ZeRO-1/2's
 *   parameter all-gather.
 * - ZeRO-3 / FSDP: every pass is a sequence of wrap units. A unit's parameters are
 *   all-gathered on a gather stream `fsdpPrefetch` units ahead (forward, and with
 *   reshardAfterForward again in backward), its compute waits for its gather (WAIT),
 *   and after its backward its gradients are reduce-scattered on the data-parallel stream (HSDP: then
 *   all-reduced across replicas), every micro-batch: FSDP2's default (pytorch PR
 *   126166: a reduce-scatter per micro-batch backward unless set_requires_gradient_sync
 *   is turned off) and DeepSpeed ZeRO-3's (docs zero3.rst, v0.18.2: parameters
 *   collected and re-partitioned in forward and backward).
 * - Offload through the host path (offload.ts): PCIe copies and DeepSpeed's CPU-Adam.
 */
import { kernelCost, peakFlops, type Kernel } from "../compute/kernel.ts";
import { collectiveLoad, linkWork, type GroupLayout, type LinkLoad } from "../collectives/alpha-beta.ts";
import { deepepLoad } from "../collectives/deepep.ts";
import type { Accelerator, Precision } from "../hardware/types.ts";
import { scaleUpSpan } from "../network/build.ts";
import { groupSlowdowns, type GroupKind, type GroupSlowdowns } from "../network/group-slowdown.ts";
import { rankLayout, type RankLayout } from "../parallel/layout.ts";
import { microBatchesPerStep } from "../parallel/plan.ts";
import { scheduleTable } from "../parallel/schedule.ts";
import { layersPerVirtualStage, rankOfVirtualStage } from "../parallel/stages.ts";
import type { PowerClass } from "../power/gpu-power.ts";
import type { ParallelPlan, Scenario } from "../scenario.ts";
import {
  embeddingKernels,
  headKernels,
  layerDims,
  type KernelList,
  type StreamCollective,
} from "../workload/layer-kernels.ts";
import { denseLayerShape, elementBytes, fsdpLookahead, fsdpSettings, gradElementBytes, lastStageEmbeddingCopy, layerShape, memoryByStage, optimizerBytesPerParam, type MemoryBreakdown } from "../workload/memory.ts";
import { embeddingParams, headParams, layerParamsPerRank as paramsPerRankOf, mtpProjectionParams } from "../workload/params.ts";
import { mtpDepths, mtpInputKernels } from "../workload/mtp.ts";
import { CATEGORY_INDEX, type Category } from "../categories.ts";

import { fsdpCopyKernels, type FsdpCopyKernels } from "./fsdp-copies.ts";
import { windowedComm } from "./windowed-einsum.ts";
import { layerKinds } from "./layer-kinds.ts";
import { besideCommSmWork, epCommSmFraction } from "./ep-comm-sms.ts";
import { cpuAdamSeconds, offloadSettings, type OffloadSettings } from "./offload.ts";
import { aloneSeconds, spreadCopy } from "./activation-copy.ts";
import { sendOp } from "./p2p-send.ts";
import { stageGather, type GatherPiece } from "./param-gather.ts";
import { compileModulePasses } from "./zero3-fetch.ts";
import { CH_CP, CH_DP_COMPUTE, CH_DP_STREAM, CH_EP, CH_ETP, CH_FSDP_GATHER, CH_FSDP_REPLICA, CH_FSDP_SHARD, CH_PP, CH_TP, COLLECTIVE, DELAY, ENQUEUE, GATHER_STREAM, HBM, NIC_RX, NIC_TX, NV_RX, NV_TX, Op, PCIE_D2H, PCIE_H2D, roleCapacities, ROLES, setWork, SM, WAIT, WORK } from "./ops.ts";

export * from "./ops.ts";

const COMPUTE = CATEGORY_INDEX.compute;

export interface StepProgram {
  p: ParallelPlan;
  gpu: Accelerator;
  precision: Precision;
  layout: RankLayout;
  micro: number;
  /** Virtual pipeline stages (pp × chunks). */
  V: number;
  memory: MemoryBreakdown[];
  /** Every plan; the indices below point into it. */
  plans: Op[][];
  forwardPlan: Int32Array;
  /** A chunk's first micro-batch's forward: forwardPlan, or with overlapParamGather its wait for each parameter bucket (param-gather.ts). */
  firstForwardPlan: Int32Array;
  backwardPlan: Int32Array;
  lastBackwardPlan: Int32Array;
  /** Per stage: the gradient list enqueued after the last pass (-1: none), and the plan run after the gradients. */
  finalGradList: Int32Array;
  afterPlan: Int32Array;
  /** Per stage, a list enqueued on the gather stream under token 0 when the step starts (-1: none): the overlapped ZeRO parameter all-gather's first bucket. */
  startList: Int32Array;
  /** Data-parallel op lists (gradient reductions). */
  dpLists: Op[][];
  /** The most lists a rank's data-parallel stream holds at once. */
  dpCapacity: number;
  /** [same node?][backward?] */
  sendOps: Op[][];
  /** Sends run beside the sender's next pass (overlapP2P, interleaved schedules only, as Megatron-LM forces it off otherwise). */
  overlapP2P: boolean;
  /** Per stage, its pipeline schedule flattened: pass kind (0 F, 1 B), chunk, micro-batch, 1 if the chunk's last backward. */
  schedKind: Uint8Array[];
  schedChunk: Int32Array[];
  schedMb: Int32Array[];
  schedLastBackward: Uint8Array[];
  /** Where waiting for one's own gradient reduction (or an FSDP gather) counts. */
  gradsCategory: number;
  /** Token slots per rank (the most FSDP units in one pass). */
  tokens: number;
  /** Data-parallel shard group (dp × cp ranks). */
  dpShard: number;
  /** Bytes/s of each direction of a GPU's PCIe link to host memory (offload copies). */
  hostCopyBandwidth: number;
}

function crossesNodes(group: GroupLayout): boolean {
  return Math.ceil(group.size / Math.max(1, group.perNode)) > 1;
}

/** Builds a StepProgram; its methods are the pieces, its state what they share. */
class Compiler {
  plans: Op[][] = [];
  dpLists: Op[][] = [];
  dpListOfKey = new Map<string, number>();
  /** MoE: the expert data-parallel group (tp·dp·cp/(ep·expertTp) ranks, ep·expertTp apart) that reduces the routed experts' gradients. */
  expertDp: GroupLayout = { size: 1, perNode: 1 };
  constructor(
    readonly s: Scenario,
    readonly p: ParallelPlan,
    readonly layout: RankLayout,
    readonly slowdown: GroupSlowdowns,
    readonly dpShard: number,
    readonly dpGroup: GroupLayout,
    readonly fsdp: FsdpGroups,
    readonly offload: OffloadSettings,
  ) {}

  /** A copy between this GPU and host memory over PCIe (offload); empty if no bytes. */
  hostCopy(role: number, bytes: number, label: string): Op[] {
    if (bytes <= 0) return [];
    const op = new Op();
    op.label = label;
    op.power = "comm";
    setWork(op, [role, HBM], [bytes, bytes / this.s.cluster.gpu.efficiency.hbmPeakFraction], bytes);
    return [op];
  }

  /** Saved activations copied to (forward) or from (backward) the host on a side stream over the whole pass (activation-copy.ts). */
  withActivationCopy(ops: Op[], role: number, bytes: number): Op[] {
    if (bytes <= 0) return ops;
    const cap = roleCapacities(peakFlops(this.s.cluster.gpu, this.s.workload.precision), this.s.cluster.gpu, this.s.cluster.network.nicBandwidth, this.offload.copyBandwidth);
    return spreadCopy(ops, role, bytes, cap) ? ops : [...this.hostCopy(role, bytes, "offload:activations"), ...ops];
  }

  /** Kernels × `times` → at most one compute-bound op, one memory-bound op, one launch delay. */
  kernels(kernels: Kernel[], times: number, label: string): Op[] {
    // A chunk without layers (firstStageLayers / lastStageLayers 0) emits no zero-work ops.
    if (times <= 0) return [];
    let smA = 0;
    let hbmA = 0;
    let smB = 0;
    let hbmB = 0;
    let launch = 0;
    for (const k of kernels) {
      const c = kernelCost(k, this.s.cluster.gpu, this.s.workload.precision);
      if (c.bound === "sm") {
        smA += c.smWork;
        hbmA += c.hbmWork;
      } else {
        smB += c.smWork;
        hbmB += c.hbmWork;
      }
      launch += c.launchSeconds;
    }
    const out: Op[] = [];
    const work = (suffix: string, power: PowerClass, sm: number, hbm: number, size: number): void => {
      const op = new Op();
      op.label = `${label}:${suffix}`;
      op.power = power;
      setWork(op, [SM, HBM], [sm, hbm], size);
      out.push(op);
    };
    if (smA > 0) work("gemm", "gemm", smA * times, hbmA * times, hbmA * times || smA * times);
    if (hbmB > 0) work("memory", "memory", smB * times, hbmB * times, hbmB * times);
    if (launch > 0) {
      const op = new Op();
      op.kind = DELAY;
      op.label = `${label}:launch`;
      op.power = "memory";
      op.seconds = launch * times;
      out.push(op);
    }
    return out;
  }

  /** A collective (or `times` of them) as one barrier op: link work, then latency (none if neither). */
  collective(opName: StreamCollective["op"], bytes: number, group: GroupLayout, kind: GroupKind, times: number, channel: number, label: string): Op[] {
    return this.collectiveOf(collectiveLoad(opName, bytes, group, this.s.cluster.gpu.scaleUpKind === "ici", this.s.cluster.gpu.efficiency.collectiveSizeCurves), group, kind, times, channel, label);
  }

  /** A collective of a given per-rank link load (NCCL's by collectiveLoad, or DeepEP's). */
  collectiveOf(load: LinkLoad, group: GroupLayout, kind: GroupKind, times: number, channel: number, label: string): Op[] {
    const link = linkWork(load);
    const scale = times * this.slowdown[kind];
    const roles: number[] = [];
    const amounts: number[] = [];
    if (link.nvlink > 0) roles.push(NV_TX, NV_RX), amounts.push(link.nvlink * scale, link.nvlink * scale);
    if (link.nic > 0) roles.push(NIC_TX, NIC_RX), amounts.push(link.nic * scale, link.nic * scale);
    const crosses = crossesNodes(group);
    const op = new Op();
    op.kind = COLLECTIVE;
    op.channel = channel;
    op.power = "comm";
    op.linkCategory = CATEGORY_INDEX[crosses ? "network" : "nvlink"];
    op.groupPerNode = crosses ? Math.max(1, Math.min(group.perNode, group.size)) : 0;
    if (roles.length > 0) {
      roles.push(HBM), amounts.push((load.hbmBytes * times) / this.s.cluster.gpu.efficiency.hbmPeakFraction);
      op.label = label;
      setWork(op, roles, amounts, (load.nvlinkBytes + load.nicBytes) * times);
    }
    if (load.latencySeconds > 0) {
      op.latency = load.latencySeconds * times;
      op.latencyLabel = `${label}:latency`;
      op.latencyCategory = CATEGORY_INDEX[crosses ? "network" : "nvlink"];
      if (op.label === "") op.label = op.latencyLabel;
    }
    return roles.length > 0 || op.latency > 0 ? [op] : [];
  }

  /** Kernels then collectives of a kernel list, repeated `times` (merged); an overlapped collective runs with its kernels. */
  list(list: KernelList, times: number, label: string): Op[] {
    if (times <= 0) return [];
    const paired = new Set<string>();
    for (const c of list.collectives) for (const name of c.overlap?.kernels ?? []) paired.add(name);
    const out = this.kernels(paired.size === 0 ? list.kernels : list.kernels.filter((k) => !paired.has(k.name)), times, label);
    for (const c of list.collectives) {
      const group = c.group === "tp" ? this.layout.tp : c.group === "ep" ? this.layout.ep : c.group === "etp" ? this.layout.etp : this.layout.cp;
      const channel = c.group === "tp" ? CH_TP : c.group === "etp" ? CH_ETP : c.group === "ep" ? CH_EP : CH_CP;
      const kind = c.group === "etp" ? "tp" : c.group;
      const ops =
        c.deepep === undefined
          ? this.collective(c.op, c.bytes, group, kind, c.count * times, channel, `${label}:${c.group}-${c.op}`)
          : this.collectiveOf(deepepLoad(c.bytes, c.deepep, group), group, kind, c.count * times, channel, `${label}:${c.group}-deepep`);
      if (c.overlap === undefined) out.push(...ops);
      else {
        const names = c.overlap.kernels;
        const held = c.group === "ep" ? epCommSmFraction(this.s.cluster.gpu, c.deepep !== undefined, ops[0]?.groupPerNode ?? 0, this.p.moeDispatchSms) : 0;
        out.push(...this.overlapped(ops, list.kernels.filter((k) => names.includes(k.name)), c.overlap.splits, times, `${label}:${names.join("+")}`, held, c.overlap.windowed));
      }
    }
    return out;
  }

  /**
   * A collective pipelined with kernels (TP overlap, XLA windowed einsum: windowed-einsum.ts, the CP ring): one barrier
   * op whose members run the kernels' SM and HBM work and their share of the traffic as one activity (alone, the longer
   * of the two); then the pipeline fill, one of `splits` chunks of the shorter (bulk overlap, splits 0: none), and launches.
   */
  overlapped(coll: Op[], kernels: Kernel[], splits: number, times: number, label: string, heldSms = 0, windowed?: number): Op[] {
    const op = coll[0];
    if (op === undefined || op.roles.length === 0) return [...this.kernels(kernels, times, label), ...coll];
    const gpu = this.s.cluster.gpu;
    let sm = 0;
    let hbm = 0;
    let launch = 0;
    let computeSeconds = 0;
    for (const k of kernels) {
      const c = kernelCost(k, gpu, this.s.workload.precision);
      sm += c.smWork * times;
      hbm += c.hbmWork * times;
      launch += c.launchSeconds * times;
      computeSeconds += (c.seconds - c.launchSeconds) * times;
    }
    if (sm <= 0) return [...this.kernels(kernels, times, label), ...coll];
    const capacity = roleCapacities(Infinity, gpu, this.s.cluster.network.nicBandwidth, this.offload.copyBandwidth);
    let commSeconds = aloneSeconds(op, capacity);
    if ((commSeconds = windowedComm(op, computeSeconds, commSeconds, splits, windowed)) < 0) return [...this.kernels(kernels, times, label), ...coll];
    // An EP collective's kernels hold SMs from the compute beside it (ep-comm-sms.ts).
    sm = besideCommSmWork(sm, peakFlops(gpu, this.s.workload.precision), commSeconds, heldSms);
    const roles = [...op.roles, SM];
    const amounts = [...op.amounts, sm];
    const h = roles.indexOf(HBM);
    if (h >= 0) amounts[h] = (amounts[h] as number) + hbm;
    else roles.push(HBM), amounts.push(hbm);
    op.label = `${label}+${op.label}`;
    op.power = "gemm";
    setWork(op, roles, amounts, hbm);
    const out: Op[] = [op];
    const delay = (suffix: string, seconds: number, category: number): void => {
      if (!(seconds > 0)) return;
      const d = new Op();
      d.kind = DELAY;
      d.label = `${label}:${suffix}`;
      d.power = "gemm";
      d.seconds = seconds;
      d.category = category;
      out.push(d);
    };
    if (splits > 0) delay("overlap-fill", Math.min(computeSeconds, commSeconds) / splits, computeSeconds <= commSeconds ? COMPUTE : op.linkCategory);
    delay("launch", launch, COMPUTE);
    return out;
  }

  /**
   * The data-parallel list reducing `bytes` of gradients (one list per distinct size; empty if
   * nothing to reduce); MoE: `expertBytes` of them, the routed experts', over the expert
   * data-parallel group instead (Megatron-Core's expert DDP buckets).
   */
  gradList(bytes: number, expertBytes = 0): number {
    return this.dpList(`grads-of:${bytes}:${expertBytes}`, () => {
      const reduce = this.p.zero >= 1 ? "reduce-scatter" : "all-reduce";
      const dense = bytes - expertBytes;
      const ops = this.dpShard <= 1 || dense <= 0 ? [] : this.collective(reduce, dense, this.dpGroup, "dp", 1, CH_DP_STREAM, "dp:grads");
      if (expertBytes > 0) ops.push(...this.collective(reduce, expertBytes, this.expertDp, "dp", 1, CH_DP_STREAM, "dp:expert-grads"));
      // ZeRO-Offload: the reduced gradient shard goes to the host for CPU-Adam.
      const shard = (b: number, n: number): number => b / (this.p.zero >= 1 ? n : 1);
      if (this.offload.optimizer) ops.push(...this.hostCopy(PCIE_D2H, shard(dense, this.dpShard) + shard(expertBytes, this.expertDp.size), "offload:grads"));
      return ops;
    });
  }

  grads(bytes: number, expertBytes = 0): Op[] {
    if (!this.p.overlapGradReduce) return [];
    const op = new Op();
    op.kind = ENQUEUE;
    op.label = "grads";
    op.gradList = this.gradList(bytes, expertBytes);
    return [op];
  }

  plan(ops: Op[]): number {
    return this.plans.push(ops) - 1;
  }

  /** A data-parallel list built once per key. */
  dpList(key: string, build: () => Op[]): number {
    let id = this.dpListOfKey.get(key);
    if (id === undefined) {
      id = this.dpLists.push(build()) - 1;
      this.dpListOfKey.set(key, id);
    }
    return id;
  }

  enqueue(list: number, token: number, stream = 0): Op[] {
    if ((this.dpLists[list] as Op[]).length === 0) return [];
    const op = new Op();
    op.kind = ENQUEUE;
    op.label = "enqueue";
    op.gradList = list;
    op.token = token;
    op.stream = stream;
    return [op];
  }

  wait(list: number, token: number): Op[] {
    if ((this.dpLists[list] as Op[]).length === 0) return [];
    const op = new Op();
    op.kind = WAIT;
    op.label = "wait:fsdp-gather";
    op.token = token;
    op.stream = GATHER_STREAM;
    return [op];
  }

  /**
   * One pass over FSDP units in order: unit i's gather is enqueued `prefetch` units ahead
   * (prefetch 0: just before it; or as far as fsdpPrefetchParams reaches), its compute waits
   * for it, and (backward) its gradients are handed to the stream after it.
   */
  fsdpPass(units: FsdpUnit[], backward: boolean, gather: boolean, prefetch: number, reduce = true): Op[] {
    const out: Op[] = [];
    const n = units.length;
    const gathers = units.map((u) => this.gatherList(u.params));
    let next = 0;
    for (let i = 0; i < n; i++) {
      const u = units[i] as FsdpUnit;
      if (gather) {
        const last = Math.min(n - 1, i + fsdpLookahead(units, i, prefetch, this.p.fsdpPrefetchParams));
        for (; next <= last; next++) out.push(...this.enqueue(gathers[next] as number, next, GATHER_STREAM));
        out.push(...this.wait(gathers[i] as number, i), ...this.kernels(this.copies(u.params).gatherOut, 1, "fsdp:copy-out"));
      }
      out.push(...(backward ? u.backward : u.forward));
      if (backward && !reduce) out.push(...this.kernels(this.copies(u.params).accumulate, 1, "fsdp:accumulate"));
      else if (backward) out.push(...this.kernels(this.copies(u.params).reduceIn, 1, "fsdp:chunk-cat"), ...this.enqueue(this.fsdpGrads(u.params), -1));
    }
    return out;
  }

  /** FSDP2's copies around a unit's collectives (fsdp-copies.ts; none with flat parameters). */
  copies(params: number): FsdpCopyKernels {
    return fsdpCopyKernels(this.s, this.fsdp.shard.size, params, this.fsdp.noSync);
  }

  /** All-gathering `params` elements per rank (FSDP2's copy-in first); with offloadParams the rank's shard first comes from host memory (DeepSpeed offload_param). */
  gatherList(params: number): number {
    return this.dpList(`gather:${params}`, () => [
      ...this.kernels(this.copies(params).gatherIn, 1, "fsdp:copy-in"),
      ...(this.offload.params ? this.hostCopy(PCIE_H2D, (params * this.fsdp.weightBytes) / this.fsdp.shard.size, "offload:params") : []),
      ...this.collective("all-gather", params * this.fsdp.weightBytes, this.fsdp.shard, "dp", 1, CH_FSDP_GATHER, "fsdp:gather"),
    ]);
  }

  /** A unit's gradients: reduce-scattered within the shard group, then (HSDP) the shard all-reduced across replicas. */
  fsdpGrads(params: number): number {
    const f = this.fsdp;
    const bytes = params * gradElementBytes(this.p.gradReduceDtype);
    return this.dpList(`grads:${params}`, () => [
      ...this.collective("reduce-scatter", bytes, f.shard, "dp", 1, CH_FSDP_SHARD, "fsdp:grads"),
      ...this.collective("all-reduce", bytes / f.shard.size, f.replica, "dp", 1, CH_FSDP_REPLICA, "fsdp:grads-replicas"),
      ...(this.offload.optimizer ? this.hostCopy(PCIE_D2H, bytes / f.shard.size, "offload:grads") : []),
    ]);
  }
}

interface FsdpUnit {
  /** Parameters of the unit held by one rank before sharding. */
  params: number;
  forward: Op[];
  backward: Op[];
}

interface FsdpGroups {
  weightBytes: number;
  /** Gradient sync skipped on all micro-batches but the last (fsdpGradSync last-micro-batch). */
  noSync: boolean;
  shard: GroupLayout;
  replica: GroupLayout;
}

/** As rankLayout lays groups out: `size` members `stride` ranks apart. */
function groupOf(size: number, stride: number, gpusPerNode: number): GroupLayout {
  if (size <= 1) return { size: 1, perNode: 1 };
  return { size, perNode: stride >= gpusPerNode ? 1 : Math.max(1, Math.min(size, Math.floor(gpusPerNode / stride))) };
}

export function compileStep(s: Scenario, slowdownIn?: GroupSlowdowns): StepProgram {
  const p = s.parallelism;
  const gpu = s.cluster.gpu;
  const precision = s.workload.precision;
  const layout = rankLayout(p, s.cluster);
  const slowdown = slowdownIn ?? groupSlowdowns(s);
  const model = s.workload.model;
  const split = layersPerVirtualStage(model.layers, p);
  if (typeof split === "string") throw new Error(split);
  const shape = layerShape(s);
  const micro = microBatchesPerStep(s);
  const V = p.pp * p.virtualStages;
  const gradBytes = gradElementBytes(p.gradReduceDtype);
  const weightBytes = elementBytes(precision);
  // Parameters of one transformer layer held by one rank (tensor- and expert-sharded); a MoE
  // model's dense first layers (on the first virtual stages) have their own.
  const main = paramsPerRankOf(model, p);
  const denseParamsPerRank = paramsPerRankOf(denseLayerShape(shape).model, p).dense;
  const dpShard = p.dp * p.cp;
  const dpGroup = layout.dpShard;
  const memory = memoryByStage(s);
  // ZeRO-3 / FSDP: parameters sharded over shardGroup·cp ranks (members tp apart, as the
  // data-parallel group), replicated across the dp / shardGroup groups (HSDP).
  const zero3 = p.zero >= 3;
  const fs = fsdpSettings(p);
  const fsdp: FsdpGroups = {
    weightBytes,
    noSync: p.fsdpGradSync === "last-micro-batch" && micro > 1,
    shard: groupOf(fs.shardGroup * p.cp, p.tp, scaleUpSpan(s.cluster)),
    replica: groupOf(p.dp / fs.shardGroup, p.tp * p.cp * fs.shardGroup, scaleUpSpan(s.cluster)),
  };
  const off = offloadSettings(s);
  const c = new Compiler(s, p, layout, slowdown, dpShard, dpGroup, fsdp, off);
  // Activation offload: bytes of saved activations per layer of virtual stage v that go to the
  // host in forward and come back in backward, overlapping the layers' compute (offload.ts).
  const offloadedPerLayer = (v: number): number => off.activationBytesPerLayer(split, v);

  const kinds = layerKinds(model, shape, p.recompute, { main, dense: denseParamsPerRank }, gradBytes);
  // Layer l of virtual stage v is model layer starts[v] + l.
  const starts = split.map((_, v) => split.slice(0, v).reduce((a, b) => a + b, 0));
  const layerOps = (kind: "fwd" | "bwd" | "rec", start: number, n: number, label: string, backward = false): Op[] => {
    const runs = kinds.counts(start, n);
    return (backward ? runs.reverse() : runs).flatMap(([k, count]) => c.list(k[kind], count, label));
  };
  const expertGradBytes = main.expert * gradBytes;
  const expertTp = p.expertTp ?? p.tp;
  c.expertDp = groupOf((p.tp * p.dp * p.cp) / (p.ep * expertTp), p.ep * expertTp, scaleUpSpan(s.cluster));
  // Multi-token prediction on the last virtual stage: per depth its input kernels, one (global, main-kind) block and the output head.
  const mtp = mtpDepths(model);
  const mtpGradBytes = (main.dense + mtpProjectionParams(model).sharded / p.tp + mtpProjectionParams(model).norms) * gradBytes + expertGradBytes;
  const mtpForward = (): Op[] => Array.from({ length: mtp }, () => [...c.list(mtpInputKernels(shape, "forward"), 1, "mtp"), ...c.list(kinds.main.fwd, 1, "forward"), ...c.list(headKernels(shape, "forward"), 1, "head")]).flat();
  const mtpBackward = (grads: boolean): Op[] =>
    Array.from({ length: mtp }, () => [...c.list(headKernels(shape, "backward"), 1, "head.bwd"), ...c.list(kinds.main.rec, 1, "backward:recompute"), ...c.list(kinds.main.bwd, 1, "backward"), ...c.list(mtpInputKernels(shape, "backward"), 1, "mtp.bwd"), ...(grads ? c.grads(mtpGradBytes, expertGradBytes) : [])]).flat();
  const embedGradBytes = (embeddingParams(model) / p.tp) * gradBytes;
  const headGradBytes = (headParams(model) / p.tp) * gradBytes;

  const forwardPlan = new Int32Array(V);
  const backwardPlan = new Int32Array(V);
  const lastBackwardPlan = new Int32Array(V);
  let tokens = 1;
  if (zero3 && p.fsdpModuleUnits === true) {
    // DeepSpeed's submodule fetching (zero3-fetch.ts): one stage, so one forward and one backward plan.
    const passes = compileModulePasses(s, shape, kinds, offloadedPerLayer(0), c);
    [forwardPlan[0], backwardPlan[0], lastBackwardPlan[0], tokens] = [c.plan(passes.forward), c.plan(passes.backward), c.plans.length - 1, passes.tokens];
  }
  for (let v = 0; v < V && zero3 && p.fsdpModuleUnits !== true; v++) {
    // FSDP units in forward order: the embedding, blocks of fsdpUnitLayers, the output layer
    // (with a tied embedding on another stage, its copy of the table); gathered and reduced
    // every micro-batch, as FSDP2 and DeepSpeed ZeRO-3 do by default (noSync: reduced in the last only).
    const L = split[v] as number;
    const units: FsdpUnit[] = [];
    if (v === 0) units.push({ params: embeddingParams(model) / p.tp, forward: c.list(embeddingKernels(shape, "forward"), 1, "embedding"), backward: c.list(embeddingKernels(shape, "backward"), 1, "embedding.bwd") });
    for (let left = L; left > 0; left -= fs.unitLayers) {
      const k = Math.min(fs.unitLayers, left);
      const act = k * offloadedPerLayer(v);
      const at = (starts[v] as number) + L - left;
      units.push({
        params: kinds.counts(at, k).reduce((sum, [kind, count]) => sum + count * kind.paramsPerRank, 0),
        forward: c.withActivationCopy(layerOps("fwd", at, k, "forward"), PCIE_D2H, act),
        backward: [...layerOps("rec", at, k, "backward:recompute", true), ...c.withActivationCopy(layerOps("bwd", at, k, "backward", true), PCIE_H2D, act)],
      });
    }
    if (v === V - 1 && mtp > 0) units.push({ params: (mtp * mtpGradBytes) / gradBytes, forward: mtpForward(), backward: mtpBackward(false) });
    if (v === V - 1) {
      const tiedCopy = lastStageEmbeddingCopy(model, p.pp) ? (model.vocab * model.hidden) / p.tp : 0;
      units.push({ params: headParams(model) / p.tp + tiedCopy, forward: c.list(headKernels(shape, "forward"), 1, "head"), backward: c.list(headKernels(shape, "backward"), 1, "head.bwd") });
    }
    tokens = Math.max(tokens, units.length);
    forwardPlan[v] = c.plan(c.fsdpPass(units, false, true, fs.prefetch));
    lastBackwardPlan[v] = c.plan(c.fsdpPass(units.slice().reverse(), true, fs.reshardAfterForward, fs.prefetch));
    backwardPlan[v] = fsdp.noSync ? c.plan(c.fsdpPass(units.slice().reverse(), true, fs.reshardAfterForward, fs.prefetch, false)) : (lastBackwardPlan[v] as number);
  }
  for (let v = 0; v < V && !zero3; v++) {
    const L = split[v] as number;
    const first = v === 0;
    const last = v === V - 1;
    const f: Op[] = [];
    if (first) f.push(...c.list(embeddingKernels(shape, "forward"), 1, "embedding"));
    const at = starts[v] as number;
    f.push(...c.withActivationCopy(layerOps("fwd", at, L, "forward"), PCIE_D2H, L * offloadedPerLayer(v)));
    if (last) f.push(...c.list(headKernels(shape, "forward"), 1, "head"), ...mtpForward());
    forwardPlan[v] = c.plan(f);

    const b: Op[] = [];
    if (last) b.push(...mtpBackward(false), ...c.list(headKernels(shape, "backward"), 1, "head.bwd"));
    b.push(...layerOps("rec", at, L, "backward:recompute", true), ...c.withActivationCopy(layerOps("bwd", at, L, "backward", true), PCIE_H2D, L * offloadedPerLayer(v)));
    if (first) b.push(...c.list(embeddingKernels(shape, "backward"), 1, "embedding.bwd"));
    backwardPlan[v] = c.plan(b);

    // The chunk's last backward hands gradients over layer by layer, so the
    // data-parallel reduction overlaps the rest of it (bucketed DDP).
    const lb: Op[] = [];
    if (last) lb.push(...mtpBackward(true), ...c.list(headKernels(shape, "backward"), 1, "head.bwd"), ...c.grads(headGradBytes));
    for (let l = L - 1; l >= 0; l--) {
      const k = kinds.of(at + l);
      lb.push(...c.list(k.rec, 1, "backward:recompute"), ...c.withActivationCopy(c.list(k.bwd, 1, "backward"), PCIE_H2D, offloadedPerLayer(v)), ...c.grads(k.gradBytes, k.expertGradBytes));
    }
    if (first) lb.push(...c.list(embeddingKernels(shape, "backward"), 1, "embedding.bwd"), ...c.grads(embedGradBytes));
    lastBackwardPlan[v] = c.plan(lb);
  }

  // A chunk's first forward is its forward, unless the overlapped parameter gather below makes it wait for buckets.
  const firstForwardPlan = Int32Array.from(forwardPlan);
  // Overlapped ZeRO parameter gather (param-gather.ts): chunk v's pieces in forward order (the
  // embedding, each layer, the output layer with MTP and a tied copy), and the forward of a range of them.
  const gatherPieces = (v: number): GatherPiece[] => [
    ...(v === 0 ? [{ params: embeddingParams(model) / p.tp, expertParams: 0 }] : []),
    ...Array.from({ length: split[v] as number }, (_, l) => ({ params: kinds.of((starts[v] as number) + l).paramsPerRank, expertParams: kinds.of((starts[v] as number) + l).expertGradBytes / gradBytes })),
    ...(v === V - 1 ? [{ params: headParams(model) / p.tp + (lastStageEmbeddingCopy(model, p.pp) ? (model.vocab * model.hidden) / p.tp : 0) + (mtp * mtpGradBytes) / gradBytes, expertParams: (mtp * expertGradBytes) / gradBytes }] : []),
  ];
  const forwardPieces = (v: number, from: number, to: number): Op[] => {
    const e = v === 0 ? 1 : 0;
    const L = split[v] as number;
    const a = Math.max(0, from - e);
    const n = Math.min(L, to - e) - a;
    return [
      ...(e === 1 && from === 0 ? c.list(embeddingKernels(shape, "forward"), 1, "embedding") : []),
      ...(n > 0 ? c.withActivationCopy(layerOps("fwd", (starts[v] as number) + a, n, "forward"), PCIE_D2H, n * offloadedPerLayer(v)) : []),
      ...(v === V - 1 && to === e + L + 1 ? [...c.list(headKernels(shape, "forward"), 1, "head"), ...mtpForward()] : []),
    ];
  };

  // After the last pass: gradients not reduced on the fly (per stage), then tied
  // embeddings, the optimizer and ZeRO's parameter all-gather.
  const finalGradList = new Int32Array(p.pp).fill(-1);
  const afterPlan = new Int32Array(p.pp);
  const startList = new Int32Array(p.pp).fill(-1);
  for (let st = 0; st < p.pp; st++) {
    if (!p.overlapGradReduce && !zero3) {
      let bytes = 0;
      let expertBytes = 0;
      for (let v = 0; v < V; v++) {
        if (rankOfVirtualStage(v, p.pp) !== st) continue;
        for (const [k, count] of kinds.counts(starts[v] as number, split[v] as number)) {
          bytes += count * k.gradBytes;
          expertBytes += count * k.expertGradBytes;
        }
      }
      if (st === 0) bytes += embedGradBytes;
      if (st === p.pp - 1) {
        bytes += headGradBytes + mtp * mtpGradBytes;
        expertBytes += mtp * expertGradBytes;
      }
      finalGradList[st] = c.gradList(bytes, expertBytes);
    }
    const ops: Op[] = [];
    // Tied embeddings: the first and last stage all-reduce their copies' gradients.
    if (lastStageEmbeddingCopy(model, p.pp) && (st === 0 || st === p.pp - 1)) {
      const sameNode = layout.stageNode(0) === layout.stageNode(p.pp - 1);
      ops.push(...c.collective("all-reduce", ((model.vocab * model.hidden) / p.tp) * gradBytes, { size: 2, perNode: sameNode ? 2 : 1 }, "pp", 1, CH_PP, "embedding:tied-grads"));
    }
    const params = (memory[st] as MemoryBreakdown).params;
    const expertParams = (memory[st] as MemoryBreakdown).expertParams;
    const shardOver = zero3 ? fsdp.shard.size : p.zero >= 1 ? dpShard : 1;
    // Routed experts' state is sharded over the expert data-parallel group (shard·tp / (ep·expertTp)).
    const shardParams = expertParams === undefined ? params / shardOver : (params - expertParams) / shardOver + expertParams / Math.max(1, (shardOver * p.tp) / (p.ep * (p.expertTp ?? p.tp)));
    // Optimizer step (fused AdamW), bytes read + written per parameter of this rank's shard.
    const perParam = optimizerBytesPerParam(s);
    if (off.optimizer) {
      // ZeRO-Offload: CPU-Adam on the host, then the updated shard back in the compute dtype
      // (with offloadParams it stays on the host until the next step's gathers).
      const adam = new Op();
      adam.kind = DELAY;
      adam.label = "optimizer:cpu-adam";
      adam.power = "idle";
      adam.seconds = cpuAdamSeconds(shardParams, off.ranksPerHost);
      ops.push(adam);
      if (!off.params) ops.push(...c.hostCopy(PCIE_H2D, shardParams * weightBytes, "offload:params"));
    } else ops.push(...c.kernels([{ name: "optimizer", kind: "memory", flops: 12 * shardParams, bytes: shardParams * perParam, launches: 8 }], 1, "optimizer"));
    // ZeRO-3 gathers each unit at the next step's forward instead. Overlapped (Megatron's
    // --overlap-param-gather), the gather runs on the data-parallel stream beside the forward
    // passes, enqueued at the step's start, which stands for the next step's (steady state).
    // MoE: the routed experts' shards are gathered within the expert data-parallel group.
    const gatherParams = (channel: number, n: number, expert: number): Op[] => [
      ...c.collective("all-gather", (n - expert) * weightBytes, dpGroup, "dp", 1, channel, "dp:params"),
      ...(expert > 0 ? c.collective("all-gather", expert * weightBytes, c.expertDp, "dp", 1, channel, "dp:expert-params") : []),
    ];
    if (p.zero >= 1 && !zero3 && dpShard > 1 && p.overlapParamGather === true) {
      const g = stageGather(Array.from({ length: p.virtualStages }, (_, i) => gatherPieces(st + i * p.pp)), {
        gatherList: (n, expert) => c.dpList(`params:${n}:${expert}`, () => gatherParams(CH_FSDP_GATHER, n, expert)),
        forwardOps: (i, from, to) => forwardPieces(st + i * p.pp, from, to),
        empty: (list) => (c.dpLists[list] as Op[]).length === 0,
      });
      startList[st] = g.startList;
      tokens = Math.max(tokens, g.tokens);
      g.firstForward.forEach((ops, i) => (firstForwardPlan[st + i * p.pp] = c.plan(ops)));
    } else if (p.zero >= 1 && !zero3 && dpShard > 1) ops.push(...gatherParams(CH_DP_COMPUTE, params, expertParams ?? 0));
    afterPlan[st] = c.plan(ops);
  }

  const activationBytes = shape.elementBytes * layerDims(shape).tokens * model.hidden;
  const regather = p.tp > 1 && !shape.sequenceParallel;
  const sendOps = [false, true].map((sameNode) => ["p2p:activations", "p2p:gradients"].map((label) => sendOp(p, gpu, layout, slowdown, activationBytes, regather, sameNode, label)));

  const tables = Array.from({ length: p.pp }, (_, st) => scheduleTable(st, p.pp, p.virtualStages, micro));

  let dpCapacity = 1;
  for (let st = 0; st < p.pp; st++) {
    let n = ((finalGradList[st] as number) >= 0 ? 1 : 0) + ((startList[st] as number) >= 0 ? 1 : 0);
    for (let v = st; v < V; v += p.pp) for (const op of c.plans[lastBackwardPlan[v] as number] as Op[]) if (op.kind === ENQUEUE) n++;
    dpCapacity = Math.max(dpCapacity, n);
  }
  // FSDP: a unit waits for its gather, which drains the gathers enqueued before it; the
  // reductions can pile up behind a slow link (every unit's). The executor's ring grows if ever more.
  if (zero3) dpCapacity = 3 * fs.prefetch + 4 + (fs.reshardAfterForward ? 0 : tokens);

  const gradsCategory: Category = crossesNodes(dpGroup) ? "network" : "nvlink";
  return {
    p,
    gpu,
    precision,
    layout,
    micro,
    V,
    memory,
    plans: c.plans,
    forwardPlan,
    firstForwardPlan,
    backwardPlan,
    lastBackwardPlan,
    finalGradList,
    afterPlan,
    startList,
    dpLists: c.dpLists,
    dpCapacity,
    sendOps,
    overlapP2P: p.overlapP2P === true && p.virtualStages > 1,
    schedKind: tables.map((t) => t.kind),
    schedChunk: tables.map((t) => t.chunk),
    schedMb: tables.map((t) => t.microBatch),
    schedLastBackward: tables.map((t) => t.lastBackward),
    gradsCategory: CATEGORY_INDEX[zero3 ? (crossesNodes(fsdp.shard) ? "network" : "nvlink") : gradsCategory],
    tokens,
    dpShard,
    hostCopyBandwidth: off.copyBandwidth,
  };
}

