/**
 * One writer per output folder: a lock file `<dir>/.trainsim.lock`, created exclusively,
 * holding who writes there (PID, host, start time, Slurm job). A second command on the same
 * folder is refused (exit 2, a ConfigError naming the option, the folder and the holder)
 * before it simulates or writes anything. The lock goes when its command ends: on exit, on an
 * error, on SIGINT/SIGTERM. A lock left by a process that died without cleaning up (SIGKILL,
 * a crash) is taken over with a notice, so an interrupted sweep still resumes.
 *
 * A lock guards the folder a command writes its files into; a sweep shard writes into its
 * own `<out>/shard-<i>-of-<n>/` and locks only that, so the tasks of one Slurm job array
 * share `<out>` without refusing each other, while two runs of the same shard still do.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { ConfigError } from "./errors.ts";

export const LOCK_FILE = ".trainsim.lock";

/** What a lock file holds (JSON). Not part of any result. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** When the holder took the lock (ISO 8601): for people reading the message, never in results. */
  startedAt: string;
  /** The holder's command line, shortened. */
  command: string;
  /** SLURM_JOB_ID of the holder when it ran under Slurm: a requeued task takes back its own lock. */
  slurmJobId?: string;
}

/** Another live process writes into the folder: exit 2 naming the option, the folder and the holder. */
export class OutputLockedError extends ConfigError {
  constructor(option: string, dir: string, detail: string) {
    super([{ path: option, value: dir, message: `${option}: ${detail}` }], "trainsim");
    this.name = "OutputLockedError";
  }
}

export interface OutputLock {
  /** The folder locked. */
  readonly dir: string;
  /** Removes the lock file (and the folder, when taking the lock created it and nothing else was written). Idempotent. */
  release(): void;
}

export interface LockOptions {
  /** The option that named the folder, for messages ("--out", "--report"). */
  option?: string;
  /** Where notices (a stale lock taken over) go; default process.stderr. */
  notice?: (line: string) => void;
  /** For tests: the identity written and compared (default: this process). */
  self?: Partial<LockHolder>;
  /** For tests: whether `pid` runs on this host (default: process.kill(pid, 0)). */
  isAlive?: (pid: number) => boolean;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Control characters, bidi controls and line separators as \u escapes: the holder's text is printed to a terminal. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function currentHolder(self: Partial<LockHolder> | undefined): LockHolder {
  const slurm = process.env["SLURM_JOB_ID"];
  const command = process.argv.slice(1).map((a) => relative(process.cwd(), a) || a).join(" ");
  return {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    command: command.length > 200 ? `${command.slice(0, 199)}…` : command,
    ...(slurm !== undefined && slurm !== "" ? { slurmJobId: slurm } : {}),
    ...self,
  };
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v === "object" && v !== null && Number.isSafeInteger(v.pid) && typeof v.hostname === "string") return v as LockHolder;
  } catch {
    // not a lock we wrote
  }
  return undefined;
}

/** Why `holder` no longer holds its lock (it is stale), or undefined when it may still be writing. */
function staleBecause(holder: LockHolder, self: LockHolder, isAlive: (pid: number) => boolean): string | undefined {
  if (holder.hostname === self.hostname) {
    if (holder.pid === self.pid) return `its PID ${holder.pid} is this process's own, so that process has ended`;
    if (!isAlive(holder.pid)) return `process ${holder.pid} on ${holder.hostname} has ended`;
    return undefined;
  }
  // Another host: its PIDs cannot be checked from here. A Slurm task requeued after its node
  // failed keeps its job id, so the lock of its own earlier run is stale.
  if (holder.slurmJobId !== undefined && holder.slurmJobId === self.slurmJobId) return `it was taken by an earlier run of this Slurm job (${holder.slurmJobId}) on ${holder.hostname}`;
  return undefined;
}

const held = new Set<OutputLock>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function releaseAll(): void {
  for (const lock of [...held]) lock.release();
}

function onSignal(signal: NodeJS.Signals): void {
  releaseAll();
  // End the way the signal would have without our handler (exit status 128 + n for the shell).
  process.kill(process.pid, signal);
}

function watchProcess(on: boolean): void {
  if (on) {
    process.on("exit", releaseAll);
    for (const s of SIGNALS) process.on(s, onSignal);
  } else {
    process.removeListener("exit", releaseAll);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  }
}

/** Writes `holder` to `file` only if no file is there: complete or not at all (a temporary file, then link(2), which fails if `file` exists). */
function createExclusively(file: string, text: string): boolean {
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o644);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw e;
    // A file system without hard links: O_EXCL creation, then the content.
    let direct: number;
    try {
      direct = openSync(file, "wx", 0o644);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e2;
    }
    try {
      writeSync(direct, text);
    } finally {
      closeSync(direct);
    }
    return true;
  } finally {
    unlinkSync(temp);
  }
}

/** Reads the lock file, or undefined when it has gone meanwhile. */
function readLock(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Moves a stale lock out of the way, if it is still the one judged stale: renaming is atomic,
 * so of two processes taking over at once one moves it and the other finds it gone; a fresh
 * lock moved by mistake (taken meanwhile by a third) is put back.
 */
function removeStale(file: string, staleText: string): void {
  const aside = `${file}.${randomBytes(6).toString("hex")}.stale`;
  try {
    renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (readFileSync(aside, "utf8") !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      // someone locked it again meanwhile: theirs stands
    }
  }
  unlinkSync(aside);
}

function describe(h: LockHolder): string {
  const text = (v: unknown): string => printable(String(v));
  return `process ${h.pid} on ${text(h.hostname)}${h.startedAt ? `, since ${text(h.startedAt)}` : ""}${h.slurmJobId ? `, Slurm job ${text(h.slurmJobId)}` : ""}${h.command ? ` (${text(h.command)})` : ""}`;
}

/**
 * Takes the lock of output folder `dir`, creating the folder if needed; throws
 * OutputLockedError when another live process holds it. Call after the input is known good
 * and before anything is simulated or written; release when done (it is also released on exit
 * and on SIGINT/SIGTERM/SIGHUP).
 */
export function lockOutputFolder(dir: string, options: LockOptions = {}): OutputLock {
  const option = options.option ?? "--out";
  const notice = options.notice ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const isAlive = options.isAlive ?? pidAlive;
  const full = resolve(dir);
  const self = currentHolder(options.self);
  const created = mkdirSync(full, { recursive: true });
  const file = join(full, LOCK_FILE);
  const text = JSON.stringify(self, null, 2) + "\n";
  const giveUp = (): void => {
    if (created !== undefined) removeCreated(full, created);
  };
  for (let attempt = 0; ; attempt++) {
    let ok: boolean;
    try {
      ok = createExclusively(file, text);
    } catch (e) {
      giveUp();
      throw e;
    }
    if (ok) break;
    const existing = readLock(file);
    if (existing === undefined) continue; // released meanwhile: try again
    const holder = parseHolder(existing);
    const ownedHere = [...held].some((l) => l.dir === full);
    const stale = holder === undefined || ownedHere ? undefined : staleBecause(holder, self, isAlive);
    if (stale === undefined || attempt >= 5) {
      giveUp();
      const who = ownedHere
        ? "this process already writes there"
        : holder === undefined
          ? `${printable(file)} is there but is not a trainsim lock (${printable(JSON.stringify(existing.slice(0, 80)))}); remove it if no trainsim command writes to ${printable(dir)}`
          : `${describe(holder)} is writing there${holder.hostname === self.hostname ? "" : `; its host differs, so whether it still runs cannot be checked from here: if it has ended (its node failed, say), remove ${printable(file)}`}`;
      throw new OutputLockedError(option, dir, `${printable(JSON.stringify(dir))} is locked by another trainsim command: ${who}. Wait for it to finish, or choose another ${option}`);
    }
    notice(`note: ${option} ${printable(dir)}: taking over the lock left by ${describe(holder as LockHolder)}: ${stale}`);
    removeStale(file, existing);
  }
  let released = false;
  const lock: OutputLock = {
    dir: full,
    release() {
      if (released) return;
      released = true;
      held.delete(lock);
      if (held.size === 0) watchProcess(false);
      // Only our own lock: never remove one another process took after a manual cleanup.
      if (readLock(file) === text) unlinkSync(file);
      if (created !== undefined) removeCreated(full, created);
    },
  };
  if (held.size === 0) watchProcess(true);
  held.add(lock);
  return lock;
}

/** Removes the folders from `dir` up to `top` (which mkdir created) that are still empty. */
function removeCreated(dir: string, top: string): void {
  for (let d = dir; ; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (results were written), or gone
    }
    if (d === resolve(top) || dirname(d) === d) return;
  }
}

/** Runs `work` holding the lock of `dir`; the lock is released however `work` ends. */
export async function withOutputLock<T>(dir: string, options: LockOptions, work: () => T | Promise<T>): Promise<T> {
  const lock = lockOutputFolder(dir, options);
  try {
    return await work();
  } finally {
    lock.release();
  }
}
