/**
 * A folded-Clos switch fabric above a set of leaf switches: two tiers (leaf,
 * spine) when one spine can reach every leaf, three (leaf, spine, core) with
 * pods otherwise. Each leaf has `downPorts` ports to NICs and downPorts /
 * oversubscription uplinks; above the leaves the fabric is non-blocking.
 * Routing is up-down over shortest paths; the uplink (and core) is chosen by
 * an ECMP hash of the flow.
 */
import { ecmpHash, type LinkGraph } from "./graph.ts";

/** Ports of one switch: 64 × 400 Gb/s on NVIDIA Quantum-2 (QM9700) and Spectrum-4 class switches. */
export const SWITCH_RADIX = 64;
/** Latency of one switch traversal plus cable, seconds (InfiniBand switches: ~0.1–0.2 µs port to port). */
export const FABRIC_LINK_LATENCY = 0.3e-6;

export interface ClosFabric {
  leaves: number;
  spines: number;
  cores: number;
  tiers: 2 | 3;
  uplinksPerLeaf: number;
  /**
   * Links between two different leaves (empty for the same leaf). `a`, `b`: the
   * endpoints' host numbers (leaf × downPorts + port), which D-mod-K routes by.
   */
  path(leafA: number, leafB: number, a: number, b: number, salt: number): number[];
}

export function closFabric(
  graph: LinkGraph,
  leaves: number,
  downPorts: number,
  oversubscription: number,
  linkBandwidth: number,
  label: string,
  routing: "ecmp" | "dmodk" = "ecmp",
  radix = SWITCH_RADIX,
): ClosFabric {
  const uplinks = Math.max(1, Math.round(downPorts / oversubscription));
  if (leaves <= 1) {
    return { leaves, spines: 0, cores: 0, tiers: 2, uplinksPerLeaf: uplinks, path: () => [] };
  }
  // Leaves per pod: what one spine's ports can serve (half the radix when it also has core uplinks).
  const twoTier = leaves <= radix;
  const leavesPerPod = twoTier ? leaves : radix / 2;
  const pods = Math.ceil(leaves / leavesPerPod);
  // Leaf l's uplink u goes to spine u of its pod: one link per (leaf, uplink).
  const leafUp = new Int32Array(leaves * uplinks);
  const leafDown = new Int32Array(leaves * uplinks);
  for (let l = 0; l < leaves; l++) {
    for (let u = 0; u < uplinks; u++) {
      leafUp[l * uplinks + u] = graph.add(`${label}leaf${l}→spine${Math.floor(l / leavesPerPod)}.${u}`, "fabric", linkBandwidth, FABRIC_LINK_LATENCY);
      leafDown[l * uplinks + u] = graph.add(`${label}spine${Math.floor(l / leavesPerPod)}.${u}→leaf${l}`, "fabric", linkBandwidth, FABRIC_LINK_LATENCY);
    }
  }
  // Three tiers: spine (pod p, u) has leavesPerPod links up, to cores (u, j); core (u, j)
  // reaches spine u of every pod. Non-blocking above the leaves.
  const spineUp = new Int32Array(twoTier ? 0 : pods * uplinks * leavesPerPod);
  const spineDown = new Int32Array(twoTier ? 0 : pods * uplinks * leavesPerPod);
  if (!twoTier) {
    for (let p = 0; p < pods; p++) {
      for (let u = 0; u < uplinks; u++) {
        for (let j = 0; j < leavesPerPod; j++) {
          const i = (p * uplinks + u) * leavesPerPod + j;
          spineUp[i] = graph.add(`${label}spine${p}.${u}→core${u}.${j}`, "fabric", linkBandwidth, FABRIC_LINK_LATENCY);
          spineDown[i] = graph.add(`${label}core${u}.${j}→spine${p}.${u}`, "fabric", linkBandwidth, FABRIC_LINK_LATENCY);
        }
      }
    }
  }
  return {
    leaves,
    spines: pods * uplinks,
    cores: twoTier ? 0 : uplinks * leavesPerPod,
    tiers: twoTier ? 2 : 3,
    uplinksPerLeaf: uplinks,
    path(leafA, leafB, a, b, salt) {
      if (leafA === leafB) return [];
      // ECMP hashes the flow; D-mod-K (InfiniBand fat-tree routing) spreads by destination.
      const h = routing === "ecmp" ? ecmpHash(a, b, salt) : 0;
      const u = routing === "ecmp" ? h % uplinks : b % uplinks;
      const podA = Math.floor(leafA / leavesPerPod);
      const podB = Math.floor(leafB / leavesPerPod);
      const up = leafUp[leafA * uplinks + u] as number;
      const down = leafDown[leafB * uplinks + u] as number;
      if (twoTier || podA === podB) return [up, down];
      const j = routing === "ecmp" ? (h >>> 8) % leavesPerPod : Math.floor(b / uplinks) % leavesPerPod;
      return [up, spineUp[(podA * uplinks + u) * leavesPerPod + j] as number, spineDown[(podB * uplinks + u) * leavesPerPod + j] as number, down];
    },
  };
}
