/**
 * Scale-out fat-trees over NVSwitch/xGMI nodes.
 * - rail-optimized (NVIDIA DGX SuperPOD style): NIC r of every node in a
 *   scalable unit of 32 nodes plugs into that unit's leaf for rail r, so
 *   same-rail traffic between nodes of a unit crosses one switch, and rails
 *   never share a leaf.
 * - classic: all NICs of consecutive nodes share a leaf (32 NIC ports per leaf,
 *   half a 64-port switch), so a node's GPUs share its leaf's uplinks.
 * Both put the leaves under a two- or three-tier Clos with the scenario's
 * oversubscription at the leaf uplinks.
 */
import type { Accelerator } from "../hardware/types.ts";
import { closFabric, SWITCH_RADIX, type ClosFabric } from "./clos.ts";
import { LinkGraph, type Topology } from "./graph.ts";
import { hostLinks, pcieBandwidth } from "./host.ts";
import { physicalNode } from "./placement.ts";
import { meshDomains, nvswitchDomains, scaleUpLayout, type ScaleUp, type ScaleUpLayout, type ScaleUpTopologyRequest } from "./scale-up.ts";

/** Nodes per scalable unit in a DGX SuperPOD (H100 reference architecture: 32 DGX per SU). */
export const NODES_PER_SCALABLE_UNIT = 32;

export interface FatTreeOptions {
  gpu: Accelerator;
  nodes: number;
  gpusPerNode: number;
  nicBandwidth: number;
  oversubscription: number;
  railOptimized: boolean;
  routing?: "ecmp" | "dmodk";
  flowsPerConnection?: number;
  /** Ports per switch (default 64). */
  switchRadix?: number;
  /** Switch or direct mesh inside a node (default: by accelerator and node size, scale-up.ts). */
  scaleUpTopology?: ScaleUpTopologyRequest;
  /**
   * GPUs consecutive in rank order that share a domain when the job leaves part of each
   * domain idle (cluster.placement: whole segments per NVL72 rack); default the domain.
   */
  placedDomainGpus?: number;
}

function scaleUpFor(graph: LinkGraph, gpu: Accelerator, gpus: number, layout: ScaleUpLayout): ScaleUp {
  if (layout.topology === "mesh") return meshDomains(graph, gpus, layout.board, gpu.scaleUpBandwidth, gpu.scaleUpKind === "xgmi" ? "xgmi" : "nvlink");
  return nvswitchDomains(graph, gpus, gpu.scaleUpBandwidth);
}

export function fatTree(o: FatTreeOptions): Topology {
  const graph = new LinkGraph();
  const gpus = o.nodes * o.gpusPerNode;
  const layout = scaleUpLayout(o.gpu, o.gpusPerNode, o.scaleUpTopology);
  const scaleUp = scaleUpFor(graph, o.gpu, gpus, layout);
  const host = hostLinks(graph, gpus, pcieBandwidth(o.gpu), o.nicBandwidth);
  const domainSize = Math.min(o.placedDomainGpus ?? layout.domain, gpus);
  // Leaves and rails see physical nodes: a partly used domain's idle nodes keep their ports.
  const usedNodes = Math.max(1, Math.floor(domainSize / o.gpusPerNode));
  const rackNodes = Math.max(1, Math.floor(layout.domain / o.gpusPerNode));
  const nodeOf = (g: number): number => physicalNode(Math.floor(g / o.gpusPerNode), usedNodes, rackNodes);
  const nodes = nodeOf(gpus - 1) + 1;
  let leafOf: (g: number) => number;
  // Port of a GPU's NIC on its leaf: hosts are numbered leaf by leaf (leaf × downPorts + port),
  // which is what destination-based (D-mod-K) routing spreads over the uplinks.
  let portOf: (g: number) => number;
  let leaves: number;
  let downPorts: number;
  if (o.railOptimized) {
    const units = Math.ceil(nodes / NODES_PER_SCALABLE_UNIT);
    downPorts = Math.min(NODES_PER_SCALABLE_UNIT, nodes);
    leaves = units * o.gpusPerNode;
    leafOf = (g) => Math.floor(nodeOf(g) / NODES_PER_SCALABLE_UNIT) * o.gpusPerNode + (g % o.gpusPerNode);
    portOf = (g) => nodeOf(g) % NODES_PER_SCALABLE_UNIT;
  } else {
    downPorts = Math.min((o.switchRadix ?? SWITCH_RADIX) / 2, gpus);
    const nodesPerLeaf = Math.max(1, Math.floor(downPorts / o.gpusPerNode));
    leaves = Math.ceil(nodes / nodesPerLeaf);
    leafOf = (g) => Math.floor(nodeOf(g) / nodesPerLeaf);
    portOf = (g) => (nodeOf(g) % nodesPerLeaf) * o.gpusPerNode + (g % o.gpusPerNode);
  }
  const fabric: ClosFabric = closFabric(graph, leaves, downPorts, o.oversubscription, o.nicBandwidth, "", o.routing ?? "dmodk", o.switchRadix ?? SWITCH_RADIX);
  const mesh = layout.topology === "mesh";
  return {
    kind: o.railOptimized ? "rail-optimized" : "fat-tree",
    graph,
    gpus,
    scaleUpDomain: domainSize,
    gpusPerNode: o.gpusPerNode,
    scaleUpMesh: mesh,
    nvlsEfficiency: o.gpu.efficiency.nvlsFraction,
    ...(o.gpu.efficiency.collectiveSizeCurves !== undefined ? { sizeCurves: o.gpu.efficiency.collectiveSizeCurves } : {}),
    // NVLink SHARP lives in the NVSwitch (gen 3, H100 and later): none on a mesh.
    inSwitchReduction: !mesh && o.gpu.scaleUpKind === "nvlink" && !o.gpu.name.startsWith("A100"),
    flowsPerConnection: o.flowsPerConnection ?? 1,
    path(src, dst, salt) {
      if (src === dst) return [];
      if (Math.floor(src / domainSize) === Math.floor(dst / domainSize)) return scaleUp.path(src, dst);
      const a = leafOf(src);
      const b = leafOf(dst);
      const hostA = a * downPorts + portOf(src);
      const hostB = b * downPorts + portOf(dst);
      return [host.pcieUp[src] as number, host.nicUp[src] as number, ...fabric.path(a, b, hostA, hostB, salt), host.nicDown[dst] as number, host.pcieDown[dst] as number];
    },
    switchLinks: (g) => scaleUp.switchLinks(g),
    describe: () =>
      `${o.railOptimized ? "rail-optimized" : "classic"} fat-tree: ${o.nodes} nodes × ${o.gpusPerNode} GPUs, scale-up domains of ${domainSize}${domainSize < Math.min(layout.domain, gpus) ? ` (placed: ${domainSize} of each ${layout.domain})` : ""}` +
      `${mesh ? ` (direct ${o.gpu.scaleUpKind} mesh, ${(o.gpu.scaleUpBandwidth / Math.max(1, layout.board - 1) / 1e9).toFixed(0)} GB/s per pair link)` : ""}, ` +
      `${fabric.leaves} leaves, ${fabric.spines} spines${fabric.tiers === 3 ? `, ${fabric.cores} cores` : ""} (${fabric.tiers} tiers), ` +
      `${fabric.uplinksPerLeaf} uplinks per leaf (oversubscription ${o.oversubscription}:1), ${o.routing ?? "dmodk"} routing`,
  };
}
