/** The scenario's data: section: defaults filled from the model and cluster, presets resolved, bad input named. */
import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import { STORAGE_PRESETS } from "../../models/data/storage.ts";
import { problemsOf } from "../helpers/config-problems.ts";

const BASE = { cluster: { gpu: "H100-SXM", nodes: 2 }, workload: { model: "llama3-8b", seqLength: 8192, globalBatch: 64 }, parallelism: { tp: 2 } };
const load = (data: unknown) => scenarioFromObject({ ...BASE, data }, { baseDir: ".", name: "t" });

describe("data: section", () => {
  it("is absent unless written", () => {
    expect(scenarioFromObject(BASE, { baseDir: ".", name: "t" }).data).toBeUndefined();
  });

  it("fills text defaults: 4 bytes a token for Llama 3's 128K vocabulary, no decode, two workers, prefetch 2", () => {
    const d = load({ storage: "ddn-ai400x2t" }).data!;
    expect(d.storage).toEqual(STORAGE_PRESETS["ddn-ai400x2t"]);
    expect(d.kind).toBe("text");
    expect(d.bytesPerSample).toBe(8192 * 4);
    expect(d.deviceBytesPerSample).toBe(8192 * 4);
    expect(d.readSize).toBe(8192 * 4);
    expect(d.decodeCoreSeconds).toBe(0);
    expect(d.workers).toBe(2);
    expect(d.prefetch).toBe(2);
    expect(d.loaders).toBe("replica");
    // Two storage NICs per node at the per-GPU NIC speed (400 Gb/s).
    expect(d.nodeStorageBandwidth).toBe(2 * 50e9);
  });

  it("takes video sizes with units, and a preset with fields changed", () => {
    const d = load({ storage: { base: "s3-express-one-zone", requestLatency: "2 ms" }, kind: "video", itemsPerSample: 32, bytesPerItem: "100 kB", decodeCoreSeconds: "50 ms" }).data!;
    expect(d.bytesPerSample).toBe(32 * 100e3);
    expect(d.decodeCoreSeconds).toBeCloseTo(0.05, 12);
    expect(d.storage.requestLatency).toBeCloseTo(0.002, 12);
    expect(d.storage.requestsPerSecond).toBe(200_000);
  });

  it("names the field, the value and what is allowed", () => {
    const p = problemsOf(() => load({ storage: "lustre", kind: "image", workers: -1 }));
    const paths = p.map((x) => x.path);
    expect(paths).toContain("data.storage");
    expect(paths).toContain("data.workers");
    expect(paths).toContain("data.bytesPerItem");
    expect(paths).toContain("data.decodeCoreSeconds");
    const storage = p.find((x) => x.path === "data.storage")!;
    expect(storage.message).toContain("lustre");
    expect(storage.message).toContain("ddn-ai400x2t");
    expect(problemsOf(() => load({ storage: { readBandwidth: "1 MB/s" } })).map((x) => x.path)).toEqual(["data.storage.readBandwidth"]);
  });
});

describe("data: epochs", () => {
  it("takes datasetSamples; the boundary defaults to restart, the cache to warm from the start", () => {
    const d = load({ storage: "ddn-ai400x2t", datasetSamples: 6400 }).data!;
    expect(d.datasetSamples).toBe(6400);
    expect(d.epochBoundary).toBe("restart");
    expect(d.cacheWarmsAfterFirstEpoch).toBe(false);
    const c = load({ storage: "ddn-ai400x2t", datasetSamples: 6400, epochBoundary: "continuous", cacheWarmsAfterFirstEpoch: true, cacheHitRate: 0.5 }).data!;
    expect(c.epochBoundary).toBe("continuous");
    expect(c.cacheWarmsAfterFirstEpoch).toBe(true);
  });

  it("without datasetSamples nothing is added", () => {
    const d = load({ storage: "ddn-ai400x2t" }).data!;
    expect("datasetSamples" in d).toBe(false);
    expect("epochBoundary" in d).toBe(false);
  });

  it("names the field, the value and what is allowed", () => {
    const small = problemsOf(() => load({ storage: "ddn-ai400x2t", datasetSamples: 63 }));
    expect(small.map((x) => x.path)).toEqual(["data.datasetSamples"]);
    expect(small[0]!.message).toContain("63");
    expect(small[0]!.message).toContain("at least workload.globalBatch (64)");
    const bad = problemsOf(() => load({ storage: "ddn-ai400x2t", datasetSamples: 640, epochBoundary: "sometimes" }));
    expect(bad.map((x) => x.path)).toEqual(["data.epochBoundary"]);
    expect(bad[0]!.message).toContain("restart");
    const alone = problemsOf(() => load({ storage: "ddn-ai400x2t", cacheWarmsAfterFirstEpoch: true }));
    expect(alone.map((x) => x.path)).toEqual(["data.cacheWarmsAfterFirstEpoch"]);
    expect(alone[0]!.message).toContain("without data.datasetSamples");
  });
});
