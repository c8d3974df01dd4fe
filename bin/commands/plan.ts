/** `trainsim plan SCENARIO`: search the parallel layouts of a scenario's model on its cluster, rank them, explain the best. */
import type { Command } from "commander";
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, extname, join } from "node:path";
import { isClusterFile } from "../../experiments/cluster-flags.ts";
import { lockOutputFolder } from "../../experiments/output-lock.ts";
import { bestScenarioYaml, formatPlan, planJson } from "../../experiments/plan/format.ts";
import { parseFixes, parseHeadroom, parseIntList, parseObjective, parsePositiveInt, parseVary, PlanInputError } from "../../experiments/plan/options.ts";
import { checkObjectiveInputs, planScenario, type PlanProgress } from "../../experiments/plan/search.ts";
import { formatDuration } from "../../experiments/runner.ts";
import { writeAtomically } from "../../reports/atomic-write.ts";
import { buildPlanReport, buildPlanScaleReport, GPU_AXIS } from "../../reports/plan-report.ts";
import { checkVary, formatScale, planScale, planVary, scaleNodes } from "../../experiments/plan/scale.ts";
import { loadScenario } from "../../experiments/load.ts";
import { checkedFile, drawReport, json, outputFolder, printError, printText, withReport, withReportLine } from "../common.ts";

interface PlanFlags {
  objective?: string;
  top?: string;
  tp?: string;
  pp?: string;
  maxPp?: string;
  fix?: string[];
  workers?: string;
  json?: boolean;
  out?: string;
  report: boolean;
  write?: string;
  scale?: string;
  vary?: string;
  memoryHeadroom?: string;
}

const HELP = `
Searches tp, pp (--max-pp), virtual stages, an uneven first/last stage, dp (the GPUs left),
cp, ep and expert tp (MoE), micro-batch, ZeRO stage 0-3 and recompute (none, selective,
full). Stages: the loader's divisibility checks and the memory model (no simulation); a
lower bound on the step time (each layer's kernels alone at full clock, exposed tensor-
parallel collectives, pipeline fill and drain) orders the rest, and layouts are simulated
in that order (folded, in worker threads) until no bound can beat the top N. Every ranked
layout was loaded by the loader and passed the memory model. The scenario's own
parallelism: (if any) is simulated too and marked * (the baseline). docs/plan.md.

Writes <out>/plan.json and <out>/report.html (Pareto charts: throughput against memory per
GPU and against energy per token, coloured by dominant bottleneck) unless --no-report.

Examples:
  trainsim plan experiments/scenarios/gpt3-175b-1024.yaml
  trainsim plan experiments/scenarios/llama3-405b-16k.yaml --tp 8 --max-pp 32 --top 5
  trainsim plan scenario.yaml --fix parallelism.cp=1 --fix parallelism.zero=1 --json
  trainsim plan scenario.yaml --objective energy-per-token --write best.yaml
  trainsim plan scenario.yaml --objective cost-per-token   # needs cluster.power.pricePerGpuHour, pricePerKWh
  trainsim plan scenario.yaml --objective goodput          # needs reliability:
  trainsim plan experiments/scenarios/gpt3-175b-1024.yaml --scale 256,512,1024 --tp 4,8
  trainsim plan experiments/scenarios/llama3-8b-64.yaml --vary cluster.gpu=A100-80GB,H100-SXM,B200
  trainsim plan scenario.yaml --vary "cluster.network.nicBandwidth=100 Gb/s,200 Gb/s,400 Gb/s"
`;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function progressPrinter(): (p: PlanProgress) => void {
  const tty = process.stderr.isTTY === true;
  let started = performance.now();
  let lastDecile = -1;
  return (p) => {
    // A new search (--scale runs one per GPU count) starts its clock again.
    if (p.stage === "filter" && p.done === 0) {
      started = performance.now();
      lastDecile = -1;
    }
    const seconds = (performance.now() - started) / 1000;
    if (p.stage === "filter") {
      if (p.done === p.total) printError(`${tty ? "\r\x1b[K" : ""}checked ${p.total} layouts for divisibility and memory in ${formatDuration(seconds)}\n`);
      else if (tty) printError(`\rchecking layouts: ${p.done}/${p.total}\x1b[K`);
      return;
    }
    const rate = p.done / Math.max(seconds, 1e-9);
    const eta = p.done > 0 && p.total > p.done ? `, ETA ${formatDuration((p.total - p.done) / rate)} (the bound may stop it sooner)` : "";
    const text = `simulated ${p.done} of at most ${p.total} layouts${eta}`;
    if (tty) printError(`\r${text}\x1b[K${p.done === p.total ? "\n" : ""}`);
    else {
      const decile = Math.floor((10 * p.done) / Math.max(1, p.total));
      if (decile > lastDecile || p.done === p.total) {
        lastDecile = decile;
        printError(`${text}\n`);
      }
    }
  };
}

export function registerPlanCommand(program: Command): void {
  program
    .command("plan")
    .description("Search the parallel layouts of a scenario's model on its cluster; rank them by simulated throughput (or energy or cost per token, or goodput), say what bounds each and why the best wins.")
    .argument("<scenario>", "scenario file (.yaml, .yml or .json); its parallelism: is optional and, when given, the baseline to beat")
    .option("--objective <name>", "tokens-per-second (default), energy-per-token, cost-per-token (cluster.power.pricePerGpuHour and pricePerKWh) or goodput (reliability:, Young/Daly checkpoints per layout)")
    .option("--top <n>", "layouts to rank and show (default 10)")
    .option("--tp <list>", "tensor-parallel degrees to try, e.g. 1,2,4,8 (default: powers of two up to the GPUs per node)")
    .option("--pp <list>", "pipeline stages to try (default: every divisor of the GPUs left, up to the layers)")
    .option("--max-pp <n>", "at most this many pipeline stages")
    .option("--fix <key=value>", "fix a parallelism key, e.g. parallelism.cp=1 (repeatable): a searched key is narrowed to the value, any other is set on every layout", collect)
    .option("--memory-headroom <share>", "leave this share of each GPU's memory free in every searched layout, e.g. 10% (allocator fragmentation, NCCL and CUDA context; default 0: up to the memory model's peak)")
    .option("--workers <n>", `worker threads (default: the cores available, ${availableParallelism()} here)`)
    .option("--json", "print the plan as one JSON object (fields: docs/plan.md)")
    .option("--out <dir>", "folder for plan.json and the report (default: out/<scenario file name>-plan)")
    .option("--no-report", "do not write plan.json and the report")
    .option("--write <file>", "write the best layout as a runnable scenario (YAML)")
    .option("--scale <gpus>", "search at each of these GPU counts (the scenario's cluster with more or fewer nodes), e.g. 1024,2048,4096: the best layout and its bottleneck at each")
    .option("--vary <key=values>", "search at each value of one cluster key, e.g. cluster.gpu=H100-SXM,B200 or cluster.network.oversubscription=1,2,4: the best layout and its bottleneck at each")
    .addHelpText("after", HELP)
    .action(async (file: string, opts: PlanFlags) => {
      if (isClusterFile(file)) throw new PlanInputError("<scenario>", file, "is a file of jobs (a cluster workload); expected a scenario with one job");
      const objective = opts.objective === undefined ? undefined : parseObjective(opts.objective);
      const top = opts.top === undefined ? 10 : parsePositiveInt("--top", opts.top);
      const workers = opts.workers === undefined ? availableParallelism() : parsePositiveInt("--workers", opts.workers);
      const limits = {
        ...(opts.tp !== undefined ? { tp: parseIntList("--tp", opts.tp) } : {}),
        ...(opts.pp !== undefined ? { pp: parseIntList("--pp", opts.pp) } : {}),
        ...(opts.maxPp !== undefined ? { maxPp: parsePositiveInt("--max-pp", opts.maxPp) } : {}),
      };
      const fixes = parseFixes(opts.fix ?? [], limits);
      const memoryHeadroom = opts.memoryHeadroom === undefined ? undefined : parseHeadroom(opts.memoryHeadroom);
      // Prices (cost-per-token) or reliability: (goodput) missing: refused before anything is written.
      if (objective !== undefined) checkObjectiveInputs(loadScenario(file), objective);
      // Everything that will be written is checked before the search.
      const stem = basename(file, extname(file));
      const out = opts.report ? outputFolder(opts.out, `${stem}-plan`, file) : undefined;
      if (opts.write !== undefined) checkedFile("--write", opts.write);
      const scale = opts.scale === undefined ? undefined : parseIntList("--scale", opts.scale);
      // Whole nodes only, checked before the output folder is taken.
      if (scale !== undefined) scaleNodes(scale, loadScenario(file).cluster.gpusPerNode, opts.scale as string);
      if (scale !== undefined && opts.write !== undefined) throw new PlanInputError("--write", opts.write, "is not allowed with --scale (one best layout per GPU count); expected one of them");
      const vary = opts.vary === undefined ? undefined : parseVary(opts.vary);
      if (vary !== undefined && scale !== undefined) throw new PlanInputError("--vary", opts.vary, "is not allowed with --scale; expected one of them (run one plan per GPU count)");
      // Every point loads (a bad value is a ConfigError naming the key), checked before the output folder is taken.
      if (vary !== undefined) checkVary(file, vary);
      if (vary !== undefined && opts.write !== undefined) throw new PlanInputError("--write", opts.write, "is not allowed with --vary (one best layout per value); expected one of them");
      if (out !== undefined) lockOutputFolder(out, { option: opts.out !== undefined ? "--out" : "output folder" });
      const searchOptions = {
        ...(objective !== undefined ? { objective } : {}),
        top,
        limits: fixes.limits,
        ...(fixes.dp !== undefined ? { dp: fixes.dp } : {}),
        overrides: fixes.overrides,
        ...(memoryHeadroom !== undefined ? { memoryHeadroom } : {}),
        workers,
        onProgress: progressPrinter(),
      };
      if (scale !== undefined || vary !== undefined) {
        const points = vary !== undefined ? await planVary(file, vary, searchOptions, (v) => printError(`${vary.key} = ${v}:\n`)) : await planScale(file, scale as number[], opts.scale as string, searchOptions, (gpus) => printError(`${gpus} GPUs:\n`));
        const each = (p: (typeof points)[number]) => ({ counts: p.plan.counts, ...(p.plan.ranking[0] !== undefined ? { best: planJson(p.plan, 1).top } : {}), why: p.plan.why });
        const body = {
          scenario: points[0]?.plan.scenario,
          objective: objective ?? "tokens-per-second",
          ...(vary !== undefined
            ? { vary: { key: vary.key, points: points.map((p, i) => ({ value: vary.values[i]?.value, gpus: p.gpus, ...each(p) })) } }
            : { scale: points.map((p) => ({ gpus: p.gpus, ...each(p) })) }),
        };
        const axis = vary !== undefined ? { title: vary.key, change: `as ${vary.key} changes`, point: `value of ${vary.key}` } : GPU_AXIS;
        let report: Awaited<ReturnType<typeof drawReport>> = {};
        if (out !== undefined) {
          mkdirSync(out, { recursive: true });
          const planFile = join(out, "plan.json");
          writeAtomically(planFile, json(body));
          report = await drawReport(`the plan is in ${planFile}`, undefined, async () => {
            await buildPlanScaleReport(out, points[0]?.plan.scenario ?? stem, body.objective, points.map((p) => ({ gpus: p.gpus, ...(vary !== undefined ? { label: p.label } : {}), ...(p.plan.ranking[0] !== undefined ? { best: p.plan.ranking[0] } : {}) })), axis);
            return join(out, "report.html");
          });
        }
        if (opts.json) process.stdout.write(json(withReport(body, report.file)));
        else printText(withReportLine(formatScale(points, vary?.key ?? "GPUs"), report.file));
        if (report.error !== undefined) throw report.error;
        return;
      }
      const result = await planScenario(file, searchOptions);
      if (result.ranking.length === 0) {
        throw new PlanInputError("<scenario>", file, `no layout could be simulated (${result.counts.considered} considered: ${result.counts.divisibility} refused by divisibility, ${result.counts.memory} by memory, ${result.counts.loader} by the loader, ${result.counts.failed} failed); widen the search (--tp, --max-pp, --fix) or the cluster`);
      }
      if (opts.write !== undefined) writeAtomically(opts.write, bestScenarioYaml(result));
      const body = planJson(result, top);
      let report: Awaited<ReturnType<typeof drawReport>> = {};
      if (out !== undefined) {
        const planFile = join(out, "plan.json");
        mkdirSync(out, { recursive: true });
        writeAtomically(planFile, json(body));
        report = await drawReport(`the plan is in ${planFile}`, undefined, async () => {
          await buildPlanReport(out, { scenario: result.scenario, objective: result.objective, points: result.ranking, top, why: result.why, counts: { ...result.counts } });
          return join(out, "report.html");
        });
      }
      if (opts.json) process.stdout.write(json(withReport(body, report.file)));
      else printText(withReportLine(formatPlan(result, top) + (opts.write !== undefined ? `\nwritten: ${opts.write}` : ""), report.file));
      if (report.error !== undefined) throw report.error;
    });
}
