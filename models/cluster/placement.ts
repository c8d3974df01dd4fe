/**
 * Which GPUs a job gets. The cluster is seen the way the fabric groups it:
 * nodes under one leaf switch form a *unit* (classic fat-tree: the nodes whose
 * NICs share a leaf; rail-optimized: a scalable unit of 32 nodes, whose rail r
 * NICs share rail leaf r), units under one spine layer form a *pod*. Traffic
 * inside a unit never climbs to the (possibly oversubscribed) spine.
 *
 * Jobs of up to one node's GPUs get GPUs on one node; larger jobs get whole
 * free nodes (the last one partly used; its other GPUs stay free for small jobs),
 * ranks laid out node by node in the order the nodes were picked:
 * - packed: the lowest-numbered free nodes, so a job fills consecutive nodes
 *   under one leaf before the next; small jobs go to the fullest node they fit
 *   (best fit, which keeps whole nodes free);
 * - spread: round-robin across units, one node from each in turn, so rank
 *   neighbours sit under different leaves; small jobs go to the emptiest node;
 * - topology-aware: the smallest set of units (within one pod when possible)
 *   that holds the job: the unit that fits it most tightly, else whole units
 *   from the fullest-free down, then the tightest-fitting unit for the rest;
 *   small jobs go to the fullest node of the most-used unit, keeping whole units
 *   free for large jobs.
 */
import { NODES_PER_SCALABLE_UNIT } from "../network/fat-tree.ts";
import type { ClusterSpec } from "../scenario.ts";
import type { PlacementPolicy } from "./types.ts";

export interface PlacementGeometry {
  nodes: number;
  gpusPerNode: number;
  /** Nodes per unit (leaf or scalable unit). */
  unitNodes: number;
  units: number;
  /** Pod of each unit. */
  podOfUnit: Int32Array;
  pods: number;
  /** "leaf (4 nodes)", "scalable unit (32 nodes)". */
  unitName: string;
}

export function placementGeometry(c: ClusterSpec): PlacementGeometry {
  const radix = c.network.switchRadix;
  const gpus = c.nodes * c.gpusPerNode;
  let unitNodes: number;
  let unitName: string;
  let pod: (unit: number) => number;
  switch (c.network.topology) {
    case "fat-tree": {
      // As fat-tree.ts: half a switch's ports face NICs; a node's NICs all sit on one leaf.
      const downPorts = Math.min(radix / 2, gpus);
      unitNodes = Math.max(1, Math.floor(downPorts / c.gpusPerNode));
      const leaves = Math.ceil(c.nodes / unitNodes);
      const perPod = leaves <= radix ? leaves : radix / 2;
      pod = (u) => Math.floor(u / perPod);
      unitName = `leaf (${unitNodes} node${unitNodes === 1 ? "" : "s"})`;
      break;
    }
    case "rail-optimized":
    case "nvl72": {
      unitNodes = Math.min(NODES_PER_SCALABLE_UNIT, c.nodes);
      const units = Math.ceil(c.nodes / NODES_PER_SCALABLE_UNIT);
      const leaves = units * c.gpusPerNode;
      const perPod = leaves <= radix ? leaves : radix / 2;
      pod = (u) => Math.floor((u * c.gpusPerNode) / perPod);
      unitName = `scalable unit (${unitNodes} nodes, one leaf per rail)`;
      break;
    }
    case "torus":
      // No switches: a unit is a node; packed placement keeps jobs on consecutive chips.
      unitNodes = 1;
      pod = () => 0;
      unitName = "node";
      break;
  }
  const units = Math.ceil(c.nodes / unitNodes);
  const podOfUnit = new Int32Array(units);
  for (let u = 0; u < units; u++) podOfUnit[u] = pod(u);
  return { nodes: c.nodes, gpusPerNode: c.gpusPerNode, unitNodes, units, podOfUnit, pods: units === 0 ? 0 : (podOfUnit[units - 1] as number) + 1, unitName };
}

export const FREE = -1;
/** Free, but held back (a backfill reservation): placement treats it as taken. */
export const BLOCKED = -2;

/** Who holds each GPU, with per-node and per-unit free counts kept in step. */
export class Allocation {
  readonly geometry: PlacementGeometry;
  /** Job index holding each GPU, FREE or BLOCKED. */
  readonly owner: Int32Array;
  /** Free (not held, not blocked) GPUs per node. */
  readonly freeOnNode: Int32Array;
  /** Wholly free nodes per unit. */
  readonly freeNodesInUnit: Int32Array;
  busyGpus = 0;

  constructor(geometry: PlacementGeometry, copyOf?: Allocation) {
    this.geometry = geometry;
    const g = geometry.nodes * geometry.gpusPerNode;
    if (copyOf !== undefined) {
      this.owner = copyOf.owner.slice();
      this.freeOnNode = copyOf.freeOnNode.slice();
      this.freeNodesInUnit = copyOf.freeNodesInUnit.slice();
      this.busyGpus = copyOf.busyGpus;
      return;
    }
    this.owner = new Int32Array(g).fill(FREE);
    this.freeOnNode = new Int32Array(geometry.nodes).fill(geometry.gpusPerNode);
    this.freeNodesInUnit = new Int32Array(geometry.units);
    for (let n = 0; n < geometry.nodes; n++) this.freeNodesInUnit[this.unitOf(n)] = (this.freeNodesInUnit[this.unitOf(n)] as number) + 1;
  }

  clone(): Allocation {
    return new Allocation(this.geometry, this);
  }

  get totalGpus(): number {
    return this.owner.length;
  }

  unitOf(node: number): number {
    return Math.floor(node / this.geometry.unitNodes);
  }

  nodeOf(gpu: number): number {
    return Math.floor(gpu / this.geometry.gpusPerNode);
  }

  private setOwner(gpu: number, who: number): void {
    const before = this.owner[gpu] as number;
    if (before === who) return;
    const node = this.nodeOf(gpu);
    const gpn = this.geometry.gpusPerNode;
    const wasWhole = (this.freeOnNode[node] as number) === gpn;
    if (before === FREE) this.freeOnNode[node] = (this.freeOnNode[node] as number) - 1;
    if (who === FREE) this.freeOnNode[node] = (this.freeOnNode[node] as number) + 1;
    if (before >= 0) this.busyGpus--;
    if (who >= 0) this.busyGpus++;
    this.owner[gpu] = who;
    const isWhole = (this.freeOnNode[node] as number) === gpn;
    const unit = this.unitOf(node);
    if (wasWhole !== isWhole) this.freeNodesInUnit[unit] = (this.freeNodesInUnit[unit] as number) + (isWhole ? 1 : -1);
  }

  assign(gpus: readonly number[], job: number): void {
    for (const g of gpus) {
      if (this.owner[g] !== FREE && this.owner[g] !== BLOCKED) throw new Error(`GPU ${g} is already held by job ${this.owner[g]}`);
      this.setOwner(g, job);
    }
  }

  release(gpus: readonly number[]): void {
    for (const g of gpus) this.setOwner(g, FREE);
  }

  /** Hold free GPUs back from placement (a reservation); GPUs held by jobs are left alone. */
  block(gpus: readonly number[]): void {
    for (const g of gpus) if (this.owner[g] === FREE) this.setOwner(g, BLOCKED);
  }

  get freeGpus(): number {
    let n = 0;
    for (let i = 0; i < this.freeOnNode.length; i++) n += this.freeOnNode[i] as number;
    return n;
  }

  /** Distinct units the GPUs sit in. */
  unitsSpanned(gpus: readonly number[]): number {
    const s = new Set<number>();
    for (const g of gpus) s.add(this.unitOf(this.nodeOf(g)));
    return s.size;
  }

  /** Free GPUs of a node, lowest first. */
  private freeGpusOf(node: number, count: number): number[] {
    const gpn = this.geometry.gpusPerNode;
    const out: number[] = [];
    for (let i = 0; i < gpn && out.length < count; i++) if (this.owner[node * gpn + i] === FREE) out.push(node * gpn + i);
    return out;
  }

  /** Wholly free nodes of a unit, lowest first. */
  private freeNodesOf(unit: number): number[] {
    const { unitNodes, nodes, gpusPerNode } = this.geometry;
    const out: number[] = [];
    for (let n = unit * unitNodes; n < Math.min(nodes, (unit + 1) * unitNodes); n++) if (this.freeOnNode[n] === gpusPerNode) out.push(n);
    return out;
  }

  /**
   * GPUs for a job of `gpus` GPUs under `policy`, in rank order, or null if it
   * does not fit now. Nothing is assigned.
   */
  place(gpus: number, policy: PlacementPolicy): number[] | null {
    const gpn = this.geometry.gpusPerNode;
    if (gpus <= 0 || gpus > this.totalGpus) return null;
    if (gpus <= gpn) {
      const node = this.pickNode(gpus, policy);
      return node < 0 ? null : this.freeGpusOf(node, gpus);
    }
    const k = Math.ceil(gpus / gpn);
    const nodes = this.pickNodes(k, policy);
    if (nodes === null) return null;
    const out: number[] = [];
    for (const n of nodes) for (let i = 0; i < gpn && out.length < gpus; i++) out.push(n * gpn + i);
    return out;
  }

  /** Whether a job of `gpus` could be placed at all on an empty cluster of this shape. */
  fitsEmpty(gpus: number): boolean {
    return gpus >= 1 && Math.ceil(gpus / this.geometry.gpusPerNode) <= this.geometry.nodes;
  }

  private pickNode(gpus: number, policy: PlacementPolicy): number {
    let best = -1;
    let bestKey = 0;
    let bestTie = 0;
    for (let n = 0; n < this.geometry.nodes; n++) {
      const free = this.freeOnNode[n] as number;
      if (free < gpus) continue;
      let key: number;
      let tie = 0;
      if (policy === "spread") {
        key = -free; // emptiest node
      } else {
        key = free; // fullest node that fits
        // topology-aware: among equally full nodes, the unit with the fewest whole free nodes.
        if (policy === "topology-aware") tie = this.freeNodesInUnit[this.unitOf(n)] as number;
      }
      if (best < 0 || key < bestKey || (key === bestKey && tie < bestTie)) {
        best = n;
        bestKey = key;
        bestTie = tie;
      }
    }
    return best;
  }

  private pickNodes(k: number, policy: PlacementPolicy): number[] | null {
    const { units } = this.geometry;
    let total = 0;
    for (let u = 0; u < units; u++) total += this.freeNodesInUnit[u] as number;
    if (total < k) return null;
    if (policy === "packed") {
      const out: number[] = [];
      for (let n = 0; n < this.geometry.nodes && out.length < k; n++) if (this.freeOnNode[n] === this.geometry.gpusPerNode) out.push(n);
      return out;
    }
    if (policy === "spread") {
      const lists = Array.from({ length: units }, (_, u) => ((this.freeNodesInUnit[u] as number) > 0 ? this.freeNodesOf(u) : []));
      const out: number[] = [];
      for (let round = 0; out.length < k; round++) {
        for (let u = 0; u < units && out.length < k; u++) {
          const n = lists[u]?.[round];
          if (n !== undefined) out.push(n);
        }
      }
      return out;
    }
    return this.topologyAware(k);
  }

  private topologyAware(k: number): number[] {
    const { units, pods, podOfUnit } = this.geometry;
    const free = this.freeNodesInUnit;
    // One pod if any holds the job: the one that fits it most tightly.
    let candidates: number[] = [];
    const podFree = new Float64Array(pods);
    for (let u = 0; u < units; u++) podFree[podOfUnit[u] as number] = (podFree[podOfUnit[u] as number] as number) + (free[u] as number);
    let bestPod = -1;
    for (let p = 0; p < pods; p++) if ((podFree[p] as number) >= k && (bestPod < 0 || (podFree[p] as number) < (podFree[bestPod] as number))) bestPod = p;
    for (let u = 0; u < units; u++) if ((free[u] as number) > 0 && (bestPod < 0 || podOfUnit[u] === bestPod)) candidates.push(u);
    const out: number[] = [];
    let left = k;
    while (left > 0) {
      // A unit that holds the rest: the tightest. Else the unit with the most free nodes.
      let fit = -1;
      let most = -1;
      for (const u of candidates) {
        const f = free[u] as number;
        if (f >= left && (fit < 0 || f < (free[fit] as number))) fit = u;
        if (most < 0 || f > (free[most] as number)) most = u;
      }
      const u = fit >= 0 ? fit : most;
      const nodes = this.freeNodesOf(u).slice(0, left);
      out.push(...nodes);
      left -= nodes.length;
      candidates = candidates.filter((c) => c !== u);
    }
    return out;
  }
}
