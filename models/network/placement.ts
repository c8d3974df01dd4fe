/**
 * How the scheduler laid the job's nodes onto scale-up domains (cluster.placement).
 *
 * Ranks fill nodes in order (node n holds ranks n·gpusPerNode …), and by default nodes
 * fill domains in order: an NVL72 rack takes 18 trays of 4, so a 64-tray job spans racks
 * of 18, 18, 18 and 10 trays and a group of ranks 64–79 straddles two racks.
 *
 * Slurm's block topology takes `--segment=N` (Slurm topology guide, "User Options"): the
 * allocation is built of segments of N consecutive nodes, each inside one base block (an
 * NVL72 rack); the job's node count must be a multiple of N when it exceeds N. A rack then
 * holds floor(18 / N) whole segments, the rest of its trays idle for this job: with N = 16,
 * racks of 16 trays (64 GPUs, 8 idle); with N = 8, two segments per rack. Slurm lists a
 * job's nodes, and so numbers its tasks, in node order, which runs rack by rack: the ranks
 * of one rack stay consecutive. So in rank order a domain holds `span` = floor(D / N) · N
 * nodes (D: nodes per domain), and rank g sits in domain floor(g / (span · gpusPerNode)).
 * Megatron-Core MoE recipes set N = EP · TP / 4 on GB200 so that every expert-parallel group
 * is one rack's NVLink domain.
 */
import type { ClusterSpec } from "../scenario.ts";
import { scaleUpLayout } from "./scale-up.ts";

/** Nodes one scale-up domain spans: 18 for GB200 NVL72 trays of 4; 1 for a board inside a node. */
export function domainNodes(c: ClusterSpec): number {
  const domain = scaleUpLayout(c.gpu, c.gpusPerNode, c.scaleUpTopology).domain;
  return Math.max(1, Math.floor(domain / c.gpusPerNode));
}

/** Why cluster.placement.segmentNodes cannot describe this cluster, or null. */
export function placementProblem(c: ClusterSpec): string | null {
  const n = c.placement?.segmentNodes;
  if (n === undefined) return null;
  if (c.network.topology === "torus") return `${n} is not allowed with network.topology torus: a TPU slice's chips are placed by its torus shape; remove cluster.placement`;
  const d = domainNodes(c);
  if (n > d) {
    const domain = scaleUpLayout(c.gpu, c.gpusPerNode, c.scaleUpTopology).domain;
    return `${n} is not allowed: a segment must fit in one scale-up domain, and ${c.gpu.name}'s domain of ${domain} GPUs holds ${d} node${d === 1 ? "" : "s"} of ${c.gpusPerNode}; expected an integer from 1 to ${d}`;
  }
  if (c.nodes > n && c.nodes % n !== 0) {
    return `${n} is not allowed with cluster.nodes ${c.nodes}: a job larger than one segment must be a whole number of segments (Slurm --segment); expected a divisor of ${c.nodes} up to ${d}`;
  }
  return null;
}

/**
 * GPUs consecutive in rank order that share a scale-up domain: the domain itself, or with
 * segments the whole segments it holds (models/network/build.ts scaleUpSpan caps it at the job).
 */
export function placedDomainGpus(c: ClusterSpec, domainGpus: number): number {
  const n = c.placement?.segmentNodes;
  if (n === undefined) return domainGpus;
  const d = domainNodes(c);
  if (d <= 1) return domainGpus;
  return Math.max(1, Math.floor(d / n)) * n * c.gpusPerNode;
}

/**
 * The physical node (counting idle trays of partly used domains) of the job's node `node`,
 * for leaf and rail placement: domains of `d` nodes of which the job uses `used`.
 */
export function physicalNode(node: number, used: number, d: number): number {
  return used >= d ? node : Math.floor(node / used) * d + (node % used);
}
