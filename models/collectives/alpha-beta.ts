/**
 * Collective costs on a non-blocking fabric, NCCL-ring style: per-rank bytes on
 * each link type and a latency term. The step model turns these into fluid
 * activities on each rank's NVLink, NIC and HBM resources, so collectives still
 * contend with kernels for HBM and with each other for links.
 *
 * Ring traffic per rank (nccl-tests' "size" S): all-reduce 2(n−1)/n·S,
 * all-gather and reduce-scatter (n−1)/n·S, all-to-all (n−1)/n·S, send S.
 * With k group members per node and rings laid out node by node, 1/k of the
 * ring hops leave the node and the node's k NICs carry them in parallel: each
 * rank's NIC moves V/k and its NVLink V·(k−1)/k. (This is why multi-node
 * all-reduce bus bandwidth on 8-NIC nodes approaches 8 × the NIC speed: NVIDIA
 * reports 192 GB/s on DGX A100 with 8 × 200 Gb/s; nccl issue #812.)
 */

export type CollectiveOp = "all-reduce" | "all-gather" | "reduce-scatter" | "all-to-all" | "broadcast" | "send";

export interface GroupLayout {
  size: number;
  /** Members on each node (size when the group fits in one node). */
  perNode: number;
}

export interface LinkLoad {
  /** Bytes each rank sends (and receives) over NVLink / the NIC. */
  nvlinkBytes: number;
  nicBytes: number;
  /** HBM bytes each rank reads and writes for the collective. */
  hbmBytes: number;
  /** Fraction of the link plateau reached at this message size (sizeEfficiency). */
  sizeEfficiency: number;
  /** Latency beyond what the size curve (measured inside one node) already holds: extra inter-node hops. */
  latencySeconds: number;
}

/**
 * Protocol efficiency of the links as NCCL drives them: NVLink moves ~20 GB/s of
 * payload per 25 GB/s NVLink3 link (≈230 GB/s bus bandwidth of 300 on DGX A100,
 * ~370 of 450 GB/s on H100 with rings; S. Jeaugey in NVIDIA/nccl-tests #149 and
 * #212); InfiniBand reaches ~24 of 25 GB/s per HDR NIC (nccl-tests #160) and
 * 46–48 of 50 GB/s per NDR NIC (nccl-tests #290).
 */
export const NVLINK_EFFICIENCY = 0.8;
export const NIC_EFFICIENCY = 0.95;

/** [message bytes, fraction of the link plateau] points, bytes increasing (SIZE_CURVE, or a user calibration's). */
export type SizeCurve = readonly (readonly [number, number])[];

/**
 * Size curves measured on the user's own machines (trainsim calibrate): inside one scale-up
 * domain and across nodes. Absent: SIZE_CURVE for both.
 */
export interface SizeCurves {
  scaleUp?: SizeCurve;
  scaleOut?: SizeCurve;
  /** In-switch (NVLS) all-reduce inside one NVSwitch domain (the flow model's nvls algorithm). */
  nvls?: SizeCurve;
}

/** The curve for a group inside one scale-up domain (crossesNodes false) or spanning several; nvls: the in-switch all-reduce. */
export function curveFor(curves: SizeCurves | undefined, crossesNodes: boolean, nvls = false): SizeCurve {
  if (nvls && curves?.nvls !== undefined) return curves.nvls;
  return (crossesNodes ? curves?.scaleOut : curves?.scaleUp) ?? SIZE_CURVE;
}

/**
 * How much of the link plateau a collective of a given size reaches, as
 * measured by nccl-tests (all_reduce_perf, in-place, 8 × A100-SXM4-80GB on
 * NVLink3/NVSwitch, NCCL 2.18.5: Azure/AI-benchmarking-guide,
 * Azure_Results/ND_A100_v4_results.md): bus bandwidth at each size over the
 * 8 GB plateau (231.58 GB/s). Between points: log-linear. Smaller messages pay
 * latency and pipeline fill, fewer channels and the low-latency protocols; the
 * dip around 128 MB is NCCL's protocol/channel switch, and real training
 * messages (tensor-parallel activations of 50–300 MB) sit right there.
 * The curve's shape is applied to every link type until the network model
 * (models/network) resolves chunks on the link graph.
 */
export const SIZE_CURVE: SizeCurve = [
  [1024, 0.04 / 231.58],
  [8192, 0.33 / 231.58],
  [65536, 2.7 / 231.58],
  [262144, 10.11 / 231.58],
  [1048576, 36.22 / 231.58],
  [4194304, 71.43 / 231.58],
  [16777216, 109.22 / 231.58],
  [67108864, 166.63 / 231.58],
  [134217728, 174.18 / 231.58],
  [268435456, 213.87 / 231.58],
  [536870912, 221.58 / 231.58],
  [1073741824, 228.1 / 231.58],
  [4294967296, 230.48 / 231.58],
  [8589934592, 1],
];

/** Fraction of the plateau bus bandwidth a collective of `bytes` reaches (beyond the last point: the last fraction). */
export function sizeEfficiency(bytes: number, curve: SizeCurve = SIZE_CURVE): number {
  const first = curve[0] as readonly [number, number];
  if (bytes <= first[0]) return (first[1] * bytes) / first[0]; // latency-bound: constant time below the first point
  for (let i = 1; i < curve.length; i++) {
    const [s1, f1] = curve[i] as readonly [number, number];
    if (bytes <= s1) {
      const [s0, f0] = curve[i - 1] as readonly [number, number];
      const t = Math.log(bytes / s0) / Math.log(s1 / s0);
      return Math.exp(Math.log(f0) + t * (Math.log(f1) - Math.log(f0)));
    }
  }
  return (curve[curve.length - 1] as readonly [number, number])[1];
}

/**
 * Extra latency of a ring step that crosses the network rather than NVLink
 * (InfiniBand/RoCE round trip through NIC and switch, a few µs).
 */
export const NETWORK_STEP_SECONDS = 2.5e-6;

/**
 * TPU collectives (XLA over ICI) have no NCCL protocol curve: a hop costs ~1 us and anything
 * above ~45 kB per hop is bandwidth-bound ("sending any buffer under 4.5e10 * 1e-6 = 45kB
 * will be latency bound": How to Scale Your Model, sharding.md), so their size efficiency is 1.
 */
export function collectiveSizeEfficiency(bytes: number, ici: boolean, curve: SizeCurve = SIZE_CURVE): number {
  return ici ? 1 : sizeEfficiency(bytes, curve);
}

/** `curves`: a user calibration's measured size curves (the accelerator's efficiency.collectiveSizeCurves). */
export function collectiveLoad(op: CollectiveOp, bytes: number, group: GroupLayout, ici = false, curves?: SizeCurves): LinkLoad {
  const n = group.size;
  if (n <= 1 && op !== "send") return { nvlinkBytes: 0, nicBytes: 0, hbmBytes: 0, sizeEfficiency: 1, latencySeconds: 0 };
  const k = Math.max(1, Math.min(group.perNode, n));
  const nodes = Math.ceil(n / k);
  let volume: number;
  let steps: number;
  let hbmPerByte: number;
  switch (op) {
    case "all-reduce":
      volume = (2 * (n - 1) * bytes) / n;
      steps = 2 * (n - 1);
      hbmPerByte = 3;
      break;
    case "reduce-scatter":
      volume = ((n - 1) * bytes) / n;
      steps = n - 1;
      hbmPerByte = 3;
      break;
    case "all-gather":
    case "broadcast":
      volume = ((n - 1) * bytes) / n;
      steps = n - 1;
      hbmPerByte = 2;
      break;
    case "all-to-all":
      volume = ((n - 1) * bytes) / n;
      steps = 1;
      hbmPerByte = 2;
      break;
    case "send":
      volume = bytes;
      steps = 1;
      hbmPerByte = 1;
      break;
  }
  let nvlinkBytes: number;
  let nicBytes: number;
  let interFraction: number;
  if (nodes <= 1) {
    nvlinkBytes = volume;
    nicBytes = 0;
    interFraction = 0;
  } else if (op === "all-to-all") {
    nicBytes = (volume * (n - k)) / (n - 1);
    nvlinkBytes = volume - nicBytes;
    interFraction = 1;
  } else if (op === "send") {
    nicBytes = volume;
    nvlinkBytes = 0;
    interFraction = 1;
  } else {
    nicBytes = volume / k;
    nvlinkBytes = (volume * (k - 1)) / k;
    interFraction = 1 / k;
  }
  return {
    nvlinkBytes,
    nicBytes,
    hbmBytes: hbmPerByte * volume,
    sizeEfficiency: collectiveSizeEfficiency(bytes, ici, curveFor(curves, nodes > 1)),
    latencySeconds: steps * interFraction * NETWORK_STEP_SECONDS,
  };
}

/** Alone-on-the-machine time of a collective, for reporting and tests. */
export function collectiveSeconds(load: LinkLoad, nvlinkBandwidth: number, nicBandwidth: number): number {
  const nv = load.nvlinkBytes / (nvlinkBandwidth * NVLINK_EFFICIENCY);
  const nic = nicBandwidth > 0 ? load.nicBytes / (nicBandwidth * NIC_EFFICIENCY) : load.nicBytes > 0 ? Infinity : 0;
  return load.latencySeconds + Math.max(nv, nic) / load.sizeEfficiency;
}

/** Link work of a collective in the fluid model's units: bytes inflated by protocol and size efficiency. */
export function linkWork(load: LinkLoad): { nvlink: number; nic: number } {
  return {
    nvlink: load.nvlinkBytes / (NVLINK_EFFICIENCY * load.sizeEfficiency),
    nic: load.nicBytes / (NIC_EFFICIENCY * load.sizeEfficiency),
  };
}
