// Issue 24, "Two runs, one folder": a command that writes an output folder holds
// <out>/.trainsim.lock; a second writer is refused (exit 2, naming --out, the folder and the
// holder's PID) before it simulates or writes; a lock left by a dead process is taken over.
// No timing: the first sweep is frozen with SIGSTOP while it holds its lock.
import { describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { LOCK_FILE } from "../../experiments/output-lock.ts";
import { RESULTS_JSONL } from "../../experiments/runner.ts";

const ROOT = join(import.meta.dirname, "../..");
const SWEEP_CLI = join(ROOT, "test/fixtures/sweep-cli.ts");
const BIN = join(ROOT, "bin/trainsim.js");
const SLOW = join(ROOT, "test/fixtures/sweep/slow.yaml");
const GRID = join(ROOT, "test/fixtures/sweep/grid.yaml");
const MIXED = join(ROOT, "test/fixtures/sweep/mixed.yaml");
const SCENARIO = join(ROOT, "experiments/scenarios/llama3-8b-64.yaml");

const tmp = (): string => mkdtempSync(join(tmpdir(), "trainsim-lock-"));

function sweepCli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", SWEEP_CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function trainsim(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
}

/** Waits (polling, no deadline but the test's) until `file` exists. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

/** Starts a sweep in the background and freezes it (SIGSTOP) as soon as it holds its lock. */
async function frozenSweep(experiment: string, out: string, lockDir: string, ...extra: string[]): Promise<{ child: ChildProcess; exited: Promise<NodeJS.Signals | number | null> }> {
  const child = spawn(process.execPath, ["--import", "tsx", SWEEP_CLI, "sweep", experiment, "--out", out, "--workers", "1", ...extra], { cwd: ROOT, stdio: "ignore" });
  const exited = exitOf(child);
  await until(() => existsSync(join(lockDir, LOCK_FILE)) && readFileSync(join(lockDir, LOCK_FILE), "utf8").includes(`"pid": ${child.pid}`));
  child.kill("SIGSTOP");
  return { child, exited };
}

/** A PID that ran on this host and has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

function expectLocked(r: { code: number | null; stdout: string; stderr: string }, option: string, dir: string, pid: number): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain(`${option}:`);
  expect(r.stderr).toContain(JSON.stringify(dir));
  expect(r.stderr).toContain(`process ${pid} on ${hostname()}`);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toContain("points ->"); // refused before it starts, not after announcing the work
}

describe("one writer per output folder", () => {
  it("a second sweep on the same --out is refused while the first runs, whether the experiment differs or not; the first then finishes alone", async () => {
    const out = tmp();
    const reference = tmp();
    expect(sweepCli("sweep", SLOW, "--out", reference, "--workers", "1").code).toBe(0);
    const first = await frozenSweep(SLOW, out, out);
    const pid = first.child.pid as number;
    const before = readdirSync(out).sort();
    const jsonlBefore = existsSync(join(out, RESULTS_JSONL)) ? readFileSync(join(out, RESULTS_JSONL)) : undefined;
    try {
      expectLocked(sweepCli("sweep", GRID, "--out", out, "--workers", "1"), "--out", out, pid);
      expectLocked(sweepCli("sweep", SLOW, "--out", out, "--workers", "1"), "--out", out, pid);
      expectLocked(sweepCli("sweep", SLOW, "--out", out, "--workers", "1", "--resume"), "--out", out, pid);
      expectLocked(sweepCli("merge", out, "--out", out), "--out", out, pid);
      // Nothing written by the refused commands.
      expect(readdirSync(out).sort()).toEqual(before);
      expect(existsSync(join(out, RESULTS_JSONL)) ? readFileSync(join(out, RESULTS_JSONL)) : undefined).toEqual(jsonlBefore);
    } finally {
      first.child.kill("SIGCONT");
    }
    expect(await first.exited).toBe(0);
    // The first sweep's results are its own, whole, and its lock is gone.
    expect(readFileSync(join(out, RESULTS_JSONL), "utf8")).toBe(readFileSync(join(reference, RESULTS_JSONL), "utf8"));
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });

  it("the shards of one sweep (a Slurm array's tasks) share --out; two runs of one shard do not", async () => {
    const out = tmp();
    const shard0 = join(out, "shard-0-of-2");
    const first = await frozenSweep(SLOW, out, shard0, "--shard", "0/2");
    try {
      const other = sweepCli("sweep", SLOW, "--out", out, "--workers", "1", "--shard", "1/2");
      expect(other.code, other.stderr).toBe(0);
      expectLocked(sweepCli("sweep", SLOW, "--out", out, "--workers", "1", "--shard", "0/2"), "--out", shard0, first.child.pid as number);
    } finally {
      first.child.kill("SIGCONT");
    }
    expect(await first.exited).toBe(0);
    const merged = sweepCli("merge", out, "--out", out);
    expect(merged.code, merged.stderr).toBe(0);
    expect(readFileSync(join(out, RESULTS_JSONL), "utf8").trimEnd().split("\n")).toHaveLength(24);
    expect(readdirSync(out).filter((f) => f === LOCK_FILE)).toEqual([]);
  });

  it("a lock left by a dead process on this host is taken over with a notice", () => {
    const out = tmp();
    const pid = deadPid();
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid, hostname: hostname(), startedAt: "2026-01-01T00:00:00.000Z", command: "trainsim sweep" }));
    const r = sweepCli("sweep", MIXED, "--out", out, "--workers", "1");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`--out ${out}: taking over the lock left by process ${pid} on ${hostname()}`);
    expect(r.stderr).toContain(`process ${pid} on ${hostname()} has ended`);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    expect(readFileSync(join(out, RESULTS_JSONL), "utf8").trimEnd().split("\n")).toHaveLength(4);
  });

  it("run refuses a folder a live process holds, before simulating, and writes nothing", () => {
    const out = join(tmp(), "run");
    mkdirSync(out);
    const lock = JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: "2026-01-01T00:00:00.000Z", command: "vitest" });
    writeFileSync(join(out, LOCK_FILE), lock);
    expectLocked(trainsim("run", SCENARIO, "--out", out), "--out", out, process.pid);
    expect(readdirSync(out)).toEqual([LOCK_FILE]);
    expect(readFileSync(join(out, LOCK_FILE), "utf8")).toBe(lock);
  });

  it("cluster, report and validate --report refuse a held folder too, before simulating, and write nothing", () => {
    const out = tmp();
    const lock = JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: "2026-01-01T00:00:00.000Z", command: "vitest" });
    writeFileSync(join(out, LOCK_FILE), lock);
    expectLocked(trainsim("cluster", join(ROOT, "experiments/clusters/power-aware-admission.yaml"), "--out", out), "--out", out, process.pid);
    expectLocked(trainsim("report", out), "<results>", out, process.pid);
    expectLocked(trainsim("validate", "--only", "llama3", "--report", out), "--report", out, process.pid);
    expect(readdirSync(out)).toEqual([LOCK_FILE]);
  });

  it("SIGTERM and SIGINT release the lock", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const out = tmp();
      const { child, exited } = await frozenSweep(SLOW, out, out);
      child.kill(signal);
      child.kill("SIGCONT");
      expect(await exited).toBe(signal);
      expect(existsSync(join(out, LOCK_FILE)), signal).toBe(false);
    }
  });
});
