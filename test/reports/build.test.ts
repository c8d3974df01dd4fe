import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { SweepPointResult } from "../../models/results.ts";
import type { ValidationRow } from "../../models/results.ts";
import { runScenario, type RunResult } from "../../models/run.ts";
import type { TopLevelSpec } from "vega-lite";
import { buildRunReport, buildSweepReport, buildValidationReport, writeReport } from "../../reports/build.ts";
import { breakdownChart } from "../../reports/charts/breakdown.ts";
import { detectResults, reportFromResults } from "../../reports/from-results.ts";
import { escapeHtml, jsonForScript } from "../../reports/html.ts";
import type { Span } from "../../sim/recorder.ts";
import { hbmSweep, scenario } from "./fixtures.ts";

const EVIL = "<script>alert(1)</script>";

let run: RunResult;
let spans: Span[];
let sweep: SweepPointResult[];

beforeAll(() => {
  const r = runScenario(scenario("llama3-8b-64"), { record: true });
  run = r.result;
  spans = r.step.spans;
  sweep = hbmSweep(["1 TB/s", "8 TB/s"]);
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "trainsim-report-"));
}

function names(files: string[]): string[] {
  return files.map((f) => basename(f)).sort();
}

describe("escaping", () => {
  it("escapes HTML and script-embedded JSON", () => {
    expect(escapeHtml(`${EVIL} & "x" 'y'`)).toBe("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &#39;y&#39;");
    const j = jsonForScript({ name: EVIL });
    expect(j).not.toContain("<");
    expect(JSON.parse(j)).toEqual({ name: EVIL });
  });

  it("never lets a user string into the report page as markup", async () => {
    const out = join(tmp(), "evil");
    const results: SweepPointResult[] = [
      ...sweep.map((p) => ({ ...p, experiment: EVIL, params: { [`cluster.gpu.${EVIL}`]: `${EVIL} ${p.params["cluster.gpu.hbmBandwidth"] as string}` }, result: { ...(p.result as RunResult), name: EVIL } })),
      { index: 9, seed: 1, params: { [`cluster.gpu.${EVIL}`]: EVIL }, experiment: EVIL, status: "failed", error: `${EVIL}<img src=x onerror=alert(2)>` },
    ];
    await buildSweepReport(out, { experiment: EVIL, results, description: EVIL, source: `/tmp/${EVIL}/results.jsonl`, reports: ["bottleneck-shift", "memory", EVIL] });
    await buildRunReport(join(out, "run"), { scenarioName: EVIL, result: { ...run, name: EVIL }, source: EVIL });
    for (const page of [join(out, "report.html"), join(out, "run", "report.html")]) {
      const full = readFileSync(page, "utf8");
      // The page without the inlined library code (which has its own "<img" strings).
      const html = full.replace(/<script data-library[^>]*>[\s\S]*?<\/script>/g, "<script data-library></script>");
      expect(html.length).toBeLessThan(full.length / 4);
      expect(html.includes(EVIL), "raw user string in the page").toBe(false);
      expect(html.includes("<img"), "injected element in the page").toBe(false);
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
      // The only scripts are the three inlined libraries, the specs (JSON) and the boot code.
      const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
      expect(scripts.filter((a) => a?.includes("data-library"))).toHaveLength(3);
      expect(scripts.every((a) => a === "" || a?.includes("data-library") || a?.includes('type="application/json"'))).toBe(true);
      expect(html).not.toMatch(/<script[^>]+src=/);
      expect(html).not.toMatch(/<link[^>]+href=/);
    }
    for (const svg of readdirSync(out).filter((f) => f.endsWith(".svg"))) expect(readFileSync(join(out, svg), "utf8")).not.toContain(EVIL);
  });
});

describe("report folders", () => {
  it("a run report holds every chart as .vl.json, .svg and .png, and report.html", async () => {
    const out = join(tmp(), "run");
    const files = await buildRunReport(out, {
      scenarioName: "llama3-8b-64",
      result: run,
      spans,
      power: { label: "GPU", samples: [0, 1, 2, 3].map((t) => ({ time: t, watts: t === 2 ? 300 : 690 })), caps: [{ label: "GPU limit", watts: 700 }] },
      goodput: [10, 30, 90].map((m, i) => ({ intervalSeconds: m * 60, goodput: [0.8, 0.9, 0.85][i] as number })),
    });
    const charts = ["breakdown", "timeline", "power", "memory", "roofline", "goodput"];
    expect(names(files)).toEqual([...charts.flatMap((c) => [`${c}.png`, `${c}.svg`, `${c}.vl.json`]), "report.html"].sort());
    expect(readdirSync(out).sort()).toEqual(names(files));
    for (const f of files) expect(existsSync(f)).toBe(true);
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("llama3-8b-64");
    expect(html).toContain("tokens/s");
    expect((html.match(/data-spec-for=/g) ?? []).length).toBe(charts.length);
  });

  it("a MoE run's summary gives the busiest expert-parallel rank's load; a dense run's has no such row", async () => {
    const out = join(tmp(), "moe");
    const moe: RunResult = { ...run, moeRouting: { distribution: "random", busiestRankLoad: 1.0206, keptShare: 1 } };
    await buildRunReport(out, { scenarioName: "moe", result: moe });
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("1.021× a balanced share (random routing; 100.0 % of copies kept)");
    const dense = join(tmp(), "dense");
    await buildRunReport(dense, { scenarioName: "dense", result: run });
    expect(readFileSync(join(dense, "report.html"), "utf8")).not.toContain("MoE busiest-rank load");
  });

  it("a sweep report goes next to the results and leaves other files alone", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "results.jsonl"), sweep.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const files = await buildSweepReport(dir, { experiment: "hbm", results: sweep });
    expect(names(files)).toEqual(["bottleneck-shift.png", "bottleneck-shift.svg", "bottleneck-shift.vl.json", "memory.png", "memory.svg", "memory.vl.json", "report.html"]);
    expect(readdirSync(dir).sort()).toEqual([...names(files), "results.jsonl"].sort());
  });

  it("draws only the experiment's reports, and notes the ones it cannot draw", async () => {
    const out = join(tmp(), "r");
    const files = await buildSweepReport(out, { experiment: "hbm", results: sweep, reports: ["bottleneck-shift", "scaling", "timeline"] });
    expect(names(files)).toEqual(["bottleneck-shift.png", "bottleneck-shift.svg", "bottleneck-shift.vl.json", "report.html"]);
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("No scaling chart: the points do not differ in GPU count");
    expect(html).toContain("Report &quot;timeline&quot; is not one a sweep can draw");
  });

  it("a validation report", async () => {
    const rows: ValidationRow[] = [
      { name: "a", file: "a.yaml", source: "A", metric: "stepSeconds", unit: "s", published: 10, predicted: 11, error: 0.1, simulatedSeconds: 0, categories: [] },
      { name: "b", file: "b.yaml", source: "B", metric: "stepSeconds", unit: "s", published: 20, predicted: 19, error: -0.05, simulatedSeconds: 0, categories: [] },
    ];
    const out = join(tmp(), "v");
    expect(names(await buildValidationReport(out, rows))).toEqual(["report.html", "validation.png", "validation.svg", "validation.vl.json"]);
  });

  it("a validation report leaves refused and failed cases out of its median, as validate does", async () => {
    const row = (name: string, error: number, extra: Partial<ValidationRow> = {}): ValidationRow => ({
      name, file: `${name}.yaml`, source: "S", metric: "stepSeconds", unit: "s", published: 10, predicted: 10 * (1 + error), error, simulatedSeconds: 0, categories: [], ...extra,
    });
    const rows = [
      row("a", 0.1),
      row("b", -0.3),
      row("c", 0.02),
      row("big", 0.9, { refused: { memoryBytesPerGpu: 2e11, capacityBytes: 8e10, message: "out of memory" } }),
      row("broken", Number.NaN, { failed: "boom" }),
    ];
    const out = join(tmp(), "v2");
    await buildValidationReport(out, rows);
    const html = readFileSync(join(out, "report.html"), "utf8");
    // |errors| that ran: 0.02, 0.1, 0.3 -> median 10.0 %, largest 30.0 %.
    expect(html).toContain("5 cases; median |error| 10.0 %, largest 30.0 % over the 3 that ran (1 refused by the memory model, 1 failed: not in the medians).");
    expect(html).toContain("+90.0 % (refused: out of memory)");
  });

  it("a failure leaves nothing half-written", async () => {
    const parent = tmp();
    const out = join(parent, "report");
    // The first chart renders (its files are written), the second cannot be parsed.
    const good = { name: "breakdown", title: "ok", caption: "", spec: breakdownChart(run) };
    const bad = { name: "bad", title: "bad", caption: "", spec: { data: { values: [{ a: 1 }] }, transform: [{ filter: "datum.a ++ )" }], mark: "point", encoding: { x: { field: "a", type: "quantitative" } } } as TopLevelSpec };
    await expect(writeReport(out, [good, bad], () => "<html></html>")).rejects.toThrow();
    expect(readdirSync(parent)).toEqual([]);
    // Into an existing folder: nothing added, nothing left behind.
    mkdirSync(out);
    writeFileSync(join(out, "result.json"), "{}");
    await expect(writeReport(out, [good, bad], () => "<html></html>")).rejects.toThrow();
    expect(readdirSync(out)).toEqual(["result.json"]);
    // And a chart that cannot be built stops the report before anything is written.
    const broken = { ...run, roofline: { ...run.roofline, kernels: [{ ...(run.roofline.kernels[0] as RunResult["roofline"]["kernels"][number]), flops: 0, flopsPerSecond: 0 }] } };
    await expect(buildRunReport(out, { scenarioName: "x", result: broken })).rejects.toThrow(/roofline/);
    expect(readdirSync(out)).toEqual(["result.json"]);
  });
});

describe("trainsim report: what the results are", () => {
  it("detects a sweep folder, results.jsonl (ignoring a partial last line), a run's result.json and validate --json output", async () => {
    const dir = tmp();
    const lines = sweep.map((p) => JSON.stringify(p)).join("\n") + "\n";
    writeFileSync(join(dir, "results.jsonl"), lines + '{"index": 7, "se');
    writeFileSync(join(dir, "sweep.json"), JSON.stringify({ format: "trainsim-sweep/1", experiment: "from-manifest", reports: ["bottleneck-shift"] }));
    const d = detectResults(dir);
    expect(d.kind).toBe("sweep");
    if (d.kind === "sweep") {
      expect(d.results).toHaveLength(sweep.length);
      expect(d.experiment).toBe("from-manifest");
      expect(d.reports).toEqual(["bottleneck-shift"]);
    }
    const runDir = tmp();
    writeFileSync(join(runDir, "result.json"), JSON.stringify(run, null, 2));
    expect(detectResults(join(runDir, "result.json")).kind).toBe("run");
    expect(detectResults(runDir).kind).toBe("run");
    const val = join(tmp(), "validation.json");
    writeFileSync(val, JSON.stringify({ rows: [{ name: "a", file: "a", source: "", metric: "mfu", unit: "", published: 0.4, predicted: 0.41, error: 0.025, simulatedSeconds: 0, categories: [] }], summary: {} }));
    expect(detectResults(val).kind).toBe("validation");

    const done = await reportFromResults(dir);
    expect(done.outDir).toBe(dir);
    expect(names(done.files)).toEqual(["bottleneck-shift.png", "bottleneck-shift.svg", "bottleneck-shift.vl.json", "report.html"]);
  });

  it("says what it expected for anything else", () => {
    const dir = tmp();
    expect(() => detectResults(join(dir, "missing"))).toThrow(/no such file or folder/);
    expect(() => detectResults(dir)).toThrow(/neither results.jsonl/);
    mkdirSync(join(dir, "shard-0-of-2"));
    expect(() => detectResults(dir)).toThrow(/trainsim merge/);
    const other = join(dir, "other.json");
    writeFileSync(other, '{"hello": 1}');
    expect(() => detectResults(other)).toThrow(/not a run result/);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, '{"index": 0, "seed": 1, "params": {}, "status": "ok"}\nnot json\n');
    expect(() => detectResults(bad)).toThrow(/bad.jsonl:2/);
  });
});
