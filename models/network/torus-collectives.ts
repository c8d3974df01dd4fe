/**
 * Collectives on a TPU torus as XLA lays them out: inside a pod, an all-reduce
 * (all-gather, reduce-scatter) over a group that forms a box of the torus runs
 * bidirectional rings along every dimension the group spans at once, so each
 * chip drives 2 links per such dimension ("when we gather over multiple axes
 * ... this increases the available bandwidth by a factor of n_axes": How to
 * Scale Your Model, sharding.md). The chip's bus bytes are split over the
 * dimensions in proportion to the bandwidth each gives the group, half each
 * way round (1/(2·axes) each on a whole torus). A dimension without a
 * wraparound link sends its ring's closing hop back along the line, which
 * shares the line's links and halves the bandwidth, as the book says of slices
 * without wraps.
 *
 * Across pods (multi-slice): reduce-scatter inside each pod, the shards'
 * collective over the data-centre network between chips at the same place in
 * each pod, all-gather inside each pod, phase after phase (XLA's hierarchical
 * multi-slice all-reduce).
 */
import { NETWORK_STEP_SECONDS, sizeEfficiency, type CollectiveOp } from "../collectives/alpha-beta.ts";
import type { Topology, TorusGeometry } from "./graph.ts";
import type { CollectivePlan, CollectiveRequest, Flow } from "./plan-types.ts";

/** Fixed cost of one ICI hop: "typically around 1us" (How to Scale Your Model, sharding.md, 'A note on ICI latency'). */
export const ICI_HOP_SECONDS = 1e-6;

function busFactorOf(op: CollectiveOp, n: number): number {
  return op === "all-reduce" ? (2 * (n - 1)) / n : op === "broadcast" ? 1 : (n - 1) / n;
}

/** The rings of a group inside one pod, or null when the group is not a box of the torus. */
function boxRings(g: TorusGeometry, ranks: readonly number[]): { lines: number[][]; dim: number }[] | null {
  const dims = g.shape.length;
  const values: Set<number>[] = Array.from({ length: dims }, () => new Set<number>());
  for (const r of ranks) for (let d = 0; d < dims; d++) (values[d] as Set<number>).add(g.coord(r, d));
  if (values.reduce((a, v) => a * v.size, 1) !== new Set(ranks).size || new Set(ranks).size !== ranks.length) return null;
  const out: { lines: number[][]; dim: number }[] = [];
  for (let d = 0; d < dims; d++) {
    if ((values[d] as Set<number>).size < 2) continue;
    // Members sharing every other coordinate form one line along d.
    const lines = new Map<string, number[]>();
    for (const r of ranks) {
      const key = Array.from({ length: dims }, (_, e) => (e === d ? "" : g.coord(r, e))).join(",");
      let line = lines.get(key);
      if (line === undefined) lines.set(key, (line = []));
      line.push(r);
    }
    out.push({ lines: [...lines.values()].map((l) => l.sort((a, b) => g.coord(a, d) - g.coord(b, d))), dim: d });
  }
  return out;
}

/** One pod's phase: `op` over `ranks` (a box), or null if they are not one. */
function podPhase(g: TorusGeometry, op: CollectiveOp, ranks: readonly number[], bytes: number): CollectivePlan | null {
  const rings = boxRings(g, ranks);
  if (rings === null || rings.length === 0) return null;
  const n = ranks.length;
  const busBytes = busFactorOf(op, n) * bytes;
  // Bandwidth a dimension gives the group: ring hops per link crossed (1 on a closed ring of
  // neighbours; 1/g when members sit g apart and g interleaved groups share the links; about
  // half on a line without wraparound). Bytes are split in proportion, so that every
  // dimension finishes together, as a balanced multi-dimensional all-reduce does.
  const weights = rings.map(({ lines, dim }) => {
    const line = lines[0] as number[];
    let links = 0;
    for (let i = 0; i < line.length; i++) links += g.hop(line[i] as number, line[(i + 1) % line.length] as number, dim, true).length;
    return line.length / Math.max(1, links);
  });
  const totalWeight = weights.reduce((a, w) => a + w, 0);
  const flows: Flow[] = [];
  let hops = 0;
  rings.forEach(({ lines, dim }, r) => {
    // XLA over ICI: no NCCL size curve (collectiveSizeEfficiency); each hop's latency is added below.
    const share = (busBytes * (weights[r] as number)) / totalWeight / 2;
    hops = Math.max(hops, Math.ceil(((lines[0] as number[]).length - 1) / 2));
    for (const line of lines) {
      const L = line.length;
      for (let i = 0; i < L; i++) {
        const src = line[i] as number;
        const next = line[(i + 1) % L] as number;
        const prev = line[(i - 1 + L) % L] as number;
        flows.push({ src, dst: next, bytes: share, links: g.hop(src, next, dim, true) });
        flows.push({ src, dst: prev, bytes: share, links: g.hop(src, prev, dim, false) });
      }
    }
  });
  const rounds = op === "all-reduce" ? 2 : 1;
  return { algorithm: "ring", flows, latencySeconds: rounds * hops * rings.length * ICI_HOP_SECONDS, busBytes };
}

/** Between pods: a ring over pods per position, on the data-centre network. */
function dcnPhase(t: Topology, op: CollectiveOp, pods: number[][], bytes: number, salt: number): CollectivePlan {
  const P = pods.length;
  const busBytes = busFactorOf(op, P) * bytes;
  const v = busBytes / sizeEfficiency(bytes);
  const flows: Flow[] = [];
  const k = (pods[0] as number[]).length;
  for (let c = 0; c < k; c++) {
    for (let m = 0; m < P; m++) {
      const src = (pods[m] as number[])[c] as number;
      const dst = (pods[(m + 1) % P] as number[])[c] as number;
      flows.push({ src, dst, bytes: v, links: t.path(src, dst, salt + flows.length) });
    }
  }
  const steps = op === "all-reduce" ? 2 * (P - 1) : P - 1;
  return { algorithm: "hierarchical", flows, latencySeconds: steps * NETWORK_STEP_SECONDS, busBytes };
}

/**
 * The plan of `req` on a torus, or null to fall back to the generic ring (a group that is
 * not a box, pods of unequal membership, all-to-all, send).
 */
export function planTorusCollective(t: Topology, g: TorusGeometry, req: CollectiveRequest): CollectivePlan | null {
  const op = req.op;
  if (op === "all-to-all" || op === "send" || req.ranks.length < 2) return null;
  const byPod = new Map<number, number[]>();
  for (const r of req.ranks) {
    const p = Math.floor(r / g.podChips);
    let list = byPod.get(p);
    if (list === undefined) byPod.set(p, (list = []));
    list.push(r);
  }
  const pods = [...byPod.values()];
  if (pods.length === 1) return podPhase(g, op, req.ranks, req.bytes);
  const k = (pods[0] as number[]).length;
  if (op === "broadcast" || !pods.every((p) => p.length === k)) return null;
  const salt = req.salt ?? 0;
  const shard = req.bytes / k;
  const chain = (phases: (CollectivePlan | null)[]): CollectivePlan | null => {
    if (phases.some((p) => p === null)) return null;
    const list = phases as CollectivePlan[];
    for (let i = 0; i + 1 < list.length; i++) (list[i] as CollectivePlan).then = list[i + 1];
    return list[0] as CollectivePlan;
  };
  const inPod = (phaseOp: CollectiveOp): (CollectivePlan | null)[] => {
    if (k === 1) return [];
    const phases = pods.map((p) => podPhase(g, phaseOp, p, req.bytes));
    if (phases.some((p) => p === null)) return [null];
    // All pods run their phase at once: one plan with every pod's flows.
    const merged = phases[0] as CollectivePlan;
    for (const p of phases.slice(1)) merged.flows.push(...(p as CollectivePlan).flows);
    return [merged];
  };
  const across = (phaseOp: CollectiveOp): CollectivePlan => dcnPhase(t, phaseOp, pods, k === 1 ? req.bytes : shard, salt);
  const total = busFactorOf(op, req.ranks.length) * req.bytes;
  const plan =
    op === "all-reduce"
      ? chain([...inPod("reduce-scatter"), across("all-reduce"), ...inPod("all-gather")])
      : op === "reduce-scatter"
        ? chain([...inPod("reduce-scatter"), across("reduce-scatter")])
        : chain([across("all-gather"), ...inPod("all-gather")]);
  if (plan === null) return null;
  for (let p: CollectivePlan | undefined = plan; p !== undefined; p = p.then) p.busBytes = total;
  return plan;
}
