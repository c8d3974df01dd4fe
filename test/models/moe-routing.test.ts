/**
 * Routing load (workload.moe): balanced and capacity-limited routing, the seeded imbalance
 * draws, and the busiest EP rank gating the layer (issue 27 floors).
 */
import { describe, expect, it } from "vitest";
import { RandomStreams } from "../../sim/random.ts";
import type { ModelSpec, MoeRoutingSpec, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { runScenario } from "../../models/run.ts";
import { formatRun } from "../../experiments/format-run.ts";
import { layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { expertLoads, layerLoad, randomLoads, routingLoad, type RoutedTokens } from "../../models/workload/moe-routing.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { scenario } from "../helpers/scenario.ts";

const MIXTRAL = BUILTIN_MODELS["mixtral-8x7b"] as ModelSpec;

function mixtral(moe?: MoeRoutingSpec, seed = 1): Scenario {
  const s = scenario({ nodes: 8, model: MIXTRAL, seqLength: 4096, globalBatch: 256, plan: { tp: 1, ep: 8, pp: 2, zero: 1 } });
  return { ...s, seed, workload: { ...s.workload, ...(moe ? { moe } : {}) } };
}

const balanced = { distribution: "balanced" as const, spread: 0 };
/** Routed tokens for the expected-share distributions, which do not read them. */
const ROUTED: RoutedTokens = { topK: 2, tokensPerGroup: 16384 };

describe("a uniform router", () => {
  it("with capacity factor 1.0 has imbalance factor 1 and keeps every token", () => {
    expect(routingLoad(8, 8, 32, { capacityFactor: 1, imbalance: balanced }, 1, ROUTED)).toEqual({ rankFactor: 1, keptShare: 1 });
    expect(routingLoad(256, 64, 58, { capacityFactor: 1, imbalance: balanced }, 7, ROUTED)).toEqual({ rankFactor: 1, keptShare: 1 });
  });

  it("with capacity factor 1.0 gives exactly the balanced dropless layer, but for the router's capacity pass", () => {
    // The router's top-k over the tokens and its capacity mask (moe-router.ts) run only with a
    // capacity factor; every other kernel and collective of the layer is the balanced one's.
    const capacityPass = (k: { name: string }) => !k.name.startsWith("router.capacity");
    for (const list of [layerForwardKernels, layerBackwardKernels]) {
      const plain = list(layerShape(mixtral({ imbalance: balanced })));
      const cf1 = list(layerShape(mixtral({ capacityFactor: 1, imbalance: balanced })));
      expect(cf1.kernels.filter(capacityPass)).toEqual(plain.kernels);
      expect(cf1.collectives).toEqual(plain.collectives);
    }
    const plain = simulateStep(mixtral({ imbalance: balanced })).stepSeconds;
    const cf1 = simulateStep(mixtral({ capacityFactor: 1, imbalance: balanced })).stepSeconds;
    expect(cf1).toBeGreaterThan(plain);
    expect(cf1).toBeLessThan(plain * 1.002);
  });

  it("a capacity factor below 1 drops tokens: every expert keeps that share", () => {
    expect(routingLoad(8, 4, 4, { capacityFactor: 0.75, imbalance: balanced }, 1, ROUTED)).toEqual({ rankFactor: 0.75, keptShare: 0.75 });
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
    const base = layerForwardKernels(layerShape(mixtral({ imbalance: balanced })));
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
    const plain = simulateStep(mixtral({ imbalance: balanced })).stepSeconds;
    const skew = simulateStep(mixtral({ imbalance: { distribution: "zipf", spread: 1 } })).stepSeconds;
    expect(skew).toBeGreaterThan(plain);
  });

  it("draws are seeded: the same seed repeats, another seed differs, no draw without imbalance", () => {
    const spec: MoeRoutingSpec = { imbalance: { distribution: "lognormal", spread: 0.3 } };
    expect(routingLoad(64, 8, 10, spec, 3, ROUTED)).toEqual(routingLoad(64, 8, 10, spec, 3, ROUTED));
    expect(routingLoad(64, 8, 10, spec, 3, ROUTED).rankFactor).not.toBe(routingLoad(64, 8, 10, spec, 4, ROUTED).rankFactor);
    const loads = expertLoads(64, spec.imbalance, new RandomStreams(1).stream("moe-routing"));
    expect(loads.reduce((a, b) => a + b, 0)).toBeCloseTo(64, 9);
  });

  it("zipf: the popular expert's load is 1/H(E, s) of the tokens (hand-computed for 4 experts, s = 1)", () => {
    const loads = expertLoads(4, { distribution: "zipf", spread: 1 }, new RandomStreams(1).stream("moe-routing"));
    const h = 1 + 1 / 2 + 1 / 3 + 1 / 4;
    expect([...loads].sort((a, b) => b - a).map((v) => v / 4)).toEqual([1 / h, 1 / 2 / h, 1 / 3 / h, 1 / 4 / h].map((v) => expect.closeTo(v, 12)));
  });
});

describe("random routing (forced balance, and dropless without a stated imbalance)", () => {
  /** Exact uniform top-k routing: every token draws k distinct experts; counts per expert over the mean. */
  function exactDraw(experts: number, topK: number, tokens: number, rng: ReturnType<RandomStreams["stream"]>): Float64Array {
    const counts = new Float64Array(experts);
    const pick = Array.from({ length: experts }, (_, i) => i);
    for (let t = 0; t < tokens; t++) {
      for (let j = 0; j < topK; j++) {
        const r = j + rng.int(0, experts - j);
        [pick[j], pick[r]] = [pick[r] as number, pick[j] as number];
        counts[pick[j] as number]! += 1;
      }
    }
    const mean = (tokens * topK) / experts;
    return counts.map((c) => c / mean);
  }

  it("Mixtral 8x22B in the Model Zoo (8 experts top-2, EP 8, 16,384 tokens per group): the busiest rank 1.0206 (hand-computed)", () => {
    // s = √(E(E−k)/(T·k·(E−1))) = √(8·6/(16384·2·7)) = 0.014466; one expert per rank, so the busiest
    // rank is 1 + s·E[max of 8 N(0,1)] = 1 + 0.014466 · 1.42360 = 1.02059 (the centring z̄ has mean 0).
    const f = routingLoad(8, 8, 56, { imbalance: { distribution: "random", spread: 0 } }, 1, { topK: 2, tokensPerGroup: 16384 }).rankFactor;
    expect(Math.abs(f - 1.02059)).toBeLessThan(0.002); // 256 draws: the mean's sd is 0.014466 · 0.70 / 16 = 0.0006
  });

  it("Qwen3-235B (128 experts top-8, EP 8 of 16 each, 32,768 tokens): a rank's 16 experts average out to 1.0076", () => {
    // Rank deviation: variance s²(1/16 − 1/128) with s² = 128·120/(32768·8·127); as ep centred i.i.d.
    // normals of sd √(s²·7/128 / (7/8)) = 0.005371; busiest 1 + 1.42360 · 0.005371 = 1.00765.
    const f = routingLoad(128, 8, 94, undefined, 1, { topK: 8, tokensPerGroup: 32768 }).rankFactor;
    expect(Math.abs(f - 1.00765)).toBeLessThan(0.0008);
  });

  it("matches exact uniform top-k sampling: the busiest-rank factor and the per-expert variance", () => {
    const routed = { topK: 2, tokensPerGroup: 2048 };
    const exact = new RandomStreams(5).stream("exact");
    const approx = new RandomStreams(5).stream("moe-routing");
    let fExact = 0;
    let fApprox = 0;
    let varExact = 0;
    let varApprox = 0;
    const draws = 400;
    for (let d = 0; d < draws; d++) {
      const a = exactDraw(8, 2, 2048, exact);
      const b = randomLoads(8, routed, approx);
      fExact += layerLoad(a, 4).rankFactor / draws;
      fApprox += layerLoad(b, 4).rankFactor / draws;
      for (let i = 0; i < 8; i++) {
        varExact += ((a[i] as number) - 1) ** 2 / (8 * draws);
        varApprox += ((b[i] as number) - 1) ** 2 / (8 * draws);
      }
    }
    // Multinomial variance of an expert's load: (E−k)/(T·k) · (E/E)… = (1 − k/E)/(T·k/E) = 0.75/512.
    expect(varExact).toBeCloseTo(0.75 / 512, 4);
    expect(varApprox).toBeCloseTo(0.75 / 512, 4);
    expect(Math.abs(fApprox - fExact)).toBeLessThan(0.004);
    expect(fExact).toBeGreaterThan(1.01);
  });

  it("is the default of dropless routing, keeps every token, is seeded, and is 1 when one rank holds every expert", () => {
    const routed = { topK: 2, tokensPerGroup: 16384 };
    const dflt = routingLoad(8, 8, 32, undefined, 3, routed);
    expect(dflt).toEqual(routingLoad(8, 8, 32, { imbalance: { distribution: "random", spread: 0 } }, 3, routed));
    expect(dflt.keptShare).toBeCloseTo(1, 12);
    expect(dflt.rankFactor).toBeGreaterThan(1);
    expect(routingLoad(8, 8, 32, undefined, 4, routed).rankFactor).not.toBe(dflt.rankFactor);
    expect(routingLoad(8, 1, 32, undefined, 3, routed).rankFactor).toBeCloseTo(1, 12);
    // The scenario path: Mixtral 8x7B at tp 1, ep 8, micro-batch 1 × 4096 routes 8 × 4096 tokens per group.
    const x = layerShape(mixtral());
    expect(x.moeLoad).toEqual(routingLoad(8, 8, 32, undefined, 1, { topK: 2, tokensPerGroup: 32768 }));
  });

  it("with capacity factor 1.0 no rank carries more than its balanced share, and a few copies are dropped", () => {
    const f = routingLoad(8, 8, 32, { capacityFactor: 1, imbalance: { distribution: "random", spread: 0 } }, 1, { topK: 2, tokensPerGroup: 16384 });
    expect(f.rankFactor).toBeCloseTo(1, 12);
    expect(f.keptShare).toBeLessThan(1);
    expect(f.keptShare).toBeGreaterThan(0.99);
  });
});

describe("the run reports the routing load", () => {
  it("moeRouting in the result and a line in the summary; absent for a dense model", () => {
    const s = mixtral();
    const { result } = runScenario(s);
    const load = routingLoad(8, 8, 32, undefined, 1, { topK: 2, tokensPerGroup: 32768 });
    expect(result.moeRouting).toEqual({ distribution: "random", busiestRankLoad: load.rankFactor, keptShare: load.keptShare });
    expect(formatRun(s, result)).toContain(`MoE routing      random, dropless: the busiest expert-parallel rank computes ${load.rankFactor.toFixed(3)}× a balanced share; 100.0 % of routed copies kept`);
    const dense = scenario({ nodes: 1, model: "llama3-8b", seqLength: 1024, globalBatch: 8 });
    expect(runScenario(dense).result.moeRouting).toBeUndefined();
  });
});
