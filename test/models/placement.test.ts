import { describe, expect, it } from "vitest";
import { problemsOf as problemsOfCall } from "../helpers/config-problems.ts";
import type { ConfigProblem } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { buildTopology, scaleUpSpan } from "../../models/network/build.ts";
import { planCollective } from "../../models/network/collectives.ts";
import { distinctStages, groupSlowdowns } from "../../models/network/group-slowdown.ts";
import { domainNodes, physicalNode } from "../../models/network/placement.ts";
import { rankLayout } from "../../models/parallel/layout.ts";
import type { ClusterSpec, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { clusterSpec, denseModel, scenario } from "../helpers/scenario.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";

const GB200 = CATALOG["GB200"] as Accelerator;
/** 64 GB200 trays of 4 on NVL72 racks (72 GPUs, 18 trays), optionally placed in segments of `segmentNodes`. */
function racks(segmentNodes?: number, nodes = 64): ClusterSpec {
  const c = clusterSpec({ gpu: GB200, nodes, gpusPerNode: 4, network: { topology: "nvl72" } });
  return segmentNodes === undefined ? c : { ...c, placement: { segmentNodes } };
}
const domainOf = (c: ClusterSpec, rank: number): number => Math.floor(rank / scaleUpSpan(c));

describe("cluster.placement: Slurm segments on 72-GPU NVL72 racks of 18 trays of 4, by hand", () => {
  it("without the key ranks fill racks in order: the boundaries at GPUs 72, 144, 216 cut three of the four 16-tray EP groups", () => {
    const c = racks();
    expect(domainNodes(c)).toBe(18);
    expect(scaleUpSpan(c)).toBe(72);
    expect([domainOf(c, 71), domainOf(c, 72)]).toEqual([0, 1]);
    // EP 64 (tp 1): groups of 16 trays at ranks 0, 64, 128, 192: 64..127 over racks 0 and 1, 128..191 over 1
    // and 2 (boundary 144), 192..255 over 2 and 3 (boundary 216).
    const straddling = [0, 64, 128, 192].filter((first) => domainOf(c, first) !== domainOf(c, first + 63));
    expect(straddling).toEqual([64, 128, 192]);
  });

  it("segments of 16 trays: 4 racks of 16 trays (64 GPUs) hold the 64 trays, no EP group of 16 trays straddles", () => {
    const c = racks(16);
    // floor(18 / 16) = 1 segment per rack: 16 · 4 = 64 GPUs, 2 trays idle per rack.
    expect(scaleUpSpan(c)).toBe(64);
    expect([0, 64, 128, 192].every((first) => domainOf(c, first) === domainOf(c, first + 63))).toBe(true);
    expect(new Set(Array.from({ length: 256 }, (_, g) => domainOf(c, g))).size).toBe(4);
    // Job node 16 is the first tray of the second rack: physical tray 18; node 63 is rack 3's 16th: 3 · 18 + 15.
    expect([physicalNode(15, 16, 18), physicalNode(16, 16, 18), physicalNode(63, 16, 18)]).toEqual([15, 18, 69]);
    expect(buildTopology(c).scaleUpDomain).toBe(64);
  });

  it("segments of 8 put two per rack (64 GPUs), of 2 nine per rack (the racks' 72, as without the key)", () => {
    expect(scaleUpSpan(racks(8))).toBe(2 * 8 * 4);
    expect(scaleUpSpan(racks(2))).toBe(9 * 2 * 4);
    expect(scaleUpSpan(racks(18, 36))).toBe(72);
    // A job smaller than a rack stays one domain.
    expect(scaleUpSpan(racks(16, 8))).toBe(32);
  });

  it("an all-to-all within a segment has no NIC traffic; across the rack boundary at 72 it has", () => {
    const ranks = Array.from({ length: 64 }, (_, i) => 64 + i);
    const kinds = (c: ClusterSpec): string[] => {
      const t = buildTopology(c);
      return planCollective(t, { op: "all-to-all", ranks, bytes: 2 ** 30 }).flows.flatMap((f) => f.links.map((l) => t.graph.link(l).kind));
    };
    const segmented = kinds(racks(16));
    expect(segmented.length).toBe(64 * 63 * 2);
    expect(segmented.every((k) => k === "nvlink")).toBe(true);
    // Rank order: 8 members in rack 0, 56 in rack 1: 2 · 8 · 56 ordered pairs leave through a NIC.
    const t = buildTopology(racks());
    const crossing = planCollective(t, { op: "all-to-all", ranks, bytes: 2 ** 30 }).flows.filter((f) => f.links.some((l) => t.graph.link(l).kind === "nic"));
    expect(crossing.length).toBe(2 * 8 * 56);
  });
});

describe("a stage across a rack boundary: folded mode probes every stage's placement", () => {
  const MOE = denseModel({ name: "tiny-moe", layers: 4, hidden: 1024, heads: 8, kvHeads: 8, ffn: 4096, vocab: 8, experts: 16, topK: 2, expertFfn: 1024 });
  // 32 trays, pp 2 × dp 64 (ep 16): stage 0 = ranks 0..63 inside rack 0, stage 1 = 64..127 across racks 0 and 1
  // (its EP group 64..79 and its data-parallel group straddle); with segments of 16 trays, stage 1 is rack 1.
  const base = scenario({ gpu: "GB200", nodes: 32, gpusPerNode: 4, model: MOE, seqLength: 4096, globalBatch: 128, gpuVariability: 0, plan: { pp: 2, ep: 16, zero: 1 } });
  const placed = (segmentNodes: number): Scenario => ({ ...base, cluster: { ...base.cluster, placement: { segmentNodes } } });

  it("the probe sees stage 1's straddling groups (stage 0's alone are all on NVLink)", () => {
    expect(distinctStages(base)).toEqual([0, 1]);
    const stage0 = groupSlowdowns({ ...base, parallelism: { ...base.parallelism, pp: 1 }, cluster: { ...base.cluster, nodes: 16 } });
    expect(stage0.ep).toBeCloseTo(1, 9);
    expect(stage0.dp).toBeCloseTo(1, 9);
    const all = groupSlowdowns(base);
    // Over the NICs (50 GB/s) instead of NVLink (900 GB/s): several times slower.
    expect(all.ep).toBeGreaterThan(4);
    expect(all.dp).toBeGreaterThan(4);
    // Stage 1 straddles: its sends count as crossing (the stage waits for its slowest pair).
    expect([rankLayout(base.parallelism, base.cluster).stageNode(0), rankLayout(base.parallelism, base.cluster).stageNode(1)]).toEqual([0, -2]);
  });

  it("folded agrees with full: within 1e-4 when stage 1 straddles, exactly with segments of 16 trays", () => {
    const folded = simulateStep(base);
    const full = simulateStepFull(base);
    expect(Math.abs(full.stepSeconds / folded.stepSeconds - 1)).toBeLessThan(1e-4);
    const s = placed(16);
    expect(distinctStages(s)).toEqual([0]);
    for (const v of Object.values(groupSlowdowns(s))) expect(v).toBeCloseTo(1, 9);
    const f = simulateStep(s);
    const u = simulateStepFull(s);
    expect(u.stepSeconds).toBeCloseTo(f.stepSeconds, 9);
    for (const c of CATEGORIES) expect(u.breakdown[c], c).toBeCloseTo(f.breakdown[c], 9);
    // Keeping each stage in its rack is what makes the step fast.
    expect(f.stepSeconds).toBeLessThan(folded.stepSeconds / 2);
  });

  it("stages of 32 GPUs on racks of 72: each distinct offset probed once; segments of 8 leave two", () => {
    const s = scenario({ gpu: "GB200", nodes: 64, gpusPerNode: 4, model: MOE, seqLength: 4096, globalBatch: 256, gpuVariability: 0, plan: { pp: 8, ep: 16, zero: 1 } });
    // Offsets 0, 32, 64, 24, 56, 16, 48, 8 of 72: all differ.
    expect(distinctStages(s)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const layout = rankLayout(s.parallelism, s.cluster);
    // Stage 2 (ranks 64..95) straddles the boundary at 72; stage 3 (96..127) sits in rack 1.
    expect([0, 1, 2, 3].map((st) => layout.stageNode(st))).toEqual([0, 0, -3, 1]);
    expect(distinctStages({ ...s, cluster: { ...s.cluster, placement: { segmentNodes: 8 } } })).toEqual([0, 1]);
    // H100 nodes of 8 with stages of 1024 GPUs: one probe, as before.
    const h100 = scenario({ nodes: 256, model: "llama3-8b", seqLength: 4096, globalBatch: 512, plan: { tp: 8, pp: 2 } });
    expect(distinctStages(h100)).toEqual([0]);
  });
});

function problemsOf(cluster: Record<string, unknown>): ConfigProblem[] {
  return problemsOfCall(() =>
    scenarioFromObject({ cluster, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64 }, parallelism: { tp: 4 } }, { baseDir: ".", name: "test" }),
  );
}

describe("cluster.placement.segmentNodes refused with the field named", () => {
  it("a segment larger than a rack, a job not a whole number of segments, a board-level domain, a torus", () => {
    const gb200 = { gpu: "GB200", nodes: 64, gpusPerNode: 4, network: { topology: "nvl72" } };
    const big = problemsOf({ ...gb200, placement: { segmentNodes: 20 } });
    expect(big.map((p) => p.path)).toEqual(["cluster.placement.segmentNodes"]);
    expect(big[0]!.message).toMatch(/20 is not allowed: a segment must fit in one scale-up domain, and GB200's domain of 72 GPUs holds 18 nodes of 4; expected an integer from 1 to 18/);
    const uneven = problemsOf({ ...gb200, placement: { segmentNodes: 12 } });
    expect(uneven[0]!.message).toMatch(/12 is not allowed with cluster.nodes 64: a job larger than one segment must be a whole number of segments/);
    const h100 = problemsOf({ gpu: "H100-SXM", nodes: 8, placement: { segmentNodes: 2 } });
    expect(h100[0]!.message).toMatch(/domain of 8 GPUs holds 1 node of 8; expected an integer from 1 to 1/);
    const tpu = problemsOf({ gpu: "TPU-v5p", nodes: 16, gpusPerNode: 4, network: { topology: "torus" }, placement: { segmentNodes: 4 } });
    expect(tpu.map((p) => p.path)).toEqual(["cluster.placement.segmentNodes"]);
    expect(tpu[0]!.message).toMatch(/torus/);
    expect(problemsOf({ ...gb200, placement: { segmentNodes: 0 } }).map((p) => p.path)).toEqual(["cluster.placement.segmentNodes"]);
    // Accepted: 64 trays in segments of 16.
    expect(scenarioFromObject({ cluster: { ...gb200, placement: { segmentNodes: 16 } }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64 }, parallelism: { tp: 4 } }, { baseDir: ".", name: "ok" }).cluster.placement).toEqual({ segmentNodes: 16 });
  });
});
