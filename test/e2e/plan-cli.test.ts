import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "../../bin/trainsim.js");
const SMALL = "experiments/scenarios/llama3-8b-64.yaml";
/** A narrow search of the small scenario: seconds, not minutes. */
const NARROW = ["--tp", "1,2", "--pp", "1", "--fix", "parallelism.cp=1", "--fix", "parallelism.microBatch=1", "--fix", "parallelism.recompute=none", "--workers", "2", "--top", "3"];

function trainsim(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("trainsim plan", () => {
  it.each([
    [["--objective", "fast"], '--objective "fast": is not allowed; expected one of tokens-per-second, energy-per-token'],
    [["--tp", "1,x"], '--tp "x": is not allowed'],
    [["--max-pp", "0"], '--max-pp "0": is not allowed; expected an integer >= 1'],
    [["--top", "ten"], '--top "ten"'],
    [["--fix", "parallelism.tpp=2"], "parallelism.tpp is not allowed; expected a key of parallelism:"],
    [["--fix", "parallelism.zero=5"], "0, 1, 2 or 3"],
    [["--objective", "goodput"], "reliability: is missing: --objective goodput needs"],
    [["--scale", "16,100"], "100 GPUs is not allowed: the scenario's nodes have 8 GPUs each; expected multiples of 8"],
    [["--vary", "cluster.nodes=8,16"], "cluster.nodes is not allowed; use --scale"],
    [["--memory-headroom", "60%"], "expected a share of each GPU's memory to leave free, from 0 to 50 %"],
    [["--vary", "cluster.network.oversubscription=1,-2"], "cluster.network.oversubscription"],
    [["--vary", "cluster.gpu=H100-SXM,B200", "--scale", "64"], "is not allowed with --scale"],
  ])("%j: exit 2, names the flag, the value and what is allowed, writes nothing", (flags, message) => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-plan-"));
    const out = join(dir, "out");
    const r = trainsim("plan", SMALL, ...flags, "--out", out, "--write", join(dir, "best.yaml"));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readdirSync(dir)).toEqual([]);
  });

  it("prints the table, writes plan.json, the report and the best layout as a scenario that runs", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-plan-"));
    const out = join(dir, "out");
    const best = join(dir, "best.yaml");
    const r = trainsim("plan", SMALL, ...NARROW, "--out", out, "--write", best);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/layouts: \d+ considered; refused: \d+ divisibility, \d+ memory; \d+ dropped by the lower bound; \d+ simulated/);
    expect(r.stdout).toContain("tp2 pp1 v1 dp32 mb1 z1 none *");
    expect(r.stdout).toMatch(/why: .* beats /);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(`report:  ${join(out, "report.html")}`);
    for (const f of ["plan.json", "report.html", "pareto-memory.svg", "pareto-energy.svg"]) expect(existsSync(join(out, f)), f).toBe(true);
    const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8")) as { top: { key: string; stepSeconds: number }[]; baseline: { baseline: boolean } };
    expect(plan.top).toHaveLength(3);
    expect(plan.baseline.baseline).toBe(true);
    const run = trainsim("run", best, "--json", "--no-report");
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { stepSeconds: number }).stepSeconds).toBeCloseTo((plan.top[0] as { stepSeconds: number }).stepSeconds, 9);
  });

  it("--objective cost-per-token without prices: exit 2, names the keys, writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-plan-"));
    const r = trainsim("plan", SMALL, "--objective", "cost-per-token", "--out", join(dir, "out"), "--write", join(dir, "best.yaml"));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("cluster.power.pricePerGpuHour is missing");
    expect(r.stderr).toContain("cluster.power.pricePerKWh is missing");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("--objective cost-per-token ranks by GPU-hours and facility energy per token", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-plan-"));
    const file = join(dir, "priced.yaml");
    writeFileSync(file, `base: ${join(process.cwd(), SMALL)}\nname: priced\ncluster: { gpu: H100-SXM, nodes: 8, power: { pricePerGpuHour: 2.5, pricePerKWh: 0.08 } }\n`);
    const r = trainsim("plan", file, ...NARROW, "--objective", "cost-per-token", "--json", "--no-report");
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { objective: string; top: { costPerToken: number; objectiveValue: number; stepSeconds: number; energyJoulesPerToken: number }[] };
    expect(plan.objective).toBe("cost-per-token");
    // 64 GPUs, 512 × 8,192 tokens per step: GPU-hours plus facility kWh, per token.
    for (const e of plan.top) expect(e.costPerToken).toBeCloseTo((64 * (e.stepSeconds / 3600) * 2.5) / (512 * 8192) + (e.energyJoulesPerToken / 3.6e6) * 0.08, 18);
    for (let i = 1; i < plan.top.length; i++) expect((plan.top[i] as { objectiveValue: number }).objectiveValue).toBeGreaterThanOrEqual((plan.top[i - 1] as { objectiveValue: number }).objectiveValue);
    const text = trainsim("plan", file, ...NARROW, "--objective", "cost-per-token", "--no-report");
    expect(text.stdout).toContain("cost/Mtoken");
    expect(text.stdout).toMatch(/% lower cost per token/);
  });

  it("--vary: one search per value of a cluster key, the table, plan.json and the bottleneck-shift report", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-plan-"));
    const out = join(dir, "out");
    const r = trainsim("plan", SMALL, ...NARROW, "--vary", "cluster.network.nicBandwidth=100 Gb/s,400 Gb/s", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cluster\.network\.nicBandwidth +best layout/);
    expect(r.stdout).toMatch(/\n +100 Gb\/s  tp/);
    expect(r.stdout).toMatch(/\n +400 Gb\/s  tp/);
    for (const f of ["plan.json", "report.html", "scale-bottleneck.svg"]) expect(existsSync(join(out, f)), f).toBe(true);
    const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8")) as { vary: { key: string; points: { value: unknown; gpus: number; best: { stepSeconds: number }[] }[] } };
    expect(plan.vary.key).toBe("cluster.network.nicBandwidth");
    expect(plan.vary.points.map((p) => p.value)).toEqual(["100 Gb/s", "400 Gb/s"]);
    // Faster NICs never make the best layout slower.
    expect(plan.vary.points[1]!.best[0]!.stepSeconds).toBeLessThanOrEqual(plan.vary.points[0]!.best[0]!.stepSeconds);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("as cluster.network.nicBandwidth changes");
  });

  it("--json prints the plan and nothing else on stdout", () => {
    const r = trainsim("plan", SMALL, ...NARROW, "--json", "--no-report");
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ["scenario", "objective", "gpus", "counts", "top", "baseline", "why"]) expect(plan, key).toHaveProperty(key);
  });
});
