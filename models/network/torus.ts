/**
 * A 2D or 3D torus of accelerator chips (TPU-style inter-chip interconnect):
 * every chip links to its two neighbours in each dimension. A dimension wraps
 * around only where the hardware closes the ring: on TPU v4/v5p a slice's
 * dimension that is a multiple of 4 (whole 4×4×4 cubes joined by the optical
 * switches), on the 2D e-class chips a full 16 (How to Scale Your Model,
 * tpus.md: "Any multiple of a full cube ... will have wraparounds"; smaller
 * slices have none, "which typically doubles the time of most communication").
 * Routing is dimension-ordered along the shorter way round each ring (ties by
 * the flow's ECMP hash); without a wrap, the direct way.
 *
 * Jobs larger than one pod span pods of `shape` each, joined by the data-centre
 * network (DCN): each chip reaches other pods through its host's NIC share
 * (`nicBandwidth`), over a fabric taken as non-blocking.
 */
import type { Accelerator } from "../hardware/types.ts";
import type { ClusterSpec } from "../scenario.ts";
import { ecmpHash, LinkGraph, type Topology, type TorusGeometry } from "./graph.ts";
import { HOST_LINK_LATENCY } from "./host.ts";
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

/** Which dimensions close into rings: 3D slices along multiples of 4, 2D ones at a full 16. */
export function defaultTorusWraps(shape: readonly number[]): boolean[] {
  return shape.map((size) => (shape.length === 3 ? size % 4 === 0 : size >= 16));
}

/**
 * Pods a job of `chips` spans and the torus shape of each: as few pods as the accelerator's
 * ICI domain (gpu.scaleUpDomain) allows, of equal size.
 */
export function torusLayout(c: ClusterSpec): { pods: number; shape: number[] } {
  const chips = c.nodes * c.gpusPerNode;
  if (c.network.torusShape !== undefined) {
    const podChips = c.network.torusShape.reduce((a, b) => a * b, 1);
    return { pods: Math.max(1, Math.round(chips / podChips)), shape: c.network.torusShape };
  }
  let pods = Math.max(1, Math.ceil(chips / Math.max(1, c.gpu.scaleUpDomain)));
  while (chips % pods !== 0) pods++;
  return { pods, shape: torusShape(chips / pods, 3) };
}

export interface TorusOptions {
  /** Per dimension: is there a wraparound link (default: defaultTorusWraps). */
  wrap?: readonly boolean[];
  /** DCN bandwidth per chip per direction when the job spans pods (bytes/s). */
  nicBandwidth?: number;
  /**
   * Twisted 3D torus of a 2k × k × k slice (TPU v4/v5p: 4x4x8, 8x8x16, ... "Supports twisted?
   * Yes" in the Cloud TPU tables; Jouppi et al., ISCA 2023, Sec. 2.6): the wraparound links of
   * the two short dimensions land k chips further along the long one, which shortens the
   * longest routes and raises bisection bandwidth for all-to-all traffic.
   */
  twist?: boolean;
}

export function torus(gpu: Accelerator, chips: number, shape: number[], opts: TorusOptions = {}): Topology {
  const graph = new LinkGraph();
  const dims = shape.length;
  const podChips = shape.reduce((a, b) => a * b, 1);
  if (chips % podChips !== 0) throw new Error(`torus: ${chips} chips do not fill pods of ${shape.join("×")}`);
  const pods = chips / podChips;
  const wrap = opts.wrap ?? defaultTorusWraps(shape);
  const twist = opts.twist === true;
  if (twist && !(dims === 3 && shape[0] === 2 * (shape[1] as number) && shape[1] === shape[2] && wrap.every((w) => w))) {
    throw new Error(`a twisted torus needs a 2k × k × k slice with wraparound links; got ${shape.join("×")}`);
  }
  const half = twist ? (shape[1] as number) : 0;
  const perLink = gpu.scaleUpBandwidth / (2 * dims);
  // links[(chip * dims + d) * 2 + (0: +, 1: −)]
  const links = new Int32Array(chips * dims * 2);
  const stride: number[] = [];
  let s = 1;
  for (let d = 0; d < dims; d++) {
    stride.push(s);
    s *= shape[d] as number;
  }
  const coord = (c: number, d: number): number => Math.floor((c % podChips) / (stride[d] as number)) % (shape[d] as number);
  for (let c = 0; c < chips; c++) {
    for (let d = 0; d < dims; d++) {
      links[(c * dims + d) * 2] = graph.add(`chip${c} +${"xyz"[d]}`, "ici", perLink, SCALE_UP_LINK_LATENCY);
      links[(c * dims + d) * 2 + 1] = graph.add(`chip${c} -${"xyz"[d]}`, "ici", perLink, SCALE_UP_LINK_LATENCY);
    }
  }
  const nicBandwidth = opts.nicBandwidth ?? gpu.nicBandwidth;
  const dcnUp = new Int32Array(pods > 1 ? chips : 0);
  const dcnDown = new Int32Array(pods > 1 ? chips : 0);
  for (let c = 0; c < dcnUp.length; c++) {
    dcnUp[c] = graph.add(`chip${c}→dcn`, "nic", nicBandwidth, HOST_LINK_LATENCY);
    dcnDown[c] = graph.add(`dcn→chip${c}`, "nic", nicBandwidth, HOST_LINK_LATENCY);
  }
  /**
   * Links from `from` along dimension d, `steps` hops in direction plus/minus, appended to out;
   * the chip reached. With `twisted`, crossing a short dimension's wraparound moves half-way
   * round the long one (x), as the twisted links do.
   */
  const walk = (from: number, d: number, plus: boolean, steps: number, out: number[], twisted = false): number => {
    const size = shape[d] as number;
    let cur = from;
    for (let k = 0; k < steps; k++) {
      out.push(links[(cur * dims + d) * 2 + (plus ? 0 : 1)] as number);
      const ca = coord(cur, d);
      const next = plus ? (ca + 1) % size : (ca - 1 + size) % size;
      cur += (next - ca) * (stride[d] as number);
      if (twisted && d > 0 && (plus ? next === 0 : next === size - 1)) {
        const x = coord(cur, 0);
        cur += (((x + half) % (shape[0] as number)) - x) * (stride[0] as number);
      }
    }
    return cur;
  };
  /** Shortest route on a twisted torus: for each short dimension, straight or through its twisted wrap (which shifts x by k). */
  const twistedPath = (src: number, dst: number, h: number): number[] => {
    const X = shape[0] as number;
    const k = half;
    let best: { cost: number; choice: boolean[] } | null = null;
    for (const wy of [false, true]) {
      for (const wz of [false, true]) {
        let cost = 0;
        let shift = 0;
        for (const [d, w] of [[1, wy], [2, wz]] as const) {
          const dd = Math.abs(coord(dst, d) - coord(src, d));
          if (dd === 0 && w) cost = Infinity;
          cost += w ? k - dd : dd;
          if (w) shift += k;
        }
        const dx = (((coord(dst, 0) - coord(src, 0) - shift) % X) + X) % X;
        cost += Math.min(dx, X - dx);
        const tie = best !== null && cost === best.cost && ((h >>> ((wy ? 1 : 0) + (wz ? 2 : 0))) & 1) === 0;
        if (best === null || cost < best.cost || tie) best = { cost, choice: [wy, wz] };
      }
    }
    const out: number[] = [];
    let cur = src;
    for (const d of [1, 2]) {
      const a = coord(cur, d);
      const b = coord(dst, d);
      if (a === b) continue;
      const through = (best as { choice: boolean[] }).choice[d - 1] as boolean;
      // Straight: towards b; through the wrap: away from it, across the edge.
      const plus = through ? b < a : b > a;
      cur = walk(cur, d, plus, through ? (shape[d] as number) - Math.abs(b - a) : Math.abs(b - a), out, true);
    }
    const a = coord(cur, 0);
    const b = coord(dst, 0);
    const forward = (b - a + X) % X;
    if (forward !== 0) walk(cur, 0, forward <= X - forward, Math.min(forward, X - forward), out);
    return out;
  };
  const geometry: TorusGeometry = {
    shape,
    wrap,
    podChips,
    coord,
    hop(src, dst, d, plus) {
      const size = shape[d] as number;
      const a = coord(src, d);
      const b = coord(dst, d);
      const out: number[] = [];
      if (a === b) return out;
      const forward = (b - a + size) % size;
      // Without a wrap the ring's closing hop goes back along the line.
      if (wrap[d]) walk(src, d, plus, plus ? forward : size - forward, out);
      else walk(src, d, b > a, Math.abs(b - a), out);
      return out;
    },
  };
  return {
    kind: "torus",
    graph,
    gpus: chips,
    scaleUpDomain: podChips,
    gpusPerNode: 1,
    scaleUpMesh: false,
    inSwitchReduction: false,
    flowsPerConnection: 1,
    torus: geometry,
    path(src, dst, salt) {
      if (Math.floor(src / podChips) !== Math.floor(dst / podChips)) return [dcnUp[src] as number, dcnDown[dst] as number];
      const h = ecmpHash(src, dst, salt);
      if (twist) return twistedPath(src, dst, h);
      const out: number[] = [];
      let cur = src;
      for (let d = 0; d < dims; d++) {
        const size = shape[d] as number;
        const a = coord(cur, d);
        const b = coord(dst, d);
        if (a === b) continue;
        if (!wrap[d]) {
          cur = walk(cur, d, b > a, Math.abs(b - a), out);
          continue;
        }
        const forward = (b - a + size) % size;
        const backward = size - forward;
        const plus = forward < backward || (forward === backward && ((h >>> d) & 1) === 0);
        cur = walk(cur, d, plus, plus ? forward : backward, out);
      }
      return out;
    },
    switchLinks: () => null,
    describe: () =>
      `${dims}D ${twist ? "twisted " : ""}torus ${shape.join(" × ")}${wrap.every((w) => w) ? "" : ` (wraparound on ${wrap.map((w, d) => (w ? "xyz"[d] : "")).join("") || "no dimension"})`} of ${gpu.name}, ` +
      `${(perLink / 1e9).toFixed(0)} GB/s per link per direction${pods > 1 ? `; ${pods} pods joined by the data-centre network at ${(nicBandwidth / 1e9).toFixed(2)} GB/s per chip` : ""}`,
  };
}
