/** `trainsim schema`: the JSON Schema of scenario files. */
import type { Command } from "commander";
import { scenarioJsonSchema } from "../../experiments/schema.ts";
import { writeAtomically } from "../../reports/atomic-write.ts";
import { checkedFile, json } from "../common.ts";

export function registerSchemaCommand(program: Command): void {
  program
    .command("schema")
    .description("Print the JSON Schema of scenario files (point your editor's YAML plugin at it for completion).")
    .option("--out <file>", "write it to a file instead")
    .action((opts: { out?: string }) => {
      if (opts.out !== undefined) checkedFile("--out", opts.out);
      const text = json(scenarioJsonSchema());
      if (opts.out !== undefined) writeAtomically(opts.out, text);
      else process.stdout.write(text);
    });
}
