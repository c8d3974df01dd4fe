/**
 * The HTML reports in a real browser: Debian's chromium driven by
 * playwright-core, every request that is not a file:// URL aborted. Each
 * chart must draw marks and the console must stay free of errors.
 * CI installs chromium (.ci/run); locally: apt-get install -y chromium.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadExperiment } from "../../experiments/experiment.ts";
import { runSweep } from "../../experiments/runner.ts";
import type { SweepPointResult } from "../../models/results.ts";
import { runScenario } from "../../models/run.ts";
import { buildRunReport, buildSweepReport, buildValidationReport } from "../../reports/build.ts";
import { reportFromResults } from "../../reports/from-results.ts";
import { scenario, withBreakdown } from "./fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const DEFAULT_EXPERIMENT = join(import.meta.dirname, "../../experiments/default.yaml");

let browser: Browser;
let root: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: the browser test needs Debian's chromium (CI installs it in .ci/run; locally run: apt-get install -y chromium)`);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  root = mkdtempSync(join(tmpdir(), "trainsim-browser-"));
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

interface PageCheck {
  charts: { id: string; name: string; state: string | null; marks: number }[];
  errors: string[];
  blocked: string[];
}

async function open(file: string): Promise<PageCheck> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const blocked: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  await context.route("**/*", async (route) => {
    const url = route.request().url();
    if (url.startsWith("file://")) await route.continue();
    else {
      blocked.push(url);
      await route.abort();
    }
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (window as unknown as { trainsimChartsReady?: Promise<unknown> }).trainsimChartsReady !== undefined, null, { timeout: 30_000 });
  await page.evaluate(() => (window as unknown as { trainsimChartsReady: Promise<unknown> }).trainsimChartsReady);
  const charts = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(".chart")].map((el) => ({
      id: el.id,
      name: el.getAttribute("data-chart") ?? "",
      state: el.getAttribute("data-rendered"),
      // Items of data marks (axes, legends and titles have other roles).
      marks: el.querySelectorAll("svg g.role-mark > *").length,
    })),
  );
  await context.close();
  return { charts, errors, blocked };
}

function expectDrawn(check: PageCheck, expected: string[]): void {
  expect(check.charts.map((c) => c.name)).toEqual(expected);
  for (const c of check.charts) {
    expect(c.state, c.name).toBe("true");
    expect(c.marks, c.name).toBeGreaterThan(0);
  }
  expect(check.errors).toEqual([]);
  expect(check.blocked).toEqual([]);
}

describe("HTML reports in chromium, offline", () => {
  it("the default experiment's report draws its charts", async () => {
    const out = join(root, "default");
    await runSweep(loadExperiment(DEFAULT_EXPERIMENT), { outDir: out, workers: 2, progress: null });
    const { files } = await reportFromResults(out);
    const html = files.find((f) => f.endsWith("report.html")) as string;
    const check = await open(html);
    expectDrawn(check, ["bottleneck-shift"]);
  }, 120_000);

  it("a run report with every run chart", async () => {
    const { result, step } = runScenario(scenario("gpt3-175b-1024"), { record: true });
    const out = join(root, "run");
    await buildRunReport(out, {
      scenarioName: "gpt3-175b-1024",
      result,
      spans: step.spans,
      power: { label: "GPU", samples: Array.from({ length: 100 }, (_, i) => ({ time: i * 0.1, watts: i % 30 < 20 ? 680 : 250 })), caps: [{ label: "GPU limit", watts: 700 }] },
      goodput: [10, 20, 40, 80].map((m, i) => ({ intervalSeconds: m * 60, goodput: [0.85, 0.9, 0.88, 0.8][i] as number })),
    });
    expectDrawn(await open(join(out, "report.html")), ["breakdown", "timeline", "power", "memory", "roofline", "goodput"]);
  }, 120_000);

  it("a sweep report with every sweep chart, and a validation report", async () => {
    const base = runScenario(scenario("llama3-8b-64")).result;
    const results: SweepPointResult[] = [8, 16, 32].flatMap((gpus, i) =>
      ["100 Gb/s", "400 Gb/s"].map((nic, j) => ({
        index: i * 2 + j,
        seed: 1,
        params: { "cluster.nodes": gpus / 8, "cluster.network.nicBandwidth": nic },
        experiment: "synthetic",
        status: "ok" as const,
        result: { ...withBreakdown(base, { compute: 0.7 - 0.1 * i, network: 0.1 + 0.1 * i, nvlink: 0.2 }), gpus, tokensPerSecond: 1e5 * gpus * (1 - 0.05 * i * (1 - j)) },
      })),
    );
    const out = join(root, "sweep");
    await buildSweepReport(out, { experiment: "synthetic", results, reports: ["bottleneck-shift", "scaling", "memory", "roofline"] });
    expectDrawn(await open(join(out, "report.html")), ["bottleneck-shift", "scaling", "memory", "roofline"]);

    const vout = join(root, "validation");
    await buildValidationReport(vout, [
      { name: "a", file: "a.yaml", source: "A", metric: "stepSeconds", unit: "s", published: 10, predicted: 11, error: 0.1, simulatedSeconds: 0, categories: [] },
      { name: "b", file: "b.yaml", source: "B", metric: "tflopsPerGpu", unit: "TFLOP/s", published: 150, predicted: 160, error: 0.067, simulatedSeconds: 0, categories: [] },
    ]);
    expectDrawn(await open(join(vout, "report.html")), ["validation"]);
  }, 120_000);
});
