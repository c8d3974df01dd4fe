/**
 * Checkpoints: how big, how long they stall training, and the interval that
 * minimises lost time (Young 1974; Daly 2006: τ = √(2·δ·M) for checkpoint cost δ
 * and mean time between failures M).
 */
import type { Scenario } from "../scenario.ts";
import { pcieBandwidth } from "../network/host.ts";
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

export function checkpointCost(s: Scenario): CheckpointCost {
  const r = s.reliability;
  if (r === undefined) throw new Error("checkpointCost needs reliability settings");
  const params = totalParams(s.workload.model);
  const weights = elementBytes(s.workload.precision);
  const bytes = params * (weights + (weights === 2 ? 4 : 0) + 8);
  const nodes = s.cluster.nodes;
  // Path: HBM → host memory over PCIe (all GPUs of a node in parallel), then host → storage
  // through the node's storage NICs, and the storage system's aggregate bandwidth.
  const hostCopy = bytes / (nodes * s.cluster.gpusPerNode * pcieBandwidth(s.cluster.gpu));
  const write = bytes / Math.min(r.storageBandwidth ?? Infinity, nodes * r.nodeStorageBandwidth);
  const writeSeconds = Math.max(hostCopy, write);
  return { bytes, stallSeconds: r.checkpointMode === "sync" ? writeSeconds : hostCopy, writeSeconds };
}

export function youngDaly(stallSeconds: number, mtbfSeconds: number): number {
  return Math.sqrt(2 * stallSeconds * mtbfSeconds);
}
