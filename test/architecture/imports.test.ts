/**
 * Imports point down only (docs/architecture.md): bin → experiments → reports → models → sim. A module
 * may import its own folder's modules or a lower folder's; sim imports nothing of ours;
 * nothing imports bin (bin's own modules aside); and no chain of imports comes back to
 * where it started. Read from the source text: every static `import`/`export … from`,
 * side-effect `import "…"` and `import("…")` with a literal path, type-only ones included.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
/** Lowest first: a folder may import its own modules and those of the folders before it. */
const LAYERS = ["sim", "models", "reports", "experiments", "bin"] as const;


function codeFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) codeFiles(path, out);
    else if (/\.(ts|js)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Specifiers a source imports: static, re-exports, side-effect and literal dynamic imports. */
export function importSpecifiers(text: string): string[] {
  // Comments out first: a path quoted in a comment is no import.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:\\"'`])\/\/.*$/gm, "$1");
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const p of patterns) for (const m of code.matchAll(p)) out.push(m[1] as string);
  return out;
}

/** The project file a relative specifier names (`.js` may name a `.ts` source, as TypeScript resolves it). */
function resolveSpecifier(from: string, spec: string): string {
  const path = resolve(dirname(from), spec);
  if (existsSync(path) && statSync(path).isFile()) return path;
  if (path.endsWith(".js") && existsSync(path.slice(0, -3) + ".ts")) return path.slice(0, -3) + ".ts";
  return path;
}

function layerOf(file: string): string {
  return relative(ROOT, file).split(sep)[0] as string;
}

function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const layer of LAYERS) {
    for (const file of codeFiles(join(ROOT, layer))) {
      const targets = importSpecifiers(readFileSync(file, "utf8"))
        .filter((s) => s.startsWith("."))
        .map((s) => resolveSpecifier(file, s));
      edges.set(file, targets);
    }
  }
  return edges;
}

/** Import cycles, each as the files around it (found by depth-first search, each once). */
function cycles(edges: Map<string, string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, "open");
    stack.push(f);
    for (const t of edges.get(f) ?? []) {
      if (!edges.has(t)) continue;
      if (state.get(t) === "open") found.push(stack.slice(stack.indexOf(t)).map((x) => relative(ROOT, x)));
      else if (state.get(t) === undefined) visit(t);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of [...edges.keys()].sort()) if (state.get(f) === undefined) visit(f);
  return found;
}

describe("imports point down only", () => {
  const edges = graph();

  it("reads the imports of every module", () => {
    expect(edges.size).toBeGreaterThan(100);
    expect(importSpecifiers('import { a } from "./a.ts";\nimport type {\n  B,\n} from "../b.ts";\nexport { c } from "./c.ts";\nimport "./d.js";\nconst e = await import("./e.ts");\n// import { f } from "./f.ts";\n')).toEqual([
      "./a.ts",
      "../b.ts",
      "./c.ts",
      "./d.js",
      "./e.ts",
    ]);
  });

  it("no module imports a higher folder, or a file outside sim, models, reports, experiments and bin", () => {
    const wrong: string[] = [];
    for (const [file, targets] of edges) {
      const from = LAYERS.indexOf(layerOf(file) as (typeof LAYERS)[number]);
      for (const t of targets) {
        const to = LAYERS.indexOf(layerOf(t) as (typeof LAYERS)[number]);
        if (to < 0 || to > from || !existsSync(t)) wrong.push(`${relative(ROOT, file)} -> ${relative(ROOT, t)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("no import cycle", () => {
    const found = cycles(edges).map((c) => [...c].sort().join(" <-> "));
    expect(found).toEqual([]);
  });
});
