/**
 * Expert tensor parallelism (parallelism.expertTp, Megatron-Core --expert-tensor-parallel-size):
 * the routed experts' shards, the expert-TP gather of the dispatched copies, the EP group's
 * layout and the expert state per rank, hand-computed on Mixtral 8x7B at tp 2.
 */
import { describe, expect, it } from "vitest";
import { rankLayout } from "../../models/parallel/layout.ts";
import { checkPlan } from "../../models/parallel/plan.ts";
import type { ModelSpec, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { compileStep, NIC_TX, type Op } from "../../models/step/program.ts";
import { collectiveLoad, linkWork } from "../../models/collectives/alpha-beta.ts";
import { groupSlowdowns } from "../../models/network/group-slowdown.ts";
import { layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { layerParams, layerParamsPerRank } from "../../models/workload/params.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { balancedRouting, scenario } from "../helpers/scenario.ts";

const MIXTRAL = BUILTIN_MODELS["mixtral-8x7b"] as ModelSpec;

/** Mixtral 8x7B on 8 nodes: tp 2 with sequence parallelism, ep 8, one 4096-token sequence per micro-batch. */
function mixtral(expertTp?: number): Scenario {
  const s = scenario({ nodes: 8, model: MIXTRAL, seqLength: 4096, globalBatch: 256, plan: { tp: 2, ep: 8, pp: 2, zero: 1 } });
  return balancedRouting({ ...s, parallelism: { ...s.parallelism, ...(expertTp !== undefined ? { expertTp } : {}) } });
}

const fc1 = (s: Scenario) => layerForwardKernels(layerShape(s)).kernels.find((k) => k.name === "expert.fc1")!.gemm!;
const collectives = (s: Scenario, group: string) => layerForwardKernels(layerShape(s)).collectives.filter((c) => c.group === group);

describe("expert tensor parallelism", () => {
  it("default (expertTp = tp 2): each rank dispatches its 2048 sequence-parallel tokens, the expert-TP pair gathers them: 8192 rows of 14336 columns", () => {
    // 2048 tokens · top-2 = 4096 copies sent; 4096 · 2 gathered = 8192 on the rank's one local expert.
    expect(fc1(mixtral())).toEqual({ m: 8192, n: 2 * 7168, k: 4096, batch: 1, grouped: true });
    expect(collectives(mixtral(), "ep").map((c) => c.bytes)).toEqual([2 * 4096 * 4096]);
    expect(collectives(mixtral(), "etp").map((c) => [c.op, c.bytes])).toEqual([
      ["all-gather", 2 * 8192 * 4096],
      ["reduce-scatter", 2 * 8192 * 4096],
    ]);
  });

  it("expertTp 1: whole experts, no expert-TP gather, the same FLOPs per rank", () => {
    const s = mixtral(1);
    expect(checkPlan(s)).toEqual([]);
    expect(fc1(s)).toEqual({ m: 4096, n: 2 * 14336, k: 4096, batch: 1, grouped: true });
    expect(collectives(s, "etp")).toEqual([]);
    expect(collectives(s, "ep").map((c) => c.bytes)).toEqual([2 * 4096 * 4096]);
    const flops = (g: { m: number; n: number; k: number }) => 2 * g.m * g.n * g.k;
    expect(flops(fc1(s))).toBe(flops(fc1(mixtral())));
  });

  it("the EP group's members sit expertTp ranks apart: 4 per node at expertTp 2, 8 at expertTp 1", () => {
    expect(rankLayout(mixtral().parallelism, mixtral().cluster).ep).toEqual({ size: 8, perNode: 4 });
    expect(rankLayout(mixtral(1).parallelism, mixtral(1).cluster).ep).toEqual({ size: 8, perNode: 8 });
    expect(rankLayout(mixtral(1).parallelism, mixtral(1).cluster).etp).toEqual({ size: 1, perNode: 1 });
  });

  it("expert parameters per rank: 8 experts / (ep 8 · expertTp); ZeRO-1 shards their state over tp·dp/(ep·expertTp) ranks", () => {
    const lp = layerParams(MIXTRAL);
    expect(layerParamsPerRank(MIXTRAL, mixtral().parallelism).expert).toBe((8 * lp.mlpPerExpert) / 16);
    expect(layerParamsPerRank(MIXTRAL, mixtral(1).parallelism).expert).toBe((8 * lp.mlpPerExpert) / 8);
    // dp 16: expertTp 2 → 2·16/(8·2) = 2 ranks share an expert shard's state; expertTp 1 → 4.
    for (const [etp, edp] of [[2, 2], [1, 4]] as const) {
      const s = etp === 2 ? mixtral() : mixtral(1);
      const row = memoryByStage(s)[0]!;
      const expert = row.expertParams!;
      expect(row.optimizer).toBeCloseTo(((row.params - expert) * 12) / 16 + (expert * 12) / edp, 0);
    }
  });

  it("refuses an expertTp the stage cannot tile or the expert size cannot split", () => {
    const bad = { ...mixtral(), parallelism: { ...mixtral().parallelism, expertTp: 3 } };
    expect(checkPlan(bad).map((p) => p.path)).toEqual(["parallelism.expertTp"]);
    const dense = scenario({ nodes: 1, model: "llama3-8b", seqLength: 4096, globalBatch: 8, plan: { tp: 2 } });
    expect(checkPlan({ ...dense, parallelism: { ...dense.parallelism, expertTp: 2 } }).map((p) => p.path)).toEqual(["parallelism.expertTp"]);
  });

  it("both layouts simulate", () => {
    expect(simulateStep(mixtral()).stepSeconds).toBeGreaterThan(0);
    expect(simulateStep(mixtral(1)).stepSeconds).toBeGreaterThan(0);
  });
});

describe("routed experts' gradients on the expert data-parallel group", () => {
  const nic = (ops: Op[], label: string): number => {
    const op = ops.find((o) => o.label === label);
    if (op === undefined) return 0;
    return op.amounts[op.roles.indexOf(NIC_TX)] ?? 0;
  };
  const gradLists = (s: Scenario): Op[][] => compileStep(s).dpLists.filter((l) => l.some((o) => o.label === "dp:grads" || o.label === "dp:expert-grads"));

  it("tp 1, dp 32, ep 8: the experts' gradients are reduce-scattered over dp/ep = 4 ranks (8 apart, one per node), the rest over 32", () => {
    const s = scenario({ nodes: 8, model: MIXTRAL, seqLength: 4096, globalBatch: 256, plan: { tp: 1, ep: 8, pp: 2, zero: 1 } });
    const lp = layerParams(MIXTRAL);
    const expertBytes = 4 * ((8 * lp.mlpPerExpert) / 8);
    const list = gradLists(s).find((l) => l.some((o) => o.label === "dp:expert-grads"))!;
    // Scaled by the data-parallel group's fabric slowdown, as every data-parallel collective is.
    const expected = linkWork(collectiveLoad("reduce-scatter", expertBytes, { size: 4, perNode: 1 })).nic * groupSlowdowns(s).dp;
    expect(nic(list, "dp:expert-grads")).toBeCloseTo(expected, 0);
  });

  it("ep = dp (DeepSeek-V3 at ep 32 on dp 32): no expert gradient crosses the data-parallel group", () => {
    const s = scenario({ nodes: 32, model: "deepseek-v3", seqLength: 4096, globalBatch: 1024, plan: { tp: 1, pp: 8, ep: 32, zero: 1, recompute: "full", firstStageLayers: 5 } });
    for (const l of compileStep(s).dpLists) expect(l.some((o) => o.label === "dp:expert-grads")).toBe(false);
  });
});
