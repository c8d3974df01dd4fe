/**
 * Cluster files: the loader's errors (every problem, named by path) and the trace
 * importers (Helios, Alibaba PAI, Philly column conventions) on small fixtures.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { clusterConfigFromObject, loadClusterFile, parseCsv, traceTime } from "../../experiments/cluster-load.ts";
import { ConfigError } from "../../experiments/errors.ts";
import { simulateCluster } from "../../models/cluster/simulate.ts";
import type { ClusterConfig, JobSpec } from "../../models/cluster/types.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/cluster");
const OPTS = { baseDir: FIXTURES, file: "cluster.yaml" };
const CLUSTER = { gpu: "H100-SXM", nodes: 4 };

function problems(obj: Record<string, unknown>): { path: string; message: string }[] {
  try {
    clusterConfigFromObject(obj, OPTS);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => ({ path: p.path, message: p.message }));
    throw e;
  }
  throw new Error("expected a ConfigError");
}

function jobsOf(c: ClusterConfig): JobSpec[] {
  if (c.source.kind !== "jobs") throw new Error("expected a job list");
  return c.source.jobs;
}

describe("cluster file loader", () => {
  it("reads the cluster through the scenario loader (units, catalog GPU, defaults)", () => {
    const c = clusterConfigFromObject({ cluster: { ...CLUSTER, network: { nicBandwidth: "400 Gb/s" }, power: { facilityCap: "1.5 MW" } }, jobs: [{ gpus: 8, stepSeconds: "1.5 s", duration: "2 h", arrival: "10 min" }] }, OPTS);
    expect(c.cluster.gpu.name).toBe("H100-SXM");
    expect(c.cluster.network.nicBandwidth).toBe(50e9);
    expect(c.cluster.power.facilityCap).toBe(1.5e6);
    expect(c.scheduler).toEqual({ policy: "fifo", preemption: false, placement: "packed", powerAware: false, checkpointInterval: 1800 });
    const [j] = jobsOf(c);
    expect(j).toMatchObject({ name: "job-0", arrival: 600, gpus: 8, duration: 7200, priority: 0, work: { kind: "unmodelled", stepSeconds: 1.5, commFraction: 0.2 } });
  });

  it("lists every problem at once, each named by its path", () => {
    const found = problems({
      nam: "x",
      cluster: { ...CLUSTER, nodes: 0 },
      scheduler: { policy: "fifoo", placement: "packd", preemption: true },
      jobs: [{ gpus: 8, stepSeconds: "1 s" }, { stepSeconds: "fast", steps: 10 }, { gpus: 8, steps: 1, duration: "1 h", stepSeconds: 1, commFraction: 1.5 }],
    });
    const paths = found.map((p) => p.path);
    expect(paths).toContain("nam");
    expect(paths).toContain("cluster.nodes");
    expect(paths).toContain("scheduler.policy");
    expect(paths).toContain("scheduler.placement");
    expect(paths).toContain("jobs[0]"); // neither steps nor duration
    expect(paths).toContain("jobs[1].stepSeconds");
    expect(paths).toContain("jobs[1].gpus");
    expect(paths).toContain("jobs[2]"); // both steps and duration
    expect(paths).toContain("jobs[2].commFraction");
    for (const p of found) expect(p.message.startsWith(p.path)).toBe(true);
    expect(found.find((p) => p.path === "scheduler.policy")?.message).toMatch(/did you mean "fifo"/);
    expect(found.find((p) => p.path === "nam")?.message).toMatch(/did you mean "name"/);
  });

  it("a modelled job is checked as a scenario of its own, with its problems re-pointed at the job", () => {
    const found = problems({
      cluster: CLUSTER,
      jobs: [
        { name: "m", gpus: 16, steps: 10, workload: { model: "llama3-8b", seqLength: 8192, globalBatch: 64 }, parallelism: { tp: 3 } },
        { name: "n", gpus: 12, steps: 10, workload: { model: "llama3-8b", seqLength: 8192, globalBatch: 64 } },
        { name: "o", gpus: 8, steps: 10, stepSeconds: 1, workload: { model: "llama3-8b", seqLength: 8192, globalBatch: 64 } },
        { name: "p", gpus: 8, steps: 10, workload: { model: "llama3-9b", seqLength: 8192, globalBatch: 64 } },
      ],
    });
    const paths = found.map((p) => p.path);
    expect(paths).toContain("jobs[0].parallelism"); // tp·pp·cp = 3 does not divide 16
    expect(paths).toContain("jobs[1].gpus"); // 12 is not whole nodes
    expect(paths).toContain("jobs[2].stepSeconds"); // not for modelled jobs
    expect(paths).toContain("jobs[3].workload.model");
    expect(found.find((p) => p.path === "jobs[3].workload.model")?.message).toMatch(/^jobs\[3\]\.workload\.model: "llama3-9b" is not a built-in model/);
  });

  it("a modelled job that does not fit in memory is refused with the reason", () => {
    const found = problems({ cluster: CLUSTER, jobs: [{ gpus: 8, steps: 1, workload: { model: "llama3-70b", seqLength: 8192, globalBatch: 64 } }] });
    expect(found[0]?.path).toBe("jobs[0]");
    expect(found[0]?.message).toMatch(/does not fit in GPU memory on 8 GPUs/);
  });

  it("a modelled job becomes the shared cluster restricted to its GPUs, without the facility cap", () => {
    const c = clusterConfigFromObject(
      { cluster: { ...CLUSTER, power: { facilityCap: "1 MW" } }, jobs: [{ name: "m", gpus: 16, steps: 5, workload: { model: "llama3-8b", seqLength: 8192, globalBatch: 64 }, parallelism: { tp: 2 } }] },
      OPTS,
    );
    const [j] = jobsOf(c);
    if (j?.work.kind !== "modelled") throw new Error("expected a modelled job");
    expect(j.work.scenario.cluster.nodes).toBe(2);
    expect(j.work.scenario.parallelism.dp).toBe(8);
    expect(j.work.scenario.cluster.power.facilityCap).toBeUndefined();
  });

  it("asks for exactly one job source, a cap for power-aware admission, and priority for preemption", () => {
    expect(problems({ cluster: CLUSTER }).map((p) => p.path)).toEqual(["jobs"]);
    const both = problems({ cluster: CLUSTER, jobs: [{ gpus: 1, stepSeconds: 1, steps: 1 }], synthetic: { jobs: 1 } });
    expect(both.map((p) => p.path)).toContain("synthetic");
    const paths = problems({ cluster: CLUSTER, scheduler: { powerAware: true, preemption: true }, jobs: [{ gpus: 1, stepSeconds: 1, steps: 1 }] }).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(["scheduler.powerAware", "scheduler.preemption"]));
  });

  it("checks synthetic traces: powers of two, a rate, a duration distribution, sizes that fit", () => {
    const found = problems({ cluster: CLUSTER, synthetic: { jobs: 10, gpus: { 3: 1, 64: 1 }, duration: { distribution: "lognormal" } } });
    const paths = found.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(["synthetic.gpus.3", "synthetic.gpus.64", "synthetic.arrivalsPerHour", "synthetic.duration.median"]));
  });

  it("compare takes placements or {policy: [...]}", () => {
    const c = clusterConfigFromObject({ cluster: CLUSTER, compare: { policy: ["fifo", "backfill"] }, jobs: [{ gpus: 1, stepSeconds: 1, steps: 1 }] }, OPTS);
    expect(c.compare).toEqual({ key: "policy", values: ["fifo", "backfill"] });
    const found = problems({ cluster: CLUSTER, compare: ["packed", "sprad"], jobs: [{ gpus: 1, stepSeconds: 1, steps: 1 }] });
    expect(found[0]?.path).toBe("compare[1]");
    expect(found[0]?.message).toMatch(/did you mean "spread"/);
  });

  it("reports a missing file and a YAML syntax error as problems of the file", () => {
    expect(() => loadClusterFile(join(FIXTURES, "missing.yaml"))).toThrow(ConfigError);
  });
});

describe("trace import", () => {
  it("parses RFC 4180 CSV (quotes, commas and newlines in fields, CRLF)", () => {
    expect(parseCsv('a,b\r\n"x, y","he said ""hi"""\n"multi\nline",3\n')).toEqual([
      ["a", "b"],
      ["x, y", 'he said "hi"'],
      ["multi\nline", "3"],
    ]);
  });

  it("reads numbers in the time unit and wall-clock times as UTC", () => {
    expect(traceTime("90", 60)).toBe(5400);
    expect(traceTime("2020-04-01 00:00:30", 1)! - traceTime("2020-04-01 00:00:00", 1)!).toBe(30);
    expect(traceTime("None", 1)).toBeUndefined();
  });

  it("Helios cluster_log.csv: gpu_num, submit_time, duration; CPU jobs and empty runs skipped", () => {
    const c = clusterConfigFromObject({ cluster: CLUSTER, trace: { csv: "helios-sample.csv", format: "helios", stepSeconds: "2 s" } }, OPTS);
    const jobs = jobsOf(c);
    // Usable rows: j1 (8 GPUs, 3,600 s, at 00:00:00), j5 (2 GPUs, 1,800 s, at 00:00:30), j3 (16 GPUs, 7,200 s, at 00:02:30).
    expect(jobs.map((j) => [j.name, j.arrival, j.gpus, j.duration])).toEqual([
      ["j1", 0, 8, 3600],
      ["j5", 30, 2, 1800],
      ["j3", 150, 16, 7200],
    ]);
    expect(jobs[0]?.work).toEqual({ kind: "unmodelled", stepSeconds: 2, commFraction: 0.2 });
    // j2 has no GPUs, j4 a zero duration, j6 no readable submit time; j3 wants more GPUs than the 32.
    const note = c.notes?.join(" ") ?? "";
    expect(note).toMatch(/3 jobs from 6 rows/);
    expect(note).toMatch(/1 with no GPUs/);
    expect(note).toMatch(/1 with no positive duration/);
    expect(note).toMatch(/1 with no readable submit time/);
  });

  it("Alibaba PAI pai_task_table.csv (no header): GPUs = ⌈inst_num × plan_gpu / 100⌉, duration = end − start", () => {
    const c = clusterConfigFromObject({ cluster: CLUSTER, trace: { csv: "pai-sample.csv", format: "pai" } }, OPTS);
    expect(jobsOf(c).map((j) => [j.name, j.arrival, j.gpus, j.duration])).toEqual([
      ["a1b2", 0, 1, 3600], // 2 × 50 % of a GPU
      ["c3d4", 100, 8, 1800], // 800 % = 8 GPUs
      ["a1b2#2", 400, 1, 600], // a quarter GPU rounds up to one; the job's second task
    ]);
  });

  it("Philly, flattened to CSV: submitted_time, gpus, start_time/end_time", () => {
    const c = clusterConfigFromObject({ cluster: CLUSTER, trace: { csv: "philly-sample.csv", format: "philly" } }, OPTS);
    expect(jobsOf(c).map((j) => [j.name, j.arrival, j.gpus, j.duration])).toEqual([
      ["application_2", 0, 8, 1800],
      ["application_1", 182, 4, 7200],
    ]);
  });

  it("explicit column names, and a column that is not there named with the file's columns", () => {
    const c = clusterConfigFromObject({ cluster: CLUSTER, trace: { csv: "helios-sample.csv", submitTime: "submit_time", gpus: "gpu_num", start: "start_time", end: "end_time", limit: 2 } }, OPTS);
    // The first two rows that make jobs, in file order (j2, a CPU job, does not): j1 and j3,
    // named by their line in the file as no name column is given.
    expect(jobsOf(c).map((j) => [j.name, j.duration])).toEqual([
      ["row-2", 3600],
      ["row-4", 7200],
    ]);
    const found = problems({ cluster: CLUSTER, trace: { csv: "helios-sample.csv", submitTime: "submit", gpus: "gpu_num", duration: "duration" } });
    expect(found[0]?.path).toBe("trace.submitTime");
    expect(found[0]?.message).toMatch(/did you mean "submit_time"/);
    expect(problems({ cluster: CLUSTER, trace: { csv: "nope.csv", format: "helios" } })[0]?.path).toBe("trace.csv");
  });

  it("trace jobs run on the cluster; one bigger than the cluster is rejected", () => {
    const c = clusterConfigFromObject({ cluster: { gpu: "H100-SXM", nodes: 1 }, trace: { csv: "helios-sample.csv", format: "helios" } }, OPTS);
    expect(c.notes?.join(" ")).toMatch(/1 need more GPUs than the cluster has/);
    const run = simulateCluster(c);
    expect(run.jobs.find((j) => j.name === "j3")?.status).toBe("rejected");
    expect(run.jobs.filter((j) => j.status === "done").map((j) => j.name)).toEqual(["j1", "j5"]);
  });
});
