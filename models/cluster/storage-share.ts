/**
 * Jobs reading from one storage tier (docs/data.md): modelled jobs whose `data:` names the
 * same storage preset share its read bandwidth and request rate while they run together.
 * Each job's loaders are one flow on the tier, asking for one step's reads per step and never
 * more than its step consumes (a full prefetch queue stops reading); flows get max-min fair
 * shares with every loader an equal client (fairness in bytes per loader). A job's loaders
 * then take max(alone, one step's reads at its share), and its step is the compute step plus
 * the data stall that loader time gives (models/data/loader.ts). A tier with one reader
 * leaves the job as it ran alone. Inline and modified tiers belong to their job.
 */
import { Simulation } from "../../sim/simulation.ts";
import type { Resource } from "../../sim/fluid.ts";
import { loaderDemand } from "../data/demand.ts";
import { dataStallSeconds } from "../data/loader.ts";
import { STORAGE_PRESETS } from "../data/storage.ts";
import type { RunResult } from "../run.ts";
import type { Scenario } from "../scenario.ts";

export interface StorageReader {
  /** The storage preset read from. */
  tier: string;
  bytesPerStep: number;
  requestsPerStep: number;
  loaders: number;
  /** The job alone: its slowest loader's seconds per step and the stall it left. */
  loaderSecondsAlone: number;
  stallSecondsAlone: number;
  prefetch: number;
  workers: number;
}

/** What a modelled job reads from a shared tier, or undefined (no data section, or a tier of its own). */
export function storageReader(s: Scenario, run: RunResult): StorageReader | undefined {
  const d = s.data;
  const r = run.data;
  if (d === undefined || r === undefined || !Object.hasOwn(STORAGE_PRESETS, d.storage.name)) return undefined;
  const requestsPerStep = loaderDemand(s, d).requests * r.loaders;
  if (r.storageBytesPerStep <= 0 && requestsPerStep <= 0) return undefined;
  return {
    tier: d.storage.name,
    bytesPerStep: r.storageBytesPerStep,
    requestsPerStep,
    loaders: r.loaders,
    loaderSecondsAlone: r.loaderSecondsPerStep,
    stallSecondsAlone: r.stallSecondsPerStep,
    prefetch: d.prefetch,
    workers: d.workers,
  };
}

/** A job's step and GPU power with its step stretched to `stepSeconds` (if given), the extra time waiting for data at `waitWatts`. */
export function withStorageWait<T extends { stepSeconds: number; gpuWatts: number }>(u: T, stepSeconds: number | undefined, waitWatts: number): T {
  if (stepSeconds === undefined || stepSeconds <= u.stepSeconds) return u;
  return { ...u, stepSeconds, gpuWatts: (u.gpuWatts * u.stepSeconds + waitWatts * (stepSeconds - u.stepSeconds)) / stepSeconds };
}

/**
 * Step seconds of each running reader beside the others on its tier (`stepSeconds`: its step
 * now, alone stall included); undefined where nothing changes (not a reader, or alone on its tier).
 * Never shorter than `stepSeconds`.
 */
export function sharedStorageSteps(readers: readonly ({ reader: StorageReader; stepSeconds: number } | undefined)[]): (number | undefined)[] {
  const out: (number | undefined)[] = readers.map(() => undefined);
  const byTier = new Map<string, number[]>();
  readers.forEach((r, i) => {
    if (r === undefined) return;
    const list = byTier.get(r.reader.tier);
    if (list === undefined) byTier.set(r.reader.tier, [i]);
    else list.push(i);
  });
  for (const [name, members] of byTier) {
    if (members.length < 2) continue;
    const tier = STORAGE_PRESETS[name];
    if (tier === undefined || (tier.readBandwidth === undefined && tier.requestsPerSecond === undefined)) continue;
    const fluid = new Simulation().fluid;
    const bw: Resource | null = tier.readBandwidth !== undefined ? fluid.addResource({ name: `${name} reads`, kind: "storage", capacity: tier.readBandwidth }) : null;
    const iops: Resource | null = tier.requestsPerSecond !== undefined ? fluid.addResource({ name: `${name} requests`, kind: "storage-requests", capacity: tier.requestsPerSecond }) : null;
    const flows = members.map((i) => {
      const { reader, stepSeconds } = readers[i] as { reader: StorageReader; stepSeconds: number };
      const compute = stepSeconds - reader.stallSecondsAlone;
      const work: [Resource, number][] = [];
      if (bw !== null && reader.bytesPerStep > 0) work.push([bw, reader.bytesPerStep]);
      if (iops !== null && reader.requestsPerStep > 0) work.push([iops, reader.requestsPerStep]);
      if (work.length === 0) return undefined;
      const perLoader = (reader.bytesPerStep > 0 ? reader.bytesPerStep : reader.requestsPerStep) / reader.loaders;
      return { i, reader, stepSeconds, compute, act: fluid.start({ work, size: perLoader > 0 ? perLoader : 1, maxRate: 1 / Math.max(compute, reader.loaderSecondsAlone), label: `job ${i} loaders` }) };
    });
    fluid.flush();
    for (const f of flows) {
      if (f === undefined) continue;
      const loader = Math.max(f.reader.loaderSecondsAlone, f.act.rate > 0 ? 1 / f.act.rate : Infinity);
      out[f.i] = Math.max(f.stepSeconds, f.compute + dataStallSeconds(f.compute, loader, f.reader));
    }
  }
  return out;
}
