/** A data: section for the loader tests: image samples of 1 MB, one request each, no decode, 4 workers, prefetch 2. */
import type { DataSpec } from "../../models/data/types.ts";

export function imageDataSpec(readBandwidth: number, over: Partial<DataSpec> = {}): DataSpec {
  return {
    storage: { name: "t", readBandwidth, requestLatency: 0, source: "test" },
    kind: "image",
    bytesPerSample: 1e6,
    deviceBytesPerSample: 0,
    decodeCoreSeconds: 0,
    workers: 4,
    prefetch: 2,
    readSize: 1e6,
    readsInFlight: 1,
    nodeStorageBandwidth: 1e12,
    cacheHitRate: 0,
    sharedWithCheckpoints: false,
    loaders: "replica",
    ...over,
  };
}
