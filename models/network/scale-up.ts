/**
 * Scale-up domains: GPUs that reach each other without a NIC.
 * - NVSwitch (DGX/HGX 8-GPU boards, GB200 NVL72 racks): every GPU has one
 *   up and one down link to a non-blocking switch fabric; GPU a → b uses a's
 *   up link and b's down link.
 * - xGMI (AMD MI300X/MI325X platforms): a full mesh; every ordered GPU pair
 *   has its own link of 1/(n−1) of the GPU's bandwidth.
 */
import type { LinkGraph } from "./graph.ts";

/** NVLink/xGMI hop latency (switch traversal), seconds. */
export const SCALE_UP_LINK_LATENCY = 0.5e-6;

export interface ScaleUp {
  /** Links from src to dst, both in the same domain. */
  path(src: number, dst: number): number[];
  /** Up/down links to the switch, when there is one (for NVLS). */
  switchLinks(gpu: number): { up: number; down: number } | null;
}

export function nvswitchDomains(graph: LinkGraph, gpus: number, bandwidth: number, kind: "nvlink" = "nvlink"): ScaleUp {
  const up = new Int32Array(gpus);
  const down = new Int32Array(gpus);
  for (let g = 0; g < gpus; g++) {
    up[g] = graph.add(`gpu${g}→nvswitch`, kind, bandwidth, SCALE_UP_LINK_LATENCY);
    down[g] = graph.add(`nvswitch→gpu${g}`, kind, bandwidth, SCALE_UP_LINK_LATENCY);
  }
  return {
    path: (src, dst) => [up[src] as number, down[dst] as number],
    switchLinks: (gpu) => ({ up: up[gpu] as number, down: down[gpu] as number }),
  };
}

export function xgmiMesh(graph: LinkGraph, gpus: number, domain: number, bandwidth: number): ScaleUp {
  // One link per ordered pair inside each domain, created on first use (a 16k-GPU
  // MI300X cluster has 2048 meshes of 56 links).
  const perLink = bandwidth / Math.max(1, domain - 1);
  const links = new Map<number, number>();
  return {
    path: (src, dst) => {
      const key = src * gpus + dst;
      let id = links.get(key);
      if (id === undefined) {
        id = graph.add(`gpu${src}→gpu${dst} xgmi`, "xgmi", perLink, SCALE_UP_LINK_LATENCY);
        links.set(key, id);
      }
      return [id];
    },
    switchLinks: () => null,
  };
}
