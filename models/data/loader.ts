/**
 * Steady-state throughput of the input path, solved on the fluid engine: each loader is
 * one activity whose work is one step's batch on every resource its samples cross (the
 * storage tier, its request rate, the node's client share, storage NICs, CPU cores and
 * cache; the loader's workers, reads in flight and PCIe copy). A pipelined stream uses all
 * of its stages at once, so one activity per loader is the flow-level model of it. With
 * every activity's fairness size 1, progressive filling raises all loaders' steps per
 * second together; the first resource to saturate fixes the rate the slowest loader keeps,
 * and that is the rate synchronous training can consume (faster loaders only fill their
 * queues). That resource is the input path's bottleneck.
 */
import { Simulation } from "../../sim/simulation.ts";
import type { Resource } from "../../sim/fluid.ts";
import { hostCopyBandwidth } from "../network/host.ts";
import type { Scenario } from "../scenario.ts";
import { loaderDemand, loaderNodes, type LoaderDemand } from "./demand.ts";
import type { DataBottleneck, DataSpec } from "./types.ts";

export type { DataBottleneck } from "./types.ts";


export interface LoaderThroughput {
  /** Seconds one step's batch takes through the slowest loader's path. */
  secondsPerStep: number;
  bottleneck: DataBottleneck;
  loaders: number;
  demand: LoaderDemand;
  /** Bytes read from storage per step by the whole job. */
  storageBytesPerStep: number;
}

/**
 * Checkpoint writes on the same storage tier while the loaders read: the tier's time is
 * shared, each byte read costing 1/readBandwidth and each byte written 1/writeBandwidth of
 * it, one writer per GPU (each rank writes its shard). Storage NICs are full duplex: reads
 * come in, writes go out, so they do not contend there.
 */
export interface ConcurrentWrite {
  bytes: number;
  writeBandwidth: number;
  writers: number;
  /** Steps per second the training consumes: a loader with a full queue reads no faster, leaving the rest of the tier to the write. */
  loaderMaxStepsPerSecond: number;
}

export interface ConcurrentWriteResult {
  /** Seconds the whole write takes beside the loaders. */
  writeSeconds: number;
}

export function loaderThroughput(s: Scenario, d: DataSpec, write?: ConcurrentWrite): LoaderThroughput & { write?: ConcurrentWriteResult } {
  const demand = loaderDemand(s, d);
  const nodesOf = loaderNodes(s, d);
  const loaders = nodesOf.length;
  const sim = new Simulation({ seed: s.seed });
  const fluid = sim.fluid;
  const add = (name: string, kind: DataBottleneck, capacity: number): Resource => fluid.addResource({ name, kind, capacity });
  const readBandwidth = d.storage.readBandwidth;
  // With a concurrent write the tier's capacity is its time (1 second per second), else bytes/s.
  const timeShared = write !== undefined && readBandwidth !== undefined && Number.isFinite(write.writeBandwidth);
  const storage = readBandwidth !== undefined ? add("storage", "storage", timeShared ? 1 : readBandwidth) : null;
  const storageReadWork = timeShared && readBandwidth !== undefined ? demand.storageBytes / readBandwidth : demand.storageBytes;
  const iops = d.storage.requestsPerSecond !== undefined ? add("storage requests", "storage-requests", d.storage.requestsPerSecond) : null;
  const perNode = new Map<number, Resource[]>();
  const nodeResources = (node: number): Resource[] => {
    let list = perNode.get(node);
    if (list === undefined) {
      list = [add(`node${node} storage NIC`, "storage-nic", d.nodeStorageBandwidth)];
      if (d.cpuCoresPerNode !== undefined) list.push(add(`node${node} CPU`, "node-cpu", d.cpuCoresPerNode));
      if (d.storage.clientBandwidth !== undefined) list.push(add(`node${node} client`, "storage-client", d.storage.clientBandwidth));
      if (d.cacheBandwidth !== undefined) list.push(add(`node${node} cache`, "cache", d.cacheBandwidth));
      perNode.set(node, list);
    }
    return list;
  };
  const pcie = hostCopyBandwidth(s.cluster.gpu);
  // workers 0: the training process decodes on its own core.
  const cores = Math.max(1, d.workers);
  const activities = [];
  for (let i = 0; i < loaders; i++) {
    const work: [Resource, number][] = [];
    if (storage !== null) work.push([storage, storageReadWork]);
    if (iops !== null) work.push([iops, demand.requests]);
    for (const r of nodeResources(nodesOf[i] as number)) {
      const k = r.kind as DataBottleneck;
      const amount = k === "node-cpu" ? demand.decodeCoreSeconds : k === "cache" ? demand.cacheBytes : demand.storageBytes;
      work.push([r, amount]);
    }
    work.push([add(`loader${i} workers`, "workers", cores), demand.decodeCoreSeconds]);
    if (d.storage.requestLatency > 0) work.push([add(`loader${i} reads in flight`, "request-latency", (cores * d.readsInFlight) / d.storage.requestLatency), demand.requests]);
    work.push([add(`loader${i} PCIe`, "pcie", pcie), demand.deviceBytes]);
    // Fairness in tier time when writes share the tier (a loader and a writer get equal
    // shares of it); otherwise in steps. Loaders are identical, so either way they move together.
    const size = timeShared && storageReadWork > 0 ? storageReadWork : 1;
    activities.push(fluid.start({ work, size, ...(write !== undefined ? { maxRate: write.loaderMaxStepsPerSecond } : {}), label: `loader${i}` }));
  }
  const writers = [];
  if (timeShared && write !== undefined && storage !== null && write.bytes > 0) {
    const each = write.bytes / write.writers / write.writeBandwidth;
    for (let w = 0; w < write.writers; w++) writers.push(fluid.start({ work: [[storage, each]], label: `checkpoint writer ${w}` }));
  }
  fluid.flush();
  let slowest = activities[0];
  for (const a of activities) if (slowest === undefined || a.rate < slowest.rate) slowest = a;
  const rate = slowest?.rate ?? Infinity;
  const bottleneck = (slowest?.bottleneck?.kind ?? "none") as DataBottleneck;
  const out = { secondsPerStep: Number.isFinite(rate) ? 1 / rate : 0, bottleneck, loaders, demand, storageBytesPerStep: demand.storageBytes * loaders };
  if (write === undefined) return out;
  let writeRate = Infinity;
  for (const a of writers) writeRate = Math.min(writeRate, a.rate);
  // No contention modelled (unlimited read or write bandwidth): the write alone at its bandwidth.
  const writeSeconds = writers.length > 0 ? 1 / writeRate : write.bytes / write.writeBandwidth;
  return { ...out, write: { writeSeconds } };
}

/**
 * Seconds per step a rank waits on its prefetch queue. With workers and a queue of depth ≥ 1
 * the loader runs beside the step, so only its excess over the step shows; without either,
 * every batch is loaded while the GPU waits.
 */
export function dataStallSeconds(computeStepSeconds: number, loaderSecondsPerStep: number, d: Pick<DataSpec, "prefetch" | "workers">): number {
  if (d.prefetch === 0 || d.workers === 0) return loaderSecondsPerStep;
  return Math.max(0, loaderSecondsPerStep - computeStepSeconds);
}
