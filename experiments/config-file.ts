/**
 * Reading a YAML or JSON config file into plain data, with errors a user can act on
 * (which file, which line). Scenarios, experiments and cluster files all read through here.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";

export const CONFIG_EXTENSIONS = [".yaml", ".yml", ".json"];

/** `stage` tells a file that could not be opened ("read") from one that did not parse ("syntax"). */
export type ConfigRead = { value: unknown } | { error: string; stage: "read" | "syntax" };

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position).split("\n");
  return `line ${before.length}, column ${(before[before.length - 1] ?? "").length + 1}`;
}

/** `shown` is how to name the file in messages. */
export function readConfigFile(absolute: string, shown: string): ConfigRead {
  const ext = extname(absolute).toLowerCase();
  if (!CONFIG_EXTENSIONS.includes(ext)) return { stage: "read", error: `${JSON.stringify(shown)} has an unsupported extension; use ${CONFIG_EXTENSIONS.join(", ")}` };
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (e) {
    return { stage: "read", error: `cannot read ${JSON.stringify(shown)}: ${e instanceof Error ? e.message : String(e)}` };
  }
  // A UTF-8 byte-order mark is not JSON, but editors write one; YAML already skips it.
  if (ext === ".json" && text.startsWith("\uFEFF")) text = text.slice(1);
  if (ext === ".json") {
    try {
      return { value: JSON.parse(text) as unknown };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const at = /position (\d+)/.exec(message);
      const where = at?.[1] !== undefined ? ` at ${lineAndColumn(text, Number(at[1]))}` : "";
      return { stage: "syntax", error: `JSON syntax error in ${shown}${where}: ${message}` };
    }
  }
  // logLevel "error": no Node warning on stderr for odd keys ({[a, b]: 1}); the schema refuses them as unknown keys.
  const doc = parseDocument(text, { prettyErrors: true, logLevel: "error" });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0];
    const where = line === undefined ? "" : ` at line ${line.line}, column ${line.col}`;
    const headline = (first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    return { stage: "syntax", error: `YAML syntax error in ${shown}${where}: ${headline}` };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: 1000 }) as unknown };
  } catch (e) {
    // e.g. an alias bomb: valid syntax, but not a document we should expand.
    return { stage: "syntax", error: `YAML in ${shown} cannot be expanded: ${e instanceof Error ? e.message : String(e)}` };
  }
}
