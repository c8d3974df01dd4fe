/**
 * Routing load (workload.moe): balanced and capacity-limited routing, the seeded imbalance
 * draws, and the busiest EP rank gating the layer (issue 27 floors).
 */
import { describe, expect, it } from "vitest";
import { RandomStreams } from "../../sim/random.ts";
import type { ModelSpec, MoeRoutingSpec, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { expertLoads, layerLoad, routingLoad } from "../../models/workload/moe-routing.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { scenario } from "../helpers/scenario.ts";

const MIXTRAL = BUILTIN_MODELS["mixtral-8x7b"] as ModelSpec;

function mixtral(moe?: MoeRoutingSpec, seed = 1): Scenario {
  const s = scenario({ nodes: 8, model: MIXTRAL, seqLength: 4096, globalBatch: 256, plan: { tp: 1, ep: 8, pp: 2, zero: 1 } });
  return { ...s, seed, workload: { ...s.workload, ...(moe ? { moe } : {}) } };
}

const balanced = { distribution: "balanced" as const, spread: 0 };

describe("a uniform router", () => {
  it("with capacity factor 1.0 has imbalance factor 1 and keeps every token", () => {
    expect(routingLoad(8, 8, 32, { capacityFactor: 1, imbalance: balanced }, 1)).toEqual({ rankFactor: 1, keptShare: 1 });
    expect(routingLoad(256, 64, 58, { capacityFactor: 1, imbalance: balanced }, 7)).toEqual({ rankFactor: 1, keptShare: 1 });
  });

  it("with capacity factor 1.0 gives exactly the balanced (dropless, no workload.moe) layer, but for the router's capacity pass", () => {
    // The router's top-k over the tokens and its capacity mask (moe-router.ts) run only with a
    // capacity factor; every other kernel and collective of the layer is the balanced one's.
    const capacityPass = (k: { name: string }) => !k.name.startsWith("router.capacity");
    for (const list of [layerForwardKernels, layerBackwardKernels]) {
      const plain = list(layerShape(mixtral()));
      const cf1 = list(layerShape(mixtral({ capacityFactor: 1, imbalance: balanced })));
      expect(cf1.kernels.filter(capacityPass)).toEqual(plain.kernels);
      expect(cf1.collectives).toEqual(plain.collectives);
    }
    const plain = simulateStep(mixtral()).stepSeconds;
    const cf1 = simulateStep(mixtral({ capacityFactor: 1, imbalance: balanced })).stepSeconds;
    expect(cf1).toBeGreaterThan(plain);
    expect(cf1).toBeLessThan(plain * 1.002);
  });

  it("a capacity factor below 1 drops tokens: every expert keeps that share", () => {
    expect(routingLoad(8, 4, 4, { capacityFactor: 0.75, imbalance: balanced }, 1)).toEqual({ rankFactor: 0.75, keptShare: 0.75 });
  });
});

describe("load imbalance", () => {
  it("the busiest EP rank gates: its local experts' mean load (hand-computed)", () => {
    // 8 experts on 4 ranks (2 each), loads summing to 8: expert 0 takes 2.5 shares.
    const loads = Float64Array.from([2.5, 0.5, 1, 1, 1, 1, 0.5, 0.5]);
    expect(layerLoad(loads, 4)).toEqual({ rankFactor: 1.5, keptShare: 1 });
    // One expert per rank: the busiest expert itself gates.
    expect(layerLoad(loads, 8)).toEqual({ rankFactor: 2.5, keptShare: 1 });
    // Capacity 2: expert 0 keeps 2 (drops 0.5): rank 0 carries (2 + 0.5)/2 = 1.25; kept 7.5/8.
    expect(layerLoad(loads, 4, 2)).toEqual({ rankFactor: 1.25, keptShare: 7.5 / 8 });
  });

  it("the routed experts' GEMMs and the all-to-all scale by the busiest rank's load", () => {
    const base = layerForwardKernels(layerShape(mixtral()));
    const s = mixtral({ imbalance: { distribution: "lognormal", spread: 0.5 } });
    const x = layerShape(s);
    const f = x.moeLoad!.rankFactor;
    expect(f).toBeGreaterThan(1);
    const skew = layerForwardKernels(x);
    const fc1 = (l: typeof base) => l.kernels.find((k) => k.name === "expert.fc1")!.gemm!;
    // Balanced: 4096 tokens · top-2 · ep 8 / 8 experts per expert; the busiest rank f times that.
    expect(fc1(base).m).toBe(8192);
    expect(fc1(skew).m).toBeCloseTo(8192 * f, 9);
    const a2a = (l: typeof base) => l.collectives.find((c) => c.group === "ep")!.bytes;
    expect(a2a(skew)).toBeCloseTo(a2a(base) * f, 3);
  });

  it("an imbalanced step is slower than the balanced one", () => {
    const plain = simulateStep(mixtral()).stepSeconds;
    const skew = simulateStep(mixtral({ imbalance: { distribution: "zipf", spread: 1 } })).stepSeconds;
    expect(skew).toBeGreaterThan(plain);
  });

  it("draws are seeded: the same seed repeats, another seed differs, no draw without imbalance", () => {
    const spec: MoeRoutingSpec = { imbalance: { distribution: "lognormal", spread: 0.3 } };
    expect(routingLoad(64, 8, 10, spec, 3)).toEqual(routingLoad(64, 8, 10, spec, 3));
    expect(routingLoad(64, 8, 10, spec, 3).rankFactor).not.toBe(routingLoad(64, 8, 10, spec, 4).rankFactor);
    const loads = expertLoads(64, spec.imbalance, new RandomStreams(1).stream("moe-routing"));
    expect(loads.reduce((a, b) => a + b, 0)).toBeCloseTo(64, 9);
  });

  it("zipf: the popular expert's load is 1/H(E, s) of the tokens (hand-computed for 4 experts, s = 1)", () => {
    const loads = expertLoads(4, { distribution: "zipf", spread: 1 }, new RandomStreams(1).stream("moe-routing"));
    const h = 1 + 1 / 2 + 1 / 3 + 1 / 4;
    expect([...loads].sort((a, b) => b - a).map((v) => v / 4)).toEqual([1 / h, 1 / 2 / h, 1 / 3 / h, 1 / 4 / h].map((v) => expect.closeTo(v, 12)));
  });
});
