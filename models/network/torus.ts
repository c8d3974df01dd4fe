/**
 * A 2D or 3D torus of accelerator chips (TPU-style inter-chip interconnect):
 * every chip links to its two neighbours in each dimension, with wraparound.
 * Routing is dimension-ordered along the shorter way round each ring (ties
 * broken by the flow's ECMP hash).
 */
import type { Accelerator } from "../hardware/types.ts";
import { ecmpHash, LinkGraph, type Topology } from "./graph.ts";
import { SCALE_UP_LINK_LATENCY } from "./scale-up.ts";

/** The most cube-like shape of `n` chips in `dims` dimensions (largest first). */
export function torusShape(n: number, dims: 2 | 3): number[] {
  let best: number[] = [n, 1, 1].slice(0, dims);
  let bestSpread = Infinity;
  for (let x = 1; x <= n; x++) {
    if (n % x !== 0) continue;
    if (dims === 2) {
      const y = n / x;
      if (Math.abs(x - y) < bestSpread) {
        bestSpread = Math.abs(x - y);
        best = [Math.max(x, y), Math.min(x, y)];
      }
      continue;
    }
    for (let y = 1; y <= n / x; y++) {
      if ((n / x) % y !== 0) continue;
      const z = n / x / y;
      const spread = Math.max(x, y, z) - Math.min(x, y, z);
      if (spread < bestSpread) {
        bestSpread = spread;
        best = [x, y, z].sort((a, b) => b - a);
      }
    }
  }
  return best;
}

export function torus(gpu: Accelerator, chips: number, shape: number[]): Topology {
  const graph = new LinkGraph();
  const dims = shape.length;
  const perLink = gpu.scaleUpBandwidth / (2 * dims);
  // links[(chip * dims + d) * 2 + (0: +, 1: −)]
  const links = new Int32Array(chips * dims * 2);
  const stride: number[] = [];
  let s = 1;
  for (let d = 0; d < dims; d++) {
    stride.push(s);
    s *= shape[d] as number;
  }
  const coord = (c: number, d: number): number => Math.floor(c / (stride[d] as number)) % (shape[d] as number);
  for (let c = 0; c < chips; c++) {
    for (let d = 0; d < dims; d++) {
      links[(c * dims + d) * 2] = graph.add(`chip${c} +${"xyz"[d]}`, "ici", perLink, SCALE_UP_LINK_LATENCY);
      links[(c * dims + d) * 2 + 1] = graph.add(`chip${c} -${"xyz"[d]}`, "ici", perLink, SCALE_UP_LINK_LATENCY);
    }
  }
  return {
    kind: "torus",
    graph,
    gpus: chips,
    scaleUpDomain: chips,
    gpusPerNode: 1,
    scaleUpMesh: false,
    inSwitchReduction: false,
    flowsPerConnection: 1,
    path(src, dst, salt) {
      const out: number[] = [];
      let cur = src;
      const h = ecmpHash(src, dst, salt);
      for (let d = 0; d < dims; d++) {
        const size = shape[d] as number;
        const a = coord(cur, d);
        const b = coord(dst, d);
        if (a === b) continue;
        const forward = (b - a + size) % size;
        const backward = size - forward;
        const plus = forward < backward || (forward === backward && ((h >>> d) & 1) === 0);
        const steps = plus ? forward : backward;
        for (let k = 0; k < steps; k++) {
          out.push(links[(cur * dims + d) * 2 + (plus ? 0 : 1)] as number);
          const ca = coord(cur, d);
          const next = plus ? (ca + 1) % size : (ca - 1 + size) % size;
          cur += (next - ca) * (stride[d] as number);
        }
      }
      return out;
    },
    switchLinks: () => null,
    describe: () => `${dims}D torus ${shape.join(" × ")} of ${gpu.name}, ${(perLink / 1e9).toFixed(0)} GB/s per link per direction`,
  };
}
