/**
 * Where results may go: the one rule for a name that becomes a folder (out/<name>) and the
 * check of an output folder before anything is simulated. Used by run, cluster, sweep and
 * the experiment loader, so a name refused in one place is refused everywhere.
 */
import { accessSync, constants, statSync, statfsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";

/** statfs magic numbers of kernel file systems that take no results (mkdir there can spin in Node). */
const KERNEL_FILE_SYSTEMS = new Map([
  [0x9fa0, "/proc"],
  [0x62656572, "/sys"],
]);

/** Most file systems refuse a path component longer than 255 bytes. */
const MAX_NAME_BYTES = 255;

export const FOLDER_NAME_ALLOWED = `a non-empty name without slashes, not "." or "..", at most ${MAX_NAME_BYTES} bytes (it names the output folder out/<name>)`;

/** Why `name` cannot name a folder under out/, or undefined when it can. */
export function folderNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name.trim() === "") return "it is empty or not a string";
  if (/[/\\]/.test(name)) return "it holds a slash";
  if (name === "." || name === "..") return "it names the current or parent folder";
  if (name.includes("\0")) return "it holds a NUL character";
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) return `it is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/**
 * Why results cannot be written to `dir`, or undefined when they can: it must be a folder we
 * may write in, or not exist yet under a folder we may write in. Creates nothing.
 */
export function outputFolderProblem(dir: string): string | undefined {
  if (dir === "" || dir.includes("\0")) return "it is empty or holds a NUL character";
  const full = resolve(dir);
  if (Buffer.byteLength(basename(full), "utf8") > MAX_NAME_BYTES) return `its last part is longer than ${MAX_NAME_BYTES} bytes`;
  // The deepest part that exists decides: a folder we can write in, or a file in the way.
  let existing = full;
  for (;;) {
    let kind: "dir" | "other" | "missing";
    try {
      kind = statSync(existing).isDirectory() ? "dir" : "other";
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") return `it cannot be reached (${code ?? String(e)})`;
      kind = "missing";
    }
    if (kind === "other") return existing === full ? "it is a file, not a folder" : `${existing} is a file, not a folder`;
    if (kind === "dir") break;
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const kernel = KERNEL_FILE_SYSTEMS.get(statfsSync(existing).type);
  if (kernel !== undefined) return `${existing} is on the kernel's ${kernel} file system, which holds no results`;
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    return existing === full ? "it is not writable" : `${existing} is not writable`;
  }
  return undefined;
}

/** Why a file (such as --trace) cannot be written at `file`, or undefined when it can. Creates nothing. */
export function outputFileProblem(file: string): string | undefined {
  if (file === "" || file.includes("\0")) return "it is empty or holds a NUL character";
  const full = resolve(file);
  try {
    if (statSync(full).isDirectory()) return "it is a folder, not a file";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") return `it cannot be reached (${code ?? String(e)})`;
  }
  const parent = dirname(full);
  try {
    if (!statSync(parent).isDirectory()) return `${parent} is not a folder`;
    accessSync(parent, constants.W_OK | constants.X_OK);
  } catch {
    return `its folder ${parent} does not exist or cannot be written`;
  }
  return undefined;
}
