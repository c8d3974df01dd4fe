/**
 * parallelism.fsdpUnit: module — DeepSpeed ZeRO-3's submodule fetching (partitioned_param_coordinator.py):
 * the coordinator replayed by hand on small traces, then the step it compiles: traffic, the join at
 * every hook, compute with unlimited links, bounds when links are slow, full against folded, memory.
 */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { loadScenario, scenarioFromObject } from "../../experiments/load.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { COLLECTIVE, compileStep, ENQUEUE, GATHER_STREAM, NV_TX, WAIT, type Op, type StepProgram } from "../../models/step/program.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { splitLayerKernels } from "../../models/step/zero3-fetch.ts";
import { embeddingKernels, headKernels, layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { DEEPSPEED_ZERO3_DEFAULTS, stepTrace, zero3Schedule, type TraceHook } from "../../models/workload/zero3-trace.ts";
import { IDEAL_ACCELERATOR as IDEAL, scenario, TINY_MODEL as TINY } from "../helpers/scenario.ts";

const settings = (over: Partial<typeof DEEPSPEED_ZERO3_DEFAULTS>): typeof DEEPSPEED_ZERO3_DEFAULTS => ({ ...DEEPSPEED_ZERO3_DEFAULTS, persistence: 0, ...over });
const hook = (module: string, params: number[]): TraceHook => ({ module, params });

describe("DeepSpeed's coordinator, replayed by hand", () => {
  // A(p0: 60) B(container) C(p1: 30) D(p2: 30).
  const trace = [hook("A", [0]), hook("B", []), hook("C", [1]), hook("D", [2])];
  const numel = [60, 30, 30];

  it("fetches a module's own parameters, then prefetches in trace order until the round's new elements reach the bucket", () => {
    // At A: fetch 60; prefetch p1 (30 < 50, go on) and p2 (60 ≥ 50, stop). Nothing left to fetch.
    const s = zero3Schedule(trace, numel, settings({ prefetchBucket: 50, maxLive: 1000, maxReuse: 0 }));
    expect(s.hooks).toEqual([
      { fetch: 60, prefetch: 60 },
      { fetch: 0, prefetch: 0 },
      { fetch: 0, prefetch: 0 },
      { fetch: 0, prefetch: 0 },
    ]);
    expect(s.peakLive).toBe(120);
  });

  it("stops prefetching at max-live, and at least one parameter goes while below it", () => {
    // A: live 60, room min(80 − 60, 50) = 20: p1 (30) alone. A released: live 30. B: room 50: p2.
    const s = zero3Schedule(trace, numel, settings({ prefetchBucket: 50, maxLive: 80, maxReuse: 0 }));
    expect(s.hooks.map((h) => [h.fetch, h.prefetch])).toEqual([
      [60, 30],
      [0, 30],
      [0, 0],
      [0, 0],
    ]);
    expect(s.peakLive).toBe(90);
  });

  it("a zero bucket prefetches nothing: every module fetches its own", () => {
    const s = zero3Schedule(trace, numel, settings({ prefetchBucket: 0, maxReuse: 0 }));
    expect(s.hooks.map((h) => [h.fetch, h.prefetch])).toEqual([
      [60, 0],
      [0, 0],
      [30, 0],
      [30, 0],
    ]);
    expect(s.peakLive).toBe(60);
  });

  it("parameters at or below the persistence threshold are never gathered", () => {
    const s = zero3Schedule(trace, numel, settings({ prefetchBucket: 0, maxReuse: 0, persistence: 30 }));
    expect(s.hooks.map((h) => h.fetch)).toEqual([60, 0, 0, 0]);
  });

  it("a module used again within the reuse distance keeps its parameters; beyond it they are gathered again", () => {
    // A(p0: 10) B(p1: 10) A again.
    const again = [hook("A", [0]), hook("B", [1]), hook("A", [0])];
    const near = zero3Schedule(again, [10, 10], settings({ prefetchBucket: 0, maxReuse: 100 }));
    expect(near.hooks.map((h) => h.fetch)).toEqual([10, 10, 0]);
    // Reuse 5: the walk stops after B's 10 elements, before A's second use.
    const far = zero3Schedule(again, [10, 10], settings({ prefetchBucket: 0, maxReuse: 5 }));
    expect(far.hooks.map((h) => h.fetch)).toEqual([10, 10, 10]);
  });

  it("a Llama-70B step with DeepSpeed's defaults gathers every weight twice (forward, recomputed forward kept for backward; the output layer once) and keeps ~1e9 live", () => {
    const m = { ...TINY, layers: 80, hidden: 8192, heads: 64, kvHeads: 8, ffn: 28672, vocab: 32000, gatedMlp: true };
    const t = stepTrace(m, 1, true);
    const s = zero3Schedule(t.hooks, t.numel, DEEPSPEED_ZERO3_DEFAULTS);
    const total = t.numel.reduce((a, b) => a + b, 0);
    const norms = t.numel.filter((n) => n <= 1e5).reduce((a, b) => a + b, 0);
    const gathered = s.hooks.reduce((a, h) => a + h.fetch + h.prefetch, 0);
    // The output layer's backward follows its forward within the reuse distance: gathered once.
    expect(gathered).toBe(2 * (total - norms) - 32000 * 8192);
    // Live stays within max-live plus one round's overshoot (one 8192 x 28672 projection).
    expect(s.peakLive).toBeGreaterThan(1e9 - 8192 * 28672);
    expect(s.peakLive).toBeLessThanOrEqual(1e9 + 8192 * 28672);
  });
});

describe("a layer's kernels cut at its module hooks", () => {
  const shape = layerShape(scenario({ gpu: IDEAL, nodes: 1, gpusPerNode: 4, model: { ...TINY, gatedMlp: true, kvHeads: 8 }, seqLength: 2048, globalBatch: 4, plan: { dp: 4, zero: 3 } }));
  const flops = (ks: Kernel[]): number => ks.reduce((a, k) => a + k.flops, 0);
  for (const backward of [false, true]) {
    it(`keeps every FLOP and byte of the ${backward ? "backward" : "forward"}`, () => {
      const list = backward ? layerBackwardKernels(shape) : layerForwardKernels(shape);
      const parts = [...splitLayerKernels(list, shape.model, backward).values()];
      const all = parts.flatMap((p) => p.kernels);
      expect(flops(all) / flops(list.kernels) - 1).toBeCloseTo(0, 12);
      expect(all.reduce((a, k) => a + k.bytes, 0) / list.kernels.reduce((a, k) => a + k.bytes, 0) - 1).toBeCloseTo(0, 12);
    });
  }
  it("gives q its heads' share of the fused QKV projection and k, v their KV heads' share", () => {
    const parts = splitLayerKernels(layerForwardKernels(shape), shape.model, false);
    const qkv = layerForwardKernels(shape).kernels.find((k) => k.name === "qkv") as Kernel;
    // 32 query heads, 8 KV heads: q 32/48, k and v 8/48 each.
    expect(flops(parts.get("q")!.kernels) / flops([qkv])).toBeCloseTo(32 / 48, 12);
    expect(flops(parts.get("k")!.kernels) / flops([qkv])).toBeCloseTo(8 / 48, 12);
  });
  it("eager layers: each projection GEMM runs at its own module's hook, after that module's gather", () => {
    const eager = { ...shape, layerImplementation: "eager" as const };
    const names = (backward: boolean): Record<string, string[]> => {
      const parts = splitLayerKernels(backward ? layerBackwardKernels(eager) : layerForwardKernels(eager), eager.model, backward);
      return Object.fromEntries([...parts].map(([m, l]) => [m, l.kernels.map((k) => k.name)]));
    };
    const f = names(false);
    for (const m of ["q", "k", "v", "gate", "up", "down"]) expect(f[m]?.[0]).toBe(m);
    expect(f["ln1"]).toEqual(["ln1"]);
    expect(f["act"]).toEqual(["act.silu"]);
    const b = names(true);
    for (const m of ["q", "k", "v", "gate", "up", "down"]) expect(b[m]).toEqual(expect.arrayContaining([`${m}.dgrad`, `${m}.wgrad`]));
    expect(b["o"]).not.toContain("q.dgrad");
  });
});

/** Stage 0's data-parallel collectives over one step. */
function dpCollectives(prog: StepProgram): Op[] {
  const out: Op[] = [];
  const kinds = prog.schedKind[0] as Uint8Array;
  for (let i = 0; i < kinds.length; i++) {
    const plan = kinds[i] === 0 ? prog.forwardPlan[0] : prog.backwardPlan[0];
    for (const op of prog.plans[plan as number] as Op[]) if (op.kind === ENQUEUE) for (const c of prog.dpLists[op.gradList] as Op[]) if (c.kind === COLLECTIVE) out.push(c);
  }
  return out;
}
const linkBytes = (ops: Op[]): number => ops.reduce((a, op) => a + (op.size === op.size ? op.size : 0), 0);

const tiny = (plan: Partial<ParallelPlan>, gpu = IDEAL, globalBatch = 4): Scenario =>
  scenario({ gpu, nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch, gpuVariability: 0, plan: { dp: 4, zero: 3, gradReduceDtype: "bf16", fsdpModuleUnits: true, ...plan } });

describe("a ZeRO-3 step with module units", () => {
  it("moves 3 × parameter bytes × (n−1)/n per GPU: two all-gathers and one reduce-scatter", () => {
    // Nothing persistent, nothing kept for reuse, no recompute: each weight gathered in forward and in backward.
    const s = tiny({ fsdpPersistParams: 0, fsdpMaxReuseParams: 0, fsdpPrefetchParams: 0 });
    const P = memoryByStage(s)[0]!.params;
    const ops = dpCollectives(compileStep(s));
    expect(linkBytes(ops) / (3 * P * 2 * (3 / 4)) - 1).toBeCloseTo(0, 12);
    // Gradients: 8 layers of 201 M elements against DeepSpeed's 5e8 bucket, two layers a bucket.
    expect(ops.filter((o) => o.label === "fsdp:grads").length).toBeGreaterThan(1);
  });

  it("the compute stream joins the gather stream at every hook that follows a gather", () => {
    const prog = compileStep(tiny({ fsdpPersistParams: 0, fsdpMaxReuseParams: 0, fsdpPrefetchParams: 0 }));
    const forward = prog.plans[prog.forwardPlan[0] as number] as Op[];
    // No prefetch: each module with parameters (embedding, 8 × (ln1, q, k, v, o, ln2, fc1, fc2), norm, head) waits for its own.
    expect(forward.filter((o) => o.kind === WAIT).length).toBe(1 + 8 * 8 + 2);
    expect(forward.filter((o) => o.kind === ENQUEUE).length).toBe(1 + 8 * 8 + 2);
  });

  const peak = 1e15;
  const computeSeconds = (s: Scenario): number => {
    const shape = layerShape(s);
    const sm = (kernels: Kernel[], times = 1): number => times * kernels.reduce((a, k) => a + kernelCost(k, IDEAL, "bf16").smWork, 0);
    const L = TINY.layers;
    const F = sm(embeddingKernels(shape, "forward").kernels) + sm(layerForwardKernels(shape).kernels, L) + sm(headKernels(shape, "forward").kernels);
    const B = sm(headKernels(shape, "backward").kernels) + sm(layerBackwardKernels(shape).kernels, L) + sm(embeddingKernels(shape, "backward").kernels);
    const m = s.workload.globalBatch / s.parallelism.dp;
    return (m * (F + B) + (12 * memoryByStage(s)[0]!.params) / 4) / peak;
  };

  it("with unlimited bandwidth and no latency the step is its compute, whatever the prefetch", () => {
    for (const fsdpPrefetchParams of [0, 5e7, 1e12]) {
      const s = tiny({ fsdpPrefetchParams }, IDEAL, 8);
      expect(Math.abs(simulateStep(s).stepSeconds / computeSeconds(s) - 1), `bucket ${fsdpPrefetchParams}`).toBeLessThan(1e-9);
    }
  });

  const slow = (plan: Partial<ParallelPlan>, scaleUpBandwidth = 2e10): Scenario => tiny(plan, { ...IDEAL, scaleUpBandwidth }, 8);
  const gatherSeconds = (s: Scenario): number => {
    const ops = dpCollectives(compileStep(s)).filter((o) => o.label === "fsdp:gather");
    return ops.reduce((t, op) => t + (op.amounts[op.roles.indexOf(NV_TX)] as number), 0) / s.cluster.gpu.scaleUpBandwidth;
  };

  it("a zero prefetch budget exposes every module's gather: the step is at least compute plus all of them", () => {
    const s = slow({ fsdpPrefetchParams: 0 });
    const r = simulateStep(s);
    const C = computeSeconds(s);
    const G = gatherSeconds(s);
    expect(G).toBeGreaterThan(0.1 * C);
    expect(r.stepSeconds).toBeGreaterThanOrEqual(C + G);
    // The reduce-scatters overlap the backward: at most their link time more.
    const all = dpCollectives(compileStep(s)).reduce((t, op) => t + (op.amounts[op.roles.indexOf(NV_TX)] as number), 0) / s.cluster.gpu.scaleUpBandwidth;
    expect(r.stepSeconds).toBeLessThan(C + all + 1e-3);
  });

  it("DeepSpeed's prefetch hides part of the gathers, never below max(compute, communication)", () => {
    const none = simulateStep(slow({ fsdpPrefetchParams: 0 })).stepSeconds;
    const s = slow({});
    const r = simulateStep(s).stepSeconds;
    const comm = dpCollectives(compileStep(s)).reduce((t, op) => t + (op.amounts[op.roles.indexOf(NV_TX)] as number), 0) / s.cluster.gpu.scaleUpBandwidth;
    expect(r).toBeLessThan(none);
    expect(r).toBeGreaterThanOrEqual(Math.max(computeSeconds(s), comm));
  });

  it("the join at every hook: a whole-model prefetch issued at the first hook is waited for whole at the second", () => {
    // A bucket of everything: the embedding's hook issues every forward gather, the next hook joins them all.
    const s = slow({ fsdpPrefetchParams: 1e12, fsdpMaxLiveParams: 1e12 });
    const prog = compileStep(s);
    const forward = prog.plans[prog.forwardPlan[0] as number] as Op[];
    let bytes = 0;
    for (const op of forward) if (op.kind === ENQUEUE && op.stream === GATHER_STREAM) for (const c of prog.dpLists[op.gradList] as Op[]) if (c.kind === COLLECTIVE) bytes += c.amounts[c.roles.indexOf(NV_TX)] as number;
    const forwardGathers = bytes / s.cluster.gpu.scaleUpBandwidth;
    // Two micro-batches, each waiting once for its forward's gathers (the embedding's compute, 8 tokens' worth of vocab, is nothing).
    expect(forwardGathers).toBeGreaterThan(0.1 * computeSeconds(s));
    expect(simulateStep(s).stepSeconds).toBeGreaterThanOrEqual(computeSeconds(s) + 2 * forwardGathers * 0.999);
  });

  it("full mode agrees with folded", () => {
    const s = slow({});
    const folded = simulateStep(s);
    const full = simulateStepFull(s);
    expect(full.stepSeconds).toBeCloseTo(folded.stepSeconds, 9);
    for (const c of CATEGORIES) expect(full.breakdown[c], c).toBeCloseTo(folded.breakdown[c], 9);
  }, 120_000);

  it("memory counts the coordinator's peak of gathered weights, the largest module's gradient and the reduce bucket", () => {
    const s = tiny({ fsdpPersistParams: 0 });
    const t = stepTrace(TINY, 1, false);
    const sched = zero3Schedule(t.hooks, t.numel, { ...DEEPSPEED_ZERO3_DEFAULTS, persistence: 0 });
    // TINY: fc1 and fc2 are 4096 x 16384 = 67.1 M; the model (1.07 G elements... of 8 layers of 201 M) exceeds the 5e8 bucket.
    const expected = (sched.peakLive + 4096 * 16384 + 5e8) * 2;
    expect(memoryByStage(s)[0]!.gatheredUnits! / expected - 1).toBeCloseTo(0, 12);
  });
});

describe("loading fsdpUnit: module", () => {
  const base = (parallelism: Record<string, unknown>): unknown => ({
    name: "t",
    cluster: { gpu: "A100-80GB", nodes: 1, gpusPerNode: 8 },
    workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8 },
    parallelism: { dp: 8, zero: 3, fsdpUnit: "module", ...parallelism },
  });
  it("sets the plan and DeepSpeed's keys", () => {
    const s = scenarioFromObject(base({ fsdpReduceBucketParams: 16777216, fsdpPersistParams: 40960 }), { baseDir: "." });
    expect(s.parallelism.fsdpModuleUnits).toBe(true);
    expect(s.parallelism.fsdpReduceBucketParams).toBe(16777216);
    expect(s.parallelism.fsdpPersistParams).toBe(40960);
  });
  it("refuses a pipeline, naming the field", () => {
    try {
      scenarioFromObject(base({ dp: 4, pp: 2 }), { baseDir: "." });
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.some((p) => p.path === "parallelism.fsdpUnit" && /pp 2/.test(p.message))).toBe(true);
    }
  });
  it("the XTuner 70B case file runs with it", () => {
    expect(loadScenario("experiments/published/xtuner/llama2-70b-8k-32gpu-sp1.yaml").parallelism.fsdpModuleUnits).toBe(true);
  });
});
