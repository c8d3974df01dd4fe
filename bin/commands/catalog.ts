/** `trainsim catalog`: built-in accelerators, models, topologies and cluster presets. */
import type { Command } from "commander";
import { CATALOG_KINDS, catalogJson, catalogText } from "../../experiments/catalog.ts";
import { InputError, json, printText } from "../common.ts";

export function registerCatalogCommand(program: Command): void {
  program
    .command("catalog")
    .description("List built-in accelerators, models, topologies and cluster presets.")
    .argument("[what]", "accelerators | models | topologies | presets (default: all)")
    .option("--json", "print as JSON")
    .action((what: string | undefined, opts: { json?: boolean }) => {
      if (what !== undefined && !CATALOG_KINDS.includes(what)) throw new InputError(`catalog: ${JSON.stringify(what)} is not allowed; expected one of ${CATALOG_KINDS.join(", ")}`);
      const want = (k: string): boolean => what === undefined || what === k;
      if (opts.json) process.stdout.write(json(catalogJson(want)));
      else printText(catalogText(want));
    });
}
