// run / sweep --uncertainty through the CLI: same seed, same bytes; bad values exit 2 with the
// field, the value and what is allowed; nothing changes without the flag.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");
const SMALL = join(ROOT, "test/fixtures/sweep/small-base.yaml");
const TMP = mkdtempSync(join(tmpdir(), "trainsim-uncertainty-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function trainsim(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("trainsim run --uncertainty", () => {
  it("prints the band and the sensitivity; --json twice gives the same bytes; without the flag, no uncertainty field", () => {
    const a = trainsim("run", SMALL, "--json", "--no-report", "--uncertainty", "10");
    const b = trainsim("run", SMALL, "--json", "--no-report", "--uncertainty", "10");
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const u = (JSON.parse(a.stdout) as { uncertainty: { samples: number; stepSeconds: { p5: number; p50: number; p95: number } } }).uncertainty;
    expect(u.samples).toBe(10);
    expect(u.stepSeconds.p5).toBeLessThanOrEqual(u.stepSeconds.p95);
    const plain = JSON.parse(trainsim("run", SMALL, "--json", "--no-report").stdout) as Record<string, unknown>;
    expect(plain).not.toHaveProperty("uncertainty");
    const text = trainsim("run", SMALL, "--no-report", "--uncertainty", "10");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^uncertainty {6}10 samples of \d+ calibrated constants/m);
    expect(text.stdout).toMatch(/^moves the step most/m);
  });

  it("the report draws the tornado chart", () => {
    const out = join(TMP, "run");
    const r = trainsim("run", SMALL, "--uncertainty", "10", "--out", out);
    expect(r.code).toBe(0);
    expect(existsSync(join(out, "tornado.svg"))).toBe(true);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("step time p5 / p50 / p95 (10 samples)");
  });

  it.each(["0", "9", "10.5", "abc", "100001"])("--uncertainty %s: exit 2, names the option and the allowed range, writes nothing", (v) => {
    const out = join(TMP, `bad-${v}`);
    const r = trainsim("run", SMALL, "--uncertainty", v, "--out", out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--uncertainty");
    expect(r.stderr).toContain("from 10 to 10000");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });
});
