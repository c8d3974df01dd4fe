/**
 * Scale-up domains: GPUs that reach each other without a NIC.
 * - switch (DGX/HGX 8-GPU NVSwitch boards, GB200 NVL72 racks): every GPU has
 *   one up and one down link to a non-blocking switch fabric; GPU a → b uses
 *   a's up link and b's down link.
 * - mesh (AMD MI300X/MI325X xGMI platforms, Intel Gaudi 3 baseboards, NVIDIA
 *   HGX 4-GPU boards): every ordered GPU pair has its own link carrying
 *   1/(board − 1) of the GPU's scale-up bandwidth; there is no switch, so no
 *   in-switch reduction, and a group uses only the links among its members.
 */
import type { Accelerator } from "../hardware/types.ts";
import type { LinkGraph, LinkKind } from "./graph.ts";

/** NVLink/xGMI hop latency (switch traversal), seconds. */
export const SCALE_UP_LINK_LATENCY = 0.5e-6;

export type ScaleUpTopology = "switch" | "mesh";
/** As a scenario states it (cluster.scaleUpTopology): "auto" picks by accelerator and node size. */
export type ScaleUpTopologyRequest = ScaleUpTopology | "auto";
export const SCALE_UP_TOPOLOGIES: readonly ScaleUpTopologyRequest[] = ["auto", "switch", "mesh"];

/**
 * GPUs on an NVLink board without NVSwitch: NVIDIA HGX A100/H100/H200 4-GPU boards join
 * their 4 GPUs directly, each GPU's NVLinks split evenly over its 3 peers (H100/H200: 18
 * links → 6 per pair = 150 GB/s per direction; A100: 12 → 4 = 100 GB/s). NVIDIA lists
 * NVSwitch only on the 8-GPU HGX baseboards (NVIDIA AI Enterprise vGPU docs, "NVIDIA
 * NVSwitch: Platform Support": HGX A100/H100/H200/H800/B200/B300 8-GPU baseboards);
 * `nvidia-smi topo -m` on 4-GPU Hopper nodes shows NV6 between every pair (4 × GH200 Cray
 * EX node, crickett-hpe/hpc-ai-envs README; 4 × H200 NVL with a 4-way bridge).
 */
export const NVLINK_MESH_GPUS = 4;

/** Largest switched domain that is one board inside one node; larger ones are rack-scale (NVL72). */
const BOARD_DOMAIN_MAX = 8;

export interface ScaleUpLayout {
  topology: ScaleUpTopology;
  /** GPUs in one domain: consecutive GPU ids that reach each other over scale-up links. */
  domain: number;
  /** GPUs of the full board a mesh link is cut for (the GPU's bandwidth / (board − 1) per link); domain for a switch. */
  board: number;
}

/** Mesh board size of an accelerator: its xGMI/RoCE platform, or an HGX 4-GPU board for NVLink. */
export function meshBoard(gpu: Accelerator): number {
  return gpu.scaleUpKind === "nvlink" ? Math.min(NVLINK_MESH_GPUS, Math.max(1, gpu.scaleUpDomain)) : Math.max(1, gpu.scaleUpDomain);
}

/**
 * The automatic choice: xGMI and Gaudi RoCE platforms are meshes (their data sheets: every
 * OAM linked to every other); an NVLink GPU in nodes of 4 with a board-level domain (not
 * GB200 NVL72, whose 4-GPU trays sit in a switched rack) is an HGX 4-GPU board; anything
 * else is a switch.
 */
export function autoScaleUpTopology(gpu: Accelerator, gpusPerNode: number): ScaleUpTopology {
  if (gpu.scaleUpKind === "xgmi" || gpu.scaleUpKind === "roce") return "mesh";
  if (gpu.scaleUpKind === "nvlink" && gpusPerNode === NVLINK_MESH_GPUS && gpu.scaleUpDomain <= BOARD_DOMAIN_MAX) return "mesh";
  return "switch";
}

/** Why `requested` cannot describe this cluster, or null if it can. */
export function scaleUpTopologyProblem(gpu: Accelerator, gpusPerNode: number, requested: ScaleUpTopologyRequest): string | null {
  if (requested === "auto") return null;
  if (gpu.scaleUpKind === "ici") return `"${requested}" is not allowed with ${gpu.name}: its ICI torus is the scale-up fabric (network.topology torus); expected "auto"`;
  if (requested === "mesh" && gpusPerNode > meshBoard(gpu)) {
    return `"mesh" is not allowed with ${gpusPerNode} ${gpu.name} per node: a direct ${gpu.scaleUpKind} mesh joins at most ${meshBoard(gpu)} GPUs (its links split over ${meshBoard(gpu) - 1} peers); expected "switch" or "auto", or gpusPerNode <= ${meshBoard(gpu)}`;
  }
  return null;
}

export function scaleUpLayout(gpu: Accelerator, gpusPerNode: number, requested: ScaleUpTopologyRequest = "auto"): ScaleUpLayout {
  const topology = requested === "auto" ? autoScaleUpTopology(gpu, gpusPerNode) : requested;
  if (topology === "mesh") {
    const board = meshBoard(gpu);
    return { topology, domain: Math.max(1, Math.min(board, gpusPerNode)), board };
  }
  const d = Math.max(1, gpu.scaleUpDomain);
  // A board's switch never reaches past its node; a rack-scale NVLink Switch (NVL72) does.
  const domain = d > BOARD_DOMAIN_MAX ? d : Math.min(d, Math.max(1, gpusPerNode));
  return { topology, domain, board: domain };
}

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

/** Full meshes: one link per ordered pair of a domain, of `bandwidth` / (board − 1). */
export function meshDomains(graph: LinkGraph, gpus: number, board: number, bandwidth: number, kind: Extract<LinkKind, "xgmi" | "nvlink">): ScaleUp {
  // Created on first use (a 16k-GPU MI300X cluster has 2048 meshes of 56 links).
  const perLink = bandwidth / Math.max(1, board - 1);
  const links = new Map<number, number>();
  return {
    path: (src, dst) => {
      const key = src * gpus + dst;
      let id = links.get(key);
      if (id === undefined) {
        id = graph.add(`gpu${src}→gpu${dst} ${kind}`, kind, perLink, SCALE_UP_LINK_LATENCY);
        links.set(key, id);
      }
      return [id];
    },
    switchLinks: () => null,
  };
}
