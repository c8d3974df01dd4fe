/** The topology a scenario's `cluster.network` describes. */
import type { ClusterSpec } from "../scenario.ts";
import type { Topology } from "./graph.ts";
import { fatTree } from "./fat-tree.ts";
import { placedDomainGpus } from "./placement.ts";
import { scaleUpLayout } from "./scale-up.ts";
import { torus, torusLayout } from "./torus.ts";

export function buildTopology(c: ClusterSpec): Topology {
  const gpus = c.nodes * c.gpusPerNode;
  switch (c.network.topology) {
    case "torus": {
      const { shape } = torusLayout(c);
      return torus(c.gpu, gpus, shape, { nicBandwidth: c.network.nicBandwidth });
    }
    case "fat-tree":
      return fatTree({ gpu: c.gpu, nodes: c.nodes, gpusPerNode: c.gpusPerNode, nicBandwidth: c.network.nicBandwidth, oversubscription: c.network.oversubscription, railOptimized: false, routing: c.network.routing, flowsPerConnection: c.network.flowsPerConnection, switchRadix: c.network.switchRadix, scaleUpTopology: c.scaleUpTopology, placedDomainGpus: scaleUpSpan(c) });
    case "rail-optimized":
    case "nvl72":
      // NVL72: 72-GPU NVLink domains come from the accelerator (GB200); scale-out is rail-optimized.
      return fatTree({ gpu: c.gpu, nodes: c.nodes, gpusPerNode: c.gpusPerNode, nicBandwidth: c.network.nicBandwidth, oversubscription: c.network.oversubscription, railOptimized: true, routing: c.network.routing, flowsPerConnection: c.network.flowsPerConnection, switchRadix: c.network.switchRadix, scaleUpTopology: c.scaleUpTopology, placedDomainGpus: scaleUpSpan(c) });
  }
}

/**
 * GPUs, consecutive in rank order, that reach each other without a NIC: a node's board, an
 * NVL72 rack of 18 nodes, a TPU pod. The step model lays its groups out over these. With
 * cluster.placement, the whole segments a domain holds (models/network/placement.ts).
 */
export function scaleUpSpan(c: ClusterSpec): number {
  const gpus = c.nodes * c.gpusPerNode;
  if (c.network.topology === "torus") return gpus / torusLayout(c).pods;
  return Math.min(gpus, placedDomainGpus(c, scaleUpLayout(c.gpu, c.gpusPerNode, c.scaleUpTopology).domain));
}
