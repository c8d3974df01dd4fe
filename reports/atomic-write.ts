/**
 * Write a file atomically: a temporary file beside it, renamed into place. The temporary
 * name is random and created exclusively (never through a link someone planted at a
 * predictable name), and removed when anything fails.
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";

export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${randomBytes(8).toString("hex")}`;
  const fd = openSync(tmp, "wx"); // O_CREAT | O_EXCL: fails on anything already there, links included
  try {
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}
