/**
 * What one step's simulation needs to know before it starts, whether it folds
 * identical ranks (simulate.ts) or runs every one (simulate-full.ts): the plan,
 * the layout, topology slowdowns, layer shapes, per-stage layer split, the byte
 * widths of weights and gradients, and the memory per stage.
 */
import type { GroupLayout } from "../collectives/alpha-beta.ts";
import type { Accelerator, Precision } from "../hardware/types.ts";
import { groupSlowdowns, type GroupSlowdowns } from "../network/group-slowdown.ts";
import { rankLayout } from "../parallel/layout.ts";
import { microBatchesPerStep } from "../parallel/plan.ts";
import { layersPerVirtualStage } from "../parallel/stages.ts";
import type { ModelSpec, ParallelPlan, Scenario } from "../scenario.ts";
import { elementBytes, gradElementBytes, layerShape, memoryByStage, type MemoryBreakdown } from "../workload/memory.ts";
import { layerParams } from "../workload/params.ts";
import type { PlanContext } from "./pass-plan.ts";

export interface StepSetup {
  p: ParallelPlan;
  gpu: Accelerator;
  precision: Precision;
  slowdown: GroupSlowdowns;
  ctx: PlanContext;
  shape: ReturnType<typeof layerShape>;
  model: ModelSpec;
  micro: number;
  /** Virtual pipeline stages (pp × chunks), and the layers of each. */
  V: number;
  split: number[];
  gradBytes: number;
  weightBytes: number;
  /** Parameters of one transformer layer held by one rank (tensor- and expert-sharded). */
  layerParamsPerRank: number;
  /** Ranks that share a data-parallel gradient reduction (dp × cp), and their layout. */
  dpShard: number;
  dpGroup: GroupLayout;
  memory: MemoryBreakdown[];
}

export function stepSetup(s: Scenario, slowdown?: GroupSlowdowns): StepSetup {
  const p = s.parallelism;
  const gpu = s.cluster.gpu;
  const precision = s.workload.precision;
  const layout = rankLayout(p, s.cluster);
  const sd = slowdown ?? groupSlowdowns(s);
  const model = s.workload.model;
  const split = layersPerVirtualStage(model.layers, p);
  if (typeof split === "string") throw new Error(split);
  const lp = layerParams(model);
  return {
    p,
    gpu,
    precision,
    slowdown: sd,
    ctx: { gpu, precision, layout, slowdown: sd },
    shape: layerShape(s),
    model,
    micro: microBatchesPerStep(s),
    V: p.pp * p.virtualStages,
    split,
    gradBytes: gradElementBytes(p.gradReduceDtype),
    weightBytes: elementBytes(precision),
    layerParamsPerRank: (lp.attention + (lp.mlpPerExpert * model.experts) / p.ep) / p.tp + lp.router + lp.norms,
    dpShard: p.dp * p.cp,
    dpGroup: layout.dpShard,
    memory: memoryByStage(s),
  };
}
