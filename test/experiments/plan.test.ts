import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import { layerSeconds, stepSecondsLowerBound } from "../../experiments/plan/bound.ts";
import { bestScenarioYaml, planJson } from "../../experiments/plan/format.ts";
import { parseFixes, parseIntList, parseObjective, PlanInputError } from "../../experiments/plan/options.ts";
import { layoutCandidate, layoutScenario, planFromRaw, planScenario, readScenarioRaw, screenLayouts } from "../../experiments/plan/search.ts";
import { enumerateLayouts, layoutKey, shardGroupsFor, unevenEndLayers, type Layout } from "../../experiments/plan/space.ts";
import { outOfMemory } from "../../models/workload/memory.ts";
import { parse as parseYaml } from "yaml";
import { paretoFront } from "../../reports/plan-report.ts";

const SMALL = "experiments/scenarios/llama3-8b-64.yaml";

describe("plan: the search space", () => {
  it("derives dp from the GPUs and counts the grid by hand", () => {
    // 16 GPUs, 8 per node, 8 layers, 4k tokens: tp 1,2,4,8; cp 1; pp | 16/tp and ≤ 8;
    // virtual stages 1 (pp 1) or 1,2,3,4,6,8 with pp·v ≤ 8 layers and an even or uneven split.
    const input = { gpus: 16, gpusPerNode: 8, layers: 8, experts: 1, seqLength: 4096, globalBatch: 64 };
    const layouts = enumerateLayouts(input, { microBatch: [1], zero: [1], recompute: ["none"] });
    for (const l of layouts) expect(l.tp * l.pp * l.dp * l.cp).toBe(16);
    // (pp, v, split) per tp: pp1: (1,1,even). pp2: v1 even, v2 even, v3 uneven (2·1+4·... k=(8−6+2)/6 no), v4 even.
    // Hand count of the splits that exist for 8 layers: V=1,2,4,8 even; V=3: k=(8−3+2)/3 no; V=6: k=(8−6+2)/6 no.
    const key = (l: Layout): string => `${l.pp}x${l.virtualStages}${l.firstStageLayers !== undefined ? "u" : ""}`;
    const tp1 = layouts.filter((l) => l.tp === 1).map(key);
    expect(tp1).toEqual(["1x1", "2x1", "2x2", "2x4", "4x1", "4x2", "8x1"]);
    // tp 8 leaves 2 GPUs: pp 1 or 2.
    expect(layouts.filter((l) => l.tp === 8).map(key)).toEqual(["1x1", "2x1", "2x2", "2x4"]);
  });

  it("has the uneven split Llama 3 405B ran: 126 layers on 32 virtual stages, 3 on each end", () => {
    expect(unevenEndLayers(126, 32)).toBe(3);
    expect(3 + 3 + 30 * 4).toBe(126);
    expect(unevenEndLayers(96, 16)).toBeUndefined(); // (96−14)/16 is not whole
    expect(unevenEndLayers(8, 2)).toBeUndefined();
  });

  it("names layouts uniquely", () => {
    const input = { gpus: 64, gpusPerNode: 8, layers: 32, experts: 1, seqLength: 8192, globalBatch: 512 };
    const layouts = enumerateLayouts(input);
    expect(new Set(layouts.map(layoutKey)).size).toBe(layouts.length);
    expect(layoutKey({ tp: 8, pp: 16, dp: 128, cp: 1, ep: 1, microBatch: 1, virtualStages: 2, firstStageLayers: 3, lastStageLayers: 3, zero: 2, recompute: "none" })).toBe("tp8 pp16 v2 dp128 mb1 z2 none ends3");
  });
});

describe("plan: the FSDP shard group (HSDP)", () => {
  it("searches one, two and four nodes' worth of dp ranks as shard groups, only with ZeRO 3", () => {
    // 64 GPUs, 8 per node, tp 1, pp 1: dp 64. ZeRO 1: one layout; ZeRO 3: all 64 ranks, then 8, 16 and 32 (each divides 64).
    const input = { gpus: 64, gpusPerNode: 8, layers: 8, experts: 1, seqLength: 4096, globalBatch: 64 };
    const keys = enumerateLayouts(input, { tp: [1], pp: [1], microBatch: [1], zero: [1, 3], recompute: ["none"] }).map(layoutKey);
    expect(keys).toEqual(["tp1 pp1 v1 dp64 mb1 z1 none", "tp1 pp1 v1 dp64 mb1 z3 none", "tp1 pp1 v1 dp64 mb1 z3 sg8 none", "tp1 pp1 v1 dp64 mb1 z3 sg16 none", "tp1 pp1 v1 dp64 mb1 z3 sg32 none"]);
    // tp 8 leaves dp 8: one node is all of dp, so no HSDP layout.
    expect(enumerateLayouts(input, { tp: [8], pp: [1], microBatch: [1], zero: [3], recompute: ["none"] }).map(layoutKey)).toEqual(["tp8 pp1 v1 dp8 mb1 z3 none"]);
    // --fix parallelism.shardGroup=16 keeps only that group (and drops ZeRO 3 layouts whose dp 16 does not divide).
    expect(shardGroupsFor(64, 8, [16])).toEqual([16]);
    expect(shardGroupsFor(8, 8, [16])).toEqual([]);
    expect(shardGroupsFor(16, 8, [16])).toEqual([undefined]);
    expect(parseFixes(["parallelism.shardGroup=16"], {}).limits.shardGroup).toEqual([16]);
  });

  it("ranks HSDP layouts that load with their shard group; the bound stays below the simulated step", async () => {
    const { raw, loadOptions } = readScenarioRaw(SMALL);
    const plan = await planFromRaw(raw, loadOptions, { top: 1000, limits: { tp: [1, 2], pp: [1], cp: [1], microBatch: [1], zero: [3], recompute: ["none", "full"] }, workers: 2 });
    const hsdp = plan.ranking.filter((e) => e.layout.shardGroup !== undefined);
    expect(hsdp.length).toBeGreaterThan(0);
    for (const e of plan.ranking) {
      expect(e.boundStepSeconds, e.key).toBeLessThanOrEqual(e.stepSeconds);
      const s = scenarioFromObject(layoutScenario(raw, e.layout), loadOptions);
      expect(outOfMemory(s), e.key).toBeNull();
      expect(s.parallelism.shardGroup ?? s.parallelism.dp, e.key).toBe(e.layout.shardGroup ?? e.layout.dp);
    }
  });
});

describe("plan: the overlap switches", () => {
  const { raw, loadOptions } = readScenarioRaw(SMALL);
  const limits = { tp: [1, 2], pp: [1], cp: [1], microBatch: [1], zero: [0, 1, 3] as (0 | 1 | 2 | 3)[], recompute: ["none" as const] };

  it("sets every overlap switch on where it applies, unless --fix states it", async () => {
    const plan = await planFromRaw(raw, loadOptions, { top: 1000, limits, noBaseline: true, workers: 0 });
    const layouts = plan.ranking;
    // tp 1 (dp 64): z0, z1, z3 with all ranks, sg8, sg16, sg32; tp 2 (dp 32): z0, z1, z3, sg8, sg16. Llama 3 8B's
    // 16 bytes per parameter refuse ZeRO 0 on both and ZeRO 1 on tp 1 (memory model); the other 8 rank.
    expect(plan.counts).toMatchObject({ considered: 11, memory: 3, simulated: 8 });
    expect(layouts.map((e) => e.key).sort()).toEqual(["tp1 pp1 v1 dp64 mb1 z3 none", "tp1 pp1 v1 dp64 mb1 z3 sg16 none", "tp1 pp1 v1 dp64 mb1 z3 sg32 none", "tp1 pp1 v1 dp64 mb1 z3 sg8 none", "tp2 pp1 v1 dp32 mb1 z1 none", "tp2 pp1 v1 dp32 mb1 z3 none", "tp2 pp1 v1 dp32 mb1 z3 sg16 none", "tp2 pp1 v1 dp32 mb1 z3 sg8 none"]);
    for (const e of layouts) {
      const p = scenarioFromObject(layoutScenario(plan.raw, e.layout), loadOptions).parallelism;
      expect(p.overlapGradReduce, e.key).toBe(true);
      expect(p.tpCommOverlap === true, e.key).toBe(e.layout.tp > 1);
      expect(p.overlapParamGather === true, e.key).toBe(e.layout.zero === 1 || e.layout.zero === 2);
    }
    const fixed = await planFromRaw(raw, loadOptions, { top: 3, limits: { ...limits, tp: [2], zero: [1] }, overrides: { tpCommOverlap: false, overlapGradReduce: false }, workers: 0 });
    for (const e of fixed.ranking) {
      const p = scenarioFromObject(layoutScenario(fixed.raw, e.layout), loadOptions).parallelism;
      expect(p.tpCommOverlap, e.key).toBe(false);
      expect(p.overlapGradReduce, e.key).toBe(false);
      expect(p.overlapParamGather, e.key).toBe(true);
    }
  });

  it("is never slower with the switches on (the reason they are not searched)", async () => {
    const on = await planFromRaw(raw, loadOptions, { top: 3, limits: { ...limits, tp: [2], zero: [1] }, noBaseline: true, workers: 0 });
    const off = await planFromRaw(raw, loadOptions, { top: 3, limits: { ...limits, tp: [2], zero: [1] }, noBaseline: true, overrides: { tpCommOverlap: false, overlapGradReduce: false, overlapParamGather: false }, workers: 0 });
    const a = on.ranking[0] as (typeof on.ranking)[number];
    const b = off.ranking[0] as (typeof off.ranking)[number];
    expect(a.key).toBe(b.key);
    expect(a.stepSeconds).toBeLessThan(b.stepSeconds);
  });
});

describe("plan: activation offload", () => {
  const { raw, loadOptions } = readScenarioRaw(SMALL);
  const limits = { tp: [1], pp: [1], cp: [1], microBatch: [4], zero: [0, 1] as (0 | 1 | 2 | 3)[], recompute: ["full" as const] };

  it("offloads only layouts with full recompute the memory model refuses without it, the least share that fits", async () => {
    const { raw: r0, loadOptions: o0 } = { raw, loadOptions };
    const base = scenarioFromObject(r0, o0);
    const plain: Layout = { tp: 1, pp: 1, dp: 64, cp: 1, ep: 1, microBatch: 4, virtualStages: 1, zero: 1, recompute: "full" };
    // Llama 3 8B on 64 GPUs, tp 1, ZeRO 1, micro-batch 4, full recompute: refused as is, fits with half of each stage's layers offloaded.
    expect(outOfMemory(layoutCandidate(base, r0, plain))).not.toBeNull();
    expect(outOfMemory(layoutCandidate(base, r0, { ...plain, offloadActivations: 0.5 }))).toBeNull();
    const plan = await planFromRaw(raw, loadOptions, { top: 10, limits, noBaseline: true, workers: 0 });
    // ZeRO 0 (16 bytes per parameter unsharded, 128 GB) stays refused whatever the offload.
    expect(plan.counts).toMatchObject({ considered: 2, memory: 1, simulated: 1 });
    expect(plan.ranking.map((e) => e.key)).toEqual(["tp1 pp1 v1 dp64 mb4 z1 full off0.5"]);
    const s = scenarioFromObject(layoutScenario(plan.raw, (plan.ranking[0] as (typeof plan.ranking)[number]).layout), loadOptions);
    expect(s.parallelism.offloadActivationShare).toBe(0.5);
    expect(outOfMemory(s)).toBeNull();
    // A layout that fits is never offloaded (tp 2); nor one without full recompute (its recompute: full is in the space); --fix parallelism.offloadActivations=0 turns the retry off.
    const tp2 = await planFromRaw(raw, loadOptions, { top: 10, limits: { ...limits, tp: [2], zero: [1] }, noBaseline: true, workers: 0 });
    expect(tp2.ranking.map((e) => e.key)).toEqual(["tp2 pp1 v1 dp32 mb4 z1 full"]);
    const none = await planFromRaw(raw, loadOptions, { top: 10, limits: { ...limits, microBatch: [1], recompute: ["none"] }, noBaseline: true, workers: 0 });
    expect(none.counts).toMatchObject({ considered: 2, memory: 2, simulated: 0 });
    const fixed = await planFromRaw(raw, loadOptions, { top: 10, limits, noBaseline: true, overrides: { offloadActivations: 0 }, workers: 0 });
    expect(fixed.counts).toMatchObject({ considered: 2, memory: 2, simulated: 0 });
  });
});

describe("plan: the lower bound", () => {
  const { raw, loadOptions } = readScenarioRaw(SMALL);
  const base = scenarioFromObject(raw, loadOptions);

  it("adds the pipeline's fill and drain to the busiest rank's layers", () => {
    const layout: Layout = { tp: 2, pp: 4, dp: 8, cp: 1, ep: 1, microBatch: 1, virtualStages: 1, zero: 1, recompute: "none" };
    const s = layoutCandidate(base, raw, layout);
    const l = layerSeconds(s);
    // 32 layers on 4 stages, 512/8 = 64 micro-batches: rank 3 runs 64·8 layers after the
    // first micro-batch's forward crossed 24 layers (and the embedding), and the last one's backward crosses them back.
    const layer = l.forward + l.backward;
    const chain = 64 * (8 * layer + l.head) + 24 * layer + l.embedding;
    expect(stepSecondsLowerBound(s, l)).toBeGreaterThanOrEqual(chain);
    // ... and the rest (optimizer, parameter all-gather) is small beside it.
    expect(stepSecondsLowerBound(s, l)).toBeLessThan(chain * 1.05);
  });

  it("never exceeds the simulated step (every layout a small search simulates)", async () => {
    const plan = await planFromRaw(raw, loadOptions, { top: 1000, limits: { tp: [1, 2], pp: [1, 2, 4], cp: [1, 2], microBatch: [1], zero: [0, 3], recompute: ["none", "full"] }, workers: 2 });
    expect(plan.ranking.length).toBeGreaterThan(20);
    for (const e of plan.ranking) expect(e.boundStepSeconds, e.key).toBeLessThanOrEqual(e.stepSeconds);
  });
});

describe("plan: the search", () => {
  const { raw, loadOptions } = readScenarioRaw(SMALL);
  const limits = { tp: [1, 2, 4], pp: [1, 2], cp: [1], microBatch: [1, 2], zero: [1, 2] as (0 | 1 | 2 | 3)[], recompute: ["none" as const, "selective" as const] };

  it("counts every layout once, ranks only layouts the loader and the memory model accept, and marks the baseline", async () => {
    const plan = await planFromRaw(raw, loadOptions, { top: 5, limits, workers: 0 });
    const c = plan.counts;
    expect(c.divisibility + c.memory + c.bound + c.simulated).toBe(c.considered);
    expect(c.simulated).toBeGreaterThan(0);
    for (const e of plan.ranking) {
      const s = scenarioFromObject(layoutScenario(raw, e.layout), loadOptions);
      expect(outOfMemory(s), e.key).toBeNull();
      expect(s.parallelism.tp * s.parallelism.pp * s.parallelism.dp * s.parallelism.cp).toBe(64);
    }
    // The scenario's own layout (tp 2, zero 1, no recompute: dp 32) is in the space, simulated and marked.
    expect(plan.baseline?.key).toBe("tp2 pp1 v1 dp32 mb1 z1 none");
    expect(plan.ranking.filter((e) => e.baseline)).toHaveLength(1);
    // Best first, ranks 1..n.
    plan.ranking.forEach((e, i) => {
      expect(e.rank).toBe(i + 1);
      if (i > 0) expect(e.tokensPerSecond).toBeLessThanOrEqual((plan.ranking[i - 1] as (typeof plan.ranking)[number]).tokensPerSecond);
    });
    expect(plan.why).toMatch(/beats .* by [0-9.]+ % more tokens\/s: its \w+ time per step shrank from/);
    // The best is at least as fast as the scenario's own layout.
    expect((plan.ranking[0] as (typeof plan.ranking)[number]).stepSeconds).toBeLessThanOrEqual(plan.baseline?.stepSeconds ?? 0);
  });

  it("gives the same ranking and counts on the same inputs, whatever the threads", async () => {
    const a = await planFromRaw(raw, loadOptions, { top: 5, limits, workers: 0 });
    const b = await planFromRaw(raw, loadOptions, { top: 5, limits, workers: 2 });
    expect(JSON.stringify(planJson(b, 5))).toBe(JSON.stringify(planJson(a, 5)));
  });

  it("the top N is exact: a wider search ranks the same first N", async () => {
    const narrow = await planFromRaw(raw, loadOptions, { top: 3, limits, workers: 0 });
    const wide = await planFromRaw(raw, loadOptions, { top: 1000, limits, workers: 0 });
    expect(narrow.ranking.slice(0, 3).map((e) => e.key)).toEqual(wide.ranking.slice(0, 3).map((e) => e.key));
    expect(narrow.counts.bound).toBeGreaterThan(0);
  });

  it("ranks by energy per token with --objective energy-per-token", async () => {
    const plan = await planFromRaw(raw, loadOptions, { top: 3, limits: { ...limits, tp: [1, 2], pp: [1] }, objective: "energy-per-token", workers: 0 });
    plan.ranking.forEach((e, i) => {
      if (i > 0) expect(e.energyJoulesPerToken).toBeGreaterThanOrEqual((plan.ranking[i - 1] as (typeof plan.ranking)[number]).energyJoulesPerToken);
    });
  });

  it("writes the best layout as a scenario that loads and runs the same layout", async () => {
    const plan = await planFromRaw(raw, loadOptions, { top: 3, limits, workers: 0 });
    const text = bestScenarioYaml(plan);
    const s = scenarioFromObject(parseYaml(text), loadOptions);
    const best = plan.ranking[0] as (typeof plan.ranking)[number];
    expect(s.parallelism.tp).toBe(best.layout.tp);
    expect(s.parallelism.dp).toBe(best.layout.dp);
    expect(s.parallelism.zero).toBe(best.layout.zero);
    expect(s.parallelism.recompute).toBe(best.layout.recompute);
  });

  it("--fix narrows a searched key and sets any other parallelism key on every layout", () => {
    const f = parseFixes(["parallelism.cp=1", "zero=2", "parallelism.recompute=full", "parallelism.dp=8", "parallelism.overlapGradReduce=false"], { tp: [2, 4] });
    expect(f.limits).toEqual({ tp: [2, 4], cp: [1], zero: [2], recompute: ["full"] });
    expect(f.dp).toBe(8);
    expect(f.overrides).toEqual({ overlapGradReduce: false });
    const base = scenarioFromObject(raw, loadOptions);
    const { survivors } = screenLayouts(base, raw, "tokens-per-second", { limits: f.limits, dp: 8 });
    for (const c of survivors) {
      expect(c.layout.dp).toBe(8);
      expect(c.layout.zero).toBe(2);
    }
  });
});

describe("plan: bad flags", () => {
  it("name the flag, the value and what is allowed", () => {
    const message = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(PlanInputError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(message(() => parseObjective("fast"))).toContain('--objective "fast": is not allowed; expected one of tokens-per-second, energy-per-token');
    expect(message(() => parseIntList("--tp", "1,2,x"))).toContain('--tp "x"');
    expect(message(() => parseIntList("--tp", "1,,2"))).toContain("comma-separated list of integers >= 1");
    expect(message(() => parseFixes(["parallelism.tpp=2"], {}))).toContain("parallelism.tpp is not allowed; expected a key of parallelism:");
    expect(message(() => parseFixes(["cp"], {}))).toContain("expected key=value");
    expect(message(() => parseFixes(["zero=4"], {}))).toContain("0, 1, 2 or 3");
    expect(message(() => parseFixes(["recompute=most"], {}))).toContain("none, selective, full, per-op");
    expect(message(() => parseFixes(["sequenceParallel=false"], {}))).toContain("set by the planner");
  });
});

describe("plan: the Pareto front", () => {
  it("keeps the points no other beats on both axes", () => {
    const pts = [
      { x: 10, y: 1 },
      { x: 20, y: 3 },
      { x: 15, y: 2 },
      { x: 25, y: 2 },
      { x: 30, y: 5 },
      { x: 10, y: 0.5 },
    ];
    expect(paretoFront(pts, (p) => p.x, (p) => p.y)).toEqual([
      { x: 10, y: 1 },
      { x: 15, y: 2 },
      { x: 20, y: 3 },
      { x: 30, y: 5 },
    ]);
  });
});

describe("plan: --scale", () => {
  it("turns GPU counts into node counts and refuses counts that are not whole nodes", async () => {
    const { scaleNodes } = await import("../../experiments/plan/scale.ts");
    expect(scaleNodes([8, 64, 1024], 8, "8,64,1024")).toEqual([1, 8, 128]);
    expect(() => scaleNodes([8, 100], 8, "8,100")).toThrow('--scale "8,100": 100 GPUs is not allowed: the scenario\'s nodes have 8 GPUs each; expected multiples of 8');
  });

  it("searches each GPU count without the scenario's own layout", async () => {
    const { planScale } = await import("../../experiments/plan/scale.ts");
    const points = await planScale(SMALL, [16, 32], "16,32", { top: 2, limits: { tp: [1, 2], pp: [1], cp: [1], microBatch: [1], zero: [1], recompute: ["none"] }, workers: 0 });
    expect(points.map((p) => p.gpus)).toEqual([16, 32]);
    for (const p of points) {
      expect(p.plan.baseline).toBeUndefined();
      expect(p.plan.gpus).toBe(p.gpus);
      for (const e of p.plan.ranking) expect(e.layout.tp * e.layout.pp * e.layout.dp * e.layout.cp).toBe(p.gpus);
    }
  });
});

describe("plan: --vary", () => {
  it("reads cluster.<key>=a,b,... and refuses what it cannot vary, naming the flag", async () => {
    const { parseVary } = await import("../../experiments/plan/options.ts");
    expect(parseVary("cluster.network.oversubscription=1,2,4")).toEqual({ key: "cluster.network.oversubscription", values: [1, 2, 4].map((v) => ({ text: String(v), value: v })) });
    expect(parseVary("cluster.network.nicBandwidth=200 Gb/s, 400 Gb/s").values.map((v) => v.value)).toEqual(["200 Gb/s", "400 Gb/s"]);
    expect(() => parseVary("workload.seqLength=2048,4096")).toThrow(/--vary "workload.seqLength=2048,4096": workload.seqLength is not allowed; expected a key of cluster:/);
    expect(() => parseVary("cluster.nodes=8,16")).toThrow(/use --scale/);
    expect(() => parseVary("cluster.gpu")).toThrow(/expected cluster.<key>=<value>,<value>/);
    expect(() => parseVary("cluster.gpu=B200,,H100-SXM")).toThrow(/comma-separated list of values/);
    expect(() => parseVary("cluster.gpu=B200,B200")).toThrow(/repeats a value/);
    expect(() => parseVary("cluster.__proto__.x=1")).toThrow(/"__proto__" is not allowed as a path segment/);
  });

  it("searches at each value without the scenario's own layout; a faster GPU is never slower; a bad value is refused before any search", async () => {
    const { checkVary, planVary } = await import("../../experiments/plan/scale.ts");
    const { parseVary } = await import("../../experiments/plan/options.ts");
    const vary = parseVary("cluster.gpu=H100-SXM,B200");
    const points = await planVary(SMALL, vary, { top: 1, limits: { tp: [1, 2], pp: [1], cp: [1], microBatch: [1], zero: [1], recompute: ["none"] }, workers: 0 });
    expect(points.map((p) => p.label)).toEqual(["H100-SXM", "B200"]);
    for (const p of points) {
      expect(p.plan.baseline).toBeUndefined();
      expect(p.gpus).toBe(64);
    }
    expect(points[1]!.plan.ranking[0]!.stepSeconds).toBeLessThan(points[0]!.plan.ranking[0]!.stepSeconds);
    expect(() => checkVary(SMALL, parseVary("cluster.network.oversubscription=1,0"))).toThrow(/cluster\.network\.oversubscription/);
    expect(() => checkVary(SMALL, parseVary("cluster.gpu=H100-SXM,H900"))).toThrow(/cluster\.gpu/);
  });
});

describe("plan: --memory-headroom", () => {
  it("reads 10% or 0.1 and refuses what is not a share from 0 to 50 %", async () => {
    const { parseHeadroom } = await import("../../experiments/plan/options.ts");
    expect(parseHeadroom("10%")).toBeCloseTo(0.1, 15);
    expect(parseHeadroom("0.25")).toBe(0.25);
    expect(parseHeadroom("0")).toBe(0);
    for (const bad of ["60%", "-5%", "ten", "0.6"]) expect(() => parseHeadroom(bad), bad).toThrow(/--memory-headroom .*from 0 to 50 %/);
  });

  it("ranks only layouts that leave the share free; the rest count as refused by memory", async () => {
    // No full recompute: the space would offload activations to fit instead of refusing.
    const limits = { tp: [1, 2, 4], pp: [1], cp: [1], microBatch: [1, 2, 4], zero: [1], recompute: ["none"] } as const;
    const open = await planScenario(SMALL, { top: 50, limits: { ...limits, tp: [...limits.tp], microBatch: [...limits.microBatch], recompute: [...limits.recompute] }, workers: 0 });
    const capacity = open.ranking[0]!.memoryCapacityBytes;
    const biggest = Math.max(...open.ranking.filter((e) => !e.baseline).map((e) => e.memoryBytesPerGpu));
    // Leave free just more than the biggest layout left: that one (at least) is refused now.
    const headroom = 1 - biggest / capacity + 0.01;
    const tight = await planScenario(SMALL, { top: 50, limits: { ...limits, tp: [...limits.tp], microBatch: [...limits.microBatch], recompute: [...limits.recompute] }, workers: 0, memoryHeadroom: headroom });
    expect(tight.memoryHeadroom).toBe(headroom);
    expect(tight.counts.memory).toBeGreaterThan(open.counts.memory);
    for (const e of tight.ranking) if (!e.baseline) expect(e.memoryBytesPerGpu).toBeLessThanOrEqual(capacity * (1 - headroom));
  });
});

