import { describe, expect, it } from "vitest";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { fatTree } from "../../models/network/fat-tree.ts";
import { torus, torusShape } from "../../models/network/torus.ts";
import { simulateCollectives } from "../../models/network/flow-sim.ts";
import { busFactor, type CollectiveRequest } from "../../models/network/collectives.ts";
import { collectiveSizes, collectiveTable } from "../../models/network/nccl-table.ts";
import { NETWORK_STEP_SECONDS, sizeEfficiency, type CollectiveOp } from "../../models/collectives/alpha-beta.ts";

const A100 = CATALOG["A100-80GB"] as Accelerator;
const H100 = CATALOG["H100-SXM"] as Accelerator;
const GB8 = 8 * 2 ** 30;

function cluster(gpu: Accelerator, nodes: number, opts: { rail?: boolean; oversubscription?: number; routing?: "ecmp" | "dmodk" } = {}) {
  return fatTree({ gpu, nodes, gpusPerNode: 8, nicBandwidth: gpu.nicBandwidth, oversubscription: opts.oversubscription ?? 1, railOptimized: opts.rail ?? true, routing: opts.routing ?? "ecmp" });
}

function busbw(gpu: Accelerator, nodes: number, op: CollectiveOp, algorithm: CollectiveRequest["algorithm"] = "ring", bytes = GB8): number {
  const t = cluster(gpu, nodes);
  const ranks = Array.from({ length: nodes * 8 }, (_, i) => i);
  const [r] = simulateCollectives(t, [{ op, ranks, bytes, algorithm }]);
  return ((bytes / r!.seconds) * busFactor(op, ranks.length)) / 1e9;
}

const within = (value: number, published: number, tolerance = 0.15): void => {
  expect(Math.abs(value / published - 1), `${value.toFixed(1)} vs ${published}`).toBeLessThanOrEqual(tolerance);
};

describe("bus bandwidth against published nccl-tests figures (large messages, within 15 %)", () => {
  it("one DGX A100 node, all-reduce: 231.58 GB/s (Azure/AI-benchmarking-guide, ND A100 v4, 8 GB, NCCL 2.18.5)", () => {
    within(busbw(A100, 1, "all-reduce"), 231.58);
  });

  it("one DGX H100 node, ring all-reduce ~370 GB/s and all-gather ~360 GB/s (S. Jeaugey, NVIDIA/nccl-tests #212 and #326)", () => {
    within(busbw(H100, 1, "all-reduce", "ring"), 370);
    within(busbw(H100, 1, "all-gather", "ring"), 360);
  });

  it("one DGX H100 node, all-reduce with NVLink SHARP (NVLS): 478.87 GB/s (Azure ND H100 v5, 8 GB)", () => {
    within(busbw(H100, 1, "all-reduce", "auto"), 478.87);
  });

  it("multi-node DGX A100 with 8 × 200 Gb/s HDR InfiniBand: 192 GB/s all-reduce (NVIDIA, NVIDIA/nccl #812)", () => {
    within(busbw(A100, 8, "all-reduce"), 192);
    within(busbw(A100, 32, "all-reduce"), 192);
  });

  it("multi-node H100 with 8 × 400 Gb/s NDR: 46–48 GB/s per NIC (NVIDIA, NVIDIA/nccl-tests #290), 8 NICs per node", () => {
    within(busbw(H100, 16, "all-reduce"), 8 * 47);
  });

  it("small messages are latency-bound: time flat from 8 B to 32 KB, tens of microseconds, then bandwidth takes over", () => {
    const rows = collectiveTable(cluster(A100, 1), "all-reduce", [0, 1, 2, 3, 4, 5, 6, 7], collectiveSizes(8, 2 ** 30, 8), "ring");
    const small = rows.filter((r) => r.bytes <= 32768).map((r) => r.seconds);
    for (const t of small) {
      expect(t).toBeGreaterThan(20e-6);
      expect(t).toBeLessThan(80e-6);
      expect(Math.abs(t / (small[0] as number) - 1)).toBeLessThan(0.1);
    }
    // Bus bandwidth rises monotonically towards the plateau.
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.busbw).toBeGreaterThanOrEqual(rows[i - 1]!.busbw * 0.99);
  });
});

describe("contention on the link graph (hand-derivable)", () => {
  it("two equal flows through one oversubscribed uplink each get half", () => {
    // 2:1 classic fat-tree, D-mod-K routing: leaf 0 has 16 uplinks; destinations 32 and 48
    // (on leaf 1, both ≡ 0 mod 16) take the same uplink.
    const t = cluster(A100, 8, { rail: false, oversubscription: 2, routing: "dmodk" });
    const bytes = 2 ** 30;
    const alone = simulateCollectives(t, [{ op: "send", ranks: [0, 32], bytes }])[0]!.seconds;
    const both = simulateCollectives(t, [
      { op: "send", ranks: [0, 32], bytes },
      { op: "send", ranks: [1, 48], bytes },
    ]);
    for (const b of both) expect(b.seconds / alone).toBeCloseTo(2, 2);
    // And a destination on another uplink does not slow either.
    const apart = simulateCollectives(t, [
      { op: "send", ranks: [0, 32], bytes },
      { op: "send", ranks: [1, 33], bytes },
    ]);
    for (const b of apart) expect(b.seconds / alone).toBeCloseTo(1, 6);
  });

  it("data-parallel groups on different rails do not slow each other; on the same rail they do", () => {
    // Rail-optimized, 2 scalable units (64 nodes), one uplink per leaf (32:1): every
    // cross-unit flow of a rail shares that rail's single uplink.
    const t = cluster(H100, 64, { rail: true, oversubscription: 32 });
    const g = (node: number, rail: number): number => node * 8 + rail;
    const bytes = 2 ** 30;
    const a: CollectiveRequest = { op: "all-reduce", ranks: [g(0, 0), g(32, 0)], bytes, algorithm: "ring" };
    const alone = simulateCollectives(t, [a])[0]!.seconds;
    const otherRail = simulateCollectives(t, [a, { ...a, ranks: [g(1, 1), g(33, 1)] }]);
    expect(otherRail[0]!.seconds / alone).toBeCloseTo(1, 6);
    const sameRail = simulateCollectives(t, [a, { ...a, ranks: [g(1, 0), g(33, 0)] }]);
    expect(sameRail[0]!.seconds / alone).toBeGreaterThan(1.9);
    expect(sameRail[0]!.seconds / alone).toBeLessThan(2.1);
  });

  it("an all-to-all across a 2:1 oversubscribed fabric takes about twice as long as on a non-blocking one", () => {
    // Classic fat-tree, 4 nodes (32 GPUs) per leaf. Of each GPU's all-to-all data, (n−32)/n
    // leaves its leaf and (n−8)/n its node. Non-blocking, the NICs bind: (n−8)/n·S each.
    // At 2:1 a leaf's 16 uplinks carry its 32 GPUs' cross-leaf data: 2·(n−32)/n·S each.
    // Ratio 2·(n−32)/(n−8): 1.6 for 128 GPUs, → 2 as the fabric grows.
    const run = (oversubscription: number): number => {
      const t = cluster(H100, 16, { rail: false, oversubscription, routing: "dmodk" });
      const ranks = Array.from({ length: 128 }, (_, i) => i);
      return simulateCollectives(t, [{ op: "all-to-all", ranks, bytes: 2 ** 30 }])[0]!.seconds;
    };
    expect(run(2) / run(1)).toBeCloseTo((2 * (128 - 32)) / (128 - 8), 3);
  });
});

describe("routing", () => {
  it("ECMP is deterministic for a salt and spreads flows over the uplinks", () => {
    const t = cluster(H100, 64, { rail: false });
    expect(t.path(0, 300, 7)).toEqual(t.path(0, 300, 7));
    const counts = new Map<number, number>();
    for (let salt = 0; salt < 3200; salt++) {
      const first = t.path(0, 300, salt)[2] as number; // leaf uplink after pcie, nic
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    expect(counts.size).toBe(32);
    for (const c of counts.values()) expect(c).toBeGreaterThan(50);
  });

  it("paths stay inside a node over NVSwitch, and climb to the core only between pods", () => {
    const t = cluster(H100, 512, { rail: false }); // 128 leaves of 4 nodes: more than a spine reaches, so 3 tiers
    expect(t.path(0, 7, 0).length).toBe(2);
    expect(t.path(0, 8, 0).length).toBe(4); // same leaf: pcie, nic, nic, pcie
    expect(t.path(0, 2047, 0).length).toBe(8); // other pod: + leaf→spine→core→spine→leaf
  });

  it("torus paths take the shorter way round each ring", () => {
    expect(torusShape(64, 3)).toEqual([4, 4, 4]);
    expect(torusShape(32, 2)).toEqual([8, 4]);
    const tpu = CATALOG["TPU-v5p"] as Accelerator;
    const t = torus(tpu, 64, [4, 4, 4]);
    expect(t.path(0, 3, 0).length).toBe(1); // wraparound: 0 → 3 is one hop back
    expect(t.path(0, 2, 0).length).toBe(2);
    expect(t.path(0, 2 + 2 * 4 + 2 * 16, 0).length).toBe(6);
    const [r] = simulateCollectives(t, [{ op: "all-reduce", ranks: Array.from({ length: 64 }, (_, i) => i), bytes: 2 ** 28, algorithm: "ring" }]);
    expect(r!.seconds).toBeGreaterThan(0);
  });
});

describe("hierarchical all-reduce", () => {
  it("runs its three phases one after the other: node reduce-scatter, rail all-reduce of shards, node all-gather", () => {
    const t = cluster(A100, 8);
    const ranks = Array.from({ length: 64 }, (_, i) => i);
    const S = 4 * 2 ** 30;
    const [r] = simulateCollectives(t, [{ op: "all-reduce", ranks, bytes: S, algorithm: "hierarchical" }]);
    const nv = 300e9 * 0.8;
    const nic = 25e9 * 0.95;
    const eff = (b: number) => sizeEfficiency(b);
    const intra = ((7 / 8) * S) / eff(S) / nv;
    const inter = (2 * (7 / 8) * (S / 8)) / eff(S / 8) / nic;
    const latency = 2 * 7 * NETWORK_STEP_SECONDS;
    expect(r!.seconds / (2 * intra + inter + latency)).toBeCloseTo(1, 6);
    // Not pipelined: slower than the ring, which streams all three at once.
    const [ring] = simulateCollectives(t, [{ op: "all-reduce", ranks, bytes: S, algorithm: "ring" }]);
    expect(ring!.seconds).toBeLessThan(r!.seconds);
  });
});
