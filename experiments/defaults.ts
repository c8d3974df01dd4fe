/**
 * Scenario defaults for code that builds a scenario's parts without a config file (the
 * collective command, tests): the schema's defaults (experiments/schema.ts, the one place
 * they are written) and the loader's derived ones.
 */
import type { Accelerator } from "../models/hardware/types.ts";
import { NODE_OVERHEAD_OF_GPU_TDP } from "../models/power/step-power.ts";
import type { ClusterSpec, NetworkSpec, PowerSpec } from "../models/scenario.ts";
import { schemaDefault } from "./schema.ts";

/** cluster.power.nodeOverhead when not given: 45 % of the node's GPU TDP (the schema's derived default). */
export function defaultNodeOverheadWatts(gpusPerNode: number, gpuTdpWatts: number): number {
  return NODE_OVERHEAD_OF_GPU_TDP * gpusPerNode * gpuTdpWatts;
}

export interface ClusterParts {
  gpu: Accelerator;
  nodes: number;
  gpusPerNode?: number;
  gpuVariability?: number;
  scaleUpTopology?: ClusterSpec["scaleUpTopology"];
  network?: Partial<NetworkSpec>;
  power?: Partial<PowerSpec>;
}

/** A cluster with the keys given and every other key as the loader fills it. */
export function clusterSpec(parts: ClusterParts): ClusterSpec {
  const gpusPerNode = parts.gpusPerNode ?? (schemaDefault("cluster.gpusPerNode") as number);
  const network: NetworkSpec = {
    topology: schemaDefault("cluster.network.topology") as NetworkSpec["topology"],
    nicBandwidth: parts.gpu.nicBandwidth,
    oversubscription: schemaDefault("cluster.network.oversubscription") as number,
    routing: schemaDefault("cluster.network.routing") as NetworkSpec["routing"],
    flowsPerConnection: schemaDefault("cluster.network.flowsPerConnection") as number,
    switchRadix: schemaDefault("cluster.network.switchRadix") as number,
    ...parts.network,
  };
  const power: PowerSpec = {
    pue: schemaDefault("cluster.power.pue") as number,
    controllerInterval: schemaDefault("cluster.power.controllerInterval") as number,
    nodesPerRack: schemaDefault("cluster.power.nodesPerRack") as number,
    nodeOverheadWatts: defaultNodeOverheadWatts(gpusPerNode, parts.gpu.tdpWatts),
    ...parts.power,
  };
  return {
    gpu: parts.gpu,
    nodes: parts.nodes,
    gpusPerNode,
    gpuVariability: parts.gpuVariability ?? (schemaDefault("cluster.gpuVariability") as number),
    scaleUpTopology: parts.scaleUpTopology ?? (schemaDefault("cluster.scaleUpTopology") as ClusterSpec["scaleUpTopology"]),
    network,
    power,
  };
}
