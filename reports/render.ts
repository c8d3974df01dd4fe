/**
 * Vega-Lite spec → Vega → SVG (vega's headless view) → PNG (resvg), in Node.
 *
 * Warnings from the Vega-Lite compiler and from the Vega runtime are
 * collected, not printed: a chart that compiles with a warning is a bug the
 * tests catch.
 *
 * vega, vega-lite and resvg are loaded on the first chart, not with this module:
 * together they take ~0.4 s to load, which every `trainsim` command paid before,
 * `--help` and `run --json` included.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoggerInterface, Spec as VegaSpec } from "vega";
import type { TopLevelSpec } from "vega-lite";
import { textWidth } from "./text-width.ts";

interface RenderLibs {
  vega: typeof import("vega");
  compile: typeof import("vega-lite").compile;
  Resvg: typeof import("@resvg/resvg-js").Resvg;
}

let libs: Promise<RenderLibs> | undefined;

/** The rendering libraries (imported on the first call; later calls share them). */
function renderLibs(): Promise<RenderLibs> {
  libs ??= Promise.all([import("vega"), import("vega-lite"), import("@resvg/resvg-js")]).then(([vega, vegaLite, resvg]) => {
    // resvg is CommonJS: its exports may come as the default export only.
    const Resvg = resvg.Resvg ?? (resvg as unknown as { default: typeof resvg }).default.Resvg;
    useDejaVuMetrics(vega);
    return { vega, compile: vegaLite.compile, Resvg };
  });
  return libs;
}

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}

/**
 * Make vega lay text out with DejaVu Sans widths (text-width.ts) instead of
 * its 0.8 em per character guess when there is no canvas (Node).
 */
function useDejaVuMetrics(vega: RenderLibs["vega"]): void {
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
  metrics.width = (item: TextItem, text: unknown): number => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const s = text == null ? "" : String(text).trim();
    const w = item.fontWeight;
    const isBold = w === "bold" || w === "bolder" || (typeof w === "number" && w >= 600) || (typeof w === "string" && Number(w) >= 600);
    return textWidth(s, size, isBold);
  };
}

export interface Collected {
  warnings: string[];
  errors: string[];
}

function text(args: unknown[]): string {
  return args.map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a))).join(" ");
}

/** A vega/vega-lite logger that keeps what it is told. */
function collectingLogger(vega: RenderLibs["vega"], into: Collected): LoggerInterface {
  let level = vega.Warn;
  const logger: LoggerInterface = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: unknown[]) {
      into.errors.push(text(args));
      return logger;
    },
    warn(...args: unknown[]) {
      into.warnings.push(text(args));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  } as LoggerInterface;
  return logger;
}

export interface Rendered extends Collected {
  vega: VegaSpec;
  svg: string;
  /** Items drawn by data marks (not axes, legends or titles): 0 means an empty chart. */
  marks: number;
  width: number;
  height: number;
}

/** Count items of data marks in a scenegraph (axes, legends and titles have other roles). */
function countMarks(node: unknown): number {
  let n = 0;
  const visit = (x: unknown): void => {
    if (x === null || typeof x !== "object") return;
    const o = x as { marktype?: string; role?: string; items?: unknown[] };
    // A mark node holds items; a group item holds its child marks as `items` too.
    const counts = o.marktype !== undefined && o.role === "mark" && o.marktype !== "group";
    for (const it of o.items ?? []) {
      if (counts) n++;
      visit(it);
    }
  };
  visit(node);
  return n;
}

const HEADLESS_ONLY = /^Can not resolve event source: window$/;

export async function renderSvg(spec: TopLevelSpec): Promise<Rendered> {
  const { vega, compile } = await renderLibs();
  const into: Collected = { warnings: [], errors: [] };
  const vg = compile(spec, { logger: collectingLogger(vega, into) }).spec as VegaSpec;
  // Interactive charts listen on `window`, which Node has not: harmless for a static render.
  const runtime: Collected = { warnings: [], errors: [] };
  const view = new vega.View(vega.parse(vg), { renderer: "none", logger: collectingLogger(vega, runtime) });
  try {
    await view.runAsync();
    const svg = await view.toSVG();
    const marks = countMarks((view.scenegraph() as unknown as { root: unknown }).root);
    into.warnings.push(...runtime.warnings.filter((w) => !HEADLESS_ONLY.test(w)));
    into.errors.push(...runtime.errors);
    return { ...into, vega: vg, svg, marks, width: view.width(), height: view.height() };
  } finally {
    view.finalize();
  }
}

/** PNG from SVG at `scale`× (2 by default: crisp on a slide), with the system's fonts (DejaVu Sans on Debian). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const { Resvg } = await renderLibs();
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}

export interface ChartFiles {
  name: string;
  files: string[];
  rendered: Rendered;
}

/** Write `<name>.vl.json`, `<name>.svg` and `<name>.png` into `dir`. */
export async function writeChart(dir: string, name: string, spec: TopLevelSpec): Promise<ChartFiles> {
  mkdirSync(dir, { recursive: true });
  const rendered = await renderSvg(spec);
  if (rendered.errors.length > 0) throw new Error(`chart ${name}: ${rendered.errors.join("; ")}`);
  const files = [join(dir, `${name}.vl.json`), join(dir, `${name}.svg`), join(dir, `${name}.png`)];
  // Indented for reading and diffs, unless the data make it large (a long timeline).
  const compact = JSON.stringify(spec);
  writeFileSync(files[0] as string, (compact.length > 100_000 ? compact : JSON.stringify(spec, null, 2)) + "\n");
  writeFileSync(files[1] as string, rendered.svg);
  writeFileSync(files[2] as string, await svgToPng(rendered.svg));
  return { name, files, rendered };
}
