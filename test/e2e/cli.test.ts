import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "../../bin/trainsim.js");

function trainsim(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const CONTRACT = ["name", "stepSeconds", "tokensPerSecond", "tflopsPerGpu", "mfu", "memoryBytesPerGpu", "breakdown", "gpuPowerWatts", "facilityPowerWatts", "energyJoulesPerStep"];

describe("trainsim CLI", () => {
  it("run --json prints the contract fields and writes result.json with --out", () => {
    const out = mkdtempSync(join(tmpdir(), "trainsim-"));
    const r = trainsim("run", "experiments/scenarios/llama3-8b-64.yaml", "--json", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of CONTRACT) expect(result, key).toHaveProperty(key);
    const shares = Object.values(result["breakdown"] as Record<string, number>);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(result["facilityPowerWatts"]).toHaveProperty("mean");
    expect(result["facilityPowerWatts"]).toHaveProperty("peak");
    expect(JSON.parse(readFileSync(join(out, "result.json"), "utf8"))).toEqual(result);
  });

  it("sweep ends its summary with where the report is, and --json names it", () => {
    const out = mkdtempSync(join(tmpdir(), "trainsim-"));
    const r = trainsim("sweep", "test/fixtures/sweep/grid.yaml", "--out", out, "--workers", "2");
    expect(r.code, r.stderr).toBe(0);
    const last = r.stdout.trimEnd().split("\n").slice(-3);
    expect(last).toEqual([`results: ${join(out, "results.jsonl")}`, `         ${join(out, "results.csv")}`, `report:  ${join(out, "report.html")}`]);
    expect(existsSync(join(out, "report.html"))).toBe(true);
    const json = trainsim("sweep", "test/fixtures/sweep/grid.yaml", "--out", out, "--workers", "2", "--json");
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { report?: string }).report).toBe(join(out, "report.html"));
    const bare = trainsim("sweep", "test/fixtures/sweep/grid.yaml", "--out", out, "--workers", "2", "--json", "--no-report");
    expect(JSON.parse(bare.stdout) as object).not.toHaveProperty("report");
  });

  it("run ends its summary with where the report is; --no-report and --json print no such line", () => {
    const out = mkdtempSync(join(tmpdir(), "trainsim-"));
    const r = trainsim("run", "experiments/scenarios/llama3-8b-64.yaml", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe(`report:  ${join(out, "report.html")}`);
    expect(lines.at(-2)).toMatch(/^bottleneck: \w+/);
    expect(existsSync(join(out, "report.html"))).toBe(true);
    expect(r.stderr).toBe("");
    const bare = trainsim("run", "experiments/scenarios/llama3-8b-64.yaml", "--no-report");
    expect(bare.stdout.trimEnd().split("\n").at(-1)).toMatch(/^bottleneck: \w+/);
    expect(bare.stdout).not.toMatch(/report:/);
  });

  it("validate --report ends its summary with where the report is", () => {
    const out = mkdtempSync(join(tmpdir(), "trainsim-"));
    const r = trainsim("validate", "--only", "175b-selective", "--report", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(`report:  ${join(out, "report.html")}`);
    expect(existsSync(join(out, "report.html"))).toBe(true);
  });

  it("a reader that closes the pipe early ends the command quietly (exit 0, no stack trace)", () => {
    // --json of this scenario is ~130 kB, more than a pipe holds: the write meets the closed pipe.
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${BIN}" run experiments/scenarios/llama3-8b-64.yaml --json --no-report | head -c 5 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: "utf8", timeout: 120_000 });
    expect(r.stdout.trim()).toBe("0");
    expect(r.stderr).toBe("");
  });

  it("run prints a readable summary with the bottleneck", () => {
    const r = trainsim("run", "experiments/scenarios/gpt3-175b-1024.yaml");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/step time/);
    expect(r.stdout).toMatch(/MFU \d+\.\d %/);
    expect(r.stdout).toMatch(/bottleneck: \w+/);
  });

  it("bad input exits 2 naming every field, value and what is allowed, with no stack trace and nothing written", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-"));
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      ["cluster:", "  gpu: H100-SXM", "  nodes: 16", "  netwrok: {}", "workload:", "  model: llama3-70b", "  seqLength: 4096", "  globalBatch: 64", "parallelism:", "  tp: 6"].join("\n"),
    );
    const out = join(dir, "out");
    const r = trainsim("run", bad, "--out", out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cluster\.netwrok/);
    expect(r.stderr).toMatch(/network/); // did-you-mean
    expect(r.stderr).toMatch(/parallelism\.tp: 6 does not divide workload\.heads 64/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it("run simulates every GPU by itself when cluster.stragglers names a slow one, and says so", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-"));
    const file = join(dir, "straggler.yaml");
    writeFileSync(file, [`base: ${join(import.meta.dirname, "../../experiments/scenarios/llama3-8b-64.yaml")}`, "cluster:", "  stragglers:", "    5: 60 %"].join("\n"));
    const auto = trainsim("run", file, "--json", "--no-report");
    expect(auto.code, auto.stderr).toBe(0);
    const full = JSON.parse(auto.stdout) as { stepSeconds: number; simulation: { mode: string; reason: string } };
    expect(full.simulation.mode).toBe("full");
    expect(full.simulation.reason).toMatch(/GPU 5 at 60 %/);
    const folded = trainsim("run", file, "--folded", "--no-report");
    expect(folded.code, folded.stderr).toBe(0);
    expect(folded.stdout).toMatch(/simulated +folded: .*approximate/);
    const both = trainsim("run", file, "--full", "--folded");
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--full and --folded/);
  });

  it("a plan that does not fit in memory exits 2 and says what is largest", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-"));
    const oom = join(dir, "oom.yaml");
    writeFileSync(oom, ["cluster:", "  gpu: A100-40GB", "  nodes: 1", "workload:", "  model: gpt3-175b", "  seqLength: 2048", "  globalBatch: 8", "parallelism:", "  tp: 8", "  zero: 0"].join("\n"));
    const r = trainsim("run", oom);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/memory: needs .* GiB per GPU/);
    expect(r.stderr).toMatch(/largest parts/);
  });

  it("run given a cluster file (jobs or a trace) runs it as trainsim cluster", () => {
    const r = trainsim("run", "test/fixtures/cluster/two-jobs.yaml", "--json", "--no-report");
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { runs: { jobs: unknown[] }[] };
    expect(result.runs).toHaveLength(2); // compare: [packed, spread]
    expect(result.runs[0]?.jobs).toHaveLength(3);
  });

  it("catalog presets lists the cluster presets", () => {
    const r = trainsim("catalog", "presets");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dgx-h100-superpod/);
    expect(r.stdout).toMatch(/gb200-nvl72/);
  });

  it("a missing file exits 2", () => {
    const r = trainsim("run", "no/such/file.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no\/such\/file\.yaml/);
  });

  it("validate --json gives predicted, published and error per case", () => {
    const r = trainsim("validate", "--json", "--only", "llama3-405b-16k");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { rows: { predicted: number; published: number; error: number }[] };
    expect(out.rows.length).toBe(1);
    for (const row of out.rows) expect(row.error).toBeCloseTo((row.predicted - row.published) / row.published, 12);
  });

  it("validate --category runs only that group and --json gives categories per row and per group", () => {
    const r = trainsim("validate", "--json", "--category", "reliability");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { rows: { name: string; categories: string[] }[]; categories: Record<string, { cases: number; refused: number }> };
    expect(out.rows.map((row) => row.name)).toEqual(["llama3-405b-54d"]);
    expect(out.rows[0]!.categories).toEqual(["reliability"]);
    expect(out.categories).toEqual({ reliability: expect.objectContaining({ cases: 1, refused: 0 }) });
    const bad = trainsim("validate", "--category", "fp4");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--category "fp4" is not allowed; expected one of dense-bf16, fp8/);
  });

  it("--help explains MFU, and catalog and schema work", () => {
    const help = trainsim("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/MFU counts model FLOPs as PaLM/);
    const cat = trainsim("catalog", "accelerators");
    expect(cat.code).toBe(0);
    expect(cat.stdout).toMatch(/H100-SXM/);
    const schema = JSON.parse(trainsim("schema").stdout) as Record<string, unknown>;
    expect(schema["$schema"]).toMatch(/json-schema/);
    expect(trainsim("catalog", "gpus").code).toBe(2);
  });
});
