/**
 * Jobs on one storage tier (docs/data.md): modelled jobs whose `data:` names the same storage
 * preset share its read bandwidth and request rate while they run together. Each job's
 * loaders are one flow on the tier, asking for one step's reads per step and never more than
 * its step consumes (a full prefetch queue stops reading); flows get max-min fair shares with
 * every loader an equal client (fairness in bytes per loader). A job's loaders then take
 * max(alone, one step's reads at its share), and its step is the compute step plus the data
 * stall that loader time gives (models/data/loader.ts). A tier with one job leaves it as it
 * ran alone. Presets are shared under their name, and so are the tiers a cluster file names
 * under storage:; a job's inline or modified tier is its own.
 *
 * A job whose checkpoints go to its data tier (`data.sharedWithCheckpoints` with
 * `reliability.storageBandwidth`) writes one checkpoint every `checkpointSeconds` of training:
 * while it writes, its writers (one per GPU) share the tier's time with the other jobs'
 * loaders as in a single job (a byte written costs readBandwidth/storageBandwidth of a byte
 * read). Every other job on the tier then runs at its step beside that write for the write's
 * share of the time, at its usual step otherwise: steps per second are the time-weighted mix,
 * each writer counted apart (exact for one writer; writes of different jobs seldom overlap).
 */
import { Simulation } from "../../sim/simulation.ts";
import type { Resource } from "../../sim/fluid.ts";
import { loaderDemand } from "../data/demand.ts";
import { dataStallSeconds } from "../data/loader.ts";
import { STORAGE_PRESETS } from "../data/storage.ts";
import type { StorageTier } from "../data/types.ts";
import { gpuCount } from "../parallel/plan.ts";
import { checkpointCost, checkpointPath } from "../reliability/checkpoint.ts";
import type { RunResult } from "../run.ts";
import type { Scenario } from "../scenario.ts";

/** A job's checkpoint writes to its data tier. */
export interface CheckpointWriter {
  /** Bytes of one checkpoint, every rank's shard together. */
  bytes: number;
  /** The tier's write bandwidth (reliability.storageBandwidth), bytes/s. */
  writeBandwidth: number;
  /** What the job's path to storage allows at most (nodes' storage links; host copies too when synchronous), bytes/s. */
  linkBandwidth: number;
  /** One writer per GPU: each rank writes its shard. */
  writers: number;
  /** sync: the job stops training while it writes (its loaders only top up); async: it reads on. */
  mode: "sync" | "async";
}

export interface StorageReader {
  /** The tier read from, by the name jobs share it under: a preset, or a tier of the cluster file's storage:. */
  tier: string;
  /** Its figures. */
  storage: StorageTier;
  bytesPerStep: number;
  requestsPerStep: number;
  loaders: number;
  /** The job alone: its slowest loader's seconds per step and the stall it left. */
  loaderSecondsAlone: number;
  stallSecondsAlone: number;
  prefetch: number;
  workers: number;
  /** What one node draws from storage at most: its storage NICs, or the tier's per-client bandwidth if lower, bytes/s. */
  nodeBandwidth: number;
  /** With data.sharedWithCheckpoints and reliability.storageBandwidth: its checkpoints go to this tier. */
  checkpoint?: CheckpointWriter;
}

/**
 * What a modelled job reads from (and writes to) a shared tier, or undefined (no data section,
 * or a tier of its own). `sharedTier` names the tier it shares (a cluster file's storage:);
 * by default a preset is shared under its name, an inline or modified tier not at all.
 */
export function storageReader(s: Scenario, run: RunResult, sharedTier?: string): StorageReader | undefined {
  const d = s.data;
  const r = run.data;
  const tier = sharedTier ?? (d !== undefined && Object.hasOwn(STORAGE_PRESETS, d.storage.name) ? d.storage.name : undefined);
  if (d === undefined || r === undefined || tier === undefined) return undefined;
  const requestsPerStep = loaderDemand(s, d).requests * r.loaders;
  const checkpoint = checkpointWriter(s);
  if (r.storageBytesPerStep <= 0 && requestsPerStep <= 0 && checkpoint === undefined) return undefined;
  return {
    tier,
    storage: d.storage,
    bytesPerStep: r.storageBytesPerStep,
    requestsPerStep,
    loaders: r.loaders,
    loaderSecondsAlone: r.loaderSecondsPerStep,
    stallSecondsAlone: r.stallSecondsPerStep,
    prefetch: d.prefetch,
    workers: d.workers,
    nodeBandwidth: Math.min(d.nodeStorageBandwidth, d.storage.clientBandwidth ?? Infinity),
    ...(checkpoint !== undefined ? { checkpoint } : {}),
  };
}

function checkpointWriter(s: Scenario): CheckpointWriter | undefined {
  const r = s.reliability;
  if (s.data?.sharedWithCheckpoints !== true || r === undefined || r.storageBandwidth === undefined) return undefined;
  const path = checkpointPath(s);
  return {
    bytes: checkpointCost(s).bytes,
    writeBandwidth: r.storageBandwidth,
    linkBandwidth: r.checkpointMode === "sync" ? Math.min(path.hostCopy, path.nodeLinks) : path.nodeLinks,
    writers: gpuCount(s),
    mode: r.checkpointMode,
  };
}

/** A job's step and GPU power with its step stretched to `stepSeconds` (if given), the extra time waiting for data at `waitWatts`. */
export function withStorageWait<T extends { stepSeconds: number; gpuWatts: number }>(u: T, stepSeconds: number | undefined, waitWatts: number): T {
  if (stepSeconds === undefined || stepSeconds <= u.stepSeconds) return u;
  return { ...u, stepSeconds, gpuWatts: (u.gpuWatts * u.stepSeconds + waitWatts * (stepSeconds - u.stepSeconds)) / stepSeconds };
}

/** A running job on a tier: its step now (alone stall included) and its training time between checkpoints. */
export interface TierUser {
  reader: StorageReader;
  stepSeconds: number;
  checkpointSeconds: number;
  /** A job on part of one node: that node, whose storage link it shares with the other jobs there. */
  node?: number;
}

/** A running job on a tier, placed on GPUs `placement` (null: not placed). */
export function tierUser(reader: StorageReader, stepSeconds: number, checkpointSeconds: number, placement: readonly number[] | null, gpusPerNode: number): TierUser {
  const user: TierUser = { reader, stepSeconds, checkpointSeconds };
  const first = placement?.[0];
  if (placement === null || first === undefined || placement.length >= gpusPerNode) return user;
  const node = Math.floor(first / gpusPerNode);
  return placement.every((g) => Math.floor(g / gpusPerNode) === node) ? { ...user, node } : user;
}

/**
 * Step seconds of each running job beside the others on its tier; undefined where nothing
 * changes (not on a shared tier, or alone on its tier). Never shorter than `stepSeconds`.
 */
export function sharedStorageSteps(users: readonly (TierUser | undefined)[]): (number | undefined)[] {
  const out: (number | undefined)[] = users.map(() => undefined);
  const byTier = new Map<string, number[]>();
  users.forEach((u, i) => {
    if (u === undefined) return;
    const list = byTier.get(u.reader.tier);
    if (list === undefined) byTier.set(u.reader.tier, [i]);
    else list.push(i);
  });
  for (const [name, members] of byTier) {
    if (members.length < 2) continue;
    const tier = (users[members[0] as number] as TierUser).reader.storage;
    if (tier.readBandwidth === undefined && tier.requestsPerSecond === undefined) continue;
    const base = tierSteps(name, tier, users, members);
    // Steps per second, less what each other job's writes take while in flight.
    const rate = new Map<number, number>();
    const slowest = new Map<number, number>();
    for (const [i, step] of base.steps) {
      rate.set(i, 1 / step);
      slowest.set(i, 1 / step);
    }
    // Writes take tier time only where reads are counted in it (a tier without a read bandwidth limits requests only).
    if (tier.readBandwidth !== undefined) {
      for (const w of members) {
        const user = users[w] as TierUser;
        const ck = user.reader.checkpoint;
        if (ck === undefined) continue;
        const readers = ck.mode === "sync" ? members.filter((m) => m !== w) : members;
        const during = tierSteps(name, tier, users, readers, ck);
        const write = during.writeSeconds;
        const duty = Math.min(1, write / (ck.mode === "sync" ? user.checkpointSeconds + write : user.checkpointSeconds));
        for (const [m, step] of during.steps) {
          if (m === w) continue; // a job's own checkpoints are not what sharing the tier costs it
          const alone = base.steps.get(m) as number;
          rate.set(m, (rate.get(m) as number) - duty * (1 / alone - 1 / step));
          slowest.set(m, Math.min(slowest.get(m) as number, 1 / step));
        }
      }
    }
    // Writes of several jobs that would together fill more than all the time: never slower than the slowest single write.
    for (const [i, r] of rate) out[i] = Math.max((users[i] as TierUser).stepSeconds, 1 / Math.max(r, slowest.get(i) as number));
  }
  return out;
}

/**
 * One storage link per node that two or more of these jobs share (jobs on part of a node):
 * the node's storage NICs or the tier's per-client bandwidth, the lower. A job alone on its
 * nodes was already held to its own links when it ran alone.
 */
function sharedNodeLinks(fluid: Simulation["fluid"], users: readonly (TierUser | undefined)[], readers: readonly number[]): Map<number, Resource> {
  const capacity = new Map<number, number>();
  const count = new Map<number, number>();
  for (const i of readers) {
    const u = users[i] as TierUser;
    if (u.node === undefined || u.reader.bytesPerStep <= 0) continue;
    capacity.set(u.node, Math.min(capacity.get(u.node) ?? Infinity, u.reader.nodeBandwidth));
    count.set(u.node, (count.get(u.node) ?? 0) + 1);
  }
  const links = new Map<number, Resource>();
  for (const [node, n] of count) {
    const c = capacity.get(node) as number;
    if (n >= 2 && Number.isFinite(c)) links.set(node, fluid.addResource({ name: `node${node} storage link`, kind: "storage-nic", capacity: c }));
  }
  return links;
}

/** Each reader's step beside the others (and beside one job's checkpoint write, if given), and how long that write takes. */
function tierSteps(name: string, tier: StorageTier, users: readonly (TierUser | undefined)[], readers: readonly number[], write?: CheckpointWriter): { steps: Map<number, number>; writeSeconds: number } {
  const fluid = new Simulation().fluid;
  const bw: Resource | null = tier.readBandwidth !== undefined ? fluid.addResource({ name: `${name} reads`, kind: "storage", capacity: tier.readBandwidth }) : null;
  const iops: Resource | null = tier.requestsPerSecond !== undefined ? fluid.addResource({ name: `${name} requests`, kind: "storage-requests", capacity: tier.requestsPerSecond }) : null;
  const links = sharedNodeLinks(fluid, users, readers);
  const flows = readers.map((i) => {
    const { reader, stepSeconds, node } = users[i] as TierUser;
    const compute = stepSeconds - reader.stallSecondsAlone;
    const work: [Resource, number][] = [];
    if (bw !== null && reader.bytesPerStep > 0) work.push([bw, reader.bytesPerStep]);
    const link = node !== undefined ? links.get(node) : undefined;
    if (link !== undefined && reader.bytesPerStep > 0) work.push([link, reader.bytesPerStep]);
    if (iops !== null && reader.requestsPerStep > 0) work.push([iops, reader.requestsPerStep]);
    if (work.length === 0) return undefined;
    const perLoader = (reader.bytesPerStep > 0 ? reader.bytesPerStep : reader.requestsPerStep) / reader.loaders;
    return { i, reader, stepSeconds, compute, act: fluid.start({ work, size: perLoader > 0 ? perLoader : 1, maxRate: 1 / Math.max(compute, reader.loaderSecondsAlone), label: `job ${i} loaders` }) };
  });
  // One activity for all of a job's writers, each an equal client in tier time (in bytes read's units).
  const tierBytes = write !== undefined && bw !== null ? (write.bytes * bw.capacity) / write.writeBandwidth : 0;
  const writers = write !== undefined && bw !== null && tierBytes > 0 ? fluid.start({ work: [[bw, tierBytes]], size: tierBytes / write.writers, ...(Number.isFinite(write.linkBandwidth) ? { maxRate: write.linkBandwidth / write.bytes } : {}), label: "checkpoint writers" }) : undefined;
  fluid.flush();
  const steps = new Map<number, number>();
  for (const f of flows) {
    if (f === undefined) continue;
    const loader = Math.max(f.reader.loaderSecondsAlone, f.act.rate > 0 ? 1 / f.act.rate : Infinity);
    steps.set(f.i, Math.max(f.stepSeconds, f.compute + dataStallSeconds(f.compute, loader, f.reader)));
  }
  return { steps, writeSeconds: writers !== undefined ? 1 / writers.rate : 0 };
}
