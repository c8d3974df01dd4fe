/**
 * Mixture-of-experts traffic and its overlap (issue 27 floors): the dispatch and combine
 * all-to-alls per MoE layer and GPU, and the shared-expert overlap of parallelism.moeOverlap.
 */
import { describe, expect, it } from "vitest";
import { collectiveLoad } from "../../models/collectives/alpha-beta.ts";
import { deepepLoad, distinctNodes } from "../../models/collectives/deepep.ts";
import { rankLayout } from "../../models/parallel/layout.ts";
import type { ModelSpec, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape, memoryByStage, moeDispatchBytes, RUNTIME_BYTES } from "../../models/workload/memory.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { balancedRouting, scenario } from "../helpers/scenario.ts";

const MIXTRAL = BUILTIN_MODELS["mixtral-8x7b"] as ModelSpec;

/** Mixtral 8x7B on 8 nodes, ep 8 across the data-parallel ranks of a node, one 4096-token sequence per micro-batch. */
function mixtral(plan: Partial<Scenario["parallelism"]> = {}, model: ModelSpec = MIXTRAL): Scenario {
  const s = scenario({ nodes: 8, model, seqLength: 4096, globalBatch: 256, plan: { tp: 1, ep: 8, pp: 2, zero: 1, ...plan } });
  // The helper passes only the keys it knows; the MoE ones go on the plan directly. Routing exactly balanced.
  return balancedRouting({ ...s, parallelism: { ...s.parallelism, ...plan } });
}

describe("MoE all-to-all traffic", () => {
  it("per MoE layer and GPU: 2 × tokens × topK × hidden × bytes × (ep − 1)/ep, each direction", () => {
    const s = mixtral();
    const layout = rankLayout(s.parallelism, s.cluster);
    // Hand-computed: 4096 tokens, top-2, hidden 4096, BF16, ep 8: 2·4096·2·4096·2·7/8 bytes.
    const expected = (2 * 4096 * 2 * 4096 * 2 * 7) / 8;
    expect(expected).toBe(117440512);
    for (const list of [layerForwardKernels(layerShape(s)), layerBackwardKernels(layerShape(s))]) {
      const a2a = list.collectives.filter((c) => c.group === "ep");
      expect(a2a).toHaveLength(1);
      const c = a2a[0]!;
      expect(c.op).toBe("all-to-all");
      const load = collectiveLoad(c.op, c.bytes, layout.ep);
      expect(c.count * (load.nvlinkBytes + load.nicBytes)).toBe(expected);
    }
  });

  it("no all-to-all without expert parallelism, and a dense model's layer has none", () => {
    expect(layerForwardKernels(layerShape(mixtral({ ep: 1 }))).collectives.filter((c) => c.group === "ep")).toEqual([]);
    const dense = scenario({ nodes: 1, model: "llama3-8b", seqLength: 4096, globalBatch: 8 });
    expect(layerForwardKernels(layerShape(dense)).collectives.filter((c) => c.group === "ep")).toEqual([]);
  });

  it("dispatch buffers: the send and receive copies of one layer, T·topK·hidden each", () => {
    const s = mixtral();
    expect(moeDispatchBytes(layerShape(s))).toBe(2 * 2 * 4096 * 2 * 4096);
    const m = memoryByStage(s)[0]!;
    expect(m.buffers).toBe(RUNTIME_BYTES + 2 * 2 * 4096 * 2 * 4096);
  });
});

describe("shared experts and moeOverlap", () => {
  // Mixtral's shape with two shared experts of the routed experts' size.
  const shared: ModelSpec = { ...MIXTRAL, name: "mixtral-shared", sharedExperts: 2 };

  it("shared experts add one dense MLP of sharedExperts·expertFfn over every token", () => {
    const k = layerForwardKernels(layerShape(mixtral({}, shared))).kernels;
    const fc1 = k.find((x) => x.name === "shared.fc1")!;
    const fc2 = k.find((x) => x.name === "shared.fc2")!;
    expect(fc1.gemm).toEqual({ m: 4096, n: 2 * 2 * 14336, k: 4096, batch: 1 });
    expect(fc2.gemm).toEqual({ m: 4096, n: 4096, k: 2 * 14336, batch: 1 });
  });

  it("overlapping the all-to-alls with the shared experts never slows the step, and the step stays above the overlap-free compute", () => {
    // Slow NICs make the all-to-all matter.
    const base = mixtral({}, shared);
    const slowNet = { ...base, cluster: { ...base.cluster, network: { ...base.cluster.network, nicBandwidth: base.cluster.network.nicBandwidth / 4 } } };
    const off = simulateStep(slowNet).stepSeconds;
    const on = simulateStep({ ...slowNet, parallelism: { ...slowNet.parallelism, moeOverlap: "shared-experts" } }).stepSeconds;
    expect(on).toBeLessThan(off);
    // Never faster than the same step with unlimited NVLink and NIC bandwidth (all its compute, no transfer time).
    const free = { ...base, cluster: { ...base.cluster, gpu: { ...base.cluster.gpu, scaleUpBandwidth: 1e21 }, network: { ...base.cluster.network, nicBandwidth: 1e21 } } };
    const bound = simulateStep({ ...free, parallelism: { ...free.parallelism, moeOverlap: "shared-experts" } }).stepSeconds;
    expect(on).toBeGreaterThanOrEqual(bound);
    expect(bound).toBeLessThan(on);
  });

  it("attention overlap hides the all-to-alls behind the attention block: faster than exposed, never below the unlimited-bandwidth step", () => {
    const base = mixtral();
    const slow = { ...base, cluster: { ...base.cluster, network: { ...base.cluster.network, nicBandwidth: base.cluster.network.nicBandwidth / 4 } } };
    const off = simulateStep(slow).stepSeconds;
    const on = simulateStep({ ...slow, parallelism: { ...slow.parallelism, moeOverlap: "attention" } }).stepSeconds;
    expect(on).toBeLessThan(off);
    const free = { ...base, cluster: { ...base.cluster, gpu: { ...base.cluster.gpu, scaleUpBandwidth: 1e21 }, network: { ...base.cluster.network, nicBandwidth: 1e21 } } };
    expect(on).toBeGreaterThanOrEqual(simulateStep({ ...free, parallelism: { ...free.parallelism, moeOverlap: "attention" } }).stepSeconds);
    const list = layerForwardKernels(layerShape({ ...base, parallelism: { ...base.parallelism, moeOverlap: "attention" } }));
    expect(list.collectives.find((c) => c.group === "ep")!.overlap).toEqual({ kernels: ["qkv", "attention.flash", "proj"], splits: 0 });
  });

  it("moeOverlap without shared experts changes nothing", () => {
    const a = simulateStep(mixtral()).stepSeconds;
    const b = simulateStep(mixtral({ moeOverlap: "shared-experts" })).stepSeconds;
    expect(b).toBe(a);
  });
});

describe("DeepEP dispatch (parallelism.moeDispatch: deepep)", () => {
  it("within one node it moves what NCCL's all-to-all moves, all on NVLink", () => {
    const s = mixtral({ moeDispatch: "deepep" });
    const layout = rankLayout(s.parallelism, s.cluster);
    expect(layout.ep).toEqual({ size: 8, perNode: 8 });
    const c = layerForwardKernels(layerShape(s)).collectives.find((x) => x.group === "ep")!;
    expect(c.deepep).toEqual({ topK: 2 });
    const load = deepepLoad(c.bytes, c.deepep!, layout.ep);
    expect(load.nicBytes).toBe(0);
    expect(c.count * load.nvlinkBytes).toBe((2 * 4096 * 2 * 4096 * 2 * 7) / 8);
  });

  it("across 4 nodes a token crosses the network once per remote node it needs: 3·(1 − (3/4)^8) sends for top-8, against NCCL's 8·24/32", () => {
    const tokenBytes = 4096 * 7168 * 2;
    const group = { size: 32, perNode: 8 };
    const deepep = deepepLoad(tokenBytes, { topK: 8 }, group);
    expect(deepep.nicBytes).toBeCloseTo(tokenBytes * 3 * (1 - Math.pow(3 / 4, 8)), 3);
    expect(deepep.nvlinkBytes).toBeCloseTo((tokenBytes * 8 * 7) / 8, 3);
    const nccl = collectiveLoad("all-to-all", tokenBytes * 8, group);
    expect(nccl.nicBytes).toBeCloseTo(tokenBytes * 6, 3);
    expect(deepep.nicBytes).toBeLessThan(0.5 * nccl.nicBytes);
  });

  it("group-limited routing (DeepSeek-V3: 8 groups, 4 per token) on 8 nodes reaches 4 nodes, 3.5 of them remote", () => {
    expect(distinctNodes(8, { topK: 8, groups: { count: 8, perToken: 4 } })).toBeCloseTo(4, 12);
    expect(distinctNodes(8, { topK: 8 })).toBeCloseTo(8 * (1 - Math.pow(7 / 8, 8)), 12);
    // 16 groups on 8 nodes (2 per node), 4 per token: 8·(1 − C(14,4)/C(16,4)) = 8·(1 − 1001/1820).
    expect(distinctNodes(8, { topK: 8, groups: { count: 16, perToken: 4 } })).toBeCloseTo(8 * (1 - 1001 / 1820), 12);
    const load = deepepLoad(1, { topK: 8, groups: { count: 8, perToken: 4 } }, { size: 64, perNode: 8 });
    expect(load.nicBytes).toBeCloseTo(3.5, 12);
  });

  it("on a multi-node EP group the step with DeepEP is faster than with NCCL all-to-all", () => {
    const base = scenario({ nodes: 32, model: "deepseek-v3", seqLength: 4096, globalBatch: 1024, plan: { tp: 1, pp: 8, ep: 32, zero: 1, recompute: "full", firstStageLayers: 5 } });
    const nccl = simulateStep(base).stepSeconds;
    const deepep = simulateStep({ ...base, parallelism: { ...base.parallelism, moeDispatch: "deepep" } }).stepSeconds;
    expect(deepep).toBeLessThan(nccl);
  });
});
