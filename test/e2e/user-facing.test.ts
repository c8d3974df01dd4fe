// Issue 24, "Crashes on valid input" and "What the user sees", through the CLI: what reaches
// the terminal, what a report draws, and what an error echoes.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");
const BASE = readFileSync(join(ROOT, "experiments/scenarios/hbm-shift-base.yaml"), "utf8");

function trainsim(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A temporary folder holding base.yaml (the default experiment's base) renamed to `name`. */
function folderWithBase(name = "hbm-shift-base"): string {
  const dir = mkdtempSync(join(tmpdir(), "trainsim-uf-"));
  writeFileSync(join(dir, "base.yaml"), BASE.replace(/^name: .*$/m, `name: ${JSON.stringify(name)}`));
  return dir;
}

/** Characters a terminal acts on (C0/C1 controls but newline and tab, DEL, bidi controls). */
const RAW_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\u2028\u2029]/;

describe("control characters never reach the terminal raw", () => {
  const evil = "evil\u001b]0;pwned\u0007\u001b[2J\u202Egnp.exe\u2066x\u2069";

  it("run's summary shows a name's escapes as \\x1b, \\x07, \\u202e; --json keeps the exact string", () => {
    const dir = folderWithBase(evil);
    const r = trainsim(dir, "run", "base.yaml", "--no-report");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain("evil\\x1b]0;pwned\\x07\\x1b[2J\\u202egnp.exe\\u2066x\\u2069");
    const j = trainsim(dir, "run", "base.yaml", "--no-report", "--json");
    expect((JSON.parse(j.stdout) as { name: string }).name).toBe(evil);
  });

  it("an error naming a bad value escapes it on stderr", () => {
    const dir = folderWithBase();
    writeFileSync(join(dir, "bad.yaml"), BASE.replace("tp: 2", 'tp: "\u001b[2J\u202E2"'));
    const r = trainsim(dir, "run", "bad.yaml", "--no-report");
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
    expect(r.stderr).toContain(String.raw`"\u001b[2J\u202e2" is not allowed`);
  });

  it("commander's own errors (an unknown option as typed) are escaped too", () => {
    const r = trainsim(ROOT, "run", "--\u001b[2Jx");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--\\x1b[2Jx");
    expect(r.stderr).not.toMatch(RAW_CONTROL);
  });
});

describe("a HuggingFace config.json's fields are checked by name", () => {
  const HF = { hidden_size: 1024, num_hidden_layers: 2, num_attention_heads: 8, intermediate_size: 4096, vocab_size: 32000, max_position_embeddings: 4096 };
  function hfScenario(extra: Record<string, unknown>, rawConfig?: string): string {
    const dir = folderWithBase();
    writeFileSync(join(dir, "config.json"), rawConfig ?? JSON.stringify({ ...HF, ...extra }));
    writeFileSync(join(dir, "hf.yaml"), BASE.replace("model: llama3-8b", "model: { hf: config.json }"));
    return dir;
  }

  it('max_position_embeddings: "lots" is refused (exit 2), also with --ignore-memory (was NaN GiB, exit 0)', () => {
    const dir = hfScenario({ max_position_embeddings: "lots" });
    for (const extra of [[], ["--ignore-memory"]]) {
      const r = trainsim(dir, "run", "hf.yaml", "--no-report", ...extra);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toContain('workload.model.hf:max_position_embeddings: "lots" is not allowed; expected an integer >= 0');
      expect(r.stderr).not.toContain("NaN");
      expect(r.stdout).toBe("");
    }
  });

  it("hidden_act: {…} is bad input naming the field, not a trainsim bug", () => {
    const r = trainsim(hfScenario({ hidden_act: { x: 1 } }), "run", "hf.yaml", "--no-report");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('workload.model.hf:hidden_act: {"x":1} is not allowed; expected one of "gelu"');
    expect(r.stderr).not.toMatch(/internal|TypeError|trainsim bug/);
  });

  it("1e400 is shown as written overflowed (Infinity), not null", () => {
    const r = trainsim(hfScenario({}, JSON.stringify(HF).replace('"hidden_size":1024', '"hidden_size":1e400')), "run", "hf.yaml", "--no-report");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("workload.model.hf:hidden_size: Infinity is not allowed; expected a positive integer");
  });
});

describe("an unknown-key error shows a few keys, shortened", () => {
  it("a 26-line text file that parses as YAML names 5 keys of at most 40 characters, then counts the rest", () => {
    const dir = folderWithBase();
    const lines = Array.from({ length: 26 }, (_, i) => `Line ${i + 1} of some notes that were never a scenario, written at length: yes`);
    writeFileSync(join(dir, "notes.yaml"), lines.join("\n") + "\n");
    const r = trainsim(dir, "run", "notes.yaml", "--no-report");
    expect(r.code).toBe(2);
    const unknown = r.stderr.split("\n").filter((l) => l.includes("unknown key;"));
    expect(unknown).toHaveLength(5);
    expect(unknown[0]).toMatch(/^ {2}- Line 1 of some notes that were never a …: unknown key; /);
    expect(r.stderr).toContain("  - (config): and 21 more unknown keys at the top level (not listed)");
    expect(r.stderr).not.toContain("written at length");
  });
});

describe("a sweep whose points set different keys", () => {
  const EXPERIMENT = [
    "name: het",
    "base: base.yaml",
    "points:",
    "  - { cluster.gpu.hbmBandwidth: 2 TB/s, cluster.nodes: 4 }",
    "  - workload.globalBatch: 256",
    "  - { parallelism.tp: 4 }",
    "reports: [bottleneck-shift, memory, scaling]",
    "",
  ].join("\n");

  it("draws its report (was: Cannot read properties of undefined, \"simulation failed\")", () => {
    const dir = folderWithBase();
    writeFileSync(join(dir, "het.yaml"), EXPERIMENT);
    const r = trainsim(dir, "sweep", "het.yaml", "--out", "out", "--workers", "1");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("report:  out/report.html");
    const spec = readFileSync(join(dir, "out/bottleneck-shift.vl.json"), "utf8");
    expect(spec).toContain('"(base)"'); // a point that leaves a key to the base is labelled so
  });

  it("a report that cannot be drawn is not called a simulation failure; the results stay", () => {
    const dir = folderWithBase();
    writeFileSync(join(dir, "het.yaml"), EXPERIMENT);
    expect(trainsim(dir, "sweep", "het.yaml", "--out", "out", "--workers", "1", "--no-report").code).toBe(0);
    const results = readFileSync(join(dir, "out/results.jsonl"), "utf8");
    // A folder where report.html goes: the report's last rename fails.
    mkdirSync(join(dir, "out/report.html/x"), { recursive: true });
    const r = trainsim(dir, "sweep", "het.yaml", "--out", "out", "--resume");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("trainsim: the report could not be drawn:");
    expect(r.stderr).toContain("The simulation itself finished: every point's result is in out/results.jsonl; draw it again with: trainsim report out");
    expect(r.stderr).not.toContain("simulation failed");
    expect(r.stdout).toContain("het: 3 points"); // the summary is printed first
    expect(readFileSync(join(dir, "out/results.jsonl"), "utf8")).toBe(results);

    mkdirSync(join(dir, "run-out/report.html/x"), { recursive: true });
    const run = trainsim(dir, "run", "base.yaml", "--out", "run-out");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("The simulation itself finished: its result is in run-out/result.json; draw it again with: trainsim report run-out/result.json");
    expect(run.stderr).not.toContain("simulation failed");
    expect(JSON.parse(readFileSync(join(dir, "run-out/result.json"), "utf8"))).toHaveProperty("stepSeconds");
  });
});

describe("names and values reach the charts safely", () => {
  it("a U+2028 or U+2029 in the scenario's name no longer breaks Vega's parser (Unexpected token ILLEGAL)", () => {
    const dir = folderWithBase("line\u2028sep\u2029para");
    const r = trainsim(dir, "run", "base.yaml", "--out", "out");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "out/memory.vl.json"), "utf8")).toContain(String.raw`line\\u2028sep\\u2029para`);
    expect(readFileSync(join(dir, "out/report.html"), "utf8")).toContain("<h1>line\u2028sep\u2029para: run report</h1>");
  });

  it("a swept value with U+2028 and 30,000 characters is drawn escaped and capped; the table and results keep it whole", () => {
    const dir = folderWithBase();
    const long = `${"d".repeat(30_000)}\u2028end`;
    writeFileSync(join(dir, "long.yaml"), ["name: long", "base: base.yaml", "sweep:", `  description: [${JSON.stringify(long)}, "short\u2028one"]`, ""].join("\n"));
    const r = trainsim(dir, "sweep", "long.yaml", "--out", "out", "--workers", "1");
    expect(r.code, r.stderr).toBe(0);
    for (const chart of ["bottleneck-shift", "memory"]) {
      const svg = readFileSync(join(dir, `out/${chart}.svg`), "utf8");
      expect(svg).not.toMatch(/d{100}/); // at most 100 characters drawn
      expect(svg).not.toContain("\u2028");
      const spec = readFileSync(join(dir, `out/${chart}.vl.json`), "utf8");
      expect(spec).toContain(`"${"d".repeat(99)}…"`);
      expect(spec).toContain(String.raw`short\\u2028one`);
    }
    expect(readFileSync(join(dir, "out/report.html"), "utf8")).toContain(long.slice(0, 30_000)); // the sweep table
    expect(readFileSync(join(dir, "out/results.jsonl"), "utf8")).toContain(JSON.stringify(long));
  });
});

describe("trainsim report on results with points missing", () => {
  it("says which are missing, on stderr and in a notice on the page", () => {
    const dir = folderWithBase();
    writeFileSync(join(dir, "e.yaml"), ["name: e", "base: base.yaml", "sweep:", "  cluster.gpu.hbmBandwidth: [1 TB/s, 2 TB/s, 3 TB/s, 4 TB/s]", ""].join("\n"));
    expect(trainsim(dir, "sweep", "e.yaml", "--out", "out", "--no-report", "--workers", "1").code).toBe(0);
    const lines = readFileSync(join(dir, "out/results.jsonl"), "utf8").split("\n");
    writeFileSync(join(dir, "out/results.jsonl"), [lines[0], lines[2], ""].join("\n")); // points 0 and 2 kept
    const r = trainsim(dir, "report", "out");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: out/results.jsonl: 2 of 4 points are missing (indices 1, 3)");
    const html = readFileSync(join(dir, "out/report.html"), "utf8");
    expect(html).toContain('<ul class="notes"><li>Incomplete results: 2 of 4 points are missing (indices 1, 3); this report shows the 2 that are there.');
    expect(html).toContain("2 of 4 points (2 missing)");
  });

  it("a shard's folder expects only its own points", () => {
    const dir = folderWithBase();
    writeFileSync(join(dir, "e.yaml"), ["name: e", "base: base.yaml", "sweep:", "  cluster.gpu.hbmBandwidth: [1 TB/s, 2 TB/s, 3 TB/s, 4 TB/s, 5 TB/s]", ""].join("\n"));
    expect(trainsim(dir, "sweep", "e.yaml", "--out", "out", "--shard", "1/2", "--workers", "1").code).toBe(0);
    const complete = trainsim(dir, "report", "out/shard-1-of-2");
    expect(complete.code).toBe(0);
    expect(complete.stderr).not.toContain("missing");
    const shard = join(dir, "out/shard-1-of-2/results.jsonl");
    writeFileSync(shard, readFileSync(shard, "utf8").split("\n")[0] + "\n");
    expect(trainsim(dir, "report", "out/shard-1-of-2").stderr).toContain("1 of 2 points are missing (index 3)");
  });
});
