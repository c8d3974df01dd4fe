// Issue 24, "Writes outside the output folder": a config's name never leaves out/, and a bad
// --out is refused (exit 2, naming it) before anything is simulated or written.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");
const SCENARIO = join(ROOT, "experiments/scenarios/llama3-8b-64.yaml");
const CLUSTER = join(ROOT, "experiments/clusters/power-aware-admission.yaml");
const ALLOWED = 'expected a non-empty name without slashes, not "." or "..", at most 255 bytes';

function trainsim(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file and folder under dir, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((p) => relative(dir, join(dir, p))).sort();
}

/** A temporary root with the config at root/a/b/<file>, named `name`; the CLI runs in root/a/b. */
function configNamed(source: string, name: string, file: string): { root: string; cwd: string } {
  const root = mkdtempSync(join(tmpdir(), "trainsim-paths-"));
  const cwd = join(root, "a", "b");
  mkdirSync(cwd, { recursive: true });
  writeFileSync(join(cwd, file), readFileSync(source, "utf8").replace(/^name: .*$/m, `name: ${JSON.stringify(name)}`));
  return { root, cwd };
}

function expectRefused(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain(what);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stdout).toBe("");
}

describe("a config's name never writes outside out/", () => {
  for (const name of ["../../escaped", "..", ".", "a/b", "a\\b"]) {
    it(`run refuses name ${JSON.stringify(name)} and writes nothing`, () => {
      const { root, cwd } = configNamed(SCENARIO, name, "s.yaml");
      const r = trainsim(cwd, "run", "s.yaml");
      expectRefused(r, `s.yaml: name: ${JSON.stringify(name)} is not allowed`);
      expect(r.stderr).toContain(ALLOWED);
      expect(tree(root)).toEqual(["a", "a/b", "a/b/s.yaml"]);
    });
  }

  it("cluster (and run given a cluster file) refuse name \"../../escaped\" and write nothing", () => {
    const { root, cwd } = configNamed(CLUSTER, "../../escaped", "c.yaml");
    for (const command of ["cluster", "run"]) {
      const r = trainsim(cwd, command, "c.yaml");
      expectRefused(r, 'c.yaml: name: "../../escaped" is not allowed (it holds a slash)');
      expect(tree(root)).toEqual(["a", "a/b", "a/b/c.yaml"]);
    }
  });

  it("a name of more than 255 bytes is refused before the file system would", () => {
    const { root, cwd } = configNamed(SCENARIO, "x".repeat(256), "s.yaml");
    expectRefused(trainsim(cwd, "run", "s.yaml"), "it is longer than 255 bytes");
    expect(tree(root)).toEqual(["a", "a/b", "a/b/s.yaml"]);
  });

  it("with --out the name is only a label, and results go to --out", () => {
    const { cwd } = configNamed(SCENARIO, "../label", "s.yaml");
    const r = trainsim(cwd, "run", "s.yaml", "--out", "res", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(tree(join(cwd, "res"))).toContain("result.json");
  });
});

describe("run --out is checked before simulating", () => {
  it("an existing file: exit 2 naming --out, the file untouched", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-paths-"));
    writeFileSync(join(root, "f"), "keep\n");
    const r = trainsim(root, "run", SCENARIO, "--out", "f");
    expectRefused(r, '--out "f": it is a file, not a folder; expected a folder that exists or can be created, and can be written');
    expect(readFileSync(join(root, "f"), "utf8")).toBe("keep\n");
    expect(tree(root)).toEqual(["f"]);
  });

  it("a folder under a file: exit 2 naming the file in the way", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-paths-"));
    writeFileSync(join(root, "f"), "keep\n");
    expectRefused(trainsim(root, "run", SCENARIO, "--out", "f/x/y"), `--out "f/x/y": ${join(root, "f")} is a file, not a folder`);
    expect(tree(root)).toEqual(["f"]);
  });

  it("a last part longer than 255 bytes, and /proc (where mkdir never returned): exit 2", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-paths-"));
    expectRefused(trainsim(root, "run", SCENARIO, "--out", "y".repeat(300)), "its last part is longer than 255 bytes");
    expectRefused(trainsim(root, "run", SCENARIO, "--out", "/proc/trainsim-x"), '--out "/proc/trainsim-x": /proc is on the kernel\'s /proc file system');
    expect(tree(root)).toEqual([]);
  });

  it("cluster --out an existing file: exit 2 naming --out", () => {
    const root = mkdtempSync(join(tmpdir(), "trainsim-paths-"));
    writeFileSync(join(root, "f"), "keep\n");
    expectRefused(trainsim(root, "cluster", CLUSTER, "--out", "f"), '--out "f": it is a file, not a folder');
    expect(readFileSync(join(root, "f"), "utf8")).toBe("keep\n");
  });
});

describe("an --out under a regular file cannot be created (as root, the one unwritable folder we can make)", () => {
  for (const [command, config] of [
    ["run", SCENARIO],
    ["cluster", CLUSTER],
  ] as const) {
    it(`${command} --out f/sub, f a file: exit 2 naming --out and the file, nothing written`, () => {
      const root = mkdtempSync(join(tmpdir(), "trainsim-paths-"));
      writeFileSync(join(root, "f"), "keep\n");
      expectRefused(trainsim(root, command, config, "--out", "f/sub"), `--out "f/sub": ${join(root, "f")} is a file, not a folder`);
      expect(readFileSync(join(root, "f"), "utf8")).toBe("keep\n");
      expect(tree(root)).toEqual(["f"]);
    });
  }
});

describe("every other output option is checked before any work", () => {
  const cases: [string, string[], string][] = [
    ["schema --out", ["schema", "--out", "f/s.json"], "f is not a folder"],
    ["sweep --out", ["sweep", join(ROOT, "test/fixtures/sweep/grid.yaml"), "--out", "f"], '--out "f": it is a file, not a folder'],
    ["merge --out", ["merge", "nowhere", "--out", "f"], '--out "f": it is a file, not a folder'],
    ["report --out", ["report", "nowhere", "--out", "f"], '--out "f": it is a file, not a folder'],
    ["validate --report", ["validate", "--only", "175b-selective", "--report", "f"], '--report "f": it is a file, not a folder'],
  ];
  for (const [what, args, message] of cases) {
    it(`${what} under or at an existing file: exit 2 naming it`, () => {
      const root = mkdtempSync(join(tmpdir(), "trainsim-paths-"));
      writeFileSync(join(root, "f"), "keep\n");
      expectRefused(trainsim(root, ...args), message);
      expect(readFileSync(join(root, "f"), "utf8")).toBe("keep\n");
      expect(tree(root)).toEqual(["f"]);
    });
  }
});
