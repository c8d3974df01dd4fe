/**
 * The `trainsim` command: parses flags and hands off to experiments/. Thin on
 * purpose — everything it does is reachable from code too.
 */
import { Command } from "commander";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command();
program
  .name("trainsim")
  .description("Discrete-event simulator of GPU training clusters and their bottlenecks: compute, HBM, interconnect and power.")
  .version(pkg.version);

program.parse(process.argv);
if (process.argv.length <= 2) program.help();
