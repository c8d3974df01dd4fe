/** Collectives expanded rank by rank on a link graph. */
import { CATALOG } from "../models/hardware/catalog.ts";
import type { Accelerator } from "../models/hardware/types.ts";
import { fatTree } from "../models/network/fat-tree.ts";
import { simulateCollectives, type FlowSimStats } from "../models/network/flow-sim.ts";
import { measure, type BenchResult } from "./harness.ts";

/** Ring all-reduce of 1 GiB over 1,024 H100s on a three-tier fat-tree (radix-32 switches: 64 leaves). */
export function ring1024(): BenchResult {
  const t = fatTree({ gpu: CATALOG["H100-SXM"] as Accelerator, nodes: 128, gpusPerNode: 8, nicBandwidth: 50e9, oversubscription: 1, railOptimized: false, switchRadix: 32 });
  if (!t.describe().includes("3 tiers")) throw new Error(`expected a 3-tier fabric: ${t.describe()}`);
  const ranks = Array.from({ length: 1024 }, (_, i) => i);
  return measure("ring all-reduce, 1,024 GPUs, 3-tier fat-tree", () => {
    const stats: FlowSimStats = { events: 0, flows: 0 };
    const t0 = process.hrtime.bigint();
    simulateCollectives(t, [{ op: "all-reduce", ranks, bytes: 2 ** 30, algorithm: "ring" }], stats);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, count: stats.events, unit: "events" };
  });
}
