// The trainsim CLI as one esbuild bundle of its TypeScript modules, kept in
// node_modules/.cache/trainsim/ until a source file changes.
//
// Why: through tsx, every command first resolves, transforms and links its ~100 modules
// one by one, round trips to tsx's loader thread included: `trainsim --version` took
// ~0.75 s. The bundle is one file Node loads as it is: ~0.25 s. Building it takes esbuild
// ~0.25 s, once per change of the sources.
//
// Plain JavaScript: this runs before anything can load TypeScript.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = join(ROOT, "bin", "trainsim.ts");
/** The folders whose TypeScript the CLI is built from. */
const SOURCES = ["bin", "sim", "models", "experiments", "reports"];
const CACHE = join(ROOT, "node_modules", ".cache", "trainsim");
/** Bundles of older sources are removed once this old (a process may still be loading one). */
const STALE_MS = 10 * 60 * 1000;

/** Every .ts and .js file under `dir`, sorted (the digest must not depend on directory order). */
function codeFiles(dir, out) {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) codeFiles(path, out);
    else if (e.name.endsWith(".ts") || e.name.endsWith(".js")) out.push(path);
  }
  return out;
}

/**
 * A digest of what a bundle of the project at `root` is made from: its sources, TypeScript
 * and JavaScript (names and contents; this file is bundled too), its tsconfig, esbuild's
 * version and Node's.
 */
export function sourceDigest(root, esbuildVersion) {
  const hash = createHash("sha256");
  // The bundle has its files' paths written in (own-import-meta-url): a copy of the project elsewhere gets its own.
  hash.update(`node ${process.version}\0esbuild ${esbuildVersion}\0root ${root}\0`);
  hash.update(readFileSync(join(root, "tsconfig.json")));
  for (const dir of SOURCES) {
    for (const file of codeFiles(join(root, dir), [])) {
      hash.update(`\0${relative(root, file)}\0`);
      hash.update(readFileSync(file));
    }
  }
  return hash.digest("hex").slice(0, 16);
}

// Spelt in two parts so that this file, bundled too, does not rewrite its own pattern.
const IMPORT_META_URL = ["import", "meta", "url"].join(".");

/**
 * In a bundle every module would share the bundle's own `import.meta.url`; the modules
 * that find files next to themselves (package.json, the published cases, the sweep
 * worker, this file) get their own file's URL written in instead.
 */
const ownImportMetaUrl = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.[jt]s$/ }, (args) => {
      if (args.path.includes("/node_modules/")) return undefined;
      const text = readFileSync(args.path, "utf8");
      return { contents: text.replaceAll(IMPORT_META_URL, JSON.stringify(pathToFileURL(args.path).href)), loader: args.path.endsWith(".ts") ? "ts" : "js" };
    });
  },
};

/** esbuild's version, from its package.json: loading esbuild itself is only worth it to build. */
export function esbuildVersion() {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", "esbuild", "package.json"), "utf8")).version;
}

// Kept on globalThis: a sweep run from the CLI's bundle has two copies of this module
// (bin/trainsim.js loads this file, the bundle holds another for the worker's cache),
// and each would read and hash every source again.
const DIGEST = Symbol.for("trainsim.projectDigest");
/** sourceDigest of this project (computed once per process). */
export function projectDigest() {
  globalThis[DIGEST] ??= sourceDigest(ROOT, esbuildVersion());
  return globalThis[DIGEST];
}

/** The text of the cached file `name`, or undefined. */
export function readCached(name) {
  try {
    return readFileSync(join(CACHE, name), "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Puts `text` in the cache as `name`, whole or not at all (processes starting at once
 * may write it side by side), and removes other files of the same kind gone stale.
 */
export function writeCached(name, text) {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, name);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  removeStale(name);
  return file;
}

/** Removes files of `keep`'s kind (its name up to the first "-") built from older sources. */
function removeStale(keep) {
  const now = Date.now();
  const kind = keep.slice(0, keep.indexOf("-") + 1);
  for (const name of readdirSync(CACHE)) {
    if (name === keep || !name.startsWith(kind)) continue;
    const path = join(CACHE, name);
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true });
    } catch {
      // another process removed it first
    }
  }
}

/**
 * `entry` and what it imports as one script for Node 20, built by esbuild with `options`
 * added (format, what stays external, plugins).
 */
export async function bundleText(entry, options) {
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "node",
    target: "node20",
    // As tsx runs the same code: functions keep their names.
    keepNames: true,
    logLevel: "silent",
    ...options,
  });
  const file = out.outputFiles[0];
  if (file === undefined || out.errors.length > 0) throw new Error("esbuild produced no bundle");
  return constantsKeptConst(file.text);
}

/** A bundle's top-level `var NAME = <numbers, operators, other such names>;`. */
const NUMERIC_VAR = /^var ([A-Z][A-Z0-9_]*) = ([-+*/%&|^<>~()\s0-9.a-fA-FxX_]*);$/gm;
/** A bundle's top-level `var NAME2 = NAME;`: a copy of a constant, renamed by the bundler. */
const ALIAS_VAR = /^var ([A-Z][A-Z0-9_]*) = ([A-Z][A-Z0-9_]*);$/gm;
/** A top-level `const NAME =` in a TypeScript source. */
const SOURCE_CONST = /^(?:export )?const ([A-Z][A-Z0-9_]*)\b/gm;
/** Writes to a capitalised name: `NAME =`, `NAME += `…, `++NAME`, `NAME--`, `for (NAME of`. */
const WRITES = [
  /(?<![\w$.])([A-Z][A-Z0-9_]*)\s*(?:[-+*/%&|^]|\*\*|<<|>>>?|&&|\|\||\?\?)?=(?!=)/g,
  /(?:\+\+|--)\s*([A-Z][A-Z0-9_]*)(?![\w$])/g,
  /(?<![\w$.])([A-Z][A-Z0-9_]*)\s*(?:\+\+|--)/g,
  /\bfor\s*\(\s*([A-Z][A-Z0-9_]*)\s+(?:of|in)\b/g,
];

/** Names declared by a top-level `const` in the project's TypeScript sources. */
function sourceConstNames() {
  const names = new Set();
  for (const dir of SOURCES) {
    for (const file of codeFiles(join(ROOT, dir), [])) {
      if (!file.endsWith(".ts")) continue;
      for (const m of readFileSync(file, "utf8").matchAll(SOURCE_CONST)) names.add(m[1]);
    }
  }
  return names;
}

/**
 * A bundle declares every module's top-level constants with `var` (esbuild hoists them
 * together that way), and V8 reads a module-level `var` from its context at every use,
 * where a `const` number is folded into the code that uses it. The fluid model's record
 * layout is all such constants: through the bundle an update cost about 20 % more than
 * through tsx, which keeps each module's `const`. This gives `const` back to the numeric
 * constants that a source declares `const` (TypeScript then forbids writing them) and that
 * the bundle nowhere writes (in case another module's variable got the name). `declared`:
 * the names sources declare `const` (by default, this project's).
 */
export function constantsKeptConst(code, declared = sourceConstNames()) {
  const writes = new Map();
  for (const pattern of WRITES) {
    for (const m of code.matchAll(pattern)) writes.set(m[1], (writes.get(m[1]) ?? 0) + 1);
  }
  // Its declaration is its one write.
  const kept = new Set();
  const out = code.replace(NUMERIC_VAR, (line, name, value) => {
    if (!declared.has(name) || writes.get(name) !== 1) return line;
    kept.add(name);
    return `const ${name} = ${value};`;
  });
  // A module's own copy of another's constant (`const A = L.A`, see sim/fluid/layout.ts)
  // comes out renamed, `var A2 = A;`: it keeps `const` when A does.
  return out.replace(ALIAS_VAR, (line, name, value) =>
    kept.has(value) && declared.has(name.replace(/\d+$/, "")) && writes.get(name) === 1 ? `const ${name} = ${value};` : line,
  );
}

/**
 * The URL of the CLI's bundle, built now if the sources changed since the last one; or
 * null (with the reason in `reason`) when it cannot be had: then the caller runs the CLI
 * through tsx. TRAINSIM_CLI=tsx asks for tsx.
 */
export async function cliBundle() {
  if (process.env.TRAINSIM_CLI === "tsx") return { url: null, reason: "TRAINSIM_CLI=tsx" };
  try {
    const name = `cli-${projectDigest()}.mjs`;
    let file = join(CACHE, name);
    let built = true;
    try {
      statSync(file);
    } catch {
      built = false;
    }
    if (!built) {
      // Dependencies stay imports, resolved from node_modules as tsx resolves them.
      const code = await bundleText(ENTRY, { format: "esm", packages: "external", plugins: [ownImportMetaUrl] });
      file = writeCached(name, code);
    }
    return { url: pathToFileURL(file).href, reason: "" };
  } catch (e) {
    return { url: null, reason: e instanceof Error ? e.message : String(e) };
  }
}
