/**
 * Jobs of `trainsim cluster` whose data: names the same storage preset share it
 * (models/cluster/storage-share.ts): hand-computed steps and end times.
 */
import { describe, expect, it } from "vitest";
import { clusterConfigFromObject, loadClusterFile } from "../../experiments/cluster-load.ts";
import { simulateCluster } from "../../models/cluster/simulate.ts";
import type { ClusterConfig, ClusterJobResult, ClusterRunResult } from "../../models/cluster/types.ts";
import { STORAGE_PRESETS } from "../../models/data/storage.ts";
import { checkpointCost } from "../../models/reliability/checkpoint.ts";
import { runScenario } from "../../models/run.ts";

const BASE = { baseDir: import.meta.dirname, file: "test config" };
const TIER = "ddn-ai400x2t";
const B = STORAGE_PRESETS[TIER]!.readBandwidth!;

/** One node of 8 H100 per job (tp 8: no inter-node traffic, so no fabric contention); one loader per job. */
function modelled(name: string, arrival: number, storage: unknown, bytesPerItem: number): Record<string, unknown> {
  return {
    name,
    arrival: `${arrival} s`,
    gpus: 8,
    workload: { model: "llama3-8b", seqLength: 2048, globalBatch: 8 },
    parallelism: { tp: 8 },
    // The node's storage NIC and PCIe never bind: only the tier can.
    data: { storage, kind: "image", bytesPerItem: `${bytesPerItem} B`, deviceBytesPerSample: "1 kB", decodeCoreSeconds: "0 s", nodeStorageBandwidth: "10 TB/s" },
    steps: 100,
  };
}

function config(jobs: Record<string, unknown>[]): ClusterConfig {
  return clusterConfigFromObject({ name: "storage", cluster: { gpu: "H100-SXM", nodes: 2 }, jobs }, BASE);
}

function job(run: ClusterRunResult, name: string): ClusterJobResult {
  const j = run.jobs.find((x) => x.name === name);
  if (j === undefined) throw new Error(`no job ${name}`);
  return j;
}

/** The job's compute step C, and the bytes per sample that make it read 0.8·B alone (8 samples per step). */
function sized(): { C: number; bytes: number } {
  const probe = config([modelled("probe", 0, TIER, 1e6)]).source;
  if (probe.kind !== "jobs") throw new Error("jobs expected");
  const C = runScenario(probe.jobs[0]!.work.kind === "modelled" ? probe.jobs[0]!.work.scenario : (undefined as never)).result.data!.computeStepSeconds;
  return { C, bytes: (0.8 * B * C) / 8 };
}

describe("jobs sharing a storage preset", () => {
  it("two jobs each reading 0.8·B alone get B/2 each together: steps 1.6× as long while both run", () => {
    const { C, bytes } = sized();
    // Together: A, B. Then B arrives when A is half done: A runs 50 steps alone (50·C), 50 at
    // 1.6·C (80·C) and ends at 130·C; B does 50 steps in those 80·C, then 50 alone: ends at 180·C.
    const together = simulateCluster(config([modelled("a", 0, TIER, bytes), modelled("b", 0, TIER, bytes)]));
    for (const n of ["a", "b"]) {
      const j = job(together, n);
      expect(j.stepSecondsAlone).toBeCloseTo(C, 12); // alone the tier keeps up: no stall
      expect(j.meanStepSeconds / C).toBeCloseTo(1.6, 9);
      expect(j.endSeconds! / C).toBeCloseTo(160, 9);
      expect(j.storage).toEqual({ tier: TIER, slowedShare: 1 });
    }
    const later = simulateCluster(config([modelled("a", 0, TIER, bytes), modelled("b", 50 * C, TIER, bytes)]));
    expect(job(later, "a").endSeconds! / C).toBeCloseTo(130, 9);
    expect(job(later, "b").endSeconds! / C).toBeCloseTo(180, 9);
    expect(job(later, "a").storage!.slowedShare).toBeCloseTo(80 / 130, 9);
    expect(job(later, "b").storage!.slowedShare).toBeCloseTo(80 / 130, 9);
  });

  it("a tier of its own (inline, or a preset with fields changed) is not shared, and demand the tier holds costs nothing", () => {
    const { C, bytes } = sized();
    const inline = { readBandwidth: `${B} B/s` };
    const own = simulateCluster(config([modelled("a", 0, TIER, bytes), modelled("b", 0, inline, bytes)]));
    for (const n of ["a", "b"]) expect(job(own, n).endSeconds! / C).toBeCloseTo(100, 9);
    expect(job(own, "b").storage).toBeUndefined();
    const changed = simulateCluster(config([modelled("a", 0, TIER, bytes), modelled("b", 0, { base: TIER, clientBandwidth: "1 TB/s" }, bytes)]));
    expect(job(changed, "a").endSeconds! / C).toBeCloseTo(100, 9);
    // Two jobs reading 0.4·B each: the tier holds both, nothing changes.
    const light = simulateCluster(config([modelled("a", 0, TIER, bytes / 2), modelled("b", 0, TIER, bytes / 2)]));
    for (const n of ["a", "b"]) {
      expect(job(light, n).endSeconds! / C).toBeCloseTo(100, 9);
      expect(job(light, n).storage!.slowedShare).toBe(0);
    }
  });

  it("data on an unmodelled job, or a bad data section, is refused naming the field", () => {
    expect(() => config([{ name: "u", gpus: 8, stepSeconds: "1 s", steps: 10, data: { storage: TIER } }])).toThrow(/jobs\[0\]\.data/);
    expect(() => config([modelled("a", 0, "no-such-tier", 1e6)])).toThrow(/jobs\[0\]\.data\.storage/);
  });

  describe("checkpoint writes on the tier (data.sharedWithCheckpoints, the job's reliability)", () => {
    /** Job `w` reads bytes·share per sample and writes its checkpoints to the tier at B, every `interval` s of training. */
    function writer(share: number, bytes: number, mode: "sync" | "async", interval: number): Record<string, unknown> {
      const j = modelled("w", 0, TIER, bytes * share);
      return {
        ...j,
        steps: 100_000,
        data: { ...(j["data"] as Record<string, unknown>), sharedWithCheckpoints: true },
        // The nodes' links to storage never bind: only the tier does.
        reliability: { checkpointMode: mode, storageBandwidth: `${B} B/s`, nodeStorageBandwidth: "10 TB/s" },
        checkpointInterval: `${interval} s`,
      };
    }
    /** One checkpoint of the 8-GPU llama3-8b job, bytes (params × (2 + 4 + 8), models/reliability/checkpoint.ts). */
    function checkpointBytes(cfg: ClusterConfig): number {
      if (cfg.source.kind !== "jobs") throw new Error("jobs expected");
      const w = cfg.source.jobs.find((j) => j.name === "w")!.work;
      if (w.kind !== "modelled") throw new Error("modelled expected");
      return checkpointCost(w.scenario).bytes;
    }

    it("async: while w writes, a (0.8·B alone) gets B/10 beside w's loader (0.1·B) and 8 writers: 8·C a step for a quarter of the time, 1.28·C on average", () => {
      const { C, bytes } = sized();
      // The write beside a's loader, w's loader (capped at 0.1·B) and w's 8 writers: every client
      // 0.1·B, the tier full. The writers get 0.8·B, so one checkpoint K bytes takes K/(0.8·B);
      // with the interval 4× that, writes fill a quarter of the time. a's steps per second:
      // (1/C)·(1 − ¼·(1 − 1/8)) = 25/(32·C): a step of 1.28·C, 100 steps end at 128·C.
      const probe = config([modelled("a", 0, TIER, bytes), writer(1 / 8, bytes, "async", 1)]);
      const write = checkpointBytes(probe) / (0.8 * B);
      const run = simulateCluster(config([modelled("a", 0, TIER, bytes), writer(1 / 8, bytes, "async", 4 * write)]));
      expect(job(run, "a").meanStepSeconds / C).toBeCloseTo(1.28, 9);
      expect(job(run, "a").endSeconds! / C).toBeCloseTo(128, 7);
      expect(job(run, "a").storage!.slowedShare).toBe(1);
      // w's own reads fit beside a's (0.9·B), and its own writes are not what sharing costs it.
      expect(job(run, "w").meanStepSeconds / C).toBeCloseTo(1, 12);
    });

    it("sync: w stops to write, so only its 8 writers and a's loader share the tier (B/9 each): a at 7.2·C during writes", () => {
      const { C, bytes } = sized();
      // Writers 8·B/9: a write takes K·9/(8·B); interval 3× that, so writes fill w/(I + w) = ¼ of
      // the time. a: (1/C)·(1 − ¼·(1 − 1/7.2)) steps per second.
      const probe = config([modelled("a", 0, TIER, bytes), writer(1 / 8, bytes, "sync", 1)]);
      const write = (checkpointBytes(probe) * 9) / (8 * B);
      const run = simulateCluster(config([modelled("a", 0, TIER, bytes), writer(1 / 8, bytes, "sync", 3 * write)]));
      expect(job(run, "a").meanStepSeconds / C).toBeCloseTo(1 / (1 - 0.25 * (1 - 1 / 7.2)), 9);
    });

    it("a writer alone on its tier, or one writing less often, changes nothing or less: never faster than without writes", () => {
      const { C, bytes } = sized();
      const alone = simulateCluster(config([writer(1 / 8, bytes, "async", 60)]));
      expect(job(alone, "w").meanStepSeconds / C).toBeCloseTo(1, 12);
      const means = [60, 600, 6000].map((interval) => job(simulateCluster(config([modelled("a", 0, TIER, bytes), writer(1 / 8, bytes, "async", interval)])), "a").meanStepSeconds);
      expect(means[0]!).toBeGreaterThan(means[1]!);
      expect(means[1]!).toBeGreaterThan(means[2]!);
      expect(means[2]!).toBeGreaterThan(C);
    });

    it("refuses a job's reliability that is not about writing checkpoints to its data tier, naming the field", () => {
      const { bytes } = sized();
      const w = writer(1 / 8, bytes, "async", 60);
      const rel = w["reliability"] as Record<string, unknown>;
      expect(() => config([{ ...w, reliability: { ...rel, failures: {} } }])).toThrow(/jobs\[0\]\.reliability\.failures: .*not allowed on a cluster file's job/);
      expect(() => config([{ ...w, reliability: { ...rel, checkpointInterval: "1 h" } }])).toThrow(/jobs\[0\]\.reliability\.checkpointInterval: .*jobs\[0\]\.checkpointInterval/);
      expect(() => config([{ ...w, reliability: { checkpointMode: "async" } }])).toThrow(/jobs\[0\]\.reliability\.storageBandwidth: required key is missing/);
      expect(() => config([{ ...w, data: (modelled("w", 0, TIER, bytes)["data"] as Record<string, unknown>) }])).toThrow(/jobs\[0\]\.reliability.*sharedWithCheckpoints: true/);
      expect(() => config([{ ...w, reliability: { ...rel, checkpointMode: "sometimes" } }])).toThrow(/jobs\[0\]\.reliability\.checkpointMode/);
    });
  });

  describe("tiers of the file's storage:, shared by name", () => {
    function file(jobs: Record<string, unknown>[], storage: unknown): ClusterConfig {
      return clusterConfigFromObject({ name: "storage", cluster: { gpu: "H100-SXM", nodes: 2 }, storage, jobs }, BASE);
    }
    it("two jobs naming the file's tier share it as they would a preset of the same figures: 1.6× steps", () => {
      const { C, bytes } = sized();
      const run = simulateCluster(file([modelled("a", 0, "scratch", bytes), modelled("b", 0, "scratch", bytes)], { scratch: { readBandwidth: `${B} B/s` } }));
      for (const n of ["a", "b"]) {
        expect(job(run, n).meanStepSeconds / C).toBeCloseTo(1.6, 9);
        expect(job(run, n).storage).toEqual({ tier: "scratch", slowedShare: 1 });
      }
      // A tier modified from a preset is shared under the file's name, not the preset's.
      const based = simulateCluster(file([modelled("a", 0, "fast", bytes), modelled("b", 0, TIER, bytes)], { fast: { base: TIER, clientBandwidth: "1 TB/s" } }));
      for (const n of ["a", "b"]) expect(job(based, n).meanStepSeconds / C).toBeCloseTo(1, 12);
      expect(job(based, "a").storage!.tier).toBe("fast");
    });

    it("refuses a tier named like a preset, a bad tier, an unknown tier name and storage: without a jobs list, naming the field", () => {
      expect(() => file([modelled("a", 0, TIER, 1e6)], { [TIER]: { readBandwidth: "1 GB/s" } })).toThrow(new RegExp(`storage\\.${TIER}: .*storage preset's name`));
      expect(() => file([modelled("a", 0, "scratch", 1e6)], { scratch: { readBandwidth: "fast" } })).toThrow(/storage\.scratch\.readBandwidth/);
      expect(() => file([modelled("a", 0, "scrach", 1e6)], { scratch: { readBandwidth: "1 GB/s" } })).toThrow(/jobs\[0\]\.data\.storage: "scrach" is not allowed; did you mean "scratch"\?/);
      expect(() =>
        clusterConfigFromObject({ name: "s", cluster: { gpu: "H100-SXM", nodes: 2 }, storage: { scratch: { readBandwidth: "1 GB/s" } }, synthetic: { jobs: 2, arrivalsPerHour: 1, gpus: { 8: 1 }, duration: { distribution: "fixed", value: "1 h" }, stepSeconds: "1 s" } }, BASE),
      ).toThrow(/storage: .*only a jobs: list/);
    });
  });

  it("the bundled example (experiments/clusters/shared-storage.yaml): the 70B job's checkpoints slow the video jobs, which alone fit together", () => {
    const cfg = loadClusterFile(new URL("../../experiments/clusters/shared-storage.yaml", import.meta.url).pathname);
    const run = simulateCluster(cfg);
    for (const n of ["video-a", "video-b"]) {
      const j = job(run, n);
      expect(j.storage!.tier).toBe("lustre");
      expect(j.meanStepSeconds / j.stepSecondsAlone).toBeGreaterThan(1.1);
    }
    expect(job(run, "llm-70b").meanStepSeconds).toBe(job(run, "llm-70b").stepSecondsAlone);
    expect(run.summary.storageSlowedGpuTimeShare).toBeGreaterThan(0);
    // Without the language model the two video jobs read 2 × 3.7 of the 8 GB/s: nothing slows.
    if (cfg.source.kind !== "jobs") throw new Error("jobs expected");
    const videos = simulateCluster({ ...cfg, source: { ...cfg.source, jobs: cfg.source.jobs.filter((j) => j.name !== "llm-70b") } });
    for (const n of ["video-a", "video-b"]) expect(job(videos, n).meanStepSeconds).toBe(job(videos, n).stepSecondsAlone);
    expect(videos.summary.storageSlowedGpuTimeShare).toBe(0);
  });

  describe("jobs on part of one node share its storage link", () => {
    const X = 4e9; // the tier's per-client bandwidth, B/s: the node link binds (the NICs are 10 TB/s)
    function half(name: string, bytesPerItem: number): Record<string, unknown> {
      return { ...modelled(name, 0, "nfs", bytesPerItem), gpus: 4, parallelism: { tp: 4 } };
    }
    function file(jobs: Record<string, unknown>[], placement: string): ClusterConfig {
      return clusterConfigFromObject({ name: "nodes", cluster: { gpu: "H100-SXM", nodes: 2 }, scheduler: { placement }, storage: { nfs: { readBandwidth: "1 PB/s", clientBandwidth: `${X} B/s` } }, jobs }, BASE);
    }
    it("two 4-GPU jobs each reading 0.8 of the node's link alone: packed on one node 1.6× steps, spread over two nodes unchanged", () => {
      const probe = file([half("probe", 1e6)], "packed").source;
      if (probe.kind !== "jobs" || probe.jobs[0]!.work.kind !== "modelled") throw new Error("modelled job expected");
      const C = runScenario(probe.jobs[0]!.work.scenario).result.data!.computeStepSeconds;
      const bytes = (0.8 * X * C) / 8;
      const packed = simulateCluster(file([half("a", bytes), half("b", bytes)], "packed"));
      for (const n of ["a", "b"]) {
        expect(job(packed, n).stepSecondsAlone).toBeCloseTo(C, 12);
        expect(job(packed, n).meanStepSeconds / C).toBeCloseTo(1.6, 9);
      }
      const spread = simulateCluster(file([half("a", bytes), half("b", bytes)], "spread"));
      for (const n of ["a", "b"]) expect(job(spread, n).meanStepSeconds / C).toBeCloseTo(1, 12);
    });
  });
});
