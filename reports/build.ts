/**
 * Report folders: every chart as `<name>.vl.json`, `<name>.svg` and
 * `<name>.png`, plus `report.html` (summary table and all charts, offline).
 *
 * Everything is rendered into a temporary folder first and moved into place
 * at the end, so a failure leaves no half-written report behind. When the
 * output folder does not exist yet the whole folder is renamed into place;
 * when it does (a sweep folder next to results.jsonl) the report's files are
 * renamed into it one by one, after all of them have been written.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import type { SweepPointResult } from "../models/results.ts";
import type { ValidationRow } from "../models/results.ts";
import type { RunResult } from "../models/run.ts";
import { CATEGORIES } from "../models/categories.ts";
import type { CounterSample, Span } from "../sim/recorder.ts";
import { bottleneckShiftChart, dominantCategory } from "./charts/bottleneck-shift.ts";
import { breakdownChart } from "./charts/breakdown.ts";
import { okPoints, sweptParams } from "./charts/common.ts";
import { drawnText, duration, formatParamValue, gib, percent, shortParam, sig, withUnit } from "./format.ts";
import { goodputChart, type GoodputPoint } from "./charts/goodput.ts";
import { memoryChart, memoryChartForSweep } from "./charts/memory.ts";
import { powerChart, type PowerSeries } from "./charts/power.ts";
import { hasPowerSeries, powerSweepChart } from "./charts/power-sweep.ts";
import { rooflineChart } from "./charts/roofline.ts";
import { scalingChart } from "./charts/scaling.ts";
import { timelineChart } from "./charts/timeline.ts";
import { tornadoChart } from "./charts/tornado.ts";
import { METRIC_TITLES, validationChart } from "./charts/validation.ts";
import { renderHtml, type HtmlCell, type HtmlChart, type HtmlTable } from "./html.ts";
import { CATEGORY_MEANING, categoryColour } from "./palette.ts";
import { writeChart } from "./render.ts";
import { vegaSafeSpec } from "./vega-safe.ts";
import { missingText, type MissingPoints } from "./missing.ts";

export const REPORT_HTML = "report.html";

/** Charts a sweep report can draw (an experiment's `reports:` names these). */
export const SWEEP_REPORTS = ["bottleneck-shift", "scaling", "memory", "roofline", "power"] as const;
/** Charts only a single run (with recording, power or reliability results) can draw. */
export const RUN_REPORTS = ["breakdown", "timeline", "power", "memory", "roofline", "goodput", "tornado"] as const;

export interface RunReportInput {
  scenarioName: string;
  result: RunResult;
  /** Spans of one step (run with recording on) for the timeline. */
  spans?: readonly Span[];
  /** Recorder counters; series whose name contains "power" are drawn if `power` is not given. */
  counters?: readonly CounterSample[];
  power?: PowerSeries;
  /** Reliability results: goodput per checkpoint interval. */
  goodput?: readonly GoodputPoint[];
  /** The scenario file, shown in the page. */
  source?: string;
}

export interface SweepReportInput {
  experiment: string;
  results: readonly SweepPointResult[];
  /** Charts to draw, from the experiment's `reports:` (default: every one that applies). */
  reports?: readonly string[];
  description?: string;
  /** The results file or folder, shown in the page. */
  source?: string;
  /** Points sweep.json expects that the results lack: a notice on the page. */
  missing?: MissingPoints;
}

export interface PlannedChart {
  name: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

const GENERATOR = "trainsim";

// ---------------------------------------------------------------------------
// Writing

/** Render `charts` and the page `html` makes of them into `outDir`, all or nothing. */
export async function writeReport(outDir: string, charts: readonly PlannedChart[], html: (charts: HtmlChart[]) => string): Promise<string[]> {
  const out = resolve(outDir);
  const fresh = !existsSync(out);
  if (!fresh && !statSync(out).isDirectory()) throw new Error(`${outDir} is a file; expected a folder for the report`);
  if (fresh) mkdirSync(dirname(out), { recursive: true });
  // mkdirSync (not mkdtemp, which makes it 0700) so a renamed folder gets the usual permissions.
  const tmp = fresh ? join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`) : join(out, `.report-tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(tmp);
  // Names and swept values reach Vega only through vegaSafeSpec (U+2028 broke its parser).
  charts = charts.map((c) => ({ ...c, spec: vegaSafeSpec(c.spec) }));
  try {
    const names: string[] = [];
    for (const c of charts) {
      const files = await writeChart(tmp, c.name, c.spec);
      names.push(...files.files.map((f) => basename(f)));
    }
    writeFileSync(join(tmp, REPORT_HTML), html(charts.map((c) => ({ name: c.name, title: c.title, caption: c.caption, spec: c.spec }))));
    names.push(REPORT_HTML);
    if (fresh) {
      renameSync(tmp, out);
    } else {
      for (const n of names) renameSync(join(tmp, n), join(out, n));
      rmSync(tmp, { recursive: true, force: true });
    }
    return names.map((n) => join(out, n));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Tables

function breakdownTable(result: RunResult): HtmlTable {
  const rows: HtmlCell[][] = CATEGORIES.filter((c) => result.breakdown[c] > 0)
    .sort((a, b) => result.breakdown[b] - result.breakdown[a])
    .map((c) => [{ text: c, swatch: categoryColour(c) }, percent(result.breakdown[c]), duration(result.breakdown[c] * result.stepSeconds), CATEGORY_MEANING[c]]);
  return { caption: "Where the step time goes", columns: ["category", "share", "per step", "meaning"], rows, numeric: [false, true, true, false] };
}

/** run --uncertainty: the p5 … p95 bands under the step time (nothing without it). */
function uncertaintyRows(r: RunResult): HtmlCell[][] {
  const u = r.uncertainty;
  if (u === undefined) return [];
  const tok = (x: number): string => Math.round(x).toLocaleString("en-US");
  return [
    [`step time p5 / p50 / p95 (${u.samples} samples)`, `${duration(u.stepSeconds.p5)} / ${duration(u.stepSeconds.p50)} / ${duration(u.stepSeconds.p95)}`],
    ["throughput p5 / p50 / p95", `${tok(u.tokensPerSecond.p5)} / ${tok(u.tokensPerSecond.p50)} / ${tok(u.tokensPerSecond.p95)} tokens/s`],
    ["MFU p5 / p50 / p95", `${percent(u.mfu.p5)} / ${percent(u.mfu.p50)} / ${percent(u.mfu.p95)}`],
  ];
}

function runSummaryTable(name: string, r: RunResult, source?: string): HtmlTable {
  const dom = dominantCategory(r.breakdown);
  const rows: HtmlCell[][] = [
    ["scenario", name],
    ...(source === undefined ? [] : [["file", source]]),
    ["GPUs", r.gpus.toLocaleString("en-US")],
    ["step time", duration(r.stepSeconds)],
    ...uncertaintyRows(r),
    ["throughput", `${Math.round(r.tokensPerSecond).toLocaleString("en-US")} tokens/s`],
    ["model TFLOP/s per GPU", sig(r.tflopsPerGpu)],
    ["MFU / HFU", `${percent(r.mfu)} / ${percent(r.hfu)}`],
    ["memory per GPU", `${sig(gib(r.memoryBytesPerGpu))} GiB of ${sig(gib(r.memoryCapacityBytes))} GiB`],
    ...(r.moeRouting === undefined ? [] : [["MoE busiest-rank load", `${r.moeRouting.busiestRankLoad.toFixed(3)}× a balanced share (${r.moeRouting.distribution} routing; ${percent(r.moeRouting.keptShare)} of copies kept)`]]),
    ["bound mostly by", { text: `${dom} (${percent(r.breakdown[dom])})`, swatch: categoryColour(dom) }],
    ["GPU power (mean)", withUnit(r.gpuPowerWatts, "W")],
    ["facility power (mean / peak)", `${withUnit(r.facilityPowerWatts.mean, "W")} / ${withUnit(r.facilityPowerWatts.peak, "W")}`],
    ["energy per step", withUnit(r.energyJoulesPerStep, "J")],
    ["steps simulated", String(r.steps)],
    ["simulated wall-clock", duration(r.wallclockSeconds)],
  ];
  return { caption: "Summary", columns: ["figure", "value"], rows };
}

function sweepTable(results: readonly SweepPointResult[]): HtmlTable {
  const { all } = sweptParams(results);
  const seeds = new Set(results.map((r) => r.seed)).size > 1;
  const sorted = [...results].sort((a, b) => a.index - b.index || a.seed - b.seed);
  const columns = ["#", ...(seeds ? ["seed"] : []), ...all.map(shortParam), "status", "step time", "tokens/s", "MFU", "memory/GPU (GiB)", "bound mostly by", "note"];
  const numeric = ["#", ...(seeds ? ["seed"] : []), ...all.map(() => "p"), "s", "t", "tok", "mfu", "mem", "b", "n"].map((c, i) => i === 0 || (seeds && i === 1) || ["t", "tok", "mfu", "mem"].includes(c));
  const rows: HtmlCell[][] = sorted.map((p) => {
    const r = p.result;
    const params = all.map((k) => (k in p.params ? formatParamValue(k, p.params[k]) : ""));
    const head: HtmlCell[] = [String(p.index), ...(seeds ? [String(p.seed)] : []), ...params, p.status];
    if (p.status !== "ok" || r === undefined) return [...head, "", "", "", "", "", p.error ?? ""];
    const dom = dominantCategory(r.breakdown);
    return [
      ...head,
      duration(r.stepSeconds),
      Math.round(r.tokensPerSecond).toLocaleString("en-US"),
      percent(r.mfu),
      `${sig(gib(r.memoryBytesPerGpu))} / ${sig(gib(r.memoryCapacityBytes))}`,
      { text: `${dom} ${percent(r.breakdown[dom], 0)}`, swatch: categoryColour(dom) },
      "",
    ];
  });
  return { caption: "Sweep points", columns, rows, numeric };
}

// ---------------------------------------------------------------------------
// Run

/**
 * The facility power series a run result carries (`power.series`, with
 * `power.facilityCapWatts`), read structurally: older result.json files
 * have no power block, and the power model may grow.
 */
export function facilityPowerOf(r: RunResult): PowerSeries | undefined {
  const p = (r as unknown as { power?: { series?: unknown; facilityCapWatts?: unknown } }).power;
  if (p === undefined || !Array.isArray(p.series) || p.series.length === 0) return undefined;
  const samples = (p.series as unknown[]).filter(
    (x): x is { time: number; watts: number } => typeof x === "object" && x !== null && typeof (x as { time?: unknown }).time === "number" && typeof (x as { watts?: unknown }).watts === "number",
  );
  if (samples.length === 0) return undefined;
  const cap = typeof p.facilityCapWatts === "number" ? [{ label: "facility cap", watts: p.facilityCapWatts }] : [];
  return { label: "facility", samples, caps: cap };
}

export async function buildRunReport(outDir: string, input: RunReportInput): Promise<string[]> {
  const r = input.result;
  const charts: PlannedChart[] = [];
  const notes: string[] = [];
  charts.push({ name: "breakdown", title: "Where the step time goes", caption: "Share of the step each bottleneck category takes, averaged over all GPUs.", spec: breakdownChart(r) });
  if (r.uncertainty !== undefined && r.uncertainty.sensitivity.length > 0) {
    charts.push({ name: "tornado", title: "What moves the step most", caption: "Sensitivity of the step to each calibrated constant over its spread (run --uncertainty).", spec: tornadoChart(r.uncertainty, r.stepSeconds) });
  }
  if (input.spans !== undefined && input.spans.length > 0) {
    charts.push({ name: "timeline", title: "Step timeline", caption: "A few representative pipeline stages through one step; colour is what held each moment back.", spec: timelineChart(input.spans) });
  }
  let power = input.power ?? facilityPowerOf(r);
  if (power === undefined && input.counters !== undefined) {
    const name = input.counters.find((c) => /power/i.test(c.name))?.name;
    if (name !== undefined) {
      const samples = input.counters.filter((c) => c.name === name).map((c) => ({ time: c.time, watts: c.value }));
      power = { label: name, samples: samples.sort((a, b) => a.time - b.time) };
    }
  }
  if (power !== undefined && power.samples.length > 0) {
    charts.push({ name: "power", title: "Power over time", caption: "Power against the cap(s), with the largest swing within the window marked.", spec: powerChart(power) });
  }
  charts.push({ name: "memory", title: "Memory per GPU", caption: "What one GPU holds at its peak, against its HBM capacity.", spec: memoryChart(r) });
  if (r.roofline.kernels.length > 0) {
    charts.push({ name: "roofline", title: "Roofline", caption: "Each kernel of one layer on the roofline of the accelerator.", spec: rooflineChart(r.roofline) });
  }
  if (input.goodput !== undefined && input.goodput.length > 0) {
    charts.push({ name: "goodput", title: "Goodput against checkpoint interval", caption: "Share of wall-clock time spent training, by checkpoint interval.", spec: goodputChart(input.goodput) });
  }
  if (input.spans === undefined) notes.push("No step timeline: the run was not recorded (spans are kept only when asked).");
  const title = `${input.scenarioName}: run report`;
  return writeReport(outDir, charts, (html) =>
    renderHtml(
      {
        title,
        subtitle: `${r.gpus.toLocaleString("en-US")} GPUs, step ${duration(r.stepSeconds)}${r.uncertainty !== undefined ? ` (p5 ${duration(r.uncertainty.stepSeconds.p5)} … p95 ${duration(r.uncertainty.stepSeconds.p95)})` : ""}, MFU ${percent(r.mfu)}, bound mostly by ${dominantCategory(r.breakdown)}.`,
        tables: [runSummaryTable(input.scenarioName, r, input.source), breakdownTable(r)],
        charts: html,
        notes,
      },
      { generator: GENERATOR },
    ),
  );
}

// ---------------------------------------------------------------------------
// Sweep

export async function buildSweepReport(outDir: string, input: SweepReportInput): Promise<string[]> {
  const ok = okPoints(input.results);
  const notes: string[] = [];
  if (input.missing !== undefined) {
    notes.push(`Incomplete results: ${missingText(input.missing)}; this report shows the ${input.results.length} that are there. trainsim sweep --resume runs the rest (trainsim merge joins shards).`);
  }
  const bad = input.results.length - ok.length;
  if (bad > 0) notes.push(`${bad} of ${input.results.length} points did not run (invalid or failed); the table says why. Charts show the ${ok.length} that did.`);
  const gpuCounts = new Set(ok.map((p) => p.result.gpus));
  const applicable: Record<(typeof SWEEP_REPORTS)[number], string | null> = {
    "bottleneck-shift": ok.length > 0 ? null : "no successful points",
    scaling: gpuCounts.size >= 2 ? null : "the points do not differ in GPU count",
    memory: ok.length > 0 ? null : "no successful points",
    roofline: ok.length > 0 ? null : "no successful points",
    power: hasPowerSeries(ok) ? null : "the points carry no power series (a sweep keeps them only when its experiment lists power in reports)",
  };
  const wanted = input.reports !== undefined && input.reports.length > 0 ? [...input.reports] : SWEEP_REPORTS.filter((n) => n !== "roofline" && n !== "power" && applicable[n] === null);
  const charts: PlannedChart[] = [];
  for (const name of wanted) {
    if (!(SWEEP_REPORTS as readonly string[]).includes(name)) {
      notes.push(`Report "${name}" is not one a sweep can draw (${SWEEP_REPORTS.join(", ")}); skipped.`);
      continue;
    }
    const why = applicable[name as (typeof SWEEP_REPORTS)[number]];
    if (why !== null) {
      notes.push(`No ${name} chart: ${why}.`);
      continue;
    }
    if (charts.some((c) => c.name === name)) continue;
    switch (name) {
      case "bottleneck-shift":
        charts.push({
          name,
          title: "Where the bottleneck shifts",
          caption: "Share of step time per bottleneck category at each sweep point; the bold label names the category that dominates.",
          spec: bottleneckShiftChart(ok, { title: `${drawnText(input.experiment)}: where the step time goes` }),
        });
        break;
      case "scaling":
        charts.push({ name, title: "Scaling", caption: "Throughput and MFU against GPU count.", spec: scalingChart(ok) });
        break;
      case "memory":
        charts.push({ name, title: "Memory per GPU", caption: "What one GPU holds at its peak at each point, against its HBM capacity.", spec: memoryChartForSweep(ok) });
        break;
      case "power":
        charts.push({ name, title: "Facility power", caption: "Facility power through one step at each point, with each point's largest drop within 100 ms.", spec: powerSweepChart(ok) });
        break;
      case "roofline": {
        const first = ok[0] as (typeof ok)[number];
        charts.push({
          name,
          title: "Roofline",
          caption: `Kernels of one layer on the roofline, at the first point (${Object.entries(first.params).map(([k, v]) => `${shortParam(k)} = ${formatParamValue(k, v)}`).join(", ") || first.result.name}).`,
          spec: rooflineChart(first.result.roofline),
        });
        break;
      }
    }
  }
  const { varying } = sweptParams(input.results);
  const n = input.results.length;
  const counted = input.missing === undefined ? `${n} point${n === 1 ? "" : "s"}` : `${n} of ${input.missing.expected} points (${input.missing.indices.length} missing)`;
  const subtitle = [
    input.description,
    `${counted}${varying.length > 0 ? `, sweeping ${varying.join(", ")}` : ""}${input.source === undefined ? "" : `; results from ${input.source}`}.`,
  ]
    .filter((x): x is string => x !== undefined && x !== "")
    .join(" ");
  return writeReport(outDir, charts, (html) =>
    renderHtml({ title: `${input.experiment}: sweep report`, subtitle, tables: [sweepTable(input.results)], charts: html, notes }, { generator: GENERATOR }),
  );
}

// ---------------------------------------------------------------------------
// Validation

export async function buildValidationReport(outDir: string, rows: readonly ValidationRow[]): Promise<string[]> {
  if (rows.length === 0) throw new Error("validation report: no rows");
  const charts: PlannedChart[] = [
    {
      name: "validation",
      title: "Predicted against published",
      caption: "Each published training run: what the simulator predicts against what the paper reports, with y = x and a ±10 % band.",
      spec: validationChart(rows),
    },
  ];
  const table: HtmlTable = {
    caption: "Published cases",
    columns: ["case", "metric", "published", "predicted", "error", "source"],
    numeric: [false, false, true, true, true, false],
    rows: rows.map((r) => [
      r.name,
      METRIC_TITLES[r.metric] ?? r.metric,
      `${sig(r.published, 4)}${r.unit ? ` ${r.unit}` : ""}`,
      r.failed !== undefined ? "—" : `${sig(r.predicted, 4)}${r.unit ? ` ${r.unit}` : ""}`,
      r.failed !== undefined ? "failed" : `${r.error >= 0 ? "+" : ""}${(r.error * 100).toFixed(1)} %${r.refused !== undefined ? " (refused: out of memory)" : ""}`,
      r.source,
    ]),
  };
  // As `trainsim validate` summarises: refused and failed cases stay out of the medians.
  const scored = rows.filter((r) => r.refused === undefined && r.failed === undefined);
  const abs = scored.map((r) => Math.abs(r.error)).sort((a, b) => a - b);
  const median = abs.length === 0 ? 0 : abs.length % 2 === 1 ? (abs[(abs.length - 1) / 2] as number) : ((abs[abs.length / 2 - 1] as number) + (abs[abs.length / 2] as number)) / 2;
  const refused = rows.filter((r) => r.refused !== undefined).length;
  const failed = rows.length - scored.length - refused;
  const left = [refused > 0 ? `${refused} refused by the memory model` : "", failed > 0 ? `${failed} failed` : ""].filter((x) => x !== "");
  return writeReport(outDir, charts, (html) =>
    renderHtml(
      {
        title: "Validation against published training runs",
        subtitle: `${rows.length} cases; median |error| ${percent(median)}, largest ${percent(abs[abs.length - 1] ?? 0)}${left.length > 0 ? ` over the ${scored.length} that ran (${left.join(", ")}: not in the medians)` : ""}.`,
        tables: [table],
        charts: html,
      },
      { generator: GENERATOR },
    ),
  );
}
