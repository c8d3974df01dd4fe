import type { SizeCurves } from "../collectives/alpha-beta.ts";
/**
 * A cluster's interconnect as a graph of directed links, each with a
 * capacity (bytes/s per direction) and a latency. Topology modules build one
 * and answer `path(src, dst, salt)` from their structure (up-down routing in
 * trees, dimension order in tori) — fast enough for 16k-GPU jobs, and exactly
 * the shortest paths, with the equal-cost choice taken by a seeded hash.
 */

export type LinkKind = "nvlink" | "xgmi" | "ici" | "pcie" | "nic" | "fabric";

export interface Link {
  id: number;
  name: string;
  kind: LinkKind;
  /** Bytes per second in this direction. */
  capacity: number;
  /** Seconds for the first byte to cross (propagation + switching). */
  latency: number;
}

export class LinkGraph {
  readonly links: Link[] = [];

  add(name: string, kind: LinkKind, capacity: number, latency: number): number {
    const id = this.links.length;
    this.links.push({ id, name, kind, capacity, latency });
    return id;
  }

  link(id: number): Link {
    return this.links[id] as Link;
  }
}

/** A torus topology's structure, for collectives laid out along its rings. */
export interface TorusGeometry {
  /** Chips along each dimension of one pod. */
  readonly shape: readonly number[];
  /** Per dimension: does the ring close (wraparound link)? */
  readonly wrap: readonly boolean[];
  /** Chips per pod; ids are pod-major. */
  readonly podChips: number;
  /** Coordinate of `chip` along dimension d. */
  coord(chip: number, d: number): number;
  /** Links of a ring hop from src to dst (same line along d), going the + way (plus) or the − way; a line without wraparound goes the direct way. */
  hop(src: number, dst: number, d: number, plus: boolean): number[];
}

export interface Topology {
  /** Topology family, as in the scenario's `cluster.network.topology`. */
  readonly kind: string;
  readonly graph: LinkGraph;
  readonly gpus: number;
  /** GPUs sharing one scale-up (NVLink / xGMI / ICI) domain. */
  readonly scaleUpDomain: number;
  readonly gpusPerNode: number;
  /** Directed links from GPU `src` to GPU `dst`; `salt` picks among equal-cost paths. */
  path(src: number, dst: number, salt: number): number[];
  /** Flows each inter-node connection is split into (NCCL_IB_QPS_PER_CONNECTION). */
  readonly flowsPerConnection: number;
  /** Scale-up domains are full meshes of direct GPU-GPU links (xGMI, HGX 4-GPU NVLink), not a switch. */
  readonly scaleUpMesh: boolean;
  /** The scale-up switch can reduce data itself (NVLink SHARP on NVSwitch gen 3: H100 and later). */
  readonly inSwitchReduction: boolean;
  /** NVLS all-reduce algorithm bandwidth over the per-direction link rate (NVSwitch generation); default NVLS_EFFICIENCY. */
  readonly nvlsEfficiency?: number;
  /** Collective size curves of a user calibration (the accelerator's efficiency.collectiveSizeCurves); absent: the catalog's. */
  readonly sizeCurves?: SizeCurves;
  /** Torus structure (TPU ICI): collectives run as rings along its dimensions. */
  readonly torus?: TorusGeometry;
  /** The links a GPU uses to reach its scale-up switch and back (for in-switch reduction, NVLS); null if none. */
  switchLinks(gpu: number): { up: number; down: number } | null;
  /** Human-readable summary (switch counts, oversubscription). */
  describe(): string;
}

/** A deterministic 32-bit mix for ECMP choices (splitmix-style). */
export function ecmpHash(a: number, b: number, salt: number): number {
  let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b) ^ Math.imul(salt + 0x2545f491, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
