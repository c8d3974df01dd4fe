import { describe, expect, it } from "vitest";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { fatTree } from "../../models/network/fat-tree.ts";
import { simulateCollectives } from "../../models/network/flow-sim.ts";
import { busFactor, planCollective, XGMI_EFFICIENCY, type CollectiveRequest } from "../../models/network/collectives.ts";
import { collectiveTable } from "../../models/network/nccl-table.ts";
import { scaleUpLayout, scaleUpTopologyProblem, type ScaleUpTopologyRequest } from "../../models/network/scale-up.ts";
import { NVLINK_EFFICIENCY, sizeEfficiency, type CollectiveOp } from "../../models/collectives/alpha-beta.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { groupSlowdowns } from "../../models/network/group-slowdown.ts";
import { scenario as testScenario } from "../helpers/scenario.ts";
import { ConfigError } from "../../experiments/errors.ts";

const MI300X = CATALOG["MI300X"] as Accelerator;
const H100 = CATALOG["H100-SXM"] as Accelerator;
const H200 = CATALOG["H200"] as Accelerator;
const A100 = CATALOG["A100-80GB"] as Accelerator;
const GB200 = CATALOG["GB200"] as Accelerator;
const GB = 2 ** 30;

function node(gpu: Accelerator, gpusPerNode: number, nodes = 1, scaleUpTopology: ScaleUpTopologyRequest = "auto") {
  return fatTree({ gpu, nodes, gpusPerNode, nicBandwidth: gpu.nicBandwidth, oversubscription: 1, railOptimized: true, scaleUpTopology });
}

/** nccl-tests bus bandwidth (GB/s) of one collective over `ranks`, as `trainsim collective` computes it. */
function busbw(gpu: Accelerator, gpusPerNode: number, op: CollectiveOp, ranks: number[], bytes: number, opts: { nodes?: number; algorithm?: CollectiveRequest["algorithm"]; scaleUp?: ScaleUpTopologyRequest } = {}): { busbw: number; algorithm: string } {
  const [row] = collectiveTable(node(gpu, gpusPerNode, opts.nodes ?? 1, opts.scaleUp ?? "auto"), op, ranks, [bytes], opts.algorithm ?? "auto");
  return { busbw: row!.busbw / 1e9, algorithm: row!.algorithm };
}

const within = (value: number, published: number, tolerance: number): void => {
  expect(Math.abs(value / published - 1), `${value.toFixed(2)} vs ${published}`).toBeLessThanOrEqual(tolerance);
};

const EIGHT = [0, 1, 2, 3, 4, 5, 6, 7];

describe("8 × MI300X xGMI mesh against published rccl-tests (all_reduce_perf)", () => {
  // AMD ROCm blog "Understanding RCCL Bandwidth and xGMI Performance on AMD Instinct MI300X"
  // (March 2025): RCCL 2.22.3, ROCm 6.3.0, rccl-tests develop 448c4c7, out-of-place busbw.
  it("reaches the blog's 314.72 GB/s at 1 GB and 318.98 GB/s at 16 GB within 2 %", () => {
    const oneGB = busbw(MI300X, 8, "all-reduce", EIGHT, GB);
    expect(oneGB.algorithm).toBe("direct");
    within(oneGB.busbw, 314.72, 0.02);
    within(busbw(MI300X, 8, "all-reduce", EIGHT, 16 * GB).busbw, 318.98, 0.02);
  });

  it("reaches Azure ND MI300X v5's in-place 313.92 GB/s (1 GB) and 316.82 GB/s (8 GB) within 2 % (Azure/AI-benchmarking-guide, RCCL 2.22.3)", () => {
    within(busbw(MI300X, 8, "all-reduce", EIGHT, GB).busbw, 313.92, 0.02);
    within(busbw(MI300X, 8, "all-reduce", EIGHT, 8 * GB).busbw, 316.82, 0.02);
  });

  it("at 256 MB stays within 5 % of the blog's 305.62 GB/s (the size curve is NVLink-measured)", () => {
    within(busbw(MI300X, 8, "all-reduce", EIGHT, 256 * 2 ** 20).busbw, 305.62, 0.05);
  });

  it("uses all 7 links of each GPU: a single ring (one link per GPU) gets a seventh of it", () => {
    const direct = busbw(MI300X, 8, "all-reduce", EIGHT, 8 * GB).busbw;
    const ring = busbw(MI300X, 8, "all-reduce", EIGHT, 8 * GB, { algorithm: "ring" }).busbw;
    expect(direct / ring).toBeCloseTo(7, 6);
  });

  it("spreads all-gather and reduce-scatter over every link too (7 × 64 GB/s × the measured xGMI efficiency at 8 GB)", () => {
    for (const op of ["all-gather", "reduce-scatter"] as const) {
      expect(busbw(MI300X, 8, op, EIGHT, 8 * GB).busbw).toBeCloseTo((7 * 64 * XGMI_EFFICIENCY * sizeEfficiency(8 * GB)), 6);
    }
  });
});

describe("groups smaller than the mesh use only their own pair links (hand-computed)", () => {
  it("a 2-GPU all-reduce on MI300X moves S over its one 64 GB/s link: busbw = 64 GB/s × 318.98/448 = 45.57 GB/s at 8 GB", () => {
    const S = 8 * GB;
    const t = node(MI300X, 8);
    const [r] = simulateCollectives(t, [{ op: "all-reduce", ranks: [2, 5], bytes: S }]);
    // One direct flow each way carrying busFactor(2) · S = S bytes, at 64e9 × XGMI_EFFICIENCY.
    const seconds = S / (64e9 * XGMI_EFFICIENCY * sizeEfficiency(S));
    expect(r!.seconds).toBeCloseTo(seconds, 9);
    expect((S / r!.seconds) * busFactor("all-reduce", 2) / 1e9).toBeCloseTo(45.568, 2);
    expect(r!.plan.flows.map((f) => [f.src, f.dst])).toEqual([[2, 5], [5, 2]]);
  });

  it("a 4-GPU all-gather on MI300X gets 3 of the 7 links: 3/7 of the 8-GPU bus bandwidth", () => {
    const four = busbw(MI300X, 8, "all-gather", [0, 1, 2, 3], 8 * GB).busbw;
    const eight = busbw(MI300X, 8, "all-gather", EIGHT, 8 * GB).busbw;
    expect(four / eight).toBeCloseTo(3 / 7, 6);
  });

  it("a broadcast scatters from the root and the others forward: nothing flows back to the root", () => {
    const plan = planCollective(node(MI300X, 8), { op: "broadcast", ranks: [0, 1, 2, 3], bytes: 3 * GB });
    expect(plan.algorithm).toBe("direct");
    expect(plan.flows.some((f) => f.dst === 0)).toBe(false);
    expect(plan.flows).toHaveLength(3 + 3 * 2);
  });
});

describe("NVLink boards without NVSwitch (HGX A100/H100/H200 4-GPU)", () => {
  it("nodes of 4 H100/H200/A100 are meshes by default; nodes of 8 and GB200 NVL72 trays are switched", () => {
    expect(scaleUpLayout(H100, 4)).toMatchObject({ topology: "mesh", domain: 4, board: 4 });
    expect(scaleUpLayout(H200, 4)).toMatchObject({ topology: "mesh", domain: 4, board: 4 });
    expect(scaleUpLayout(A100, 4)).toMatchObject({ topology: "mesh", domain: 4, board: 4 });
    expect(scaleUpLayout(H100, 8)).toMatchObject({ topology: "switch", domain: 8 });
    expect(scaleUpLayout(GB200, 4)).toMatchObject({ topology: "switch", domain: 72 });
    expect(scaleUpLayout(MI300X, 8)).toMatchObject({ topology: "mesh", domain: 8, board: 8 });
    // Gaudi 3: 8 OAMs all-to-all on the baseboard (21 of 24 RoCE ports, 3 per peer).
    expect(scaleUpLayout(CATALOG["Gaudi3"] as Accelerator, 8)).toMatchObject({ topology: "mesh", domain: 8, board: 8 });
    // Two GPUs of a 4-GPU board (an explicit mesh): one pair link cut for a board of 4.
    expect(scaleUpLayout(H200, 2, "mesh")).toMatchObject({ topology: "mesh", domain: 2, board: 4 });
    // A board's switch stays inside its node.
    expect(scaleUpLayout(H100, 2, "switch")).toMatchObject({ topology: "switch", domain: 2 });
  });

  it("each pair gets 6 of 18 NVLinks: 4-GPU all-reduce busbw = 3 × 150 GB/s × 0.8 = 360 GB/s at 8 GB, and no NVLS", () => {
    const t = node(H100, 4);
    expect(t.scaleUpMesh).toBe(true);
    expect(t.inSwitchReduction).toBe(false);
    const r = busbw(H100, 4, "all-reduce", [0, 1, 2, 3], 8 * GB);
    expect(r.algorithm).toBe("direct");
    expect(r.busbw).toBeCloseTo(3 * 150 * NVLINK_EFFICIENCY, 6);
    expect(() => planCollective(t, { op: "all-reduce", ranks: [0, 1, 2, 3], bytes: GB, algorithm: "nvls" })).toThrow(/nvls/);
  });

  it("a 2-GPU group on the board has its one pair link: 150 GB/s × 0.8 = 120 GB/s; an 8-GPU switched node gives the pair 450 × 0.8", () => {
    expect(busbw(H100, 4, "all-reduce", [1, 3], 8 * GB).busbw).toBeCloseTo(150 * NVLINK_EFFICIENCY, 6);
    expect(busbw(H100, 8, "all-reduce", [1, 3], 8 * GB).busbw).toBeCloseTo(450 * NVLINK_EFFICIENCY, 6);
  });

  it("scaleUpTopology: switch on nodes of 4 H100 brings back the NVSwitch model (and NVLS)", () => {
    const r = busbw(H100, 4, "all-reduce", [0, 1, 2, 3], 8 * GB, { scaleUp: "switch" });
    expect(r.algorithm).toBe("nvls");
  });

  it("GPUs of different 4-GPU nodes talk over the NICs, not NVLink", () => {
    const t = node(H200, 4, 2);
    expect(t.path(0, 5, 0).map((l) => t.graph.link(l).kind)).toContain("nic");
    expect(t.path(0, 3, 0).map((l) => t.graph.link(l).kind)).toEqual(["nvlink"]);
  });
});

describe("multi-node rings over mesh nodes", () => {
  it("spread each node's hops over every peer link: 2 × 8 MI300X all-reduce is not held to one xGMI link per GPU", () => {
    const ranks = Array.from({ length: 16 }, (_, i) => i);
    const t = node(MI300X, 8, 2);
    const plan = planCollective(t, { op: "all-reduce", ranks, bytes: 8 * GB });
    const perLink = new Map<number, number>();
    for (const f of plan.flows) for (const l of f.links) if (t.graph.link(l).kind === "xgmi") perLink.set(l, (perLink.get(l) ?? 0) + f.bytes);
    expect(perLink.size).toBe(2 * 56);
    const loads = [...perLink.values()];
    expect(Math.max(...loads) / Math.min(...loads)).toBeCloseTo(1, 9);
    // Each GPU's node-internal bytes (the ring volume) over 7 links of 45.6 GB/s: far above one link's 45.6.
    expect(busbw(MI300X, 8, "all-reduce", ranks, 8 * GB, { nodes: 2 }).busbw).toBeGreaterThan(250);
  });
});

describe("what the step model sees: group slowdowns against its all-links analytic cost (hand-computed)", () => {
  it("an FSDP group over a whole MI300X node runs at the xGMI efficiency: slowdown 0.8 / 0.712", () => {
    const s = testScenario({ gpu: "MI300X", nodes: 1, model: "llama3-8b", seqLength: 4096, globalBatch: 8, plan: { dp: 8, zero: 3 } });
    expect(groupSlowdowns(s).dp).toBeCloseTo(NVLINK_EFFICIENCY / XGMI_EFFICIENCY, 6);
  });

  it("tp 2 on an HGX H100 4-GPU board has one pair link of three: slowdown 3; on nodes of 8 (NVSwitch) 1", () => {
    const board = testScenario({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 4, model: "llama3-8b", seqLength: 4096, globalBatch: 8, plan: { tp: 2, dp: 2 } });
    expect(groupSlowdowns(board).tp).toBeCloseTo(3, 6);
    const dgx = testScenario({ gpu: "H100-SXM", nodes: 1, gpusPerNode: 8, model: "llama3-8b", seqLength: 4096, globalBatch: 8, plan: { tp: 2, dp: 4 } });
    expect(groupSlowdowns(dgx).tp).toBeCloseTo(1, 6);
  });
});

describe("cluster.scaleUpTopology in a scenario", () => {
  const scenario = (cluster: Record<string, unknown>): unknown => ({
    cluster: { gpu: "H100-SXM", nodes: 1, gpusPerNode: 8, ...cluster },
    workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8 },
  });
  const problems = (obj: unknown): string[] => {
    try {
      scenarioFromObject(obj, { baseDir: ".", file: "mesh.yaml" });
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.map((p) => p.message);
      throw e;
    }
  };

  it("defaults to auto and accepts switch, or a mesh of at most a board", () => {
    expect(problems(scenario({}))).toEqual([]);
    expect(scenarioFromObject(scenario({}), { baseDir: "." }).cluster.scaleUpTopology).toBe("auto");
    expect(problems(scenario({ scaleUpTopology: "switch" }))).toEqual([]);
    expect(problems(scenario({ scaleUpTopology: "mesh", gpusPerNode: 4 }))).toEqual([]);
  });

  it("refuses a value it does not know, and a mesh larger than the board, naming the field", () => {
    expect(problems(scenario({ scaleUpTopology: "ring" }))).toEqual([`cluster.scaleUpTopology: "ring" is not allowed; expected one of "auto", "switch", "mesh"`]);
    const [p] = problems(scenario({ scaleUpTopology: "mesh" }));
    expect(p).toMatch(/^cluster\.scaleUpTopology: "mesh" is not allowed with 8 H100-SXM per node: a direct nvlink mesh joins at most 4 GPUs/);
  });

  it("says why not for a TPU torus", () => {
    expect(scaleUpTopologyProblem(CATALOG["TPU-v5p"] as Accelerator, 1, "mesh")).toMatch(/ICI torus/);
  });
});
