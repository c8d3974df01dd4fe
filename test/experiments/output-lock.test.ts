// The output-folder lock in-process: who may take over a lock, and what is refused.
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { LOCK_FILE, OutputLockedError, lockOutputFolder } from "../../experiments/output-lock.ts";

const tmp = (): string => mkdtempSync(join(tmpdir(), "trainsim-lock-unit-"));
const holder = (o: Record<string, unknown>): string => JSON.stringify({ pid: 4242, hostname: hostname(), startedAt: "2026-01-01T00:00:00.000Z", command: "trainsim sweep x.yaml", ...o });

describe("lockOutputFolder", () => {
  it("writes PID, host and start time; release removes the lock and only the lock", () => {
    const dir = tmp();
    const lock = lockOutputFolder(dir, { notice: () => {} });
    const held = JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")) as { pid: number; hostname: string; startedAt: string };
    expect(held.pid).toBe(process.pid);
    expect(held.hostname).toBe(hostname());
    expect(Number.isNaN(Date.parse(held.startedAt))).toBe(false);
    // A second lock in this same process is refused too.
    expect(() => lockOutputFolder(dir)).toThrow(/this process already writes there/);
    writeFileSync(join(dir, "result.json"), "{}");
    lock.release();
    lock.release();
    expect(readdirSync(dir)).toEqual(["result.json"]);
  });

  it("a folder the lock created is removed again when nothing was written into it", () => {
    const parent = tmp();
    const lock = lockOutputFolder(join(parent, "a", "b"));
    expect(existsSync(join(parent, "a", "b", LOCK_FILE))).toBe(true);
    lock.release();
    expect(readdirSync(parent)).toEqual([]);
  });

  it("refuses a live holder on this host, naming the option, the folder and the PID", () => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), holder({}));
    let error: unknown;
    try {
      lockOutputFolder(dir, { option: "--report", isAlive: (pid) => pid === 4242 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutputLockedError);
    expect((error as OutputLockedError).problems[0]?.path).toBe("--report");
    expect((error as Error).message).toContain(`--report: ${JSON.stringify(dir)} is locked by another trainsim command: process 4242 on ${hostname()}`);
    expect(readFileSync(join(dir, LOCK_FILE), "utf8")).toBe(holder({}));
  });

  it("takes over a dead holder on this host, with a notice", () => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), holder({}));
    const notes: string[] = [];
    const lock = lockOutputFolder(dir, { notice: (l) => notes.push(l), isAlive: () => false });
    expect(notes).toEqual([expect.stringContaining(`taking over the lock left by process 4242 on ${hostname()}`)]);
    expect(readFileSync(join(dir, LOCK_FILE), "utf8")).toContain(`"pid": ${process.pid}`);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it("refuses a holder on another host (its PID cannot be checked), saying which file to remove if it has ended", () => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), holder({ hostname: "node017", slurmJobId: "77" }));
    expect(() => lockOutputFolder(dir, { isAlive: () => false, self: { slurmJobId: "78" } })).toThrow(new RegExp(`process 4242 on node017.*Slurm job 77.*remove ${join(dir, LOCK_FILE).replace(/[.]/g, "\\.")}`));
  });

  it("takes back the lock of an earlier run of the same Slurm job (a task requeued onto another node)", () => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), holder({ hostname: "node017", slurmJobId: "77" }));
    const notes: string[] = [];
    const lock = lockOutputFolder(dir, { notice: (l) => notes.push(l), self: { slurmJobId: "77" } });
    expect(notes.join("\n")).toMatch(/earlier run of this Slurm job \(77\) on node017/);
    lock.release();
  });

  it("shows the holder's text with control and bidi characters escaped (it is printed to a terminal)", () => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), holder({ command: "trainsim sweep \u001b]0;owned\u0007x\u202e.yaml" }));
    let message = "";
    try {
      lockOutputFolder(dir, { isAlive: () => true });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("(trainsim sweep \\u001b]0;owned\\u0007x\\u202e.yaml)");
    expect(message).not.toMatch(/[\u0000-\u0008\u001b\u202e]/);
  });

  it("refuses a lock file it cannot read as a lock, and leaves it", () => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), "not json");
    expect(() => lockOutputFolder(dir)).toThrow(/is there but is not a trainsim lock/);
    expect(readFileSync(join(dir, LOCK_FILE), "utf8")).toBe("not json");
  });
});
