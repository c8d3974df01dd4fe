/**
 * Jobs of `trainsim cluster` whose data: names the same storage preset share it
 * (models/cluster/storage-share.ts): hand-computed steps and end times.
 */
import { describe, expect, it } from "vitest";
import { clusterConfigFromObject } from "../../experiments/cluster-load.ts";
import { simulateCluster } from "../../models/cluster/simulate.ts";
import type { ClusterConfig, ClusterJobResult, ClusterRunResult } from "../../models/cluster/types.ts";
import { STORAGE_PRESETS } from "../../models/data/storage.ts";
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
});
