/**
 * Random sample order versus streaming shards (data.shuffle), hand-computed: shuffled reads
 * take whole requests per sample; streamed reads share requests of readSize between
 * consecutive samples, so request-rate and latency limits fall by bytesPerSample/readSize.
 */
import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import { loaderThroughput } from "../../models/data/loader.ts";
import type { DataSpec } from "../../models/data/types.ts";
import { imageDataSpec } from "../helpers/data-spec.ts";
import { scenario, TINY_MODEL } from "../helpers/scenario.ts";

/** 16 GPUs, one loader each, 4 samples of 1 MB per loader per step: 64 samples, 64 MB a step. */
const job = scenario({ nodes: 2, model: TINY_MODEL, seqLength: 2048, globalBatch: 64 });

function spec(over: Partial<DataSpec>): DataSpec {
  return imageDataSpec(1e10, over);
}

describe("shuffle", () => {
  it("a tier serving 640 requests/s: shuffled, 64 requests a step take 0.1 s; streamed in 8 MB requests, 8 take 12.5 ms", () => {
    const storage = { name: "t", readBandwidth: 1e10, requestsPerSecond: 640, requestLatency: 0, source: "test" };
    const shuffled = loaderThroughput(job, spec({ storage }));
    expect(shuffled.secondsPerStep).toBeCloseTo(0.1, 12);
    expect(shuffled.bottleneck).toBe("storage-requests");
    const streamed = loaderThroughput(job, spec({ storage, shuffle: false, readSize: 8e6 }));
    expect(streamed.demand.requests).toBeCloseTo(0.5, 15);
    expect(streamed.secondsPerStep).toBeCloseTo(8 / 640, 12);
    // Bytes are the same either way: 64 MB at 10 GB/s would take 6.4 ms.
    expect(streamed.storageBytesPerStep).toBe(shuffled.storageBytesPerStep);
  });

  it("a 10 ms first-byte latency, 4 workers × 1 read in flight (400 requests/s per loader): 10 ms shuffled, 1.25 ms streamed", () => {
    const storage = { name: "t", readBandwidth: 1e12, requestLatency: 0.01, source: "test" };
    const shuffled = loaderThroughput(job, spec({ storage }));
    expect(shuffled.secondsPerStep).toBeCloseTo(4 / 400, 12);
    expect(shuffled.bottleneck).toBe("request-latency");
    const streamed = loaderThroughput(job, spec({ storage, shuffle: false, readSize: 8e6 }));
    expect(streamed.secondsPerStep).toBeCloseTo(0.5 / 400, 12);
  });

  it("in the scenario: absent leaves readSize one sample; false defaults readSize to 8 MB; a wrong type is named", () => {
    const base = { cluster: { gpu: "H100-SXM", nodes: 2 }, workload: { model: "llama3-8b", seqLength: 8192, globalBatch: 64 }, parallelism: { tp: 2 } };
    const load = (data: unknown) => scenarioFromObject({ ...base, data }, { baseDir: ".", name: "t" });
    const plain = load({ storage: "ddn-ai400x2t" }).data!;
    expect(plain.readSize).toBe(8192 * 4);
    expect("shuffle" in plain).toBe(false);
    const streamed = load({ storage: "ddn-ai400x2t", shuffle: false }).data!;
    expect(streamed.shuffle).toBe(false);
    expect(streamed.readSize).toBe(8e6);
    expect(load({ storage: "ddn-ai400x2t", shuffle: false, readSize: "16 MB" }).data!.readSize).toBe(16e6);
    expect(() => load({ storage: "ddn-ai400x2t", shuffle: "no" })).toThrow(/data\.shuffle/);
  });
});
