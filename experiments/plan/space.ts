/**
 * The planner's search space: every parallel layout of a scenario's model on its cluster
 * along the dimensions `trainsim plan` searches (docs/plan.md), in a fixed order, before
 * any check. Pure: numbers in, layouts out.
 */
import type { RecomputeMode } from "../../models/scenario.ts";

/** One parallel layout: the `parallelism:` keys the planner chooses. */
export interface Layout {
  tp: number;
  pp: number;
  dp: number;
  cp: number;
  ep: number;
  /** Absent: the routed experts use tp (the loader's default). */
  expertTp?: number;
  microBatch: number;
  virtualStages: number;
  /** Present for an uneven split: one layer fewer on the first and the last virtual stage. */
  firstStageLayers?: number;
  lastStageLayers?: number;
  zero: 0 | 1 | 2 | 3;
  /** ZeRO 3 only, present when smaller than dp: the FSDP shard group (HSDP, replicated across dp/shardGroup). */
  shardGroup?: number;
  recompute: RecomputeMode;
  /** Present only when the memory model refuses the layout without it: the share of each stage's layers whose saved activations go to host memory. */
  offloadActivations?: number;
}

/** The dimensions searched, in the order the layout key lists them. */
export const DIMENSIONS = ["tp", "pp", "virtualStages", "cp", "ep", "expertTp", "microBatch", "zero", "shardGroup", "recompute", "split", "offloadActivations"] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** What the space is built from: the scenario's cluster and workload. */
export interface SpaceInput {
  gpus: number;
  gpusPerNode: number;
  layers: number;
  experts: number;
  seqLength: number;
  globalBatch: number;
}

/** Narrowing from the command line (--tp, --max-pp, --fix); absent = the default list. */
export interface SpaceLimits {
  tp?: readonly number[];
  pp?: readonly number[];
  maxPp?: number;
  cp?: readonly number[];
  ep?: readonly number[];
  expertTp?: readonly number[];
  microBatch?: readonly number[];
  virtualStages?: readonly number[];
  zero?: readonly (0 | 1 | 2 | 3)[];
  /** ZeRO 3 shard groups (--fix parallelism.shardGroup=N): zero 3 layouts whose dp N does not divide are left out; N = dp is plain FSDP. */
  shardGroup?: readonly number[];
  recompute?: readonly RecomputeMode[];
  /** even: layers split evenly; uneven: one layer fewer on the first and last virtual stage. */
  split?: readonly ("even" | "uneven")[];
}

export const DEFAULT_MICRO_BATCHES = [1, 2, 4, 8] as const;
export const DEFAULT_ZERO = [0, 1, 2, 3] as const;
export const DEFAULT_RECOMPUTE: readonly RecomputeMode[] = ["none", "selective", "full"];
/** Activation offload shares tried, in order, on a layout the memory model refuses without offload. */
export const OFFLOAD_SHARES = [0.5, 1] as const;
/** HSDP shard groups searched by default, in GPUs per node: one node, two, four (plus dp itself, no HSDP). */
export const DEFAULT_SHARD_GROUP_NODES = [1, 2, 4] as const;
/** Interleaving beyond 8 chunks per rank only multiplies pipeline messages (Megatron-LM's examples stop at 4-8). */
export const MAX_DEFAULT_VIRTUAL_STAGES = 8;
/** Context parallelism by default only down to 4,096 tokens per rank: shorter chunks leave attention's key loop unfilled. */
export const MIN_DEFAULT_CP_TOKENS = 4096;

function powersOfTwoUpTo(n: number): number[] {
  const out: number[] = [];
  for (let v = 1; v <= n; v *= 2) out.push(v);
  return out;
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/** The uneven split's layers on the first and the last virtual stage, or undefined when none fits. */
export function unevenEndLayers(layers: number, stages: number): number | undefined {
  if (stages < 3) return undefined;
  // k on each end and k+1 on the other V−2: 2k + (V−2)(k+1) = L.
  const k = (layers - stages + 2) / stages;
  return Number.isInteger(k) && k >= 1 ? k : undefined;
}

/** The ZeRO 3 shard groups of a layout with this dp: undefined (all dp ranks) first, then the HSDP groups smaller than dp that divide it. */
export function shardGroupsFor(dp: number, gpusPerNode: number, fixed?: readonly number[]): (number | undefined)[] {
  const wanted = fixed ?? DEFAULT_SHARD_GROUP_NODES.map((n) => n * gpusPerNode);
  const groups = wanted.filter((g) => g < dp && dp % g === 0);
  const out: (number | undefined)[] = fixed === undefined || fixed.includes(dp) ? [undefined] : [];
  return out.concat([...new Set(groups)].sort((a, b) => a - b));
}

/**
 * Every layout in the space, in a fixed nested order (tp, cp, pp, virtual stages, split, ep,
 * expertTp, micro-batch, ZeRO, its shard group, recompute): dp is derived, tp·pp·cp divides the GPUs and
 * pp·virtualStages fits the layers; the rest (heads, batch, memory) is checked by the caller.
 */
export function enumerateLayouts(input: SpaceInput, limits: SpaceLimits = {}): Layout[] {
  const { gpus, layers } = input;
  const tps = limits.tp ?? powersOfTwoUpTo(input.gpusPerNode);
  const cps = limits.cp ?? powersOfTwoUpTo(Math.max(1, Math.floor(input.seqLength / MIN_DEFAULT_CP_TOKENS)));
  const microBatches = limits.microBatch ?? DEFAULT_MICRO_BATCHES;
  const zeros = limits.zero ?? DEFAULT_ZERO;
  const recomputes = limits.recompute ?? DEFAULT_RECOMPUTE;
  const splits = limits.split ?? ["even", "uneven"];
  const out: Layout[] = [];
  for (const tp of tps) {
    for (const cp of cps) {
      if (gpus % (tp * cp) !== 0) continue;
      const rest = gpus / (tp * cp);
      const pps = (limits.pp ?? divisors(rest)).filter((pp) => rest % pp === 0 && pp <= layers && pp <= (limits.maxPp ?? Infinity));
      for (const pp of pps) {
        const dp = rest / pp;
        const vss = limits.virtualStages ?? (pp === 1 ? [1] : divisors(MAX_DEFAULT_VIRTUAL_STAGES).concat([3, 6]).sort((a, b) => a - b));
        for (const virtualStages of vss) {
          const stages = pp * virtualStages;
          if (stages > layers) continue;
          for (const split of splits) {
            let ends: number | undefined;
            if (split === "even") {
              if (layers % stages !== 0) continue;
            } else {
              ends = unevenEndLayers(layers, stages);
              if (ends === undefined) continue;
            }
            const eps = input.experts > 1 ? (limits.ep ?? powersOfTwoUpTo(input.experts)).filter((ep) => input.experts % ep === 0) : [1];
            for (const ep of eps) {
              const etps: readonly (number | undefined)[] = input.experts > 1 && tp > 1 ? (limits.expertTp ?? [undefined, 1]) : [undefined];
              for (const expertTp of etps) {
                for (const microBatch of microBatches) {
                  for (const zero of zeros) {
                    for (const shardGroup of zero === 3 ? shardGroupsFor(dp, input.gpusPerNode, limits.shardGroup) : [undefined]) {
                    for (const recompute of recomputes) {
                      out.push({
                        tp,
                        pp,
                        dp,
                        cp,
                        ep,
                        ...(expertTp !== undefined && expertTp !== tp ? { expertTp } : {}),
                        microBatch,
                        virtualStages,
                        ...(ends !== undefined ? { firstStageLayers: ends, lastStageLayers: ends } : {}),
                        zero,
                        ...(shardGroup !== undefined ? { shardGroup } : {}),
                        recompute,
                      });
                    }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/** A short, unique, stable name of a layout ("tp8 pp16 v2 dp128 mb1 z2 none uneven3"), also its tie-breaker. */
export function layoutKey(l: Layout): string {
  const parts = [`tp${l.tp}`, `pp${l.pp}`, `v${l.virtualStages}`, `dp${l.dp}`];
  if (l.cp > 1) parts.push(`cp${l.cp}`);
  if (l.ep > 1) parts.push(`ep${l.ep}`);
  if (l.expertTp !== undefined) parts.push(`etp${l.expertTp}`);
  parts.push(`mb${l.microBatch}`, `z${l.zero}`);
  if (l.shardGroup !== undefined) parts.push(`sg${l.shardGroup}`);
  parts.push(l.recompute);
  if (l.offloadActivations !== undefined) parts.push(`off${l.offloadActivations}`);
  if (l.firstStageLayers !== undefined) parts.push(`ends${l.firstStageLayers}`);
  return parts.join(" ");
}

/** The `parallelism:` keys of a layout, as a scenario states them. */
export function layoutParallelism(l: Layout): Record<string, unknown> {
  return {
    tp: l.tp,
    pp: l.pp,
    dp: l.dp,
    cp: l.cp,
    ep: l.ep,
    ...(l.expertTp !== undefined ? { expertTp: l.expertTp } : {}),
    microBatch: l.microBatch,
    virtualStages: l.virtualStages,
    ...(l.firstStageLayers !== undefined ? { firstStageLayers: l.firstStageLayers, lastStageLayers: l.lastStageLayers } : {}),
    zero: l.zero,
    ...(l.shardGroup !== undefined ? { shardGroup: l.shardGroup } : {}),
    recompute: l.recompute,
    ...(l.offloadActivations !== undefined ? { offloadActivations: l.offloadActivations } : {}),
    sequenceParallel: l.tp > 1,
  };
}

/** Same parallel layout (the keys the planner chooses)? */
export function sameLayout(a: Layout, b: Layout): boolean {
  return layoutKey(a) === layoutKey(b);
}
