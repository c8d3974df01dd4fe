/**
 * How much slower each kind of communication group runs on the real topology
 * than on an ideal non-blocking fabric, with the groups of that kind
 * communicating at once (as they do in lock-step training): all tensor-parallel
 * groups of a pipeline stage all-reduce together, all its data-parallel groups
 * reduce gradients together, all ranks of a stage boundary send together. The
 * ratio captures oversubscribed uplinks, rail placement, ECMP collisions and
 * in-switch reduction; the step model scales its collectives' link work by it.
 *
 * One stage stands for all stages whose ranks sit the same way on the scale-up domains
 * (stages are translations of each other over the nodes, and the fabric above the leaves is
 * non-blocking, so stages meet only on leaves they share; a 16k-GPU job would otherwise
 * probe a quarter-million flows). When stages are not aligned to domains (64 trays of 4 on
 * NVL72 racks of 18: stage 2 of 32 GPUs spans ranks 64–95 across the rack boundary at 72),
 * each distinct alignment is probed and the worst taken: every stage then runs at the pace of
 * the worst placed one, as the step waits for it. Likewise for pipeline boundaries, each pair
 * against its own ideal (NVLink within a domain, NICs across).
 */
import { collectiveLoad, collectiveSeconds, type CollectiveOp, type GroupLayout } from "../collectives/alpha-beta.ts";
import { rankLayout } from "../parallel/layout.ts";
import type { Scenario } from "../scenario.ts";
import { buildTopology, scaleUpSpan } from "./build.ts";
import type { CollectiveRequest } from "./collectives.ts";
import { slowestFlowSeconds } from "./flow-sim.ts";
import type { Topology } from "./graph.ts";

export type GroupKind = "tp" | "cp" | "dp" | "ep" | "pp";

export type GroupSlowdowns = Record<GroupKind, number>;

/** Large enough that message-size effects are the same on both sides of the ratio. */
const PROBE_BYTES = 2 ** 30;

export function idealSlowdowns(): GroupSlowdowns {
  return { tp: 1, cp: 1, dp: 1, ep: 1, pp: 1 };
}

/** Megatron-LM rank order: tensor fastest, then context, data, pipeline. */
function globalRank(s: Scenario, pp: number, dp: number, cp: number, tp: number): number {
  const p = s.parallelism;
  return ((pp * p.dp + dp) * p.cp + cp) * p.tp + tp;
}

/** Stage 0's groups of one kind; shift them by stage · tp·cp·dp ranks for another stage's. */
function groupsOf(s: Scenario, kind: Exclude<GroupKind, "pp">): number[][] {
  const p = s.parallelism;
  const out: number[][] = [];
  if (kind === "ep") {
    // Expert rank order within a stage (Megatron-Core): expert TP fastest, then EP, then expert DP.
    const etp = p.expertTp ?? p.tp;
    const span = p.tp * p.cp * p.dp;
    for (let base = 0; base + p.ep * etp <= span; base += p.ep * etp) {
      for (let o = 0; o < etp; o++) out.push(Array.from({ length: p.ep }, (_, i) => base + o + i * etp));
    }
    return out;
  }
  for (let a = 0; a < 1; a++) {
    for (let d = 0; d < p.dp; d++) {
      for (let c = 0; c < p.cp; c++) {
        for (let t = 0; t < p.tp; t++) {
          // Emit each group once, from its first member.
          if (kind === "tp" && t === 0) out.push(Array.from({ length: p.tp }, (_, i) => globalRank(s, a, d, c, i)));
          if (kind === "cp" && c === 0) out.push(Array.from({ length: p.cp }, (_, i) => globalRank(s, a, d, i, t)));
          if (kind === "dp" && d === 0 && c === 0) {
            const g: number[] = [];
            for (let i = 0; i < p.dp; i++) for (let j = 0; j < p.cp; j++) g.push(globalRank(s, a, i, j, t));
            out.push(g);
          }
        }
      }
    }
  }
  return out;
}

function ratio(t: Topology, requests: CollectiveRequest[], ideal: number): number {
  if (requests.length === 0 || ideal <= 0) return 1;
  return slowestFlowSeconds(t, requests) / ideal;
}

/**
 * Stages whose ranks sit differently on the scale-up domains (offset of their first rank in
 * its domain), each with the first stage so placed; stage 0 first. Stages at equal offsets
 * have the same groups' view of the domains.
 */
export function distinctStages(s: Scenario): number[] {
  const p = s.parallelism;
  const span = scaleUpSpan(s.cluster);
  const R = p.tp * p.cp * p.dp;
  const seen = new Set<number>();
  const out: number[] = [];
  for (let st = 0; st < p.pp; st++) {
    const offset = (st * R) % span;
    if (seen.has(offset)) continue;
    seen.add(offset);
    out.push(st);
  }
  return out;
}

/** Pipeline boundaries (from, to) that send: consecutive stages, and the wrap back to stage 0 under interleaving. */
function boundaries(s: Scenario): [number, number][] {
  const p = s.parallelism;
  const out: [number, number][] = [];
  for (let a = 0; a + 1 < p.pp; a++) out.push([a, a + 1]);
  if (p.virtualStages > 1 && p.pp > 1) out.push([p.pp - 1, 0]);
  return out;
}

export function groupSlowdowns(s: Scenario, topology: Topology = buildTopology(s.cluster)): GroupSlowdowns {
  const p = s.parallelism;
  const gpu = s.cluster.gpu;
  const nic = s.cluster.network.nicBandwidth;
  const layout = rankLayout(p, s.cluster);
  const ici = gpu.scaleUpKind === "ici";
  const out = idealSlowdowns();
  const R = p.tp * p.cp * p.dp;
  const span = scaleUpSpan(s.cluster);
  const stages = distinctStages(s);
  const probe = (kind: Exclude<GroupKind, "pp">, op: CollectiveOp, group: GroupLayout): void => {
    if (group.size <= 1) return;
    const load = collectiveLoad(op, PROBE_BYTES, group, ici);
    const ideal = collectiveSeconds({ ...load, latencySeconds: 0 }, gpu.scaleUpBandwidth, nic);
    const groups = groupsOf(s, kind);
    for (const st of stages) {
      const requests = groups.map((ranks, i): CollectiveRequest => ({ op, ranks: ranks.map((r) => r + st * R), bytes: PROBE_BYTES, salt: i * 7919 }));
      out[kind] = Math.max(st === stages[0] ? 0 : out[kind], ratio(topology, requests, ideal));
    }
  };
  probe("tp", p.sequenceParallel ? "reduce-scatter" : "all-reduce", layout.tp);
  probe("cp", "all-gather", layout.cp);
  probe("dp", p.zero >= 1 ? "reduce-scatter" : "all-reduce", layout.dpShard);
  if (s.workload.model.experts > 1) probe("ep", "all-to-all", layout.ep);
  if (p.pp > 1) {
    // The middle boundary first (as placed like most), then every boundary placed otherwise:
    // each with every (dp, cp, tp) position sending forward at once.
    const mid = Math.floor(p.pp / 2) - 1;
    const all = boundaries(s);
    const ordered = [all[mid] as [number, number], ...all.filter((_, i) => i !== mid)];
    const seen = new Set<string>();
    let worst = 0;
    for (const [a, b] of ordered) {
      const key = `${(a * R) % span}:${(b * R) % span}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const requests: CollectiveRequest[] = [];
      for (let d = 0; d < p.dp; d++) {
        for (let c = 0; c < p.cp; c++) {
          for (let t = 0; t < p.tp; t++) {
            requests.push({ op: "send", ranks: [globalRank(s, a, d, c, t), globalRank(s, b, d, c, t)], bytes: PROBE_BYTES, salt: requests.length });
          }
        }
      }
      const sameNode = layout.stageNode(a) === layout.stageNode(b);
      const ideal = collectiveSeconds({ ...collectiveLoad("send", PROBE_BYTES, { size: 2, perNode: sameNode ? 2 : 1 }, ici), latencySeconds: 0 }, gpu.scaleUpBandwidth, nic);
      worst = Math.max(worst, ratio(topology, requests, ideal));
    }
    out.pp = worst;
  }
  return out;
}
