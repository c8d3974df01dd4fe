/**
 * What one step asks of the input path: which ranks load, on which nodes, and per
 * loader the samples, bytes read from storage or cache, read requests, decode
 * core-seconds and bytes copied host to device.
 */
import type { Scenario } from "../scenario.ts";
import type { DataSpec } from "./types.ts";

/** Megatron-style tokens stored as uint16 when the vocabulary fits, else uint32 (indexed dataset dtype). */
export function tokenBytes(vocab: number): number {
  return vocab <= 65536 ? 2 : 4;
}

export interface LoaderDemand {
  /** Samples one loader delivers per step. */
  samples: number;
  storageBytes: number;
  cacheBytes: number;
  requests: number;
  deviceBytes: number;
  decodeCoreSeconds: number;
}

/** Per loader and step, from the batch each data-parallel replica consumes. */
export function loaderDemand(s: Scenario, d: DataSpec): LoaderDemand {
  const samples = s.workload.globalBatch / s.parallelism.dp;
  const bytes = samples * d.bytesPerSample;
  const storageBytes = bytes * (1 - d.cacheHitRate);
  return {
    samples,
    storageBytes,
    cacheBytes: bytes * d.cacheHitRate,
    // Random order: a sample is read in whole requests of readSize. Streamed in storage
    // order (shuffle false): consecutive samples share requests.
    requests: samples * (d.shuffle === false ? d.bytesPerSample / d.readSize : Math.ceil(d.bytesPerSample / d.readSize)) * (1 - d.cacheHitRate),
    deviceBytes: samples * d.deviceBytesPerSample,
    decodeCoreSeconds: samples * d.decodeCoreSeconds,
  };
}

/**
 * The node of every loader, by global rank in Megatron order (tensor fastest, then context,
 * data, pipeline). replica: the first tensor and context rank of each data-parallel replica's
 * first pipeline stage, as Megatron's get_batch loads on tensor rank 0 and broadcasts; every-gpu:
 * every GPU of the job loads its replica's batch itself.
 */
export function loaderNodes(s: Scenario, d: DataSpec): Int32Array {
  const { tp, cp, dp, pp } = s.parallelism;
  const perNode = s.cluster.gpusPerNode;
  if (d.loaders === "every-gpu") {
    const n = tp * cp * dp * pp;
    return Int32Array.from({ length: n }, (_, r) => Math.floor(r / perNode));
  }
  return Int32Array.from({ length: dp }, (_, k) => Math.floor((k * tp * cp) / perNode));
}
