/**
 * Checkpoints: how big, how long they stall training, and the interval that
 * minimises lost time (Young 1974; Daly 2006: τ = √(2·δ·M) for checkpoint cost δ
 * and mean time between failures M).
 */
import type { Scenario } from "../scenario.ts";
import { hostCopyBandwidth } from "../network/host.ts";
import { elementBytes } from "../workload/memory.ts";
import { totalParams } from "../workload/params.ts";

export interface CheckpointCost {
  /** Model weights plus optimizer state (fp32 master weights, Adam m and v). */
  bytes: number;
  /** Seconds training stalls per checkpoint (the whole write when synchronous). */
  stallSeconds: number;
  /** Seconds the write takes end to end. */
  writeSeconds: number;
}

/** Aggregate bandwidth of each hop of the checkpoint path, bytes/s. */
export interface CheckpointPath {
  /** HBM → host memory: every GPU's measured pinned copy rate (PCIe, or NVLink-C2C to Grace on GB200/GB300). */
  hostCopy: number;
  /** Host → storage through every node's storage NICs. */
  nodeLinks: number;
  /** What the storage system absorbs. */
  storage: number;
}

export function checkpointPath(s: Scenario): CheckpointPath {
  const r = s.reliability;
  if (r === undefined) throw new Error("checkpointPath needs reliability settings");
  return {
    hostCopy: s.cluster.nodes * s.cluster.gpusPerNode * hostCopyBandwidth(s.cluster.gpu),
    nodeLinks: s.cluster.nodes * r.nodeStorageBandwidth,
    storage: r.storageBandwidth ?? Infinity,
  };
}

export function checkpointCost(s: Scenario): CheckpointCost {
  const r = s.reliability;
  if (r === undefined) throw new Error("checkpointCost needs reliability settings");
  const params = totalParams(s.workload.model);
  const weights = elementBytes(s.workload.precision);
  const bytes = params * (weights + (weights === 2 ? 4 : 0) + 8);
  // Synchronous: the write streams HBM → host → NIC → storage and training waits for all of
  // it (the slowest hop sets the pace). Asynchronous: training waits for the copy to host
  // memory, then the host writes it out in the background.
  const path = checkpointPath(s);
  const hostCopy = bytes / path.hostCopy;
  const write = bytes / Math.min(path.storage, path.nodeLinks);
  if (r.checkpointMode === "sync") {
    const seconds = bytes / Math.min(path.hostCopy, path.nodeLinks, path.storage);
    return { bytes, stallSeconds: seconds, writeSeconds: seconds };
  }
  return { bytes, stallSeconds: hostCopy, writeSeconds: hostCopy + write };
}

export function youngDaly(stallSeconds: number, mtbfSeconds: number): number {
  return Math.sqrt(2 * stallSeconds * mtbfSeconds);
}
