/**
 * Reading a YAML or JSON config file into plain data, with errors a user can act on
 * (which file, which line). Scenarios, experiments and cluster files all read through here.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";

export const CONFIG_EXTENSIONS = [".yaml", ".yml", ".json"];

/** The largest input file read (scenario, base, experiment, cluster file, HuggingFace config.json, trace CSV): 16 MiB. */
export const MAX_INPUT_FILE_BYTES = 16 * 2 ** 20;

function notRegular(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return "it is a folder";
  if (st.isFIFO()) return "it is a named pipe (FIFO)";
  if (st.isSocket()) return "it is a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "it is a device";
  return "it is not a regular file";
}

/**
 * The text of a regular file of at most `limit` bytes, or why not. Stats before opening, so
 * a FIFO or a device is never opened (a FIFO's open would wait for a writer; /dev/zero never
 * ends); opens non-blocking and checks again on the descriptor, in case the path changed.
 */
export function readInputFile(absolute: string, limit = MAX_INPUT_FILE_BYTES): { text: string } | { error: string } {
  const allowed = `expected a regular file of at most ${limit / 2 ** 20} MiB`;
  const refuse = (st: Stats): string | undefined => {
    const kind = notRegular(st);
    if (kind !== undefined) return `${kind}; ${allowed}`;
    if (st.size > limit) return `it holds ${st.size} bytes (${(st.size / 2 ** 20).toFixed(1)} MiB); ${allowed}`;
    return undefined;
  };
  let fd: number | undefined;
  try {
    const early = refuse(statSync(absolute));
    if (early !== undefined) return { error: early };
    fd = openSync(absolute, constants.O_RDONLY | constants.O_NONBLOCK);
    const late = refuse(fstatSync(fd));
    if (late !== undefined) return { error: late };
    // At most limit + 1 bytes, whatever the size said (files in /proc report 0).
    let chunk = Buffer.alloc(Math.min(limit + 1, Math.max(fstatSync(fd).size + 1, 65536)));
    let used = 0;
    for (;;) {
      if (used === chunk.length) {
        if (chunk.length > limit) return { error: `it holds more than ${limit} bytes; ${allowed}` };
        const bigger = Buffer.alloc(Math.min(limit + 1, chunk.length * 2));
        chunk.copy(bigger, 0, 0, used);
        chunk = bigger;
      }
      const n = readSync(fd, chunk, used, chunk.length - used, null);
      if (n === 0) break;
      used += n;
    }
    if (used > limit) return { error: `it holds more than ${limit} bytes; ${allowed}` };
    return { text: chunk.toString("utf8", 0, used) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

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
  const read = readInputFile(absolute);
  if ("error" in read) return { stage: "read", error: `cannot read ${JSON.stringify(shown)}: ${read.error}` };
  let text = read.text;
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
