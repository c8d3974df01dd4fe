import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { torusLayout } from "../../models/network/torus.ts";
import type { ParallelPlan, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { COLLECTIVE, compileStep, NV_TX, SM } from "../../models/step/program.ts";
import { layerForwardKernels, layerRecomputeKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { collectiveMatmulTp, PERMUTE_SLOWDOWN, WINDOWED_EINSUM_THRESHOLD_BYTES, windowedEinsumConsidered, windowedEinsumPays } from "../../models/workload/xla-collective-matmul.ts";
import { IDEAL_ACCELERATOR, scenario, TINY_MODEL } from "../helpers/scenario.ts";

/**
 * One rank of a `tp`-way group on one node (no data parallelism): TINY_MODEL (hidden 4096) with
 * 16 sequences of 2048 per micro-batch, so each activation is 16·2048·4096·2 B = 256 MiB, XLA's threshold.
 */
function tpStep(tp: number, linkBandwidth: number, plan: Partial<ParallelPlan>, globalBatch = 16): Scenario {
  const gpu: Accelerator = { ...IDEAL_ACCELERATOR, scaleUpBandwidth: linkBandwidth };
  const s = scenario({ gpu, nodes: 1, gpusPerNode: tp, model: TINY_MODEL, seqLength: 2048, globalBatch, gpuVariability: 0, plan: { tp, dp: 1, zero: 0, microBatch: globalBatch } });
  return { ...s, parallelism: { ...s.parallelism, ...plan } };
}
const stepSeconds = (s: Scenario): number => simulateStep(s).stepSeconds;

describe("XLA's cost check for a windowed einsum (openxla dot_handler.cc)", () => {
  it("keeps the loop only where max(dot, m·comm) + 2·m·comm/tp beats dot + comm", () => {
    // one-way (m 2), tp 16, dot 10 ms, collective 2 ms: max(10, 4) + 2·4/16 = 10.5 < 12.
    expect(windowedEinsumPays(10, 2, 2, 16)).toBe(true);
    // one-way at tp 4: max(10, 4) + 2·4/4 = 12, not below 12; at tp ≤ 4 one-way never pays.
    expect(windowedEinsumPays(10, 2, 2, 4)).toBe(false);
    expect(windowedEinsumPays(100, 1, 2, 4)).toBe(false);
    // A short dot (the 512B row's proj, 7.2 ms, beside a 12.6 ms reduce-scatter) keeps the plain collective:
    // max(7.2, 25.2) + 2·25.2/16 = 28.35 > 19.8.
    expect(windowedEinsumPays(7.2, 12.6, 2, 16)).toBe(false);
    // two-way (m 1) at tp 4: max(10, 2) + 2·2/4 = 11 < 12; at tp 2 never: max(C, M) + M ≥ C + M.
    expect(windowedEinsumPays(10, 2, 1, 4)).toBe(true);
    expect(windowedEinsumPays(10, 2, 1, 2)).toBe(false);
    expect(PERMUTE_SLOWDOWN["one-way"]).toBe(2);
    expect(PERMUTE_SLOWDOWN["two-way"]).toBe(1);
  });

  it("considers only activations of at least 256 MiB (SpmdPartitionerOptions threshold_for_windowed_einsum_mib)", () => {
    expect(WINDOWED_EINSUM_THRESHOLD_BYTES).toBe(268435456);
    expect(windowedEinsumConsidered(16, WINDOWED_EINSUM_THRESHOLD_BYTES)).toBe(true);
    expect(windowedEinsumConsidered(16, WINDOWED_EINSUM_THRESHOLD_BYTES - 1)).toBe(false);
    expect(windowedEinsumConsidered(1, 1e12)).toBe(false);
  });

  it("pairs each collective with the dot it feeds or follows, tp steps each", () => {
    const fwd = collectiveMatmulTp(8, "one-way", 2 ** 30, false, true);
    expect(fwd.map((c) => [c.op, c.overlap?.kernels[0], c.overlap?.splits, c.overlap?.windowed])).toEqual([
      ["all-gather", "qkv", 8, 2],
      ["reduce-scatter", "proj", 8, 2],
      ["all-gather", "fc1", 8, 2],
      ["reduce-scatter", "fc2", 8, 2],
    ]);
    const bwd = collectiveMatmulTp(8, "two-way", 2 ** 30, true, true);
    expect(bwd.map((c) => [c.op, c.overlap?.kernels[0], c.overlap?.windowed])).toEqual([
      ["all-gather", "proj.dgrad", 1],
      ["reduce-scatter", "qkv.dgrad", 1],
      ["all-gather", "fc2.dgrad", 1],
      ["reduce-scatter", "fc1.dgrad", 1],
    ]);
    // Below the threshold: the same four collectives, plain.
    expect(collectiveMatmulTp(8, "one-way", 2 ** 20, false, true).every((c) => c.overlap === undefined)).toBe(true);
  });
});

describe("tensor parallelism under XLA's collective matmul (parallelism.tpCollectiveMatmul)", () => {
  it("with unlimited bandwidth the step equals the step without it", () => {
    const off = stepSeconds(tpStep(8, 1e21, {}));
    expect(stepSeconds(tpStep(8, 1e21, { tpCollectiveMatmul: "one-way" }))).toBeCloseTo(off, 9);
    expect(stepSeconds(tpStep(8, 1e21, { tpCollectiveMatmul: "two-way" }))).toBeCloseTo(off, 9);
  });

  it("one-way at tp 4 keeps every collective plain (XLA's check never pays): the step is unchanged", () => {
    for (const bw of [5e10, 4e11]) expect(stepSeconds(tpStep(4, bw, { tpCollectiveMatmul: "one-way" }))).toBeCloseTo(stepSeconds(tpStep(4, bw, {})), 9);
  });

  it("a compute-bound step hides its collectives: two-way is faster than off and never faster than its compute", () => {
    const off = stepSeconds(tpStep(8, 4e11, {}));
    const compute = stepSeconds(tpStep(8, 1e21, {}));
    const two = stepSeconds(tpStep(8, 4e11, { tpCollectiveMatmul: "two-way" }));
    const one = stepSeconds(tpStep(8, 4e11, { tpCollectiveMatmul: "one-way" }));
    expect(off - compute).toBeGreaterThan(0.01 * compute);
    expect(two).toBeLessThan(off);
    expect(two).toBeGreaterThanOrEqual(compute * (1 - 1e-9));
    // one-way's permutes take twice as long: between two-way and off.
    expect(one).toBeGreaterThanOrEqual(two * (1 - 1e-9));
    expect(one).toBeLessThanOrEqual(off * (1 + 1e-9));
  });

  it("below the 256 MiB threshold nothing is windowed", () => {
    const small = (p: Partial<ParallelPlan>): number => stepSeconds(tpStep(8, 4e11, p, 8));
    expect(small({ tpCollectiveMatmul: "two-way" })).toBeCloseTo(small({}), 9);
  });

  it("the windowed pair carries the dot's SM work and the permutes' link work, twice the collective's one-way", () => {
    const ops = (p: Partial<ParallelPlan>, bandwidth = 4e11) => {
      const prog = compileStep(tpStep(8, bandwidth, p));
      return prog.plans[prog.forwardPlan[0] as number]!.filter((op) => op.kind === COLLECTIVE && op.roles.includes(NV_TX) && op.label.startsWith("forward"));
    };
    const linkWork = (op: { roles: Int8Array; amounts: Float64Array }): number => op.amounts[op.roles.indexOf(NV_TX)] as number;
    const names = (list: ReturnType<typeof ops>): string[] => list.filter((op) => op.roles.includes(SM)).map((op) => op.label.split(":")[1] as string);
    // Off: four plain collectives of the same bus bytes (all-gather and reduce-scatter of one activation).
    // Off: the two all-gathers and the two reduce-scatters of one activation each, as one op of count 2 each.
    const plain = ops({});
    expect(plain.map((op) => op.label)).toEqual(["forward:tp-all-gather", "forward:tp-reduce-scatter"]);
    const single = linkWork(plain[0]!) / 2;
    expect(linkWork(plain[1]!) / 2).toBeCloseTo(single, 6);
    // two-way: the dots that outlast their collective by XLA's check; proj, a quarter of qkv's FLOPs here, keeps its plain reduce-scatter.
    const two = ops({ tpCollectiveMatmul: "two-way" });
    expect(two.map((op) => op.label)).toEqual(["forward:qkv+forward:tp-all-gather", "forward:tp-reduce-scatter", "forward:fc1+forward:tp-all-gather", "forward:fc2+forward:tp-reduce-scatter"]);
    for (const op of two) expect(linkWork(op)).toBeCloseTo(single, 6);
    // one-way at 4e11 B/s: every dot is shorter than twice its collective plus the extra step, nothing kept.
    expect(names(ops({ tpCollectiveMatmul: "one-way" }))).toEqual([]);
    // At 2e12 B/s the long dots keep the loop, their permutes moving the same bytes at half the rate.
    const fast = linkWork(ops({}, 2e12)[0]!) / 2;
    const one = ops({ tpCollectiveMatmul: "one-way" }, 2e12);
    expect(names(one)).toEqual(["qkv+forward", "fc1+forward", "fc2+forward"]);
    for (const op of one) expect(linkWork(op)).toBeCloseTo(op.roles.includes(SM) ? 2 * fast : fast, 6);
  });

  it("a recomputed forward under a remat policy re-runs a windowed collective only with its dot", () => {
    const x = layerShape(tpStep(8, 4e11, { tpCollectiveMatmul: "one-way" }));
    expect(layerForwardKernels(x).collectives.map((c) => c.overlap?.kernels[0])).toEqual(["qkv", "proj", "fc1", "fc2"]);
    // remat policy full keeps the layer input; backward never reads fc2's output, so fc2 and its reduce-scatter are not re-run.
    const rerun = layerRecomputeKernels({ ...x, remat: { policy: "full" } }, "full");
    expect(rerun.kernels.some((k) => k.name === "fc2")).toBe(false);
    expect(rerun.collectives.map((c) => c.overlap?.kernels[0])).toEqual(["qkv", "proj", "fc1"]);
  });

  const load = (parallelism: Record<string, unknown>, network: Record<string, unknown> = {}, nodes = 16): Scenario =>
    scenarioFromObject({ cluster: { gpu: "TPU-v5p", gpusPerNode: 4, nodes, network: { topology: "torus", ...network } }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64 }, parallelism: { tp: 4, ...parallelism } }, { baseDir: ".", name: "t" });
  const refusal = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    throw new Error("expected a ConfigError");
  };

  it("is refused with tpCommOverlap or without sequence parallelism, naming the field", () => {
    expect(load({ tpCollectiveMatmul: "one-way" }).parallelism.tpCollectiveMatmul).toBe("one-way");
    expect(load({}).parallelism.tpCollectiveMatmul).toBeUndefined();
    expect(refusal(() => load({ tpCollectiveMatmul: "two-way", tpCommOverlap: true }))).toContain("parallelism.tpCollectiveMatmul");
    expect(refusal(() => load({ tpCollectiveMatmul: "two-way", sequenceParallel: false }))).toContain("sequenceParallel: false");
    expect(refusal(() => load({ tpCollectiveMatmul: "sideways" }))).toContain("parallelism.tpCollectiveMatmul");
  });

  it("cluster.network.torusShape lays out the slice: a 16-way group of a 16x8x4 slice is one x ring", () => {
    const s = load({ tp: 16 }, { torusShape: [16, 8, 4] }, 128);
    expect(s.cluster.network.torusShape).toEqual([16, 8, 4]);
    expect(torusLayout(s.cluster)).toEqual({ pods: 1, shape: [16, 8, 4] });
    expect(torusLayout(load({ tp: 16 }, {}, 128).cluster).shape).toEqual([8, 8, 8]);
    expect(refusal(() => load({}, { torusShape: [6, 8, 4] }))).toContain("do not divide the job's 64");
    expect(refusal(() => load({}, { torusShape: [64] }))).toContain("expected 2 or 3");
    expect(refusal(() => scenarioFromObject({ cluster: { gpu: "H100-SXM", nodes: 2, network: { torusShape: [4, 4] } }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64 } }, { baseDir: ".", name: "t" }))).toContain("needs topology: torus");
  });
});
