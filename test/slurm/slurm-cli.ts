/** A stand-in `trainsim` with the sweep, merge and slurm commands: `node --import tsx test/slurm/slurm-cli.ts slurm ...`. */
import { registerMergeCommand } from "../../bin/commands/merge.ts";
import { registerSlurmCommands } from "../../bin/commands/slurm.ts";
import { registerSweepCommand } from "../../bin/commands/sweep.ts";
import { runStandIn } from "../fixtures/stand-in-cli.ts";

await runStandIn((program) => {
  registerSweepCommand(program, {});
  registerMergeCommand(program, {});
  registerSlurmCommands(program);
});
