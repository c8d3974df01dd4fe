/**
 * The input path's hand-checked floors (issue 28): storage-bound exactly when N·r > B with a
 * step of (bytes per step)/B; a prefetch queue hides a loader faster than the step; CPU-bound
 * decode scales with workers until storage or PCIe binds; no data section changes nothing.
 */
import { describe, expect, it } from "vitest";
import { dataStallSeconds, loaderThroughput } from "../../models/data/loader.ts";
import type { DataSpec } from "../../models/data/types.ts";
import { hostCopyBandwidth } from "../../models/network/host.ts";
import type { Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { imageDataSpec } from "../helpers/data-spec.ts";
import { scenario, TINY_MODEL } from "../helpers/scenario.ts";

/** 16 GPUs on 2 nodes, one loader per GPU (tp 1), 4 samples per GPU per step. */
function job(): Scenario {
  return scenario({ nodes: 2, model: TINY_MODEL, seqLength: 2048, globalBatch: 64 });
}

function spec(over: Partial<DataSpec> = {}): DataSpec {
  return imageDataSpec(1e9, over);
}

const N = 16;
const SAMPLES = 4;

describe("storage-bound loaders", () => {
  it("N loaders share the tier: one step's batch takes N·bytes/B", () => {
    const t = loaderThroughput(job(), spec());
    expect(t.loaders).toBe(N);
    expect(t.demand.samples).toBe(SAMPLES);
    // 16 loaders × 4 samples × 1 MB over 1 GB/s = 64 ms.
    expect(t.secondsPerStep).toBeCloseTo((N * SAMPLES * 1e6) / 1e9, 12);
    expect(t.bottleneck).toBe("storage");
  });

  it("is data-bound exactly when N·r > B, and the step is then (bytes per step)/B", () => {
    const computeSeconds = 0.1;
    // Each GPU consumes r = 4 MB per 0.1 s = 40 MB/s; N·r = 640 MB/s.
    const demand = (N * SAMPLES * 1e6) / computeSeconds;
    for (const B of [0.5 * demand, 0.99 * demand, 1.01 * demand, 2 * demand]) {
      const t = loaderThroughput(job(), spec({ storage: { name: "t", readBandwidth: B, requestLatency: 0, source: "test" } }));
      const stall = dataStallSeconds(computeSeconds, t.secondsPerStep, { prefetch: 2, workers: 4 });
      if (demand > B) {
        expect(stall).toBeGreaterThan(0);
        expect(computeSeconds + stall).toBeCloseTo((N * SAMPLES * 1e6) / B, 12);
      } else {
        expect(stall).toBe(0);
      }
    }
  });

  it("loaders on one node share its storage NIC: eight per node take 8·bytes/NIC", () => {
    const t = loaderThroughput(job(), spec({ storage: { name: "t", requestLatency: 0, source: "test" }, nodeStorageBandwidth: 1e9 }));
    expect(t.secondsPerStep).toBeCloseTo((8 * SAMPLES * 1e6) / 1e9, 12);
    expect(t.bottleneck).toBe("storage-nic");
  });

  it("a request rate limit and a latency bound each bind when they are the tightest", () => {
    const unlimited = { name: "t", requestLatency: 0, source: "test" };
    const iops = loaderThroughput(job(), spec({ storage: { ...unlimited, requestsPerSecond: 640 }, readSize: 250e3 }));
    // 64 samples × 4 requests each at 640 requests/s.
    expect(iops.secondsPerStep).toBeCloseTo((64 * 4) / 640, 12);
    expect(iops.bottleneck).toBe("storage-requests");
    const latency = loaderThroughput(job(), spec({ storage: { ...unlimited, requestLatency: 0.01 }, workers: 2, readsInFlight: 1 }));
    // 2 reads in flight per loader at 10 ms each: 200 requests/s, 4 samples per step.
    expect(latency.secondsPerStep).toBeCloseTo(4 / 200, 12);
    expect(latency.bottleneck).toBe("request-latency");
  });
});

describe("prefetch", () => {
  it("a queue of depth ≥ 1 hides a loader faster than the step; depth 0 or no workers exposes all of it", () => {
    expect(dataStallSeconds(1, 0.6, { prefetch: 1, workers: 4 })).toBe(0);
    expect(dataStallSeconds(1, 0.6, { prefetch: 8, workers: 4 })).toBe(0);
    expect(dataStallSeconds(1, 0.6, { prefetch: 0, workers: 4 })).toBe(0.6);
    expect(dataStallSeconds(1, 0.6, { prefetch: 2, workers: 0 })).toBe(0.6);
    expect(dataStallSeconds(1, 1.5, { prefetch: 2, workers: 4 })).toBe(0.5);
  });
});

describe("CPU-bound decode", () => {
  it("scales with workers until the storage or the PCIe link binds", () => {
    const decode = 0.05; // core-seconds per sample: 0.2 core-s per loader per step
    const storageSeconds = (N * SAMPLES * 1e6) / 1e9; // 64 ms
    let previous = Infinity;
    for (const workers of [1, 2, 4, 8, 16]) {
      const t = loaderThroughput(job(), spec({ decodeCoreSeconds: decode, workers }));
      const cpuSeconds = (SAMPLES * decode) / workers;
      expect(t.secondsPerStep).toBeCloseTo(Math.max(cpuSeconds, storageSeconds), 12);
      expect(t.bottleneck).toBe(cpuSeconds > storageSeconds ? "workers" : "storage");
      expect(t.secondsPerStep).toBeLessThanOrEqual(previous);
      previous = t.secondsPerStep;
    }
    // With storage unlimited and big decoded tensors, PCIe binds instead.
    const job1 = job();
    const device = 4e9; // bytes per sample to the GPU: 16 GB per step
    const pcie = loaderThroughput(job1, spec({ storage: { name: "t", requestLatency: 0, source: "test" }, decodeCoreSeconds: decode, workers: 64, deviceBytesPerSample: device }));
    expect(pcie.secondsPerStep).toBeCloseTo((SAMPLES * device) / hostCopyBandwidth(job1.cluster.gpu), 12);
    expect(pcie.bottleneck).toBe("pcie");
  });

  it("the node's cores cap its loaders' workers together", () => {
    const t = loaderThroughput(job(), spec({ storage: { name: "t", requestLatency: 0, source: "test" }, decodeCoreSeconds: 0.05, workers: 8, cpuCoresPerNode: 16 }));
    // 8 loaders per node × 0.2 core-s per step over 16 cores.
    expect(t.secondsPerStep).toBeCloseTo((8 * 0.2) / 16, 12);
    expect(t.bottleneck).toBe("node-cpu");
  });
});

describe("the data stall in the simulated step", () => {
  const base = job();
  const plain = simulateStep(base);

  it("without data the step has no data share and no data result", () => {
    expect(plain.breakdown.data).toBe(0);
    expect(plain.data).toBeUndefined();
  });

  it("plentiful storage leaves the step as it was", () => {
    const fast = simulateStep({ ...base, data: spec({ storage: { name: "t", readBandwidth: 1e15, requestLatency: 0, source: "test" } }) });
    expect(fast.stepSeconds).toBe(plain.stepSeconds);
    expect(fast.breakdown).toEqual(plain.breakdown);
    expect(fast.data?.stallSecondsPerStep).toBe(0);
  });

  it("scarce storage stretches the step to (bytes per step)/B, the wait counted as data", () => {
    const bytes = N * SAMPLES * 1e6;
    const B = bytes / (3 * plain.stepSeconds);
    const slow = simulateStep({ ...base, data: spec({ storage: { name: "t", readBandwidth: B, requestLatency: 0, source: "test" } }) });
    expect(slow.stepSeconds).toBeCloseTo(bytes / B, 9);
    expect(slow.breakdown.data).toBeCloseTo(2 / 3, 9);
    let sum = 0;
    for (const c of CATEGORIES) sum += slow.breakdown[c];
    expect(sum).toBeCloseTo(1, 12);
    expect(slow.breakdown.compute).toBeCloseTo(plain.breakdown.compute / 3, 9);
    // The wait is metered at idle power: energy grows by the idle facility draw over the stall.
    expect(slow.power.energyJoules).toBeGreaterThan(plain.power.energyJoules);
    expect(slow.power.gpuMeanWatts).toBeLessThan(plain.power.gpuMeanWatts);
  });
});

describe("checkpoint writes sharing the storage tier", () => {
  // 16 loaders each reading 4 MB a step from a tier that reads 1 GB/s (4 ms of tier time each),
  // beside 16 writers each writing 1 GB at 1 GB/s (1 s of tier time each): 32 flows sharing
  // the tier's time equally while none is held back elsewhere.
  const write = (computeSeconds: number) => ({ bytes: 16e9, writeBandwidth: 1e9, writers: 16, loaderMaxStepsPerSecond: 1 / computeSeconds });

  it("a loader-bound step: reads and writes each get 1/32 of the tier", () => {
    const t = loaderThroughput(job(), spec(), write(0.1));
    expect(t.secondsPerStep).toBeCloseTo(0.004 * 32, 12);
    expect(t.write?.writeSeconds).toBeCloseTo(32, 9);
    expect(t.bottleneck).toBe("storage");
  });

  it("a step slower than the loaders: they read only what it consumes and the write takes the rest", () => {
    const t = loaderThroughput(job(), spec(), write(0.2));
    // 16 loaders × 4 ms per 0.2 s use 0.32 of the tier; 16 writers share 0.68.
    expect(t.secondsPerStep).toBeCloseTo(0.2, 12);
    expect(t.write?.writeSeconds).toBeCloseTo(1 / (0.68 / 16), 9);
  });

  it("in the step result: reported for async checkpoints on the same tier, the added time hand-checked", () => {
    const base = job();
    const s: Scenario = {
      ...base,
      reliability: {
        checkpointInterval: 3600,
        checkpointMode: "async",
        storageBandwidth: 1e9,
        nodeStorageBandwidth: 1e11,
        detectionTime: 60,
        restartTime: 600,
        spareNodes: 1,
        repairTime: 86400,
        failures: {} as NonNullable<Scenario["reliability"]>["failures"],
      },
    };
    const plain = simulateStep(base);
    // Alone the loaders need 80 % of the tier's time to keep up; beside 16 writers (32 equal
    // shares, all wanting more than 1/32) they get half of it: steps 0.8/0.5 = 1.6 times as long.
    const B = (N * SAMPLES * 1e6) / (0.8 * plain.stepSeconds);
    const step = simulateStep({ ...s, data: spec({ storage: { name: "t", readBandwidth: B, requestLatency: 0, source: "test" }, sharedWithCheckpoints: true }) });
    const during = step.data?.duringCheckpoint;
    expect(step.data?.stallSecondsPerStep).toBe(0);
    expect(during).toBeDefined();
    expect(during!.writeSeconds).toBeGreaterThan(during!.writeAloneSeconds);
    expect(during!.loaderSecondsPerStep).toBeCloseTo(1.6 * plain.stepSeconds, 9);
    const extra = during!.stallSecondsPerStep;
    expect(extra).toBeCloseTo(0.6 * plain.stepSeconds, 9);
    expect(during!.addedSecondsPerCheckpoint).toBeCloseTo((during!.writeSeconds / (plain.stepSeconds + extra)) * extra, 9);
    expect(simulateStep({ ...s, data: spec({ storage: { name: "t", readBandwidth: B, requestLatency: 0, source: "test" } }) }).data?.duringCheckpoint).toBeUndefined();
  });
});
