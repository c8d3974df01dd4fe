// Issue 24, "Huge or degenerate work", through the CLI: work that cannot finish, rates that would
// stall the engine and absurd durations are refused before simulating (exit 2, naming the keys,
// the estimate or bound, and the limit), with nothing written.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");
const BASE = readFileSync(join(ROOT, "experiments/scenarios/llama3-8b-64.yaml"), "utf8");
const LONG = join(ROOT, "experiments/published/llama3/405b-54d.yaml");

function trainsim(cwd: string, ...args: string[]) {
  // The timeout only turns a hang into a failed assertion; nothing here is timed.
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectRefused(r: { code: number | null; stdout: string; stderr: string }, ...what: string[]): void {
  expect(r.code, r.stderr).toBe(2);
  for (const w of what) expect(r.stderr).toContain(w);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe("");
}

/** A folder holding s.yaml: the bundled Llama 3 8B scenario with `edit` applied. */
function scenarioWith(edit: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
  writeFileSync(join(root, "s.yaml"), edit(BASE));
  return root;
}

describe("work that cannot finish is refused before simulating", () => {
  const cases: [string, (t: string) => string, string[], string[]][] = [
    ["8e8 GPUs", (t) => t.replace("nodes: 8", "nodes: 100000000").replace("globalBatch: 512", "globalBatch: 800000000").replace("tp: 2", "tp: 8"), [], ["cluster.nodes × cluster.gpusPerNode: 8.00e8 GPUs", "(limit 2.50e8)"]],
    ["1e8 micro-batches", (t) => t.replace("globalBatch: 512", "globalBatch: 3200000000"), [], ["1.00e8 micro-batches", "engine events (limit 2.50e8)"]],
    ["1e9 layers with --ignore-memory", (t) => t.replace("model: llama3-8b", "model: {base: llama3-8b, layers: 1000000000}"), ["--ignore-memory"], ["workload.model.layers: 1.00e9 layers"]],
  ];
  for (const [what, edit, flags, messages] of cases) {
    it(`run: ${what}: exit 2, nothing written`, () => {
      const root = scenarioWith(edit);
      expectRefused(trainsim(root, "run", "s.yaml", ...flags), "s.yaml: too much work to simulate: about ", ...messages);
      expect(readdirSync(root)).toEqual(["s.yaml"]);
    });
  }
});

describe("a sweep point too large to simulate", () => {
  it("is recorded invalid with the estimate, the others run", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
    writeFileSync(join(root, "base.yaml"), BASE);
    writeFileSync(join(root, "e.yaml"), "name: work\nbase: base.yaml\nsweep:\n  workload.globalBatch: [512, 3200000000]\n");
    const r = trainsim(root, "sweep", "e.yaml", "--out", "out", "--no-report");
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(join(root, "out/results.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { status: string; error?: string });
    expect(lines.map((l) => l.status).sort()).toEqual(["invalid", "ok"]);
    expect(lines.find((l) => l.status === "invalid")!.error).toMatch(/^work: too much work to simulate: about .*1\.00e8 micro-batches/);
  });
});

describe("rates have lower bounds, checked at load", () => {
  const cases: [string, string, string][] = [
    ["nicBandwidth: 1 b/s", "cluster:\n  network:\n    nicBandwidth: 1 b/s\n", 'cluster.network.nicBandwidth: "1 b/s" (0.125 B/s) is not allowed; expected a bandwidth >= 125 MB/s'],
    ["hbmBandwidth: 1e-300", "cluster:\n  gpu: {base: H100-SXM, hbmBandwidth: 1e-300}\n", "cluster.gpu.hbmBandwidth: 1e-300 is not allowed; expected a bandwidth >= 1 GB/s"],
    ["scaleUpBandwidth: 1e-9", "cluster:\n  gpu: {base: H100-SXM, scaleUpBandwidth: 1e-9}\n", "cluster.gpu.scaleUpBandwidth: 1e-9 is not allowed; expected a bandwidth >= 1 GB/s"],
  ];
  for (const [what, yaml, message] of cases) {
    it(`run refuses ${what} naming the field and the bound`, () => {
      const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
      writeFileSync(join(root, "base.yaml"), BASE);
      writeFileSync(join(root, "s.yaml"), `base: base.yaml\nname: slow\n${yaml}`);
      expectRefused(trainsim(root, "run", "s.yaml"), message);
      expect(readdirSync(root).sort()).toEqual(["base.yaml", "s.yaml"]);
    });
  }

  it("a sweep over a bad rate marks that point invalid with the same message", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
    writeFileSync(join(root, "base.yaml"), BASE);
    writeFileSync(join(root, "e.yaml"), "name: rates\nbase: base.yaml\nsweep:\n  cluster.gpu.hbmBandwidth: [1e-300, 2 TB/s]\n");
    const r = trainsim(root, "sweep", "e.yaml", "--out", "out", "--no-report");
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(join(root, "out/results.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { status: string; error?: string });
    expect(lines.map((l) => l.status).sort()).toEqual(["invalid", "ok"]);
    expect(lines.find((l) => l.status === "invalid")!.error).toBe("cluster.gpu.hbmBandwidth: 1e-300 is not allowed; expected a bandwidth >= 1 GB/s");
  });
});

describe("run.duration", () => {
  it("1,000,000 d with failures is refused: at most 3650 d", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
    writeFileSync(join(root, "s.yaml"), `base: ${JSON.stringify(LONG)}\nname: forever\nrun:\n  duration: 1000000 d\n`);
    expectRefused(trainsim(root, "run", "s.yaml"), 'run.duration: "1000000 d" (1000000 d) is not allowed; expected a duration > 0 and <= 3650 d');
    expect(readdirSync(root)).toEqual(["s.yaml"]);
  });
});

describe("cluster: a modelled job too large to simulate", () => {
  it("is refused with exit 2 naming the job, nothing written", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
    writeFileSync(
      join(root, "c.yaml"),
      [
        "name: huge-job",
        "cluster: { gpu: H100-SXM, nodes: 8 }",
        "jobs:",
        "  - { name: big, gpus: 64, steps: 10, workload: { model: llama3-8b, seqLength: 8192, globalBatch: 3200000000 }, parallelism: { tp: 2 } }",
        "",
      ].join("\n"),
    );
    expectRefused(trainsim(root, "cluster", "c.yaml"), "jobs[0]: too much work to simulate: about ", "1.00e8 micro-batches");
    expect(readdirSync(root)).toEqual(["c.yaml"]);
  });
});

describe("trainsim collective refuses sweeps that cannot finish quickly, before building the topology", () => {
  const cases: [string, string[], string[]][] = [
    // Before: "Invalid typed array length: 8000000000" with exit 1 (1e9 nodes); a hang past 60 s (1e6 nodes).
    ["1e9 nodes", ["--nodes", "1e9"], ["--nodes × --gpus-per-node: 8.00e9 GPUs need about", "for the topology alone"]],
    ["1e6 nodes", ["--nodes", "1000000"], ["--nodes × --gpus-per-node: 8.00e6 GPUs"]],
    // Before: V8's heap out of memory and a native abort (exit 134) after 30 s.
    ["an all-to-all of 32,768 ranks", ["--nodes", "4096", "--op", "all-to-all"], ["s of flow simulation (31 message sizes over 32,768 ranks, all pairs at once); the limit is 60 s"]],
    // Before: 2e8 message sizes, a hang.
    ["a factor that makes 2e8 sizes", ["--factor", "1.0000001"], ["(2.08e8 message sizes over 8 ranks); the limit is 60 s", "raise --factor"]],
  ];
  for (const [what, args, messages] of cases) {
    it(`${what}: exit 2 naming the option and the limit`, () => {
      const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
      expectRefused(trainsim(root, "collective", ...args), ...messages);
      expect(readdirSync(root)).toEqual([]);
    });
  }

  it("the estimate allows what finishes: an all-reduce of 1,024 GPUs over the 31 default sizes", () => {
    const r = trainsim(ROOT, "collective", "--nodes", "128", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).rows).toHaveLength(31);
  });
});

describe("cluster: a file whose jobs cannot finish is refused before simulating", () => {
  /** A folder holding c.yaml: a synthetic trace of `jobs` jobs on `nodes` DGX H100 nodes. */
  function syntheticFile(jobs: string, nodes = 512): string {
    const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
    writeFileSync(
      join(root, "c.yaml"),
      [
        "name: many-jobs",
        `cluster: { gpu: H100-SXM, nodes: ${nodes} }`,
        "scheduler: { policy: backfill }",
        "synthetic:",
        `  jobs: ${jobs}`,
        "  arrivalsPerHour: 75",
        "  gpus: { 1: 25, 8: 25, 64: 8 }",
        "  duration: { distribution: lognormal, median: 1 h, sigma: 1.2 }",
        "",
      ].join("\n"),
    );
    return root;
  }

  // Before: 1e8 jobs grew to 4.5 GB and crashed natively; 10,000 jobs took over 100 s.
  it("1e8 synthetic jobs: exit 2 at load naming synthetic.jobs and its ceiling; no output folder", () => {
    const root = syntheticFile("100000000");
    expectRefused(trainsim(root, "cluster", "c.yaml"), "synthetic.jobs: 100000000 is not allowed; expected an integer from 1 to 10000000");
    expect(readdirSync(root)).toEqual(["c.yaml"]);
  });

  it("1e6 synthetic jobs on 4,096 GPUs: exit 2 with the estimate, the limit and the keys (cluster and run)", () => {
    const root = syntheticFile("1000000");
    for (const command of ["cluster", "run"]) {
      expectRefused(
        trainsim(root, command, "c.yaml"),
        "c.yaml: too much work to simulate: about ",
        "engine events (limit 2.50e8)",
        "synthetic.jobs × cluster GPUs running at once (cluster.nodes × cluster.gpusPerNode): 1.00e6 jobs × 4,096 GPUs",
        "expected fewer synthetic.jobs or a smaller cluster",
      );
      expect(readdirSync(root)).toEqual(["c.yaml"]);
    }
  });

  it("a cluster of 8e8 GPUs with one job: exit 2 naming the cluster's size", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-limits-"));
    writeFileSync(join(root, "c.yaml"), "name: huge-cluster\ncluster: { gpu: H100-SXM, nodes: 100000000 }\njobs:\n  - { name: a, gpus: 8, stepSeconds: 1 s, steps: 10 }\n");
    expectRefused(trainsim(root, "cluster", "c.yaml", "--out", "o"), "cluster.nodes × cluster.gpusPerNode: 8.00e8 GPUs", "expected fewer jobs or a smaller cluster");
    expect(readdirSync(root)).toEqual(["c.yaml"]);
  });

  it("cluster --help states the limits", () => {
    const r = trainsim(ROOT, "cluster", "--help");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("synthetic.jobs is at most 10,000,000");
    expect(r.stdout).toMatch(/refused with exit 2 naming the keys, the estimate and the limit/);
  });

  it("the bundled power-aware cluster file still runs (300 jobs, two runs)", () => {
    const r = trainsim(ROOT, "cluster", join(ROOT, "experiments/clusters/power-aware-admission.yaml"), "--json", "--no-report");
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { runs: { summary: { jobs: number } }[] };
    expect(result.runs.map((run) => run.summary.jobs)).toEqual([300, 300]);
  });
});
