/** Loading the MoE keys: workload.model's expertFfn/sharedExperts/denseLayers/routerScoring, workload.moe, parallelism.moeOverlap. */
import { describe, expect, it } from "vitest";
import { problemsOf as problemsOfCall } from "../helpers/config-problems.ts";
import type { ConfigProblem } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";

function moe(model: Record<string, unknown> = {}, workload: Record<string, unknown> = {}, parallelism: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cluster: { gpu: "H100-SXM", nodes: 2 },
    workload: { model: { layers: 4, hidden: 1024, heads: 8, vocab: 1024, experts: 8, topK: 2, ffn: 4096, ...model }, seqLength: 1024, globalBatch: 16, ...workload },
    parallelism: { ep: 8, ...parallelism },
  };
}

function problemsOf(obj: unknown): ConfigProblem[] {
  return problemsOfCall(() => scenarioFromObject(obj, { baseDir: ".", name: "test" }));
}

describe("MoE keys", () => {
  it("an inline MoE model with its MLP-side keys, routing and overlap", () => {
    const s = scenarioFromObject(moe({ expertFfn: 512, sharedExperts: 1, denseLayers: 1, routerScoring: "sigmoid" }, { moe: { capacityFactor: 1.25, imbalance: { distribution: "lognormal", spread: 0.3 } } }, { moeOverlap: "shared-experts", moeDispatch: "deepep" }), { baseDir: ".", name: "t" });
    expect(s.workload.model).toMatchObject({ expertFfn: 512, sharedExperts: 1, denseLayers: 1, routerScoring: "sigmoid" });
    expect(s.workload.moe).toEqual({ capacityFactor: 1.25, imbalance: { distribution: "lognormal", spread: 0.3 } });
    expect(s.parallelism.moeOverlap).toBe("shared-experts");
    expect(s.parallelism.moeDispatch).toBe("deepep");
  });

  it("without workload.moe nothing is added (dropless, balanced)", () => {
    const s = scenarioFromObject(moe(), { baseDir: ".", name: "t" });
    expect(s.workload.moe).toBeUndefined();
    expect(s.parallelism.moeOverlap).toBeUndefined();
  });

  it("an override of a built-in takes the MoE keys", () => {
    const s = scenarioFromObject({ ...moe(), workload: { model: { base: "deepseek-v3", denseLayers: 1, layers: 8 }, seqLength: 1024, globalBatch: 16 }, parallelism: { ep: 8 } }, { baseDir: ".", name: "t" });
    expect(s.workload.model).toMatchObject({ denseLayers: 1, layers: 8, sharedExperts: 1, expertFfn: 2048 });
  });

  it("refuses, by field: denseLayers not below layers, a capacity factor of 0, an unknown distribution or scoring", () => {
    expect(problemsOf(moe({ denseLayers: 4 })).map((p) => p.path)).toEqual(["workload.model.denseLayers"]);
    expect(problemsOf(moe({ denseLayers: 4 }))[0]!.message).toBe("workload.model.denseLayers: 4 is not allowed; denseLayers must be below layers (4) so that some layers are mixture-of-experts");
    expect(problemsOf(moe({}, { moe: { capacityFactor: 0 } })).map((p) => p.path)).toEqual(["workload.moe.capacityFactor"]);
    expect(problemsOf(moe({}, { moe: { imbalance: { distribution: "pareto" } } })).map((p) => p.path)).toEqual(["workload.moe.imbalance.distribution"]);
    expect(problemsOf(moe({ routerScoring: "relu" })).map((p) => p.path)).toEqual(["workload.model.routerScoring"]);
    expect(problemsOf(moe({}, {}, { moeDispatch: "nccl" })).map((p) => p.path)).toEqual(["parallelism.moeDispatch"]);
    expect(problemsOf(moe({ expertGroups: 4 })).map((p) => p.message)).toEqual(["workload.model.expertGroups: 4 is not allowed alone; give expertGroups and expertGroupsPerToken together"]);
    expect(problemsOf(moe({ expertGroups: 3, expertGroupsPerToken: 1 })).map((p) => p.path)).toEqual(["workload.model.expertGroups"]);
    expect(problemsOf(moe({ expertGroups: 4, expertGroupsPerToken: 5 })).map((p) => p.path)).toEqual(["workload.model.expertGroupsPerToken"]);
  });
});
