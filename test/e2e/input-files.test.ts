// Issue 24, "Huge or degenerate work", reading files: the scenario, its base: chain, an hf: config
// and a cluster trace are read only when they are regular files of at most 16 MiB. Anything else
// is refused at once (exit 2, naming the key and the limit), never opened if it could block.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");
const SCENARIO = readFileSync(join(ROOT, "experiments/scenarios/llama3-8b-64.yaml"), "utf8");
const LIMIT = "expected a regular file of at most 16 MiB";

function trainsim(cwd: string, ...args: string[]) {
  // The timeout only turns a hang into a failed assertion; nothing here is timed.
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectRefused(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain(what);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe("");
}

function folder(): string {
  const root = mkdtempSync(join(tmpdir(), "trainsim-files-"));
  writeFileSync(join(root, "s.yaml"), SCENARIO);
  spawnSync("mkfifo", [join(root, "fifo.yaml")]);
  spawnSync("mkfifo", [join(root, "fifo.json")]);
  symlinkSync("/dev/zero", join(root, "zero.yaml"));
  symlinkSync("/dev/zero", join(root, "zero.json"));
  mkdirSync(join(root, "dir.yaml"));
  // Sparse: 17 MiB on paper, nothing on disk.
  writeFileSync(join(root, "big.yaml"), "");
  truncateSync(join(root, "big.yaml"), 17 * 2 ** 20);
  return root;
}

describe("input files are regular files of at most 16 MiB", () => {
  const root = folder();
  const before = readdirSync(root).sort();
  const cases: [string, string, string][] = [
    ["the scenario is a FIFO", "fifo.yaml", '(file): cannot read "fifo.yaml": it is a named pipe (FIFO)'],
    ["the scenario is /dev/zero", "zero.yaml", '(file): cannot read "zero.yaml": it is a device'],
    ["the scenario is a folder", "dir.yaml", '(file): cannot read "dir.yaml": it is a folder'],
    ["the scenario is 17 MiB", "big.yaml", '(file): cannot read "big.yaml": it holds 17825792 bytes (17.0 MiB)'],
  ];
  for (const [what, file, message] of cases) {
    it(`run: ${what}`, () => {
      const r = trainsim(root, "run", file);
      expectRefused(r, message);
      expect(r.stderr).toContain(LIMIT);
    });
  }

  for (const target of ["zero.yaml", "fifo.yaml", "big.yaml"]) {
    it(`base: ${target} is refused naming base`, () => {
      writeFileSync(join(root, `child-${target}`), `base: ${target}\nname: child\n`);
      const r = trainsim(root, "run", `child-${target}`);
      expectRefused(r, `base: cannot read "${target}"`);
      expect(r.stderr).toContain(LIMIT);
    });
  }

  for (const target of ["zero.json", "fifo.json"]) {
    it(`workload.model.hf: ${target} is refused naming the key`, () => {
      writeFileSync(join(root, `hf-${target}.yaml`), SCENARIO.replace(/^  model: .*$/m, `  model: {hf: ${target}}`));
      const r = trainsim(root, "run", `hf-${target}.yaml`);
      expectRefused(r, `workload.model.hf: "${target}" cannot be read`);
      expect(r.stderr).toContain(LIMIT);
    });
  }

  it("sweep and cluster refuse a FIFO and /dev/zero the same way", () => {
    expectRefused(trainsim(root, "sweep", "fifo.yaml"), '(file): cannot read "fifo.yaml": it is a named pipe (FIFO)');
    expectRefused(trainsim(root, "cluster", "zero.yaml"), '(file): cannot read "zero.yaml": it is a device');
  });

  it("nothing was written", () => {
    const now = readdirSync(root).filter((n) => !n.startsWith("child-") && !n.startsWith("hf-")).sort();
    expect(now).toEqual(before);
  });
});
