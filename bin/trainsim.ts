/**
 * The `trainsim` command: parses flags and hands off to experiments/ and
 * models/; one module per command in bin/commands/. Exit codes: 0 done,
 * 1 the simulation failed (or, its results written, drawing the report did), 2 bad input.
 */
import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../experiments/errors.ts";
import { IncompleteMergeError } from "../experiments/merge.ts";
import { reportFromResults } from "../reports/from-results.ts";
import { InputError, ReportFailedError, printError, printText, type SweepHooks } from "./common.ts";
import { registerCalibrateCommand } from "./commands/calibrate.ts";
import { registerCatalogCommand } from "./commands/catalog.ts";
import { registerClusterCommands } from "./commands/cluster.ts";
import { registerCollectiveCommand } from "./commands/collective.ts";
import { registerMergeCommand } from "./commands/merge.ts";
import { registerPlanCommand } from "./commands/plan.ts";
import { registerReportCommands } from "./commands/report.ts";
import { registerRunCommand } from "./commands/run.ts";
import { registerSchemaCommand } from "./commands/schema.ts";
import { registerSlurmCommands } from "./commands/slurm.ts";
import { registerSweepCommand, SweepFailedError } from "./commands/sweep.ts";
import { registerValidateCommand } from "./commands/validate.ts";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

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

// Commander's own messages (unknown option, missing argument) echo what was typed: escaped as ours are.
program.configureOutput({ writeOut: printText, writeErr: printError });

function fail(code: number, message: string): never {
  printError(message.endsWith("\n") ? message : message + "\n");
  process.exit(code);
}

registerRunCommand(program);
registerValidateCommand(program);
registerCatalogCommand(program);
registerSchemaCommand(program);
registerCollectiveCommand(program);
registerCalibrateCommand(program);
registerPlanCommand(program);
// A whole sweep or a merge ends with its report.
const sweepDone: SweepHooks = {
  onSweepDone: async (outDir) => {
    await reportFromResults(outDir);
    return join(outDir, "report.html");
  },
};
registerSweepCommand(program, sweepDone);
registerMergeCommand(program, sweepDone);
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
  if (err instanceof ReportFailedError) {
    if (process.env["TRAINSIM_DEBUG"] && err.cause instanceof Error) printError(`${err.cause.stack}\n`);
    fail(1, err.message);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (process.env["TRAINSIM_DEBUG"] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  fail(1, `trainsim: simulation failed: ${message}`);
}
