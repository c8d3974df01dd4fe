/**
 * `trainsim cluster` end to end (through a stand-in CLI with only this command), its
 * report charts, and the bundled 1,000-job placement experiment's run time.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadClusterFile } from "../../experiments/cluster-load.ts";
import { runClusterExperiment } from "../../models/cluster/simulate.ts";
import type { ClusterExperimentResult, ClusterRunResult } from "../../models/cluster/types.ts";
import { jobGanttChart } from "../../reports/charts/jobs.ts";
import { facilityPowerChart, utilisationChart } from "../../reports/charts/utilisation.ts";
import { renderSvg } from "../../reports/render.ts";

const ROOT = join(import.meta.dirname, "../..");
const CLI = join(ROOT, "test/fixtures/cluster/cli.ts");
const FIXTURES = join(ROOT, "test/fixtures/cluster");
const tmp = mkdtempSync(join(tmpdir(), "trainsim-cluster-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", CLI, "cluster", ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("trainsim cluster", () => {
  it("--json prints one object with every run, job and series; exit 0", () => {
    const r = cli([join(FIXTURES, "two-jobs.yaml"), "--json", "--no-report"]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as ClusterExperimentResult;
    expect(out.compared).toBe("placement");
    expect(out.runs.map((x) => x.label)).toEqual(["placement: packed", "placement: spread"]);
    const spread = out.runs[1] as ClusterRunResult;
    const a = spread.jobs.find((j) => j.name === "a");
    expect(a?.contentionSlowdown).toBeCloseTo(1.5, 9);
    expect(a?.queueSeconds).toBe(0);
    expect(spread.utilisation.length).toBeGreaterThan(1);
    expect(spread.power.length).toBeGreaterThan(1);
  });

  it("writes result.json and report.html with the Gantt, utilisation and power charts", () => {
    const out = join(tmp, "report");
    const r = cli([join(FIXTURES, "two-jobs.yaml"), "--out", out]);
    expect(r.status).toBe(0);
    // Spread: a and b run at 1.5 s per step until 1,500 s; late (arriving at 1,200 s) waits for them.
    expect(r.stdout).toMatch(/slowdown vs alone mean \/ p95\s+1 \/ 1\s+1\.5 \/ 1\.5/);
    // The summary's last line is the report page (as for run and sweep), on stdout.
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(`report:  ${join(out, "report.html")}`);
    expect(r.stderr).not.toMatch(/report/);
    for (const f of ["result.json", "report.html", "utilisation.svg", "power.png", "jobs-placement-packed.vl.json", "jobs-placement-spread.svg"]) expect(existsSync(join(out, f)), f).toBe(true);
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("Most slowed jobs (placement: spread)");
  });

  it("--placement overrides the file and drops its placement comparison", () => {
    const r = cli([join(FIXTURES, "two-jobs.yaml"), "--placement", "spread", "--json", "--no-report"]);
    const out = JSON.parse(r.stdout) as ClusterExperimentResult;
    expect(out.runs).toHaveLength(1);
    expect(out.runs[0]?.scheduler.placement).toBe("spread");
  });

  it("bad input exits 2 and names the field; nothing is written", () => {
    const out = join(tmp, "bad");
    const r = cli([join(FIXTURES, "bad.yaml"), "--out", out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/scheduler\.placement: "sprad" is not allowed.*did you mean "spread"/);
    expect(r.stderr).toMatch(/jobs\[0\]\.gpus: 64 is more than the cluster's 32 GPUs/);
    expect(existsSync(out)).toBe(false);
    const flag = cli([join(FIXTURES, "two-jobs.yaml"), "--policy", "lifo", "--no-report"]);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/--policy: "lifo" is not allowed/);
  });

  it("--help teaches the file format and the contention model", () => {
    const help = execFileSync(process.execPath, ["--import", "tsx", CLI, "cluster", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(help).toMatch(/placement: topology-aware/);
    expect(help).toMatch(/step_alone × \(1 − c \+ c × M\)/);
    expect(help).toMatch(/trace: \{ csv: philly\.csv, format: philly \}/);
  });
});

describe("cluster charts", () => {
  const result = runClusterExperiment(loadClusterFile(join(FIXTURES, "two-jobs.yaml")));
  const spread = result.runs[1] as ClusterRunResult;

  it("the job Gantt draws each job's wait and runs, without Vega warnings", async () => {
    const r = await renderSvg(jobGanttChart(spread));
    expect(r.warnings).toEqual([]);
    expect(r.errors).toEqual([]);
    // a and b run; late waits (grey) then runs: 4 bars.
    expect(r.marks).toBeGreaterThanOrEqual(4);
  });

  it("utilisation and power charts draw one line per run", async () => {
    for (const spec of [
      utilisationChart(result.runs.map((x) => ({ label: x.label, points: x.utilisation, mean: x.summary.meanUtilisation })), result.gpus, 2000),
      facilityPowerChart(result.runs.map((x) => ({ label: x.label, points: x.power })), 2000, 40_000),
    ]) {
      const r = await renderSvg(spec);
      expect(r.warnings).toEqual([]);
      expect(r.errors).toEqual([]);
      expect(r.marks).toBeGreaterThan(0);
    }
  });
});

describe("bundled experiment: placement policies on 1,000 jobs over 4,096 GPUs", () => {
  it("runs all three placements; topology-aware placement avoids the contention packed and spread suffer (its speed: npm run bench)", () => {
    const result = runClusterExperiment(loadClusterFile(join(ROOT, "experiments/clusters/placement-1000-jobs.yaml")));
    expect(result.gpus).toBe(4096);
    const [packed, spread, topo] = result.runs as [ClusterRunResult, ClusterRunResult, ClusterRunResult];
    for (const r of result.runs) {
      expect(r.summary.jobs).toBe(1000);
      expect(r.summary.done).toBe(1000);
    }
    expect(topo.summary.meanContentionSlowdown).toBeLessThan(packed.summary.meanContentionSlowdown);
    expect(packed.summary.meanContentionSlowdown).toBeLessThan(spread.summary.meanContentionSlowdown);
    expect(topo.summary.slowedGpuTimeShare).toBeLessThan(0.2);
    expect(spread.summary.slowedGpuTimeShare).toBeGreaterThan(0.5);
    // Modelled Llama 3 8B jobs: one step simulation per GPU count, reused after that.
    expect(packed.simulation.stepSimulations).toBeLessThanOrEqual(2);
  }, 120_000);
});
