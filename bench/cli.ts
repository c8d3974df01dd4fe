/**
 * CLI start-up as a user meets it: whole `trainsim` processes, from exec to exit.
 * `--version` is the floor every command pays (Node, and the CLI's modules from their
 * cached bundle, experiments/bundle.js; measured after the bundle is built);
 * `run --json --no-report` adds loading and simulating one small scenario.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { measure, type BenchResult } from "./harness.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin/trainsim.js");

function timeProcess(name: string, args: string[]): BenchResult {
  return measure(name, () => {
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, count: 1, unit: "runs" };
  });
}

export function cliStartup(): BenchResult[] {
  return [
    timeProcess("cli: trainsim --version (start-up)", ["--version"]),
    timeProcess("cli: trainsim run llama3-8b-64 --json --no-report", ["run", "experiments/scenarios/llama3-8b-64.yaml", "--json", "--no-report"]),
  ];
}
