/**
 * Many jobs on one cluster: contention on a shared oversubscribed fabric, power-aware
 * admission, the schedulers, placement, determinism. Every expected number is derived
 * by hand in the comments.
 */
import { describe, expect, it } from "vitest";
import { clusterConfigFromObject, loadClusterFile } from "../../experiments/cluster-load.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { Allocation, placementGeometry } from "../../models/cluster/placement.ts";
import { NODE_OVERHEAD_OF_GPU_TDP } from "../../models/power/step-power.ts";
import { runClusterExperiment, simulateCluster } from "../../models/cluster/simulate.ts";
import type { ClusterConfig, ClusterJobResult, ClusterRunResult } from "../../models/cluster/types.ts";
import { clusterSpec } from "../helpers/scenario.ts";

const BASE = { baseDir: import.meta.dirname, file: "test config" };

function config(obj: Record<string, unknown>): ClusterConfig {
  return clusterConfigFromObject({ name: "test", ...obj }, BASE);
}

function job(run: ClusterRunResult, name: string): ClusterJobResult {
  const j = run.jobs.find((x) => x.name === name);
  if (j === undefined) throw new Error(`no job ${name}`);
  return j;
}

/** 8 DGX A100 nodes on a classic fat-tree: 32 NIC ports per leaf = 4 nodes per leaf, 2 leaves. */
const FAT_TREE_2_TO_1 = { gpu: "A100-80GB", nodes: 8, network: { topology: "fat-tree", oversubscription: 2, routing: "dmodk" } };

describe("jobs competing for an oversubscribed spine", () => {
  // Two all-reduce-heavy jobs of 32 GPUs (4 nodes) each, 1,000 steps of 1 s, half of each
  // step in the all-reduce (commFraction 0.5).
  //
  // The ring: NCCL lays one ring channel per rail (8 channels); across nodes channel c goes
  // from GPU c of one node to GPU c of the next, so each ring hop between nodes is 8 flows,
  // one per GPU, each at most the GPU's NIC rate (25 GB/s HDR).
  //
  // The fabric: a leaf has 32 GPU ports and, at 2:1, 16 uplinks of NIC speed. D-mod-K
  // routing sends a flow to destination port p (0-31 under its leaf) up uplink p mod 16.
  //
  // Spread placement takes nodes round-robin over the two leaves: job A gets nodes 0,4,1,5,
  // job B 2,6,3,7, in rank order, so EVERY ring hop crosses leaves: per job 2 hops × 8
  // channels = 16 flows leave leaf 0 (and 16 leave leaf 1). A's flows into leaf 1 land on
  // nodes 4 and 5 (ports 0-15: uplinks 0-15, one flow each); B's on nodes 6 and 7 (ports
  // 16-31: uplinks 0-15 again). Alone, each uplink carries one flow: NIC speed, no
  // slowdown. Together each uplink (and each spine→leaf downlink) carries one flow of each
  // job: half the NIC rate each, so both jobs' all-reduce takes M = 2× as long as alone
  // (32 GPUs' cross-leaf traffic on 16 uplinks: exactly the 2:1 oversubscription).
  //
  // Step time = 1 s × (1 − 0.5 + 0.5 × 2) = 1.5 s: both jobs end at 1,500 s instead of
  // 1,000 s, slowed by the other's traffic for their whole run.
  // Packed placement puts A on nodes 0-3 (leaf 0) and B on 4-7 (leaf 1): no flow leaves
  // its leaf, M = 1, both end at 1,000 s.
  const jobs = [
    { name: "a", gpus: 32, stepSeconds: 1, steps: 1000, commFraction: 0.5 },
    { name: "b", gpus: 32, stepSeconds: 1, steps: 1000, commFraction: 0.5 },
  ];

  it("spread across the 2:1 spine, both slow down by 1 + 0.5 × (2 − 1) = 1.5", () => {
    const run = simulateCluster(config({ cluster: FAT_TREE_2_TO_1, scheduler: { placement: "spread" }, jobs }));
    for (const name of ["a", "b"]) {
      const j = job(run, name);
      expect(j.leaves).toBe(2);
      expect(j.contentionSlowdown).toBeCloseTo(1.5, 9);
      expect(j.endSeconds).toBeCloseTo(1500, 6);
      expect(j.slowdown).toBeCloseTo(1.5, 9);
      expect(j.slowedShare).toBeCloseTo(1, 9);
    }
    expect(run.summary.slowedGpuTimeShare).toBeCloseTo(1, 9);
  });

  it("alone on the same spread placement, a job is not slowed (the uplinks are not full)", () => {
    const run = simulateCluster(config({ cluster: FAT_TREE_2_TO_1, scheduler: { placement: "spread" }, jobs: [jobs[0]] }));
    expect(job(run, "a").leaves).toBe(2);
    expect(job(run, "a").contentionSlowdown).toBeCloseTo(1, 9);
    expect(job(run, "a").endSeconds).toBeCloseTo(1000, 6);
  });

  it("packed (and topology-aware) placement keeps each ring under its own leaf: no slowdown", () => {
    const result = runClusterExperiment(config({ cluster: FAT_TREE_2_TO_1, compare: ["packed", "topology-aware", "spread"], jobs }));
    const [packed, topo, spread] = result.runs as [ClusterRunResult, ClusterRunResult, ClusterRunResult];
    for (const run of [packed, topo]) {
      for (const name of ["a", "b"]) {
        expect(job(run, name).leaves).toBe(1);
        expect(job(run, name).contentionSlowdown).toBeCloseTo(1, 12);
        expect(job(run, name).endSeconds).toBeCloseTo(1000, 9);
        expect(job(run, name).slowedShare).toBe(0);
      }
    }
    expect(spread.summary.meanContentionSlowdown).toBeCloseTo(1.5, 9);
  });

  it("when one job ends the other speeds back up: the rest of its steps run alone", () => {
    // b has 500 steps: both run at 1.5 s/step until b ends at 750 s, with a at 500 steps;
    // a's other 500 steps take 1 s each: a ends at 1,250 s, slowed for 750 of 1,250 s.
    const run = simulateCluster(config({ cluster: FAT_TREE_2_TO_1, scheduler: { placement: "spread" }, jobs: [jobs[0], { ...jobs[1], steps: 500 }] }));
    expect(job(run, "b").endSeconds).toBeCloseTo(750, 6);
    expect(job(run, "a").endSeconds).toBeCloseTo(1250, 6);
    expect(job(run, "a").slowedShare).toBeCloseTo(750 / 1250, 9);
  });

  it("a modelled (data-parallel) job scales the network share of its simulated step by the same factor", () => {
    // Two identical 32-GPU data-parallel jobs: their gradient reduce-scatter rings have the
    // same flows as above, so M = 2 and step = alone × (1 + network share). The step
    // simulation runs once and is reused for the second job.
    const workload = { model: "gpt-1.7b", seqLength: 2048, globalBatch: 64 };
    const modelled = (name: string) => ({ name, gpus: 32, steps: 100, workload, parallelism: { tp: 1 } });
    const run = simulateCluster(config({ cluster: FAT_TREE_2_TO_1, scheduler: { placement: "spread" }, jobs: [modelled("m1"), modelled("m2")] }));
    const m1 = job(run, "m1");
    expect(m1.kind).toBe("modelled");
    expect(m1.commShare).toBeGreaterThan(0);
    expect(m1.contentionSlowdown).toBeCloseTo(1 + m1.commShare, 9);
    expect(job(run, "m2").contentionSlowdown).toBeCloseTo(1 + m1.commShare, 9);
    expect(run.simulation.stepSimulations).toBe(1);
    expect(run.simulation.stepSimulationsReused).toBe(1);
  });
});

describe("facility power and power-aware admission", () => {
  // 4 DGX H100 nodes, 32 GPUs: 700 W TDP, 85 W idle. An unmodelled job's GPUs draw
  // 0.8 × 700 = 560 W; each node's overhead is 0.45 × 8 × 700 = 2,520 W; PUE 1.2.
  // With k of three 8-GPU jobs running:
  //   P(k) = 1.2 × (8k·560 + (32 − 8k)·85 + 4·2,520)
  // P(2) = 1.2 × (8,960 + 1,360 + 10,080) = 24,480 W; P(3) = 1.2 × (13,440 + 680 + 10,080) = 29,040 W.
  // The cap sits between: 26 kW.
  const h100 = CATALOG["H100-SXM"] as Accelerator;
  const P = (k: number): number => 1.2 * (8 * k * 0.8 * h100.tdpWatts + (32 - 8 * k) * h100.idleWatts + 4 * NODE_OVERHEAD_OF_GPU_TDP * 8 * h100.tdpWatts);
  const cluster = { gpu: "H100-SXM", nodes: 4, power: { pue: 1.2, facilityCap: "26 kW" } };
  // No communication share: the whole step follows the clock (the hand derivation below).
  const jobs = ["a", "b", "c"].map((name) => ({ name, gpus: 8, stepSeconds: 1, steps: 1000, commFraction: 0 }));

  it("the hand-computed powers bracket the cap", () => {
    expect(P(2)).toBeCloseTo(24480, 6);
    expect(P(3)).toBeCloseTo(29040, 6);
  });

  it("FIFO starts all three and the facility controller throttles them to the cap; power-aware admission holds the third back", () => {
    const fifo = simulateCluster(config({ cluster, scheduler: { policy: "fifo" }, jobs }));
    expect(job(fifo, "c").startSeconds).toBe(0);
    // Over the cap, one GPU limit L for all 24 busy GPUs brings the facility to 26 kW:
    //   1.2 × (24 L + 8 × 85 + 4 × 2,520) = 26,000  →  L = 454.44 W.
    // Unmodelled jobs run at their 560 W throughout, so their clock is where they draw L:
    //   85 + (560 − 85) c^2.5 = L  →  c = (369.44 / 475)^(1/2.5) = 0.90436,
    // and each 1 s step takes 1 / c = 1.1058 s: all three end at 1,105.75 s.
    const L = (26000 / 1.2 - 8 * h100.idleWatts - 4 * NODE_OVERHEAD_OF_GPU_TDP * 8 * h100.tdpWatts) / 24;
    const clock = ((L - h100.idleWatts) / (0.8 * h100.tdpWatts - h100.idleWatts)) ** (1 / 2.5);
    expect(L).toBeCloseTo(454.44, 2);
    expect(clock).toBeCloseTo(0.90436, 5);
    for (const name of ["a", "b", "c"]) {
      expect(job(fifo, name).endSeconds).toBeCloseTo(1000 / clock, 4);
      expect(job(fifo, name).throttledShare).toBeCloseTo(1, 9);
    }
    expect(fifo.summary.facilityPowerWatts.peak).toBeCloseTo(26000, 2);
    expect(fifo.summary.facilityPowerWatts.peak).toBeLessThanOrEqual(26000);
    expect(fifo.summary.secondsOverCap).toBe(0);
    expect(fifo.summary.secondsThrottled).toBeCloseTo(1000 / clock, 4);

    const aware = simulateCluster(config({ cluster, scheduler: { policy: "fifo", powerAware: true }, jobs }));
    expect(aware.summary.facilityPowerWatts.peak).toBeCloseTo(P(2), 6);
    expect(aware.summary.facilityPowerWatts.peak).toBeLessThanOrEqual(26000);
    expect(aware.summary.secondsOverCap).toBe(0);
    for (const p of aware.power) expect(p.value).toBeLessThanOrEqual(26000);
    expect(job(aware, "c").startSeconds).toBeCloseTo(1000, 9);
    expect(job(aware, "c").queueSeconds).toBeCloseTo(1000, 9);
    // Two jobs' worth of GPUs busy while c waits: utilisation under the queue is 16 / 32.
    expect(aware.summary.utilisationWhileQueued).toBeCloseTo(0.5, 9);
    // Energy: P(2) for the first 1,000 s, then P(1) until c ends at 2,000 s.
    expect(aware.summary.energyJoules).toBeCloseTo(1000 * P(2) + 1000 * P(1), 3);
  });

  it("with communication in the step, throttling slows only the rest: power at the cap, steps between alone and 1/clock", () => {
    const withComm = jobs.map((j) => ({ ...j, commFraction: 0.3 }));
    const run = simulateCluster(config({ cluster, scheduler: { policy: "fifo" }, jobs: withComm }));
    const free = simulateCluster(config({ cluster: { ...cluster, power: { pue: 1.2 } }, scheduler: { policy: "fifo" }, jobs: withComm }));
    // Unthrottled, the mean draw is the same 560 W, so the facility sits at P(3).
    expect(free.summary.facilityPowerWatts.peak).toBeCloseTo(P(3), 6);
    expect(run.summary.facilityPowerWatts.peak).toBeLessThanOrEqual(26000);
    expect(run.summary.facilityPowerWatts.peak).toBeCloseTo(26000, 2);
    const end = job(run, "a").endSeconds as number;
    expect(end).toBeGreaterThan(1000);
    // The compute phase draws more than the mean (the communication phase less), so it is
    // clocked lower than in the no-communication case but for 70 % of the step only.
    expect(end).toBeLessThan(1000 / 0.85);
    expect(run.summary.secondsThrottled).toBeCloseTo(end, 6);
  });

  it("bundled power-aware-admission: the controller holds the cap at every instant; admission never needs it", () => {
    const exp = runClusterExperiment(loadClusterFile(new URL("../../experiments/clusters/power-aware-admission.yaml", import.meta.url).pathname));
    const [throttled, aware] = exp.runs as [ClusterRunResult, ClusterRunResult];
    const cap = throttled.summary.facilityCapWatts as number;
    for (const run of [throttled, aware]) {
      for (const p of run.power) expect(p.value).toBeLessThanOrEqual(cap * (1 + 1e-9));
      expect(run.summary.secondsOverCap).toBe(0);
    }
    expect(throttled.summary.secondsThrottled).toBeGreaterThan(3600);
    expect(aware.summary.secondsThrottled).toBe(0);
    // Throttled jobs ran slower than alone, admitted ones at full speed.
    expect(throttled.jobs.some((j) => j.throttledShare > 0.5)).toBe(true);
    for (const j of aware.jobs) expect(j.throttledShare).toBe(0);
  });

  it("a job that alone would exceed the cap is rejected, not left blocking the queue", () => {
    const run = simulateCluster(config({ cluster: { ...cluster, power: { pue: 1.2, facilityCap: "20 kW" } }, scheduler: { powerAware: true }, jobs: [{ name: "big", gpus: 32, stepSeconds: 1, steps: 10 }, jobs[0]] }));
    expect(job(run, "big").status).toBe("rejected");
    expect(job(run, "big").reason).toMatch(/over the cap/);
    expect(job(run, "a").status).toBe("done");
  });
});

describe("schedulers", () => {
  // Two 8-GPU nodes. a: 8 GPUs for 1,000 s from t = 0 (node 0). b: 16 GPUs (both nodes)
  // for 500 s, submitted at 10 s: blocked until a ends. c: 8 GPUs for 100 s at 20 s; d: 8
  // GPUs for 2,000 s at 30 s. Node 1 sits free from 0 to 1,000 s.
  const jobs = [
    { name: "a", arrival: 0, gpus: 8, stepSeconds: 1, steps: 1000 },
    { name: "b", arrival: 10, gpus: 16, stepSeconds: 1, steps: 500 },
    { name: "c", arrival: 20, gpus: 8, stepSeconds: 1, steps: 100 },
    { name: "d", arrival: 30, gpus: 8, stepSeconds: 1, steps: 2000 },
  ];
  const cluster = { gpu: "H100-SXM", nodes: 2 };

  it("FIFO: submit order, head-of-line blocking (c and d wait behind b although node 1 is free)", () => {
    const run = simulateCluster(config({ cluster, scheduler: { policy: "fifo" }, jobs }));
    expect(job(run, "b").startSeconds).toBe(1000);
    // b ends at 1,500; then c (node 0) and d (node 1) start together.
    expect(job(run, "c").startSeconds).toBe(1500);
    expect(job(run, "d").startSeconds).toBe(1500);
    expect(job(run, "c").queueSeconds).toBe(1480);
    expect(run.summary.utilisationWhileQueued).toBeLessThan(1);
  });

  it("EASY backfill: c (ends at 120 s < b's reservation at 1,000 s) jumps ahead; d (would run past it on b's nodes) does not; b is not delayed", () => {
    const run = simulateCluster(config({ cluster, scheduler: { policy: "backfill" }, jobs }));
    expect(job(run, "c").startSeconds).toBe(20);
    expect(job(run, "c").endSeconds).toBe(120);
    expect(job(run, "b").startSeconds).toBe(1000);
    expect(job(run, "d").startSeconds).toBe(1500);
  });

  it("backfill lets a long job start outside the head job's reservation, never inside it", () => {
    // Three nodes. a: 16 GPUs (nodes 0, 1) for 1,000 s. b: 16 GPUs at 10 s finds only node 2
    // free and waits; at 1,000 s it will get the lowest free nodes, 0 and 1: its reservation.
    // e: 8 GPUs for 5,000 s at 40 s runs far past 1,000 s but fits on node 2, outside the
    // reservation: it starts at once, and b still starts at 1,000 s.
    const three = { gpu: "H100-SXM", nodes: 3 };
    const a = { name: "a", arrival: 0, gpus: 16, stepSeconds: 1, steps: 1000 };
    const e = { name: "e", arrival: 40, gpus: 8, stepSeconds: 1, steps: 5000 };
    const run = simulateCluster(config({ cluster: three, scheduler: { policy: "backfill" }, jobs: [a, { ...jobs[1], gpus: 16 }, e] }));
    expect(job(run, "e").startSeconds).toBe(40);
    expect(job(run, "b").startSeconds).toBe(1000);
    // With b needing all 24 GPUs its reservation covers node 2 too: e waits until b is done.
    const full = simulateCluster(config({ cluster: three, scheduler: { policy: "backfill" }, jobs: [a, { ...jobs[1], gpus: 24 }, e] }));
    expect(job(full, "b").startSeconds).toBe(1000);
    expect(job(full, "e").startSeconds).toBe(1500);
  });

  it("priority with preemption: the high-priority job evicts the low one, which loses the work since its last checkpoint and requeues", () => {
    // One node. low: 7,200 steps of 1 s from t = 0, checkpointing every 30 min (1,800 s).
    // high (priority 1): 3,600 steps, submitted at 45 min (2,700 s). low is evicted at
    // 2,700 s with 2,700 steps done, 1,800 of them checkpointed: 900 steps lost. high runs
    // 2,700 → 6,300 s; low restarts at 6,300 from step 1,800 and needs 5,400 s: ends 11,700 s.
    const jobsP = [
      { name: "low", arrival: 0, priority: 0, gpus: 8, stepSeconds: 1, steps: 7200 },
      { name: "high", arrival: "45 min", priority: 1, gpus: 8, stepSeconds: 1, steps: 3600 },
    ];
    const run = simulateCluster(config({ cluster: { gpu: "H100-SXM", nodes: 1 }, scheduler: { policy: "priority", preemption: true }, jobs: jobsP }));
    const low = job(run, "low");
    const high = job(run, "high");
    expect(high.startSeconds).toBe(2700);
    expect(high.endSeconds).toBeCloseTo(6300, 9);
    expect(low.preemptions).toBe(1);
    expect(low.lostSteps).toBeCloseTo(900, 9);
    expect(low.segments).toEqual([
      { start: 0, end: 2700, preempted: true },
      { start: 6300, end: expect.closeTo(11700, 6) as unknown as number, preempted: false },
    ]);
    expect(low.endSeconds).toBeCloseTo(11700, 6);
    expect(low.queueSeconds).toBeCloseTo(3600, 9);
    expect(low.runSeconds).toBeCloseTo(2700 + 5400, 6);
    expect(run.summary.lostGpuSeconds).toBeCloseTo(900 * 8, 3);

    // A 10-minute checkpoint interval loses only the 300 s since the checkpoint at 2,400 s.
    const often = simulateCluster(config({ cluster: { gpu: "H100-SXM", nodes: 1 }, scheduler: { policy: "priority", preemption: true, checkpointInterval: "10 min" }, jobs: jobsP }));
    expect(job(often, "low").lostSteps).toBeCloseTo(300, 9);
    expect(job(often, "low").endSeconds).toBeCloseTo(6300 + 7200 - 2400, 6);

    // Without preemption the high-priority job waits for low to finish.
    const polite = simulateCluster(config({ cluster: { gpu: "H100-SXM", nodes: 1 }, scheduler: { policy: "priority" }, jobs: jobsP }));
    expect(job(polite, "high").startSeconds).toBe(7200);
    expect(job(polite, "low").preemptions).toBe(0);
  });

  it("priority order: a later high-priority job goes ahead of earlier low-priority ones in the queue", () => {
    const run = simulateCluster(
      config({
        cluster: { gpu: "H100-SXM", nodes: 1 },
        scheduler: { policy: "priority" },
        jobs: [
          { name: "running", arrival: 0, gpus: 8, stepSeconds: 1, steps: 100 },
          { name: "low", arrival: 1, priority: 0, gpus: 8, stepSeconds: 1, steps: 100 },
          { name: "high", arrival: 2, priority: 5, gpus: 8, stepSeconds: 1, steps: 100 },
        ],
      }),
    );
    expect(job(run, "high").startSeconds).toBe(100);
    expect(job(run, "low").startSeconds).toBe(200);
  });

  it("preemption evicts only what the new job needs: the lowest priority first, sparing others", () => {
    // Two nodes: p0 (priority 0) on node 0, p1 (priority 1) on node 1. A priority-2 job of 8
    // GPUs needs one node: p0 goes, p1 stays.
    const run = simulateCluster(
      config({
        cluster: { gpu: "H100-SXM", nodes: 2 },
        scheduler: { policy: "priority", preemption: true },
        jobs: [
          { name: "p1", arrival: 0, priority: 1, gpus: 8, stepSeconds: 1, steps: 1000 },
          { name: "p0", arrival: 0, priority: 0, gpus: 8, stepSeconds: 1, steps: 1000 },
          { name: "p2", arrival: 100, priority: 2, gpus: 8, stepSeconds: 1, steps: 100 },
        ],
      }),
    );
    expect(job(run, "p0").preemptions).toBe(1);
    expect(job(run, "p1").preemptions).toBe(0);
    expect(job(run, "p2").startSeconds).toBe(100);
  });
});

describe("placement", () => {
  const geometry = placementGeometry(
    clusterSpec({
      gpu: CATALOG["A100-80GB"] as Accelerator,
      nodes: 16,
      gpusPerNode: 8,
      network: { topology: "fat-tree", nicBandwidth: 25e9, oversubscription: 2 },
      power: { pue: 1.2 },
    }),
  );

  it("a classic fat-tree leaf holds 4 DGX nodes (32 of a 64-port switch's ports face NICs)", () => {
    expect(geometry.unitNodes).toBe(4);
    expect(geometry.units).toBe(4);
  });

  it("packed takes the lowest free nodes, spread round-robins over leaves, topology-aware the tightest leaf", () => {
    const a = new Allocation(geometry);
    const nodesOf = (gpus: number[] | null): number[] => [...new Set((gpus ?? []).map((g) => Math.floor(g / 8)))];
    // Fragment: nodes 0-2 busy (leaf 0 has 1 free node), node 4 busy (leaf 1 has 3 free).
    a.assign([0, 1, 2, 4].flatMap((n) => Array.from({ length: 8 }, (_, i) => n * 8 + i)), 99);
    expect(nodesOf(a.place(16, "packed"))).toEqual([3, 5]); // straddles leaves 0 and 1
    expect(nodesOf(a.place(16, "topology-aware"))).toEqual([5, 6]); // leaf 1 fits it tightest (3 free)
    expect(nodesOf(a.place(32, "spread"))).toEqual([3, 5, 8, 12]); // one node from each leaf
    expect(nodesOf(a.place(32, "topology-aware"))).toEqual([8, 9, 10, 11]); // a whole free leaf
    // Small jobs: packed fills a partly used node first; spread picks an empty one.
    a.assign([24, 25, 26, 27], 98); // node 3 half full
    expect(nodesOf(a.place(4, "packed"))).toEqual([3]);
    expect(nodesOf(a.place(4, "spread"))).toEqual([5]);
  });

  it("multi-node jobs get whole nodes; the rest of a partly used last node stays free for small jobs", () => {
    const a = new Allocation(geometry);
    const g = a.place(12, "packed") as number[];
    expect(g).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    a.assign(g, 1);
    expect(a.freeOnNode[1]).toBe(4);
    expect(a.place(4, "packed")).toEqual([12, 13, 14, 15]);
  });
});

describe("horizon", () => {
  it("stops the run there: unfinished jobs are reported as such, with their progress so far", () => {
    const run = simulateCluster(
      config({
        cluster: { gpu: "H100-SXM", nodes: 1 },
        horizon: "1 h",
        jobs: [
          { name: "short", gpus: 8, stepSeconds: 1, steps: 1800 },
          { name: "long", gpus: 8, stepSeconds: 1, steps: 7200 },
          { name: "late", arrival: "2 h", gpus: 8, stepSeconds: 1, steps: 10 },
        ],
      }),
    );
    expect(run.summary.makespanSeconds).toBe(3600);
    expect(job(run, "short").status).toBe("done");
    const long = job(run, "long");
    expect(long.status).toBe("running");
    expect(long.endSeconds).toBeNull();
    expect(long.runSeconds).toBeCloseTo(1800, 9);
    expect(long.segments).toEqual([{ start: 1800, end: 3600, preempted: false }]);
    expect(job(run, "late").status).toBe("pending");
    expect(run.summary.unfinished).toBe(2);
    expect(run.summary.meanUtilisation).toBeCloseTo(1, 9);
  });
});

describe("determinism and synthetic traces", () => {
  const synthetic = (seed: number) =>
    config({
      seed,
      cluster: { gpu: "H100-SXM", nodes: 32, network: { topology: "fat-tree", oversubscription: 2 } },
      scheduler: { policy: "backfill", placement: "spread" },
      synthetic: { jobs: 150, arrivalsPerHour: 60, gpus: { 1: 3, 8: 4, 32: 2, 64: 1 }, duration: { median: "30 min", sigma: 1, max: "6 h" }, commFraction: 0.3 },
    });

  it("the same seed gives byte-identical JSON; another seed gives another trace", () => {
    const a = JSON.stringify(runClusterExperiment(synthetic(3)));
    const b = JSON.stringify(runClusterExperiment(synthetic(3)));
    expect(a).toBe(b);
    const c = JSON.stringify(runClusterExperiment(synthetic(4)));
    expect(c).not.toBe(a);
  });

  it("draws sizes from the given weights and Poisson arrivals at the given rate", () => {
    const run = runClusterExperiment(synthetic(5)).runs[0] as ClusterRunResult;
    expect(run.jobs).toHaveLength(150);
    expect(new Set(run.jobs.map((j) => j.gpus))).toEqual(new Set([1, 8, 32, 64]));
    const last = Math.max(...run.jobs.map((j) => j.submitSeconds));
    // 150 arrivals at 60/h take about 2.5 h (± a few √150 ≈ 12 arrivals).
    expect(last / 3600).toBeGreaterThan(2);
    expect(last / 3600).toBeLessThan(3);
    expect(run.summary.done).toBe(150);
    // Contention on the 2:1 fabric under spread placement shows up.
    expect(run.summary.meanContentionSlowdown).toBeGreaterThan(1);
  });
});
