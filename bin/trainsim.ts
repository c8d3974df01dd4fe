/**
 * The `trainsim` command: parses flags and hands off to experiments/ and
 * models/. Exit codes: 0 done, 1 the simulation failed, 2 bad input.
 */
import { Command, CommanderError } from "commander";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CATALOG } from "../models/hardware/catalog.ts";
import { CLUSTER_PRESETS } from "../experiments/presets.ts";
import { runScenario } from "../models/run.ts";
import { BUILTIN_MODELS } from "../models/workload/builtins.ts";
import { outOfMemory } from "../models/workload/memory.ts";
import { totalParams } from "../models/workload/params.ts";
import { ConfigError } from "../experiments/errors.ts";
import { formatRun, formatValidation } from "../experiments/format-run.ts";
import { loadScenario } from "../experiments/load.ts";
import { scenarioJsonSchema } from "../experiments/schema.ts";
import { TOPOLOGIES } from "../experiments/schema.ts";
import { parseCategories, selectCases, summarise, summariseByCategory, summariseMemory, validateCase, type ValidationRow } from "../experiments/validate.ts";
import { buildRunReport, buildValidationReport } from "../reports/build.ts";
import { registerReportCommands, reportFromResults } from "../reports/cli/report-commands.ts";
import { IncompleteMergeError, registerSweepCommands, SweepFailedError } from "../experiments/cli/sweep-commands.ts";
import { withReportLine } from "../experiments/cli/report-line.ts";
import { registerSlurmCommands } from "../experiments/cli/slurm-commands.ts";
import { isClusterFile, registerClusterCommands, runClusterCommand } from "../experiments/cli/cluster-commands.ts";
import { writeTrace } from "../reports/trace.ts";
import { parseQuantity } from "../experiments/units.ts";
import { buildTopology } from "../models/network/build.ts";
import { collectiveSizes, collectiveTable, formatCollectiveTable } from "../models/network/nccl-table.ts";
import type { CollectiveOp } from "../models/collectives/alpha-beta.ts";
import type { Algorithm } from "../models/network/collectives.ts";
import type { ClusterSpec, TopologyKind } from "../models/scenario.ts";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

/** Bad input: say what and where, exit 2, no stack trace. */
class InputError extends Error {}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

// A reader that stops early (`trainsim run … --json | head`) closes the pipe under the
// output still being written: that ends the command quietly, not with Node's stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const program = new Command();
program
  .name("trainsim")
  .description(
    // One string per paragraph: commander wraps them to the terminal's width.
    [
      "Discrete-event simulator of GPU training clusters and their bottlenecks: compute, HBM, interconnect and power.",
      "Give it a scenario (cluster + model + parallel plan, YAML or JSON) and it simulates one optimizer step on an event engine: " +
        "kernels share each GPU's SMs and HBM, collectives share NVLink and NICs, pipeline stages wait on each other. " +
        "It reports step time, throughput, MFU, memory per GPU, power, and where every second goes (compute, hbm, nvlink, network, bubble, ...).",
      "MFU counts model FLOPs as PaLM (Chowdhery et al. 2022) and Llama 3 do: 3 x the forward matrix FLOPs, " +
        "attention over the full s x s scores, divided by the dense peak of the training precision. HFU adds the FLOPs of recomputed activations.",
    ].join("\n\n"),
  )
  .version(pkg.version)
  .showHelpAfterError("(run trainsim --help for usage)")
  .exitOverride();

program
  .command("run")
  .description("Simulate a scenario, print what bounds its training step, and draw its report.")
  .argument("<scenario>", "scenario file (.yaml, .yml or .json); see experiments/scenarios/ for examples")
  .option("--json", "print the result as one JSON object (the fields DESIGN.md's config contract names)")
  .option("--out <dir>", "folder for result.json and the report (default: out/<scenario name>)")
  .option("--no-report", "do not write result.json and the report (charts and report.html)")
  .option("--trace <file>", "also write a Chrome/Perfetto trace of the step (open it in ui.perfetto.dev)")
  .option("--ignore-memory", "simulate even if the plan does not fit in GPU memory (a warning is printed)")
  .option("--full", "simulate every GPU instead of one per pipeline stage: slower, exact stragglers (chosen by itself when cluster.stragglers names slow GPUs)")
  .option("--folded", "simulate one GPU per pipeline stage even when ranks differ (each stage then runs at its slowest GPU's pace)")
  .addHelpText(
    "after",
    "\nWrites <out>/result.json and <out>/report.html (with each chart as .vl.json, .svg and .png)\n" +
      "unless --no-report.\n\nExamples:\n  trainsim run experiments/scenarios/gpt3-175b-1024.yaml\n" +
      "  trainsim run experiments/scenarios/llama3-405b-16k.yaml --json --no-report\n" +
      "  trainsim run experiments/published/llama3/405b-54d.yaml          # 54 days with failures\n" +
      "  trainsim run experiments/clusters/power-aware-admission.yaml     # a file of jobs: as trainsim cluster\n",
  )
  .action(async (file: string, opts: { json?: boolean; out?: string; report: boolean; trace?: string; ignoreMemory?: boolean; full?: boolean; folded?: boolean }) => {
    // A file with jobs or a trace is a whole cluster's workload: run it as `trainsim cluster` would.
    if (isClusterFile(file)) return runClusterCommand(file, opts);
    if (opts.full && opts.folded) throw new InputError("--full and --folded: choose one (or neither: trainsim folds unless the scenario's GPUs differ)");
    const s = loadScenario(file);
    const oom = outOfMemory(s);
    if (oom !== null) {
      if (!opts.ignoreMemory) throw new InputError(`${file}: memory: ${oom}\n(run with --ignore-memory to simulate it anyway)`);
      process.stderr.write(`warning: ${oom}\n`);
    }
    const record = opts.report || opts.trace !== undefined;
    const { result, step } = runScenario(s, { record, mode: opts.full ? "full" : opts.folded ? "folded" : "auto" });
    if (opts.trace !== undefined) {
      writeTrace(opts.trace, {
        spans: step.spans,
        counters: result.power.series.map((p) => ({ name: "facility power (W)", time: p.time, value: p.watts })),
        processName: s.name,
      });
    }
    let reportFile: string | undefined;
    if (opts.report) {
      const out = opts.out ?? join("out", s.name);
      mkdirSync(out, { recursive: true });
      writeAtomically(join(out, "result.json"), json(result));
      await buildRunReport(out, { scenarioName: s.name, result, spans: step.spans });
      reportFile = join(out, "report.html");
    }
    // The report page is the summary's last line, as for a sweep; --json prints the result alone (= result.json).
    process.stdout.write(opts.json ? json(result) : withReportLine(formatRun(s, result), reportFile));
  });

program
  .command("validate")
  .description("Run the published training runs in experiments/published and compare with what their papers report.")
  .option("--json", "print one JSON object: {rows: [{name, metric, predicted, published, error, categories, ...}], summary, categories, memory}")
  .option("--only <text>", "only cases whose name contains this text")
  .option("--category <names>", "only cases in these categories (comma list, or repeat the option)", (v: string, all: string[]) => [...all, v], [] as string[])
  .option("--report <dir>", "also draw the validation chart (predicted vs published) and report.html into this folder")
  .action(async (opts: { json?: boolean; only?: string; category: string[]; report?: string }) => {
    const categories = parseCategories(opts.category);
    const rows: ValidationRow[] = [];
    for (const file of selectCases({ ...(opts.only !== undefined ? { only: opts.only } : {}), categories })) {
      const row = validateCase(file);
      rows.push(row);
      if (!opts.json) process.stderr.write(`  ${row.name}\n`);
    }
    if (rows.length === 0 && (opts.only !== undefined || categories.length > 0)) {
      throw new InputError(`${[opts.only !== undefined ? `--only ${JSON.stringify(opts.only)}` : "", categories.length > 0 ? `--category ${categories.join(",")}` : ""].filter((x) => x).join(" ")} matches no published case`);
    }
    const summary = summarise(rows);
    const byCategory = summariseByCategory(rows, categories);
    const memory = summariseMemory(rows);
    let reportFile: string | undefined;
    if (opts.report !== undefined) {
      await buildValidationReport(opts.report, rows);
      reportFile = join(opts.report, "report.html");
    }
    process.stdout.write(opts.json ? json({ rows, summary, categories: byCategory, memory }) : withReportLine(formatValidation(rows, summary, byCategory, memory), reportFile));
  });

program
  .command("catalog")
  .description("List built-in accelerators, models, topologies and cluster presets.")
  .argument("[what]", "accelerators | models | topologies | presets (default: all)")
  .option("--json", "print as JSON")
  .action((what: string | undefined, opts: { json?: boolean }) => {
    const kinds = ["accelerators", "models", "topologies", "presets"];
    if (what !== undefined && !kinds.includes(what)) throw new InputError(`catalog: ${JSON.stringify(what)} is not allowed; expected one of ${kinds.join(", ")}`);
    const want = (k: string): boolean => what === undefined || what === k;
    if (opts.json) {
      const out: Record<string, unknown> = {};
      if (want("accelerators")) out["accelerators"] = CATALOG;
      if (want("models")) out["models"] = BUILTIN_MODELS;
      if (want("topologies")) out["topologies"] = TOPOLOGIES;
      if (want("presets")) out["presets"] = CLUSTER_PRESETS;
      process.stdout.write(json(out));
      return;
    }
    const lines: string[] = [];
    if (want("accelerators")) {
      lines.push("accelerators (dense peak, HBM, scale-up per direction, NIC per GPU, TDP):");
      for (const a of Object.values(CATALOG)) {
        const bf16 = a.peakFlops.bf16 ?? a.peakFlops.fp16 ?? 0;
        lines.push(
          `  ${a.name.padEnd(10)} ${(bf16 / 1e12).toFixed(0).padStart(5)} TFLOP/s bf16  ${(a.hbmBytes / 2 ** 30).toFixed(0).padStart(4)} GiB  ${(a.hbmBandwidth / 1e12).toFixed(2)} TB/s  ` +
            `${(a.scaleUpBandwidth / 1e9).toFixed(0).padStart(4)} GB/s ${a.scaleUpKind}  ${((a.nicBandwidth * 8) / 1e9).toFixed(0).padStart(4)} Gb/s  ${a.tdpWatts} W`,
        );
      }
    }
    if (want("models")) {
      lines.push("models (layers × hidden, heads / KV heads, parameters):");
      for (const m of Object.values(BUILTIN_MODELS)) {
        lines.push(`  ${m.name.padEnd(13)} ${String(m.layers).padStart(3)} × ${String(m.hidden).padEnd(5)}  ${m.heads}/${m.kvHeads} heads  ${(totalParams(m) / 1e9).toFixed(1)}B${m.experts > 1 ? ` (${m.experts} experts, top-${m.topK})` : ""}`);
      }
    }
    if (want("topologies")) lines.push(`topologies: ${TOPOLOGIES.join(", ")}`);
    if (want("presets")) {
      lines.push("cluster presets (cluster: {preset: <name>, nodes: N}; the file's own keys override):");
      for (const [name, p] of Object.entries(CLUSTER_PRESETS)) lines.push(`  ${name.padEnd(18)} ${p.description}`);
    }
    process.stdout.write(lines.join("\n") + "\n");
  });

program
  .command("schema")
  .description("Print the JSON Schema of scenario files (point your editor's YAML plugin at it for completion).")
  .option("--out <file>", "write it to a file instead")
  .action((opts: { out?: string }) => {
    const text = json(scenarioJsonSchema());
    if (opts.out !== undefined) writeAtomically(opts.out, text);
    else process.stdout.write(text);
  });

/** nccl-tests sizes ("8", "128K", "1M", "8G": binary multiples) or trainsim quantities ("8 GiB"). */
function parseSize(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text.trim());
  if (m) return Math.round(Number(m[1]) * 1024 ** ["", "K", "M", "G", "T"].indexOf(m[2] as string));
  const q = parseQuantity(text, "bytes");
  if (typeof q === "number") return q;
  throw new InputError(`${flag}: ${JSON.stringify(text)} is not a size; use bytes like 8, 128K, 1M, 8G or "8 GiB"`);
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag}: ${JSON.stringify(text)} is not allowed; expected an integer >= 1`);
  return n;
}

const OPS: CollectiveOp[] = ["all-reduce", "all-gather", "reduce-scatter", "all-to-all", "broadcast", "send"];
const ALGORITHMS: Algorithm[] = ["auto", "ring", "tree", "nvls", "hierarchical", "direct"];

program
  .command("collective")
  .description("Simulate one collective over message sizes on a cluster's topology and print an nccl-tests-style table.")
  .option("--scenario <file>", "take the cluster (GPU, nodes, network) from this scenario file")
  .option("--gpu <name>", "accelerator from the catalog (without --scenario)", "H100-SXM")
  .option("--nodes <n>", "nodes (without --scenario)", "1")
  .option("--gpus-per-node <n>", "GPUs per node (without --scenario)", "8")
  .option("--topology <kind>", "rail-optimized | fat-tree | torus | nvl72 (without --scenario)", "rail-optimized")
  .option("--oversubscription <ratio>", "leaf downlink:uplink ratio (without --scenario)", "1")
  .option("--routing <mode>", "dmodk | ecmp (without --scenario)", "dmodk")
  .option("--op <op>", `collective: ${OPS.join(" | ")}`, "all-reduce")
  .option("--algorithm <alg>", `algorithm: ${ALGORITHMS.join(" | ")} (auto picks as NCCL would: NVLS inside an H100+ node, else ring)`, "auto")
  .option("--ranks <n>", "group size: the first n GPUs (default: all)")
  .option("-b, --min-bytes <size>", "smallest message (nccl-tests -b)", "8")
  .option("-e, --max-bytes <size>", "largest message (nccl-tests -e)", "8G")
  .option("-f, --factor <n>", "size multiplier between rows (nccl-tests -f)", "2")
  .option("--json", "print the rows as JSON")
  .addHelpText(
    "after",
    "\nbusbw follows nccl-tests: algbw = size / time, busbw = algbw × 2(n-1)/n for all-reduce, × (n-1)/n for\n" +
      "all-gather, reduce-scatter and all-to-all, so it compares with the hardware's link speed.\n\n" +
      "Examples:\n  trainsim collective --gpu A100-80GB                       # one DGX A100\n" +
      "  trainsim collective --gpu H100-SXM --nodes 16 --op all-gather\n" +
      "  trainsim collective --scenario experiments/scenarios/gpt3-175b-1024.yaml --ranks 64 -b 1M\n",
  )
  .action((opts: Record<string, string | boolean | undefined>) => {
    let cluster: ClusterSpec;
    if (typeof opts["scenario"] === "string") cluster = loadScenario(opts["scenario"]).cluster;
    else {
      const gpu = CATALOG[opts["gpu"] as string];
      if (gpu === undefined) throw new InputError(`--gpu: ${JSON.stringify(opts["gpu"])} is not a known accelerator; allowed: ${Object.keys(CATALOG).join(", ")}`);
      const topology = opts["topology"] as TopologyKind;
      if (!TOPOLOGIES.includes(topology)) throw new InputError(`--topology: ${JSON.stringify(topology)} is not allowed; expected one of ${TOPOLOGIES.join(", ")}`);
      const routing = opts["routing"] as "ecmp" | "dmodk";
      if (routing !== "ecmp" && routing !== "dmodk") throw new InputError(`--routing: ${JSON.stringify(routing)} is not allowed; expected ecmp or dmodk`);
      const over = Number(opts["oversubscription"]);
      if (!(over >= 1)) throw new InputError(`--oversubscription: ${JSON.stringify(opts["oversubscription"])} is not allowed; expected a number >= 1`);
      cluster = {
        gpu,
        nodes: positiveInt("--nodes", opts["nodes"] as string),
        gpusPerNode: positiveInt("--gpus-per-node", opts["gpusPerNode"] as string),
        network: { topology, nicBandwidth: gpu.nicBandwidth, oversubscription: over, routing },
        power: { pue: 1.2 },
      };
    }
    const op = opts["op"] as CollectiveOp;
    if (!OPS.includes(op)) throw new InputError(`--op: ${JSON.stringify(op)} is not allowed; expected one of ${OPS.join(", ")}`);
    const algorithm = opts["algorithm"] as Algorithm;
    if (!ALGORITHMS.includes(algorithm)) throw new InputError(`--algorithm: ${JSON.stringify(algorithm)} is not allowed; expected one of ${ALGORITHMS.join(", ")}`);
    const total = cluster.nodes * cluster.gpusPerNode;
    const n = opts["ranks"] === undefined ? total : positiveInt("--ranks", opts["ranks"] as string);
    if (n > total) throw new InputError(`--ranks: ${n} is more than the cluster's ${total} GPUs`);
    if (n < 2) throw new InputError("--ranks: a collective needs at least 2 ranks");
    const min = parseSize("--min-bytes", opts["minBytes"] as string);
    const max = parseSize("--max-bytes", opts["maxBytes"] as string);
    const factor = Number(opts["factor"]);
    if (!(factor > 1)) throw new InputError(`--factor: ${JSON.stringify(opts["factor"])} is not allowed; expected a number > 1`);
    if (!(min >= 1 && max >= min)) throw new InputError(`--min-bytes/--max-bytes: need 1 <= min <= max, got ${min} and ${max}`);
    const topo = buildTopology(cluster);
    const ranks = Array.from({ length: n }, (_, i) => i);
    let rows;
    try {
      rows = collectiveTable(topo, op, ranks, collectiveSizes(min, max, factor), algorithm);
    } catch (err) {
      throw new InputError(`--algorithm: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (opts["json"]) {
      process.stdout.write(json({ topology: topo.describe(), op, ranks: n, rows }));
      return;
    }
    const header = `${op} of ${n} ranks on ${topo.describe()}`;
    process.stdout.write(formatCollectiveTable(rows, header) + "\n");
  });

function fail(code: number, message: string): never {
  process.stderr.write(message.endsWith("\n") ? message : message + "\n");
  process.exit(code);
}

registerSweepCommands(program, {
  onSweepDone: async (outDir) => {
    await reportFromResults(outDir);
    return join(outDir, "report.html");
  },
});
registerSlurmCommands(program);
registerClusterCommands(program);
registerReportCommands(program);

try {
  if (process.argv.length <= 2) {
    program.outputHelp();
    process.exit(0);
  }
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with code 0.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof ConfigError) fail(2, err.message);
  if (err instanceof InputError) fail(2, err.message);
  if (err instanceof IncompleteMergeError || err instanceof SweepFailedError) fail(1, err.message);
  const message = err instanceof Error ? err.message : String(err);
  if (process.env["TRAINSIM_DEBUG"] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  fail(1, `trainsim: simulation failed: ${message}`);
}
