/**
 * An nccl-tests-style sweep of one collective over message sizes: time,
 * algorithm bandwidth (size / time) and bus bandwidth (algbw × the nccl-tests
 * correction: 2(n−1)/n for all-reduce, (n−1)/n for all-gather, reduce-scatter
 * and all-to-all, 1 for broadcast and send), each size simulated on its own.
 */
import type { CollectiveOp } from "../collectives/alpha-beta.ts";
import type { Algorithm } from "./collectives.ts";
import { busFactor } from "./collectives.ts";
import type { Topology } from "./graph.ts";
import { simulateCollectives } from "./flow-sim.ts";

export interface CollectiveRow {
  bytes: number;
  seconds: number;
  algbw: number;
  busbw: number;
  algorithm: string;
  flows: number;
}

export function collectiveSizes(minBytes: number, maxBytes: number, factor: number): number[] {
  const out: number[] = [];
  for (let b = minBytes; b <= maxBytes; b *= factor) out.push(b);
  return out;
}

export function collectiveTable(t: Topology, op: CollectiveOp, ranks: number[], sizes: number[], algorithm: Algorithm = "auto"): CollectiveRow[] {
  return sizes.map((bytes) => {
    const req = op === "send" ? { op, ranks: [ranks[0] as number, ranks[ranks.length - 1] as number], bytes, algorithm } : { op, ranks, bytes, algorithm };
    const [timing] = simulateCollectives(t, [req]);
    const seconds = timing!.seconds;
    const algbw = bytes / seconds;
    return { bytes, seconds, algbw, busbw: algbw * busFactor(op, req.ranks.length), algorithm: timing!.plan.algorithm, flows: timing!.plan.flows.length };
  });
}

export function formatCollectiveTable(rows: CollectiveRow[], header: string): string {
  const lines = [
    `# ${header}`,
    "#",
    `# ${"size (B)".padStart(12)} ${"time (us)".padStart(12)} ${"algbw (GB/s)".padStart(13)} ${"busbw (GB/s)".padStart(13)}  algorithm`,
  ];
  for (const r of rows) {
    lines.push(`  ${String(r.bytes).padStart(12)} ${(r.seconds * 1e6).toFixed(2).padStart(12)} ${(r.algbw / 1e9).toFixed(2).padStart(13)} ${(r.busbw / 1e9).toFixed(2).padStart(13)}  ${r.algorithm}`);
  }
  const big = rows.filter((r) => r.bytes >= 2 ** 30);
  if (big.length > 0) lines.push(`# Avg bus bandwidth over sizes >= 1 GB: ${(big.reduce((a, r) => a + r.busbw, 0) / big.length / 1e9).toFixed(2)} GB/s`);
  return lines.join("\n");
}
