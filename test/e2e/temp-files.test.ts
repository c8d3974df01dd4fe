// Issue 24: temporary files have random names, are created exclusively (never through a
// planted link) and are removed when the write fails.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeAtomically } from "../../reports/atomic-write.ts";

const ROOT = join(import.meta.dirname, "../..");

describe("writeAtomically", () => {
  it("does not follow a link planted at the old predictable temporary name", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-tmp-"));
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "precious\n");
    const target = join(dir, "s.json");
    symlinkSync(victim, `${target}.tmp-${process.pid}`);
    writeAtomically(target, "{}\n");
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(readFileSync(target, "utf8")).toBe("{}\n");
    expect(readdirSync(dir).sort()).toEqual(["s.json", `s.json.tmp-${process.pid}`, "victim.txt"]);
  });

  it("removes its temporary file when the rename fails, and rethrows", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-tmp-"));
    mkdirSync(join(dir, "taken"));
    writeFileSync(join(dir, "taken", "x"), "");
    expect(() => writeAtomically(join(dir, "taken"), "text")).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir)).toEqual(["taken"]);
  });
});

describe("run --trace", () => {
  it("a folder is refused with exit 2 naming --trace, before simulating, leaving nothing behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-tmp-"));
    mkdirSync(join(dir, "t"));
    const r = spawnSync(process.execPath, [join(ROOT, "bin/trainsim.js"), "run", join(ROOT, "experiments/scenarios/llama3-8b-64.yaml"), "--trace", "t", "--no-report"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('--trace "t": it is a folder, not a file');
    expect(r.stdout).toBe("");
    expect(readdirSync(dir, { recursive: true })).toEqual(["t"]);
  });
});
