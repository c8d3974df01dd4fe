/**
 * Where ranks sit: Megatron-LM's default rank order (tensor fastest, then
 * context, data, pipeline) on scale-up domains (a node's board, an NVL72 rack, a
 * TPU pod: models/network/build.ts scaleUpSpan). What the step model needs from
 * it is, for each kind of group, how many members share a domain ("perNode":
 * their traffic stays on NVLink/xGMI/ICI), and whether two pipeline neighbours
 * share one.
 */
import type { ClusterSpec, ParallelPlan } from "../scenario.ts";
import type { GroupLayout } from "../collectives/alpha-beta.ts";
import { scaleUpSpan } from "../network/build.ts";

export interface RankLayout {
  tp: GroupLayout;
  cp: GroupLayout;
  dp: GroupLayout;
  /** Expert-parallel group: members expertTp apart (Megatron-Core's expert rank order, expert TP fastest, then EP). */
  ep: GroupLayout;
  /** Expert-tensor-parallel group (routed experts' shards): consecutive ranks. */
  etp: GroupLayout;
  /** Data- and context-parallel ranks together: the group ZeRO shards over and gradients are reduced in. */
  dpShard: GroupLayout;
  /**
   * Scale-up domain (node, NVL72 rack, TPU pod) of pipeline stage `stage` when all its ranks
   * share one; a stage that straddles domains gets an id of its own (−1 − stage), so a send to
   * or from it counts as crossing: the stage waits for its slowest pair (full mode sees each).
   */
  stageNode(stage: number): number;
}

function group(size: number, stride: number, gpusPerNode: number): GroupLayout {
  if (size <= 1) return { size: 1, perNode: 1 };
  const perNode = stride >= gpusPerNode ? 1 : Math.max(1, Math.min(size, Math.floor(gpusPerNode / stride)));
  return { size, perNode };
}

export function rankLayout(plan: ParallelPlan, cluster: ClusterSpec): RankLayout {
  const g = scaleUpSpan(cluster);
  const stageSpan = plan.tp * plan.cp * plan.dp;
  return {
    tp: group(plan.tp, 1, g),
    cp: group(plan.cp, plan.tp, g),
    dp: group(plan.dp, plan.tp * plan.cp, g),
    ep: group(plan.ep, plan.expertTp ?? plan.tp, g),
    etp: group(plan.expertTp ?? plan.tp, 1, g),
    dpShard: group(plan.dp * plan.cp, plan.tp, g),
    stageNode: (stage) => {
      const first = Math.floor((stage * stageSpan) / g);
      return Math.floor(((stage + 1) * stageSpan - 1) / g) === first || stageSpan >= g ? first : -1 - stage;
    },
  };
}
