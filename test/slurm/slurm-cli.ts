/** A stand-in `trainsim` with the sweep, merge and slurm commands: `node --import tsx test/slurm/slurm-cli.ts slurm ...`. */
import { registerSlurmCommands } from "../../experiments/cli/slurm-commands.ts";
import { registerSweepCommands } from "../../experiments/cli/sweep-commands.ts";
import { runStandIn } from "../fixtures/stand-in-cli.ts";

await runStandIn((program) => {
  registerSweepCommands(program, {});
  registerSlurmCommands(program);
});
