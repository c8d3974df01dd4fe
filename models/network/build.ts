/** The topology a scenario's `cluster.network` describes. */
import type { ClusterSpec } from "../scenario.ts";
import type { Topology } from "./graph.ts";
import { fatTree } from "./fat-tree.ts";
import { torus, torusShape } from "./torus.ts";

export function buildTopology(c: ClusterSpec): Topology {
  const gpus = c.nodes * c.gpusPerNode;
  switch (c.network.topology) {
    case "torus":
      return torus(c.gpu, gpus, c.network.torusShape ?? torusShape(gpus, 3));
    case "fat-tree":
      return fatTree({ gpu: c.gpu, nodes: c.nodes, gpusPerNode: c.gpusPerNode, nicBandwidth: c.network.nicBandwidth, oversubscription: c.network.oversubscription, railOptimized: false, routing: c.network.routing, flowsPerConnection: c.network.flowsPerConnection, switchRadix: c.network.switchRadix, scaleUpTopology: c.scaleUpTopology });
    case "rail-optimized":
    case "nvl72":
      // NVL72: 72-GPU NVLink domains come from the accelerator (GB200); scale-out is rail-optimized.
      return fatTree({ gpu: c.gpu, nodes: c.nodes, gpusPerNode: c.gpusPerNode, nicBandwidth: c.network.nicBandwidth, oversubscription: c.network.oversubscription, railOptimized: true, routing: c.network.routing, flowsPerConnection: c.network.flowsPerConnection, switchRadix: c.network.switchRadix, scaleUpTopology: c.scaleUpTopology });
  }
}
