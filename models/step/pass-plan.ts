/**
 * What one pipeline rank does in one pass (a forward or backward of one
 * micro-batch through one model chunk): a sequence of items — kernel groups,
 * blocking collectives, latency delays, and hooks that hand gradients to the
 * data-parallel stream — with work expressed per resource role, so one plan
 * serves every rank and micro-batch.
 *
 * Identical kernels of the chunk's layers are merged: alone, a sequence of
 * kernels takes Σ max(F_i/C, B_i/H), which equals max(ΣF/C, ΣB/H) within a
 * group whose kernels share a bottleneck. So each pass runs one activity for its
 * compute-bound kernels and one for its memory-bound kernels (exact alone, and
 * contended as a whole), instead of thousands of tiny ones.
 */
import { kernelCost, type Kernel } from "../compute/kernel.ts";
import { collectiveLoad, linkWork, type GroupLayout } from "../collectives/alpha-beta.ts";
import type { Accelerator, Precision } from "../hardware/types.ts";
import type { RankLayout } from "../parallel/layout.ts";
import type { KernelList, StreamCollective } from "../workload/layer-kernels.ts";
import type { GroupKind, GroupSlowdowns } from "../network/group-slowdown.ts";
import type { Category } from "./categories.ts";
import type { PowerClass } from "../power/gpu-power.ts";

export type ResourceRole = "sm" | "hbm" | "nvTx" | "nvRx" | "nicTx" | "nicRx";

export interface WorkItem {
  kind: "work";
  label: string;
  /** What the GPU draws power for while this runs. */
  power: PowerClass;
  work: [ResourceRole, number][];
  /** Fairness size: HBM bytes for kernels (so kernels and NCCL share HBM per byte), link bytes for transfers. */
  size?: number;
}

export interface DelayItem {
  kind: "delay";
  label: string;
  power: PowerClass;
  seconds: number;
  category: Category;
}

/** Hand `bytes` of finished gradients to the data-parallel stream. */
export interface GradItem {
  kind: "grads";
  bytes: number;
}

export type Item = WorkItem | DelayItem | GradItem;

export interface PlanContext {
  gpu: Accelerator;
  precision: Precision;
  layout: RankLayout;
  /** Per group kind: how much slower the topology makes its transfers than a non-blocking fabric. */
  slowdown: GroupSlowdowns;
}

/** Kernels × `times` → at most one compute-bound activity, one memory-bound activity, one launch delay. */
export function kernelItems(kernels: Kernel[], times: number, ctx: PlanContext, label: string): Item[] {
  let smA = 0;
  let hbmA = 0;
  let smB = 0;
  let hbmB = 0;
  let launch = 0;
  for (const k of kernels) {
    const c = kernelCost(k, ctx.gpu, ctx.precision);
    if (c.bound === "sm") {
      smA += c.smWork;
      hbmA += c.hbmWork;
    } else {
      smB += c.smWork;
      hbmB += c.hbmWork;
    }
    launch += c.launchSeconds;
  }
  const out: Item[] = [];
  if (smA > 0) out.push({ kind: "work", label: `${label}:gemm`, power: "gemm", work: [["sm", smA * times], ["hbm", hbmA * times]], size: hbmA * times || smA * times });
  if (hbmB > 0) out.push({ kind: "work", label: `${label}:memory`, power: "memory", work: [["sm", smB * times], ["hbm", hbmB * times]], size: hbmB * times });
  if (launch > 0) out.push({ kind: "delay", label: `${label}:launch`, power: "memory", seconds: launch * times, category: "compute" });
  return out;
}

function groupOf(c: StreamCollective, layout: RankLayout): GroupLayout {
  return c.group === "tp" ? layout.tp : c.group === "ep" ? layout.ep : layout.cp;
}

/** A collective (or `times` of them) the stream blocks on: its link work, then its latency. */
export function collectiveItems(
  op: StreamCollective["op"] | "send",
  bytes: number,
  group: GroupLayout,
  kind: GroupKind,
  times: number,
  ctx: PlanContext,
  label: string,
): Item[] {
  const load = collectiveLoad(op, bytes, group);
  const out: Item[] = [];
  const work: [ResourceRole, number][] = [];
  const link = linkWork(load);
  const scale = times * ctx.slowdown[kind];
  if (link.nvlink > 0) work.push(["nvTx", link.nvlink * scale], ["nvRx", link.nvlink * scale]);
  if (link.nic > 0) work.push(["nicTx", link.nic * scale], ["nicRx", link.nic * scale]);
  if (work.length > 0) {
    work.push(["hbm", (load.hbmBytes * times) / ctx.gpu.efficiency.hbmPeakFraction]);
    out.push({ kind: "work", label, power: "comm", work, size: (load.nvlinkBytes + load.nicBytes) * times });
  }
  if (load.latencySeconds > 0) {
    const crossesNodes = Math.ceil(group.size / Math.max(1, group.perNode)) > 1;
    out.push({ kind: "delay", label: `${label}:latency`, power: "comm", seconds: load.latencySeconds * times, category: crossesNodes ? "network" : "nvlink" });
  }
  return out;
}

export function streamCollectiveItems(list: StreamCollective[], times: number, ctx: PlanContext, label: string): Item[] {
  const out: Item[] = [];
  for (const c of list) out.push(...collectiveItems(c.op, c.bytes, groupOf(c, ctx.layout), c.group, c.count * times, ctx, `${label}:${c.group}-${c.op}`));
  return out;
}

/** Kernels then collectives of a kernel list, repeated `times` (merged). */
export function kernelListItems(list: KernelList, times: number, ctx: PlanContext, label: string): Item[] {
  return [...kernelItems(list.kernels, times, ctx, label), ...streamCollectiveItems(list.collectives, times, ctx, label)];
}
