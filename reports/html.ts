/**
 * One self-contained HTML page per run or sweep: a summary table and every
 * chart, interactive through vega-embed. The vega, vega-lite and vega-embed
 * builds are inlined from node_modules, and a Content-Security-Policy forbids
 * any network access, so the page works from a file:// URL offline, and
 * keeps working years later. Every string that came from a user (scenario
 * and experiment names, parameter values, paths, errors) is escaped.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import type { TopLevelSpec } from "vega-lite";

export interface HtmlChart {
  /** File stem (`bottleneck-shift`): element ids and links to `<name>.png|svg|vl.json`. */
  name: string;
  title: string;
  caption?: string;
  spec: TopLevelSpec;
  /** Link the static files next to the page (default true). */
  linkFiles?: boolean;
}

/** A cell: text, optionally with a colour swatch (a category's colour). */
export type HtmlCell = string | { text: string; swatch?: string; title?: string };

export interface HtmlTable {
  caption?: string;
  columns: string[];
  rows: HtmlCell[][];
  /** Columns to right-align (numbers). */
  numeric?: boolean[];
}

export interface HtmlPage {
  title: string;
  subtitle?: string;
  tables: HtmlTable[];
  charts: HtmlChart[];
  /** Shown under the title (things a reader should know: skipped charts, failed points). */
  notes?: string[];
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text safe in HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/** JSON safe inside a <script> element: no "<", ">", "&" or line separators can end it early. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The folder of an installed package, found from its entry point (package "exports" hide build/ from resolution). */
function packageDir(name: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(name));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      const meta = JSON.parse(readFileSync(pkg, "utf8")) as { name?: string };
      if (meta.name === name) return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of package ${name}`);
    dir = up;
  }
}

export const LIBRARIES = [
  { pkg: "vega", file: "build/vega.min.js" },
  { pkg: "vega-lite", file: "build/vega-lite.min.js" },
  { pkg: "vega-embed", file: "build/vega-embed.min.js" },
] as const;

let libraryCache: string | undefined;

/** The three UMD builds as inline <script> elements (read once per process). */
export function inlineLibraries(): string {
  if (libraryCache !== undefined) return libraryCache;
  const parts: string[] = [];
  for (const lib of LIBRARIES) {
    const dir = packageDir(lib.pkg);
    const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
    let code = readFileSync(join(dir, lib.file), "utf8");
    // Inside a script element, "</script" ends it and "<!--" / "<script" change how it is parsed.
    code = code.replace(/<\/script/gi, "<\\/script");
    if (/<!--|<script/i.test(code)) throw new Error(`${lib.pkg}/${lib.file} contains "<!--" or "<script" and cannot be inlined safely`);
    parts.push(`<script data-library="${escapeHtml(lib.pkg)}@${escapeHtml(meta.version)}">\n${code}\n</script>`);
  }
  libraryCache = parts.join("\n");
  return libraryCache;
}

const CSS = `
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", Verdana, system-ui, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; background: white; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 36px 0 6px; border-top: 1px solid #e4e4e4; padding-top: 18px; }
p.subtitle { color: #555; margin: 0 0 16px; }
p.caption { color: #444; margin: 4px 0 10px; max-width: 900px; }
nav { font-size: 14px; margin: 10px 0 18px; }
nav a { margin-right: 14px; }
a { color: #0062a0; }
ul.notes { background: #fff8e5; border: 1px solid #f0d9a0; padding: 10px 10px 10px 30px; font-size: 14px; }
table { border-collapse: collapse; font-size: 13.5px; margin: 8px 0 16px; }
caption { text-align: left; font-weight: bold; padding: 4px 0 6px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e6e6e6; text-align: left; vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fbfbfb; }
.table-wrap { overflow-x: auto; max-width: 100%; }
.swatch { display: inline-block; width: 11px; height: 11px; margin-right: 6px; vertical-align: -1px; border: 1px solid rgba(0,0,0,.15); }
.chart { min-height: 120px; overflow-x: auto; }
.chart-error { color: #b00020; white-space: pre-wrap; }
p.files { font-size: 12.5px; color: #666; margin: 2px 0 0; }
footer { margin-top: 40px; font-size: 12px; color: #777; }
`;

function cell(c: HtmlCell, numeric: boolean): string {
  const cls = numeric ? ' class="num"' : "";
  if (typeof c === "string") return `<td${cls}>${escapeHtml(c)}</td>`;
  const sw = c.swatch === undefined ? "" : `<span class="swatch" style="background:${escapeHtml(safeColour(c.swatch))}"></span>`;
  const title = c.title === undefined ? "" : ` title="${escapeHtml(c.title)}"`;
  return `<td${cls}${title}>${sw}${escapeHtml(c.text)}</td>`;
}

/** Only plain colour literals reach a style attribute. */
function safeColour(c: string): string {
  return /^#[0-9a-fA-F]{3,8}$/.test(c) || /^[a-zA-Z]+$/.test(c) ? c : "#888888";
}

export function renderTable(t: HtmlTable): string {
  const num = (i: number): boolean => t.numeric?.[i] ?? false;
  const head = t.columns.map((c, i) => `<th${num(i) ? ' class="num"' : ""} scope="col">${escapeHtml(c)}</th>`).join("");
  const body = t.rows.map((r) => `<tr>${r.map((c, i) => cell(c, num(i))).join("")}</tr>`).join("\n");
  const caption = t.caption === undefined ? "" : `<caption>${escapeHtml(t.caption)}</caption>`;
  return `<div class="table-wrap"><table>${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function chartId(i: number): string {
  return `chart-${i}`;
}

/** The whole page as one string. */
export function renderHtml(page: HtmlPage, options: { generator?: string } = {}): string {
  const nav = page.charts.length > 1 ? `<nav>${page.charts.map((c, i) => `<a href="#section-${i}">${escapeHtml(c.title)}</a>`).join("")}</nav>` : "";
  const notes = (page.notes ?? []).length > 0 ? `<ul class="notes">${(page.notes ?? []).map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : "";
  const tables = page.tables.map(renderTable).join("\n");
  const charts = page.charts
    .map((c, i) => {
      const name = encodeURIComponent(c.name);
      const files =
        c.linkFiles === false
          ? ""
          : `<p class="files">Static copies: <a href="${escapeHtml(name)}.png">PNG</a> · <a href="${escapeHtml(name)}.svg">SVG</a> · <a href="${escapeHtml(name)}.vl.json">Vega-Lite spec</a></p>`;
      return [
        `<section id="section-${i}">`,
        `<h2>${escapeHtml(c.title)}</h2>`,
        c.caption === undefined ? "" : `<p class="caption">${escapeHtml(c.caption)}</p>`,
        `<div class="chart" id="${chartId(i)}" data-chart="${escapeHtml(c.name)}"></div>`,
        `<script type="application/json" data-spec-for="${chartId(i)}">${jsonForScript(c.spec)}</script>`,
        files,
        `</section>`,
      ].join("\n");
    })
    .join("\n");
  const boot = `<script>
(function () {
  var opts = { renderer: "svg", actions: { export: true, source: true, compiled: false, editor: false } };
  var nodes = document.querySelectorAll("script[data-spec-for]");
  var jobs = [];
  for (var i = 0; i < nodes.length; i++) {
    (function (node) {
      var id = node.getAttribute("data-spec-for");
      var target = document.getElementById(id);
      var job = vegaEmbed(target, JSON.parse(node.textContent), opts).then(function () {
        target.setAttribute("data-rendered", "true");
      }, function (err) {
        target.setAttribute("data-rendered", "error");
        var p = document.createElement("p");
        p.className = "chart-error";
        p.textContent = "This chart could not be drawn: " + (err && err.message ? err.message : String(err));
        target.appendChild(p);
        console.error(err);
      });
      jobs.push(job);
    })(nodes[i]);
  }
  window.trainsimChartsReady = Promise.all(jobs);
})();
</script>`;
  const csp = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="generator" content="${escapeHtml(options.generator ?? "trainsim")}">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(page.title)}</h1>
${page.subtitle === undefined ? "" : `<p class="subtitle">${escapeHtml(page.subtitle)}</p>`}
${notes}
${nav}
${tables}
${charts}
<footer>Made by ${escapeHtml(options.generator ?? "trainsim")}. Charts are interactive (hover for values; the … menu saves PNG or SVG). This page needs no network.</footer>
</main>
${inlineLibraries()}
${boot}
</body>
</html>
`;
}
