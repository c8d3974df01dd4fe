/**
 * The `trainsim` command: parses flags and hands off to experiments/ and
 * models/. Exit codes: 0 done, 1 the simulation failed, 2 bad input.
 */
import { Command, CommanderError } from "commander";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CATALOG } from "../models/hardware/catalog.ts";
import { runScenario } from "../models/run.ts";
import { BUILTIN_MODELS } from "../models/workload/builtins.ts";
import { outOfMemory } from "../models/workload/memory.ts";
import { totalParams } from "../models/workload/params.ts";
import { ConfigError } from "../experiments/errors.ts";
import { formatRun, formatValidation } from "../experiments/format-run.ts";
import { loadScenario } from "../experiments/load.ts";
import { scenarioJsonSchema } from "../experiments/schema.ts";
import { TOPOLOGIES } from "../experiments/schema.ts";
import { publishedCaseFiles, summarise, validateCase, type ValidationRow } from "../experiments/validate.ts";

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

const program = new Command();
program
  .name("trainsim")
  .description(
    "Discrete-event simulator of GPU training clusters and their bottlenecks: compute, HBM, interconnect and power.\n\n" +
      "Give it a scenario (cluster + model + parallel plan, YAML or JSON) and it simulates one optimizer step\n" +
      "on an event engine: kernels share each GPU's SMs and HBM, collectives share NVLink and NICs, pipeline\n" +
      "stages wait on each other. It reports step time, throughput, MFU, memory per GPU, power, and where\n" +
      "every second goes (compute, hbm, nvlink, network, bubble, ...).\n\n" +
      "MFU counts model FLOPs as PaLM (Chowdhery et al. 2022) and Llama 3 do: 3 x the forward matrix FLOPs,\n" +
      "attention over the full s x s scores, divided by the dense peak of the training precision. HFU adds\n" +
      "the FLOPs of recomputed activations.",
  )
  .version(pkg.version)
  .showHelpAfterError("(run trainsim --help for usage)")
  .exitOverride();

program
  .command("run")
  .description("Simulate a scenario and print what bounds its training step.")
  .argument("<scenario>", "scenario file (.yaml, .yml or .json); see experiments/scenarios/ for examples")
  .option("--json", "print the result as one JSON object (the fields DESIGN.md's config contract names)")
  .option("--out <dir>", "also write result.json into this folder")
  .option("--ignore-memory", "simulate even if the plan does not fit in GPU memory (a warning is printed)")
  .addHelpText(
    "after",
    "\nExamples:\n  trainsim run experiments/scenarios/gpt3-175b-1024.yaml\n  trainsim run experiments/scenarios/llama3-405b-16k.yaml --json\n",
  )
  .action((file: string, opts: { json?: boolean; out?: string; ignoreMemory?: boolean }) => {
    const s = loadScenario(file);
    const oom = outOfMemory(s);
    if (oom !== null) {
      if (!opts.ignoreMemory) throw new InputError(`${file}: memory: ${oom}\n(run with --ignore-memory to simulate it anyway)`);
      process.stderr.write(`warning: ${oom}\n`);
    }
    const { result } = runScenario(s);
    if (opts.out !== undefined) {
      mkdirSync(opts.out, { recursive: true });
      writeAtomically(join(opts.out, "result.json"), json(result));
    }
    process.stdout.write(opts.json ? json(result) : formatRun(s, result) + "\n");
  });

program
  .command("validate")
  .description("Run the published training runs in experiments/published and compare with what their papers report.")
  .option("--json", "print one JSON object: {rows: [{name, metric, predicted, published, error, ...}], summary}")
  .option("--only <text>", "only cases whose name contains this text")
  .action((opts: { json?: boolean; only?: string }) => {
    const rows: ValidationRow[] = [];
    for (const file of publishedCaseFiles()) {
      if (opts.only !== undefined && !loadScenario(file).name.includes(opts.only)) continue;
      const row = validateCase(file);
      rows.push(row);
      if (!opts.json) process.stderr.write(`  ${row.name}\n`);
    }
    if (opts.only !== undefined && rows.length === 0) throw new InputError(`--only ${JSON.stringify(opts.only)} matches no published case`);
    const summary = summarise(rows);
    process.stdout.write(opts.json ? json({ rows, summary }) : formatValidation(rows, summary) + "\n");
  });

program
  .command("catalog")
  .description("List built-in accelerators, models and topologies.")
  .argument("[what]", "accelerators | models | topologies (default: all)")
  .option("--json", "print as JSON")
  .action((what: string | undefined, opts: { json?: boolean }) => {
    const kinds = ["accelerators", "models", "topologies"];
    if (what !== undefined && !kinds.includes(what)) throw new InputError(`catalog: ${JSON.stringify(what)} is not allowed; expected one of ${kinds.join(", ")}`);
    const want = (k: string): boolean => what === undefined || what === k;
    if (opts.json) {
      const out: Record<string, unknown> = {};
      if (want("accelerators")) out["accelerators"] = CATALOG;
      if (want("models")) out["models"] = BUILTIN_MODELS;
      if (want("topologies")) out["topologies"] = TOPOLOGIES;
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

function fail(code: number, message: string): never {
  process.stderr.write(message.endsWith("\n") ? message : message + "\n");
  process.exit(code);
}

try {
  if (process.argv.length <= 2) {
    program.outputHelp();
    process.exit(0);
  }
  program.parse(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with code 0.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof ConfigError) fail(2, err.message);
  if (err instanceof InputError) fail(2, err.message);
  const message = err instanceof Error ? err.message : String(err);
  if (process.env["TRAINSIM_DEBUG"] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  fail(1, `trainsim: simulation failed: ${message}`);
}
