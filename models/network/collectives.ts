/**
 * Collectives expanded into point-to-point flows on a topology's links, the
 * way NCCL lays them out:
 * - ring: a pipelined ring; across nodes one ring ("channel") per member of a
 *   node, each leaving its node on its own rail (PXN: data hops over NVLink to
 *   the GPU on the right rail first), so a node's NICs all carry traffic;
 * - tree: reduce up a binary tree of nodes and broadcast back down (latency
 *   log₂ of the node count instead of linear), NVLink chains inside nodes;
 * - nvls: in-switch reduction (NVLink SHARP): every GPU sends its buffer to
 *   the NVSwitch once and receives the result once;
 * - hierarchical: all-reduce in three phases, one after the other — reduce-
 *   scatter inside each node, all-reduce of each 1/k shard across nodes between
 *   GPUs of the same rail, all-gather inside each node (no pipelining across
 *   phases: the classic two-level scheme NCCL's rings improve on);
 * - direct: every member sends its share straight to every other member, one
 *   flow per ordered pair: all-to-all, and on a scale-up mesh (no switch) the
 *   all-reduce / all-gather / reduce-scatter / broadcast of a group inside one
 *   domain, as RCCL's many channels and direct kernels spread them over every
 *   peer link (a single ring would use one link per GPU); send: one flow.
 * A pipelined ring's steady state is every hop streaming at once, so each hop
 * is one flow carrying all its steps' bytes; the step count enters through
 * the latency term. Message-size effects (protocols, pipeline fill) inflate
 * the bytes by NCCL's measured size efficiency (models/collectives).
 */
import { curveFor, NETWORK_STEP_SECONDS, NIC_EFFICIENCY, NVLINK_EFFICIENCY, sizeEfficiency, type CollectiveOp } from "../collectives/alpha-beta.ts";
import type { LinkKind } from "./graph.ts";
import type { Topology } from "./graph.ts";
import { planTorusCollective } from "./torus-collectives.ts";

export type { Algorithm, CollectivePlan, CollectiveRequest, Flow } from "./plan-types.ts";
import type { CollectivePlan, CollectiveRequest, Flow } from "./plan-types.ts";

/**
 * In-switch reduction on NVLink4 (H100/H200/H800) reaches ~61 % of the per-direction NVLink bandwidth:
 * ~480 GB/s all-reduce bus bandwidth on 8 × H100 (S. Jeaugey, NVIDIA/nccl-tests
 * #212; Azure ND H100 v5 nccl-tests 478.87 GB/s), i.e. 274 GB/s algorithm
 * bandwidth of 450. Other NVSwitch generations carry their own figure in the catalog
 * (efficiency.nvlsFraction; NVLink5: 0.527), which the topology passes on.
 */
export const NVLS_EFFICIENCY = 0.61;

/**
 * Share of an xGMI link's 64 GB/s that RCCL turns into payload: all_reduce_perf on 8 ×
 * MI300X reaches 318.98 GB/s bus bandwidth at 16 GB (7 links × 45.6 GB/s: 0.712 of 448;
 * 314.72 at 1 GB, 317.96 at 8 GB, out-of-place; RCCL 2.22.3, ROCm 6.3.0, rccl-tests
 * develop 448c4c7: AMD ROCm blog "Understanding RCCL Bandwidth and xGMI Performance on
 * AMD Instinct MI300X", March 2025). The same blog's TransferBench all-to-all measures
 * 45.1–47.2 GB/s per link (CRC and protocol overhead: "~48 GB/s usable"); Azure ND
 * MI300X v5 (RCCL 2.22.3) reports 313.92 GB/s at 1 GB and 316.82 at 8 GB, in-place.
 */
export const XGMI_EFFICIENCY = 318.98 / 448;

/**
 * Share of a link's rate NCCL's protocols turn into payload (alpha-beta.ts
 * cites the measurements); flows run on links of capacity × this.
 */
export function linkEfficiency(kind: LinkKind): number {
  switch (kind) {
    case "xgmi":
      return XGMI_EFFICIENCY;
    case "nvlink":
    case "ici":
      return NVLINK_EFFICIENCY;
    case "nic":
    case "fabric":
      return NIC_EFFICIENCY;
    case "pcie":
      return 1;
  }
}

export function busFactor(op: CollectiveOp, n: number): number {
  switch (op) {
    case "all-reduce":
      return (2 * (n - 1)) / n;
    case "all-gather":
    case "reduce-scatter":
    case "all-to-all":
      return (n - 1) / n;
    case "broadcast":
    case "send":
      return 1;
  }
}

function ringSteps(op: CollectiveOp, n: number): number {
  return op === "all-reduce" ? 2 * (n - 1) : op === "broadcast" ? n - 1 : op === "send" ? 1 : n - 1;
}

/** Group members by scale-up domain, domains in order of first appearance. */
function byDomain(t: Topology, ranks: readonly number[]): number[][] {
  const groups = new Map<number, number[]>();
  for (const r of ranks) {
    const d = Math.floor(r / t.scaleUpDomain);
    let g = groups.get(d);
    if (g === undefined) {
      g = [];
      groups.set(d, g);
    }
    g.push(r);
  }
  return [...groups.values()];
}

export function planCollective(t: Topology, req: CollectiveRequest): CollectivePlan {
  const n = req.ranks.length;
  const salt = req.salt ?? 0;
  const busBytes = busFactor(req.op, n) * req.bytes;
  const flows: Flow[] = [];
  const add = (src: number, dst: number, bytes: number): void => {
    if (src === dst || bytes <= 0) return;
    const sameDomain = Math.floor(src / t.scaleUpDomain) === Math.floor(dst / t.scaleUpDomain);
    const split = sameDomain ? 1 : t.flowsPerConnection;
    for (let q = 0; q < split; q++) flows.push({ src, dst, bytes: bytes / split, links: t.path(src, dst, salt + flows.length) });
  };
  if (t.torus !== undefined && (req.algorithm ?? "auto") === "auto") {
    const onTorus = planTorusCollective(t, t.torus, req);
    if (onTorus !== null) return onTorus;
  }
  const domains = byDomain(t, req.ranks);
  const nodes = domains.length;
  const curve = curveFor(t.sizeCurves, nodes > 1);
  let eff = sizeEfficiency(req.bytes, curve);
  let algorithm = req.algorithm ?? "auto";
  if (algorithm === "auto") {
    if (req.op === "all-to-all") algorithm = "direct";
    else if (nodes === 1 && t.scaleUpMesh) algorithm = "direct";
    else if (req.op === "all-reduce" && nodes === 1 && n > 2 && t.inSwitchReduction) algorithm = "nvls";
    else algorithm = "ring";
  }
  if (n <= 1) return { algorithm: algorithm as CollectivePlan["algorithm"], flows, latencySeconds: 0, busBytes: 0 };

  if (req.op === "send") {
    add(req.ranks[0] as number, req.ranks[1] as number, req.bytes / eff);
    const cross = nodes > 1 ? 1 : 0;
    return { algorithm: "direct", flows, latencySeconds: cross * NETWORK_STEP_SECONDS, busBytes: req.bytes };
  }

  if (algorithm === "nvls") {
    const onSwitch = (gpu: number): { up: number; down: number } => {
      const l = t.switchLinks(gpu);
      if (l === null || !t.inSwitchReduction || nodes > 1) throw new Error("nvls needs a group inside one NVSwitch domain of a GPU with in-switch reduction (H100 or later)");
      return l;
    };
    // Links run at NVLINK_EFFICIENCY of their rate (linkEfficiency); NVLS gets less of it.
    if (t.sizeCurves?.nvls !== undefined) eff = sizeEfficiency(req.bytes, t.sizeCurves.nvls);
    const bytes = (req.bytes * NVLINK_EFFICIENCY) / ((t.nvlsEfficiency ?? NVLS_EFFICIENCY) * eff);
    for (const r of req.ranks) {
      const l = onSwitch(r);
      flows.push({ src: r, dst: -1, bytes, links: [l.up] }, { src: -1, dst: r, bytes, links: [l.down] });
    }
    return { algorithm: "nvls", flows, latencySeconds: 0, busBytes };
  }

  if (algorithm === "direct") {
    // Each member's bus bytes split evenly over its n − 1 peers (all-to-all: S/n per pair;
    // all-gather and reduce-scatter: its S/n shard; all-reduce: both, 2S/n). A broadcast
    // scatters S/(n − 1) from the root and every other member forwards its piece: nothing
    // flows back to the root.
    const share = (busFactor(req.op, n) * req.bytes) / (n - 1) / eff;
    const root = req.ranks[0] as number;
    for (const a of req.ranks) for (const b of req.ranks) if (req.op !== "broadcast" || b !== root) add(a, b, share);
    const steps = req.op === "all-reduce" || req.op === "broadcast" ? 2 : 1;
    return { algorithm: "direct", flows, latencySeconds: nodes > 1 ? steps * NETWORK_STEP_SECONDS : 0, busBytes };
  }

  const perNode = (domains[0] as number[]).length;
  const uniform = domains.every((d) => d.length === perNode);
  const volume = (busFactor(req.op, n) * req.bytes) / eff;

  if (algorithm === "tree" && req.op === "all-reduce" && nodes > 1 && uniform) {
    // Per channel c: chains inside each node to local member c, and NCCL's double binary
    // tree over those members: two trees with half the data each, the second mirrored so
    // that nodes inner in one are leaves in the other and no NIC carries more than ~S.
    const channels = perNode;
    const share = req.bytes / channels / 2 / eff;
    for (let c = 0; c < channels; c++) {
      for (const d of domains) {
        for (let i = 1; i < perNode; i++) {
          const from = d[(c + i) % perNode] as number;
          const to = d[(c + i - 1) % perNode] as number;
          add(from, to, 2 * share);
          add(to, from, 2 * share);
        }
      }
      for (const mirror of [false, true]) {
        const node = (m: number): number[] => domains[mirror ? nodes - 1 - m : m] as number[];
        for (let m = 1; m < nodes; m++) {
          const child = node(m)[c] as number;
          const parent = node(Math.floor((m - 1) / 2))[c] as number;
          add(child, parent, share);
          add(parent, child, share);
        }
      }
    }
    const depth = Math.ceil(Math.log2(nodes));
    return { algorithm: "tree", flows, latencySeconds: 2 * depth * NETWORK_STEP_SECONDS, busBytes };
  }

  if (algorithm === "hierarchical" && req.op === "all-reduce" && nodes > 1 && uniform && perNode > 1) {
    const intra = (op: CollectiveOp, bytes: number): CollectivePlan => {
      const phase: CollectivePlan = { algorithm: "hierarchical", flows: [], latencySeconds: 0, busBytes };
      const v = (busFactor(op, perNode) * bytes) / sizeEfficiency(bytes, curveFor(t.sizeCurves, false));
      for (const d of domains) {
        for (let i = 0; i < perNode; i++) {
          const src = d[i] as number;
          if (!t.scaleUpMesh) {
            const dst = d[(i + 1) % perNode] as number;
            phase.flows.push({ src, dst, bytes: v, links: t.path(src, dst, salt) });
            continue;
          }
          // A mesh: straight to every peer over its own link (a ring would load one link per GPU).
          for (let j = 0; j < perNode; j++) if (j !== i) phase.flows.push({ src, dst: d[j] as number, bytes: v / (perNode - 1), links: t.path(src, d[j] as number, salt) });
        }
      }
      return phase;
    };
    const shard = req.bytes / perNode;
    const inter: CollectivePlan = { algorithm: "hierarchical", flows: [], latencySeconds: 0, busBytes };
    const v = (busFactor("all-reduce", nodes) * shard) / sizeEfficiency(shard, curve);
    for (let c = 0; c < perNode; c++) {
      for (let m = 0; m < nodes; m++) {
        const src = (domains[m] as number[])[c] as number;
        const dst = (domains[(m + 1) % nodes] as number[])[c] as number;
        for (let q = 0; q < t.flowsPerConnection; q++) inter.flows.push({ src, dst, bytes: v / t.flowsPerConnection, links: t.path(src, dst, salt + inter.flows.length) });
      }
    }
    inter.latencySeconds = 2 * (nodes - 1) * NETWORK_STEP_SECONDS;
    const first = intra("reduce-scatter", req.bytes);
    first.then = inter;
    inter.then = intra("all-gather", req.bytes);
    return first;
  }

  // Ring.
  if (nodes === 1 || !uniform) {
    const order = domains.flat();
    for (let i = 0; i < n; i++) add(order[i] as number, order[(i + 1) % n] as number, volume);
  } else {
    const channels = perNode;
    const share = volume / channels;
    for (let c = 0; c < channels; c++) {
      for (let m = 0; m < nodes; m++) {
        const d = domains[m] as number[];
        // Inside the node: from the entry GPU (rail c) around to the others and back to rail c (PXN).
        if (!t.scaleUpMesh) for (let i = 0; i < perNode; i++) add(d[(c + i) % perNode] as number, d[(c + i + 1) % perNode] as number, share);
        add(d[c] as number, (domains[(m + 1) % nodes] as number[])[c] as number, share);
      }
    }
    if (t.scaleUpMesh && perNode > 1) {
      // On a mesh the channels' node-internal hops take different orderings, so together they
      // load every peer link alike: each GPU's `volume` spread over its perNode − 1 links.
      for (const d of domains) for (const a of d) for (const b of d) add(a, b, volume / (perNode - 1));
    }
  }
  const steps = ringSteps(req.op, n);
  // Of a ring's n hops, one per node leaves it: that share of the steps pays the network hop.
  const interSteps = nodes > 1 ? (steps * nodes) / n : 0;
  return { algorithm: "ring", flows, latencySeconds: interSteps * NETWORK_STEP_SECONDS, busBytes };
}
