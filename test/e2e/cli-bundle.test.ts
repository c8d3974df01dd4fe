import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cliBundle, constantsKeptConst, projectDigest, readCached, sourceDigest } from "../../experiments/bundle.js";
import { sweepWorkerEntry, workerBundleName } from "../../experiments/sweep-worker-bundle.ts";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

function project(): string {
  const root = mkdtempSync(join(tmpdir(), "trainsim-digest-"));
  writeFileSync(join(root, "tsconfig.json"), "{}\n");
  for (const dir of ["bin", "sim", "models", "experiments", "reports"]) mkdirSync(join(root, dir));
  writeFileSync(join(root, "sim", "queue.ts"), "export const a = 1;\n");
  mkdirSync(join(root, "models", "power"));
  writeFileSync(join(root, "models", "power", "swing.ts"), "export const b = 2;\n");
  return root;
}

describe("the CLI's bundle (experiments/bundle.js)", () => {
  it("is rebuilt when a TypeScript source, tsconfig or esbuild changes, and only then", () => {
    const root = project();
    const d0 = sourceDigest(root, "0.28.2");
    expect(d0).toMatch(/^[0-9a-f]{16}$/);
    expect(sourceDigest(root, "0.28.2")).toBe(d0);
    const file = join(root, "models", "power", "swing.ts");
    writeFileSync(file, "export const b = 3;\n");
    const d1 = sourceDigest(root, "0.28.2");
    expect(d1).not.toBe(d0);
    // Contents, not times: the old text gives the old digest back.
    writeFileSync(file, "export const b = 2;\n");
    expect(sourceDigest(root, "0.28.2")).toBe(d0);
    // Data files are read at run time, not bundled.
    writeFileSync(join(root, "experiments", "default.yaml"), "name: x\n");
    expect(sourceDigest(root, "0.28.2")).toBe(d0);
    // JavaScript is bundled too (experiments/bundle.js itself).
    writeFileSync(join(root, "bin", "boot.js"), "export {};\n");
    expect(sourceDigest(root, "0.28.2")).not.toBe(d0);
    rmSync(join(root, "bin", "boot.js"));
    expect(sourceDigest(root, "0.28.2")).toBe(d0);
    renameSync(file, join(root, "models", "power", "swing2.ts"));
    expect(sourceDigest(root, "0.28.2")).not.toBe(d0);
    renameSync(join(root, "models", "power", "swing2.ts"), file);
    expect(sourceDigest(root, "0.28.3")).not.toBe(d0);
    writeFileSync(join(root, "tsconfig.json"), '{"compilerOptions": {}}\n');
    expect(sourceDigest(root, "0.28.2")).not.toBe(d0);
    // The same sources at another path: the bundle has its files' paths written in, so another digest.
    const copy = project();
    writeFileSync(join(copy, "tsconfig.json"), '{"compilerOptions": {}}\n');
    expect(sourceDigest(copy, "0.28.2")).not.toBe(sourceDigest(root, "0.28.2"));
  });

  it("is kept in node_modules/.cache/trainsim under the digest of the sources, and every module keeps its own import.meta.url", async () => {
    const a = await cliBundle();
    expect(a.reason).toBe("");
    expect(a.url).not.toBeNull();
    const path = fileURLToPath(a.url as string);
    const esbuild = (JSON.parse(readFileSync(join(ROOT, "node_modules/esbuild/package.json"), "utf8")) as { version: string }).version;
    expect(dirname(path)).toBe(join(ROOT, "node_modules/.cache/trainsim"));
    expect(basename(path)).toBe(`cli-${sourceDigest(ROOT, esbuild)}.mjs`);
    expect((await cliBundle()).url).toBe(a.url);
    const code = readFileSync(path, "utf8");
    // In a bundle every module would share the bundle's URL and look for its files in the cache.
    expect(code).not.toContain("import.meta.url");
    expect(code).toContain(JSON.stringify(new URL("../../experiments/validate.ts", import.meta.url).href));
  });

  it("keeps the sweep worker's bundle beside it, under the digest of the sources and of package-lock.json", async () => {
    const name = workerBundleName();
    expect(name).toMatch(new RegExp(`^worker-${projectDigest()}-[0-9a-f]{8}\\.cjs$`));
    const entry = await sweepWorkerEntry();
    expect(entry.kind).toBe("bundle");
    expect(readCached(name)).toBe(entry.kind === "bundle" ? entry.code : undefined);
  });

  it("gives `const` back to the numeric constants sources declare const and nothing writes", async () => {
    const code = [
      "var BLOCK = 32;",
      "var SHIFT = 1 << 5;",
      "var LIMIT = 2 ** 26;",
      "var COUNT = 0;",
      "var STEPS = 3;",
      "var LOOP = 0;",
      "var UNDECLARED = 4;",
      "var SEEN = 1;",
      "function f(o, xs) {",
      "  o.BLOCK = 1;",
      "  if (SHIFT >= 3 && LIMIT === 2 && BLOCK !== 4 && BLOCK <= 5) COUNT += BLOCK;",
      "  STEPS--;",
      "  for (LOOP of xs) o.x = LOOP;",
      "  return ++SEEN;",
      "}",
      "  var INDENTED = 5;",
      "",
    ].join("\n");
    const declared = new Set(["BLOCK", "SHIFT", "LIMIT", "COUNT", "STEPS", "LOOP", "SEEN", "INDENTED"]);
    const out = constantsKeptConst(code, declared).split("\n");
    // A property of the same name and comparisons are not writes.
    expect(out.slice(0, 3)).toEqual(["const BLOCK = 32;", "const SHIFT = 1 << 5;", "const LIMIT = 2 ** 26;"]);
    // Written (+=, --, as a loop variable, ++), not declared const by a source, or not at the top level: kept.
    expect(out.slice(3, 8)).toEqual(["var COUNT = 0;", "var STEPS = 3;", "var LOOP = 0;", "var UNDECLARED = 4;", "var SEEN = 1;"]);
    expect(out[15]).toBe("  var INDENTED = 5;");
    // The CLI's own bundle: the fluid model's record layout is const there.
    const { url } = await cliBundle();
    expect(url).not.toBeNull();
    const bundle = readFileSync(fileURLToPath(url as string), "utf8");
    expect(bundle).toMatch(/^const BLOCK_SHIFT = 5;$/m);
    expect(bundle).toMatch(/^const A_TERMS = 23;$/m);
  });

  it("runs the same CLI as tsx does (TRAINSIM_CLI=tsx)", () => {
    const bundled = spawnSync(process.execPath, [BIN, "validate", "--only", "175b-selective", "--json"], { encoding: "utf8", timeout: 120_000 });
    const tsx = spawnSync(process.execPath, [BIN, "validate", "--only", "175b-selective", "--json"], { encoding: "utf8", timeout: 120_000, env: { ...process.env, TRAINSIM_CLI: "tsx" } });
    expect(bundled.status, bundled.stderr).toBe(0);
    expect(tsx.status, tsx.stderr).toBe(0);
    expect(bundled.stdout).toBe(tsx.stdout);
    for (const env of [{}, { TRAINSIM_CLI: "tsx" }]) {
      const v = spawnSync(process.execPath, [BIN, "--version"], { encoding: "utf8", env: { ...process.env, ...env } });
      expect(v.stdout.trim()).toBe(VERSION);
    }
    expect(existsSync(BIN)).toBe(true);
  });
});
