/**
 * `trainsim collective` on the newest fabrics against published collective measurements:
 * a GB200 NVL72 rack (nccl-tests), NVLink5/NVLink4-export NVLS on one node, TPU ICI tori.
 */
import { describe, expect, it } from "vitest";
import { collectiveLoad, NVLINK_EFFICIENCY } from "../../models/collectives/alpha-beta.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { buildTopology, scaleUpSpan } from "../../models/network/build.ts";
import { planCollective } from "../../models/network/collectives.ts";
import { fatTree } from "../../models/network/fat-tree.ts";
import { simulateCollectives } from "../../models/network/flow-sim.ts";
import type { Topology } from "../../models/network/graph.ts";
import { collectiveTable } from "../../models/network/nccl-table.ts";
import { torus } from "../../models/network/torus.ts";
import { groupSlowdowns } from "../../models/network/group-slowdown.ts";
import { rankLayout } from "../../models/parallel/layout.ts";
import { clusterSpec, scenario } from "../helpers/scenario.ts";

const GB200 = CATALOG["GB200"] as Accelerator;
const B200 = CATALOG["B200"] as Accelerator;
const H800 = CATALOG["H800"] as Accelerator;
const V4 = CATALOG["TPU-v4"] as Accelerator;
const GiB = 2 ** 30;

const within = (value: number, published: number, tolerance: number): void => {
  expect(Math.abs(value / published - 1), `${value.toFixed(2)} vs ${published}`).toBeLessThanOrEqual(tolerance);
};

function rack(gpu: Accelerator, racks = 1): Topology {
  return fatTree({ gpu, nodes: 18 * racks, gpusPerNode: 4, nicBandwidth: gpu.nicBandwidth, oversubscription: 1, railOptimized: true });
}

const kindsOf = (t: Topology, links: number[]): string[] => links.map((l) => t.graph.link(l).kind);

describe("GB200 NVL72: an all-reduce over one rack's 72 GPUs", () => {
  const t = rack(GB200, 2);
  const ranks = Array.from({ length: 72 }, (_, i) => i);

  it("stays on NVLink: every flow's links are NVLink, no NIC, PCIe or fabric bytes", () => {
    const plan = planCollective(t, { op: "all-reduce", ranks, bytes: 8 * GiB });
    expect(plan.algorithm).toBe("nvls");
    const kinds = new Set(plan.flows.flatMap((f) => kindsOf(t, f.links)));
    expect([...kinds]).toEqual(["nvlink"]);
    const nicBytes = plan.flows.filter((f) => kindsOf(t, f.links).some((k) => k !== "nvlink")).reduce((a, f) => a + f.bytes, 0);
    expect(nicBytes).toBe(0);
  });

  it("stays on NVLink in the step model too: the rack is one scale-up span, a 72-way group has no NIC bytes", () => {
    const s = scenario({ gpu: GB200, nodes: 36, gpusPerNode: 4, model: "llama3-8b", seqLength: 4096, globalBatch: 144, plan: { tp: 1, dp: 144 } });
    s.cluster.network.topology = "nvl72";
    expect(scaleUpSpan(s.cluster)).toBe(72);
    const layout = rankLayout({ ...s.parallelism, dp: 72, pp: 2 }, s.cluster);
    expect(layout.dp).toEqual({ size: 72, perNode: 72 });
    expect(collectiveLoad("all-reduce", 8 * GiB, layout.dp).nicBytes).toBe(0);
    // Across two racks the data-parallel group does leave the rack: a share goes over the NICs.
    expect(collectiveLoad("all-reduce", 8 * GiB, rankLayout(s.parallelism, s.cluster).dp).nicBytes).toBeGreaterThan(0);
  });

  it("reaches a full rack's published nccl-tests bus bandwidth within 15 % (coreweave/nccl-tests README, GB200 'Single Rack', NCCL 2.26.2: 834.57 GB/s out-of-place, 846.82 in-place at 8 GiB)", () => {
    // The NVLS fraction is calibrated on 8 x B200 in one node (NVIDIA/nccl#1807, busbw 830+), not on this rack.
    const [row] = collectiveTable(t, "all-reduce", ranks, [8 * GiB]);
    within(row!.busbw / 1e9, 834.57, 0.15);
    within(row!.busbw / 1e9, 846.82, 0.15);
    // The same sweep's 1 GiB and 2 GiB rows: 681.17 and 757.78 out-of-place (smaller messages pay NCCL's size curve).
    const [r1, r2] = collectiveTable(t, "all-reduce", ranks, [GiB, 2 * GiB]);
    expect(r1!.busbw).toBeLessThan(row!.busbw);
    expect(r2!.busbw).toBeLessThan(row!.busbw);
  });

  it("NVLS on one node reproduces its calibration: 8 x B200 busbw 830 GB/s (NVIDIA/nccl#1807, NCCL 2.27.1), 8 x H800 215 GB/s (NVIDIA/nccl#1374)", () => {
    const node = (gpu: Accelerator) => fatTree({ gpu, nodes: 1, gpusPerNode: 8, nicBandwidth: gpu.nicBandwidth, oversubscription: 1, railOptimized: true });
    const eight = [0, 1, 2, 3, 4, 5, 6, 7];
    // 8 GiB sits on the size curve's plateau (sizeEfficiency 1).
    within(collectiveTable(node(B200), "all-reduce", eight, [8 * GiB])[0]!.busbw / 1e9, 830, 0.01);
    within(collectiveTable(node(H800), "all-reduce", eight, [8 * GiB])[0]!.busbw / 1e9, 215, 0.01);
  });

  it("one 4-GPU GB200 tray: within 10 % of Azure's published all_reduce_perf (ND GB200 v6, NCCL 2.25.1, in-place, 8 GiB: 679.61 GB/s)", () => {
    const [row] = collectiveTable(t, "all-reduce", [0, 1, 2, 3], [8 * GiB]);
    within(row!.busbw / 1e9, 679.61, 0.1);
  });

  it("its all-to-all over the rack also stays on NVLink, at the links' protocol efficiency (no published NVL72 alltoall_perf figure found)", () => {
    const plan = planCollective(t, { op: "all-to-all", ranks, bytes: 8 * GiB });
    expect(new Set(plan.flows.flatMap((f) => kindsOf(t, f.links)))).toEqual(new Set(["nvlink"]));
    const [row] = collectiveTable(t, "all-to-all", ranks, [8 * GiB]);
    // Each GPU's up link carries its (n-1)/n share: busbw = 900 GB/s x NVLINK_EFFICIENCY.
    within(row!.busbw / 1e9, 900 * NVLINK_EFFICIENCY, 0.01);
  });
});

describe("TPU ICI tori", () => {
  it("reproduces a measured TPU v5e all-gather along a 4-chip axis without wraparound within 15 % (How to Scale Your Model, sharding.md Pop Quiz 2: 2D mesh {X: 8, Y: 4}, bf16[2048, 8192] gathered over Y, profile 680 us)", () => {
    // TPU v5e: 2D torus, 4.5e10 B/s one-way per ICI link (the book's tpus.md table), no wraparound below 16.
    const v5e: Accelerator = { ...(CATALOG["TPU-v5p"] as Accelerator), name: "TPU-v5e", scaleUpBandwidth: 4 * 4.5e10 };
    const t = torus(v5e, 32, [8, 4], { wrap: [false, false] });
    const bytes = 2048 * 8192 * 2;
    const requests = Array.from({ length: 8 }, (_, x) => ({ op: "all-gather" as const, ranks: [0, 1, 2, 3].map((y) => x + 8 * y), bytes }));
    const timings = simulateCollectives(t, requests);
    const seconds = Math.max(...timings.map((r) => r.seconds));
    within(seconds * 1e6, 680, 0.15); // 703 us: 3 hops x 8.4 MB / (4.5e10 x 0.8) + 3 x 1 us
    // The book's bound at full link rate: 3 hops x 8.4 MB / 4.5e10 = 560 us; we sit above it.
    expect(seconds * 1e6).toBeGreaterThan(560);
  });

  it("a wraparound doubles a line's bandwidth: the same all-gather on a closed ring of 4 takes half the time", () => {
    const v5e: Accelerator = { ...(CATALOG["TPU-v5p"] as Accelerator), scaleUpBandwidth: 4 * 4.5e10 };
    const open = torus(v5e, 32, [8, 4], { wrap: [false, false] });
    const closed = torus(v5e, 32, [8, 4], { wrap: [false, true] });
    const req = { op: "all-gather" as const, ranks: [0, 8, 16, 24], bytes: 2 ** 30 };
    const [a] = simulateCollectives(open, [req]);
    const [b] = simulateCollectives(closed, [req]);
    expect(a!.seconds / b!.seconds).toBeCloseTo(2, 1);
  });

  it("an all-reduce over a whole TPU v4 pod drives all 6 links of every chip: busbw = 6 x 50 GB/s x link efficiency, no DCN bytes", () => {
    const c = clusterSpec({ gpu: V4, nodes: 1024, gpusPerNode: 4, network: { topology: "torus" } });
    const t = buildTopology(c);
    expect(t.torus?.shape).toEqual([16, 16, 16]);
    const ranks = Array.from({ length: 4096 }, (_, i) => i);
    const bytes = 8 * GiB;
    const plan = planCollective(t, { op: "all-reduce", ranks, bytes });
    expect(new Set(plan.flows.flatMap((f) => kindsOf(t, f.links)))).toEqual(new Set(["ici"]));
    const [row] = collectiveTable(t, "all-reduce", ranks, [bytes]);
    // No NCCL size curve on ICI; 2 x 8 hops of ~1 us ride on ~30 ms.
    const expected = 6 * 50e9 * NVLINK_EFFICIENCY;
    expect(row!.busbw / expected).toBeCloseTo(1, 2);
  });

  it("a job over two v4 pods: reduce-scatter in each pod, shards all-reduced over the data-centre network, all-gather in each pod", () => {
    const c = clusterSpec({ gpu: V4, nodes: 1536, gpusPerNode: 4, network: { topology: "torus", nicBandwidth: 6.25e9 } });
    const t = buildTopology(c);
    expect(t.scaleUpDomain).toBe(3072);
    expect(scaleUpSpan(c)).toBe(3072);
    const plan = planCollective(t, { op: "all-reduce", ranks: Array.from({ length: 6144 }, (_, i) => i), bytes: GiB });
    const phases: string[][] = [];
    for (let p: typeof plan | undefined = plan; p !== undefined; p = p.then) phases.push([...new Set(p.flows.flatMap((f) => kindsOf(t, f.links)))]);
    expect(phases).toEqual([["ici"], ["nic"], ["ici"]]);
  });

  it("the step model keeps a pod's data-parallel traffic on ICI: a 4096-chip v4 pod is one scale-up span", () => {
    const s = scenario({ gpu: V4, nodes: 1024, gpusPerNode: 4, model: "llama3-8b", seqLength: 2048, globalBatch: 4096, plan: { tp: 4 } });
    s.cluster.network.topology = "torus";
    const layout = rankLayout(s.parallelism, s.cluster);
    expect(layout.dp).toEqual({ size: 1024, perNode: 1024 });
    expect(collectiveLoad("all-reduce", GiB, layout.dp).nicBytes).toBe(0);
    // Strided data-parallel rings (every 4th chip along x) share x links with the other 3 groups, so x
    // gives each group a quarter of its bandwidth and y, z all of theirs: 6 links' worth becomes
    // 2 x (1/4 + 1 + 1) = 4.5, a slowdown of 6 / 4.5 against the ideal that counts all 6 links.
    const slow = groupSlowdowns(s);
    expect(slow.dp).toBeCloseTo(6 / 4.5, 2);
  });

  it("a twisted 8 x 4 x 4 torus routes every pair on a shortest path of the twisted links (BFS), shortens the longest route, and speeds up an all-to-all", () => {
    const v4 = V4;
    const twisted = torus(v4, 128, [8, 4, 4], { twist: true });
    const plain = torus(v4, 128, [8, 4, 4]);
    // The twisted wiring, independently: y or z wrapping round moves x half-way round.
    const id = (x: number, y: number, z: number) => x + 8 * y + 32 * z;
    const neighbours = (c: number): number[] => {
      const [x, y, z] = [c % 8, Math.floor(c / 8) % 4, Math.floor(c / 32)];
      const out = [id((x + 1) % 8, y, z), id((x + 7) % 8, y, z)];
      out.push(y === 3 ? id((x + 4) % 8, 0, z) : id(x, y + 1, z), y === 0 ? id((x + 4) % 8, 3, z) : id(x, y - 1, z));
      out.push(z === 3 ? id((x + 4) % 8, y, 0) : id(x, y, z + 1), z === 0 ? id((x + 4) % 8, y, 3) : id(x, y, z - 1));
      return out;
    };
    let diameter = 0;
    for (const src of [0, 5, 27, 100]) {
      const dist = new Array<number>(128).fill(-1);
      dist[src] = 0;
      const queue = [src];
      while (queue.length > 0) {
        const c = queue.shift() as number;
        for (const n of neighbours(c)) if (dist[n] === -1) ((dist[n] = (dist[c] as number) + 1), queue.push(n));
      }
      for (let dst = 0; dst < 128; dst++) {
        expect(twisted.path(src, dst, 0).length, `${src} -> ${dst}`).toBe(dist[dst]);
        diameter = Math.max(diameter, dist[dst] as number);
      }
    }
    expect(diameter).toBeLessThan(4 + 2 + 2); // the plain torus's longest route
    const ranks = Array.from({ length: 128 }, (_, i) => i);
    const [a] = simulateCollectives(twisted, [{ op: "all-to-all", ranks, bytes: GiB }]);
    const [b] = simulateCollectives(plain, [{ op: "all-to-all", ranks, bytes: GiB }]);
    expect(a!.seconds).toBeLessThan(b!.seconds);
  });

  it("refuses a twist on a slice that is not 2k x k x k", () => {
    expect(() => torus(V4, 64, [4, 4, 4], { twist: true })).toThrow(/2k × k × k/);
  });
});
