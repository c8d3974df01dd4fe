/**
 * A stand-in `trainsim` with the sweep, merge and slurm commands, mapping errors to exit
 * codes as bin/trainsim.ts does (ConfigError 2, anything else 1), for tests that should not
 * depend on how bin/trainsim.ts wires the commands. Run it with
 * `node --import tsx test/slurm/slurm-cli.ts slurm ...`.
 */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../../experiments/errors.ts";
import { registerSlurmCommands } from "../../experiments/cli/slurm-commands.ts";
import { registerSweepCommands } from "../../experiments/cli/sweep-commands.ts";

const program = new Command();
program.name("trainsim").exitOverride();
registerSweepCommands(program, {});
registerSlurmCommands(program);

function fail(code: number, message: string): never {
  process.stderr.write(message.endsWith("\n") ? message : message + "\n");
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof ConfigError) fail(2, err.message);
  fail(1, `trainsim: ${err instanceof Error ? err.message : String(err)}`);
}
