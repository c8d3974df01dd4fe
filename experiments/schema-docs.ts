/**
 * docs/scenario.md, written from the scenario schema: every key as a dotted path with its
 * type and unit, default, allowed values and meaning. A pure function of the schema, so a
 * test can tell when the committed page is stale (`npm run docs` rewrites it).
 */
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expected, scenarioSchema, type ObjectNode, type SchemaNode } from "./schema.ts";
import { DIMENSIONS, formatQuantity } from "./units.ts";
import { METRICS } from "./validate.ts";
import { schedulerNode } from "./cluster-load.ts";

/** One documented key. */
export interface KeyRow {
  path: string;
  type: string;
  default: string;
  allowed: string;
  meaning: string;
}

export const DOCS_COMMAND = "npm run docs";

/** Markdown text: "<name>" outside a code span would read as an HTML tag. */
function md(text: string): string {
  return text
    .split("`")
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/<(?=[A-Za-z/!?])/g, "&lt;")))
    .join("`");
}

function cell(text: string): string {
  return md(text).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function typeOf(node: SchemaNode): string {
  switch (node.kind) {
    case "object":
      return "object";
    case "quantity": {
      if (node.dimension === "ratio") return "number (or %)";
      if (node.dimension === "count") return "number";
      const d = DIMENSIONS[node.dimension];
      return `${d.noun.replace(/^an? /, "")} (${d.base})`;
    }
    case "int":
      return "integer";
    case "number":
      return "number";
    case "enum":
      return "string";
    case "bool":
      return "boolean";
    case "string":
      return "string";
    case "record":
      return `map → ${typeOf(node.values)}`;
    case "list":
      return `list of ${typeOf(node.items)}`;
    case "union":
      return "one of the forms below";
  }
}

function defaultOf(node: SchemaNode): string {
  if (node.required === true) return "required";
  if (node.default !== undefined) {
    return `\`${node.kind === "quantity" ? formatQuantity(node.default as number, node.dimension) : JSON.stringify(node.default)}\``;
  }
  if (node.derivedDefault !== undefined) return node.derivedDefault;
  if (node.kind === "object") return node.whenAbsent === "omit" ? "absent" : "filled from its keys";
  return "absent";
}

function allowedOf(node: SchemaNode): string {
  switch (node.kind) {
    case "object":
      return "";
    case "enum":
      return node.values.map((v) => `\`${v}\``).join(", ");
    case "quantity": {
      // The units of each dimension are listed once, above the tables.
      return expected(node).replace(/: use .*$/, "");
    }
    case "record":
      return `keys → ${allowedOf(node.values) || expected(node.values)}`;
    case "list":
      return `each: ${allowedOf(node.items) || expected(node.items)}`;
    case "union":
      return node.options.map((o) => o.label).join("; ");
    default:
      return expected(node);
  }
}

function meaningOf(node: SchemaNode): string {
  const aliases = node.aliases !== undefined && node.aliases.length > 0 ? ` Also spelled ${node.aliases.map((a) => `\`${a}\``).join(", ")}.` : "";
  const values = node.kind === "record" ? ` Each value: ${node.values.description}` : "";
  return `${node.description}${values}${aliases}`;
}

/** Every key below `node` (objects first as their own row), depth first in schema order. */
export function keyRows(node: ObjectNode, prefix = ""): KeyRow[] {
  const rows: KeyRow[] = [];
  for (const [name, child] of Object.entries(node.fields)) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    rows.push({ path, type: typeOf(child), default: defaultOf(child), allowed: allowedOf(child), meaning: meaningOf(child) });
    if (child.kind === "object") rows.push(...keyRows(child, path));
  }
  return rows;
}

function table(rows: readonly KeyRow[]): string {
  const lines = ["| key | type (unit) | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"];
  for (const r of rows) lines.push(`| \`${r.path}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.allowed)} | ${cell(r.meaning)} |`);
  return lines.join("\n");
}

/** Union keys (cluster.gpu, workload.model): one table per form that is an object. */
function unionSections(node: ObjectNode, prefix = ""): string[] {
  const out: string[] = [];
  for (const [name, child] of Object.entries(node.fields)) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    if (child.kind === "object") out.push(...unionSections(child, path));
    if (child.kind !== "union") continue;
    out.push(`### \`${path}\`\n\n${md(child.description)}\n`);
    const inline = child.options.find((o) => o.when === "object");
    for (const option of child.options) {
      if (option.node.kind !== "object") {
        out.push(`- **${option.label}**: ${allowedOf(option.node)}.\n`);
        continue;
      }
      let node = option.node;
      let more = "";
      if (inline !== undefined && option !== inline && inline.node.kind === "object" && Object.hasOwn(node.fields, "base")) {
        // {base: ..., ...}: the inline form's keys, all optional and without defaults; list only what differs.
        const shared = inline.node.fields;
        const own = Object.entries(node.fields).filter(([k, f]) => shared[k] === undefined || shared[k]?.description !== f.description);
        node = { ...node, fields: Object.fromEntries(own) };
        more = ` Besides these keys it takes every key of ${inline.label} (below), each optional and without a default: a key left out keeps the base's value.`;
      }
      out.push(`#### \`${path}\` as ${md(option.label)}\n\n${md(option.node.description)}${md(more)}\n\n${table(keyRows(node, path))}\n`);
    }
  }
  return out;
}

const UNITS_TEXT = `Quantities take a number in SI base units or a string with a unit. Units by dimension:

${(["bytes", "bandwidth", "power", "time", "flops", "energy"] as const)
  .map((d) => `- ${DIMENSIONS[d].noun} (plain number: ${DIMENSIONS[d].base}): ${Object.keys(DIMENSIONS[d].units).map((u) => `\`${u}\``).join(" ")}; e.g. ${DIMENSIONS[d].examples.map((e) => `\`${e}\``).join(", ")}`)
  .join("\n")}
- a ratio is a plain number, or a percentage string (\`"70 %"\`).

Bandwidths in \`b/s\` and \`bps\` are bits (network links); \`B/s\` are bytes.`;

/** Keys of an experiment file (experiments/experiment.ts reads them; a test checks each one). */
export const EXPERIMENT_KEYS: readonly KeyRow[] = [
  { path: "name", type: "string", default: "the file name without extension", allowed: "no slashes, not . or .., at most 255 bytes", meaning: "Names the output folder out/<name>; other names are refused." },
  { path: "description", type: "string", default: "absent", allowed: "", meaning: "Free text for readers." },
  { path: "base", type: "string or object", default: "required", allowed: "a scenario file (relative to this file) or a scenario inline", meaning: "The scenario every point starts from; its own `base:` chain is merged first." },
  { path: "sweep", type: "map: dotted path → list", default: "absent", allowed: "scenario keys (dotted paths)", meaning: "Grid: every combination of the lists. The first axis changes slowest." },
  { path: "zip", type: "list of maps: dotted path → list", default: "absent", allowed: "lists of equal length within a group", meaning: "Groups of lists walked together, e.g. `[{cluster.nodes: [4, 8], workload.globalBatch: [256, 512]}]`." },
  { path: "points", type: "list of maps: dotted path → value", default: "absent", allowed: "", meaning: "Explicit points, each setting its own keys (`{}` is the base as it is)." },
  { path: "random", type: "object", default: "absent", allowed: "", meaning: "Seeded random samples." },
  { path: "random.samples", type: "integer", default: "required", allowed: "an integer >= 1", meaning: "How many samples to draw." },
  { path: "random.seed", type: "integer", default: "`1`", allowed: "an integer >= 0", meaning: "Seed of the sampling streams (one named stream per axis, so adding an axis leaves the others' values as they were)." },
  { path: "random.axes", type: "map: dotted path → axis", default: "required", allowed: "`{min, max, log?}` or `{choices: [...]}`", meaning: "What to sample per key." },
  { path: "random.axes.<path>.min", type: "the key's type", default: "required (range)", allowed: "a value of that key (units allowed)", meaning: "Lower end of a range axis." },
  { path: "random.axes.<path>.max", type: "the key's type", default: "required (range)", allowed: "at least min", meaning: "Upper end of a range axis." },
  { path: "random.axes.<path>.log", type: "boolean", default: "`false`", allowed: "true or false (true needs min > 0)", meaning: "Log-uniform instead of uniform. Draws are rounded to 6 significant digits, and to integers for integer keys." },
  { path: "random.axes.<path>.choices", type: "list", default: "absent", allowed: "values of that key", meaning: "A choice axis: one of these, uniformly." },
  { path: "seeds", type: "list of integers", default: "the base scenario's seed", allowed: "integers >= 0", meaning: "Repeat every point with these scenario seeds (innermost in the point order)." },
  { path: "reports", type: "list of strings", default: "every chart that applies except roofline and power", allowed: "`bottleneck-shift`, `scaling`, `memory`, `roofline`, `power`", meaning: "Charts drawn for the sweep's report.html (`power` also keeps each point's power series in results.jsonl)." },
];

const PUBLISHED_TEXT = `## Published cases

A published case is a scenario under \`experiments/published/\` with two more keys: \`source\`
(where the figure comes from: paper, table, section) and \`published: {metric, value, note?}\`.
\`trainsim validate\` runs every such file (files whose name starts with \`_\` are shared bases)
and prints the simulated metric next to the published value with the relative error
(\`docs/results.md\`, "validate"). \`published.metric\` is one of:

`;

/** The page: scenario keys, the forms of cluster.gpu and workload.model, published cases, experiment files. */
export function scenarioDocs(): string {
  const top = Object.entries(scenarioSchema.fields);
  const sections: string[] = [];
  sections.push(`# Scenario and experiment keys

<!-- Generated by experiments/schema-docs.ts from experiments/schema.ts: do not edit by hand; run \`${DOCS_COMMAND}\`. -->

A **scenario** (one cluster, one training job) is a YAML or JSON file with the keys below;
\`trainsim schema\` prints the same schema as JSON Schema for editors. Keys are written here
as dotted paths (\`cluster.network.nicBandwidth\`), which is also how experiments sweep them.
These keys are a public contract: they are extended, never renamed. "absent" means the key
may be left out and nothing is assumed for it; "required" means it must be given.

${UNITS_TEXT}

Contents: ${top.map(([k, n]) => `[\`${k}\`](#${n.kind === "object" ? k.toLowerCase() : "top-level"})`).join(", ")}, [forms of \`cluster.gpu\` and \`workload.model\`](#forms), [published cases](#published-cases), [experiment files](#experiment-files).
`);
  const leaves = top.filter(([, n]) => n.kind !== "object");
  sections.push(`## Top level\n\n${table(keyRows({ ...scenarioSchema, fields: Object.fromEntries(leaves) }))}\n`);
  for (const [name, node] of top) {
    if (node.kind !== "object") continue;
    const own = { path: name, type: "object", default: defaultOf(node), allowed: "", meaning: node.description };
    sections.push(`## ${name}\n\n${node.description}\n\n${table([own, ...keyRows(node, name)])}\n`);
  }
  sections.push(`## Forms\n\nSome keys take one of several forms: a name from a catalog, or an object. The first form that matches the value is used.\n\n${unionSections(scenarioSchema).join("\n")}`);
  const metricList = Object.entries(METRICS)
    .map(([name, m]) => `- \`${name}\`${m.unit === "" ? "" : ` (${m.unit})`}: ${m.describe}`)
    .join("\n");
  sections.push(`${PUBLISHED_TEXT}${metricList}\n`);
  sections.push(`## Experiment files

An **experiment** is a base scenario plus the axes to sweep it along (\`trainsim sweep FILE\`).
Sweep values are written as in a scenario (\`2 TB/s\`, \`700 W\`) and replace what the base has at
that dotted path; a path into a catalog entry (\`cluster.gpu.hbmBandwidth\` while \`gpu: H100-SXM\`)
changes just that field. Points are ordered like nested loops, outermost first: \`sweep\` axes
in the order written, each \`zip\` group, \`points\`, \`random\` samples, then \`seeds\`. A key may be
swept in one place only. More in \`experiments/README.md\` (resume, shards, Slurm, merge).

${table(EXPERIMENT_KEYS)}

## Cluster files

\`trainsim cluster FILE\` takes \`name\`, \`seed\`, a \`cluster:\` (exactly a scenario's, above), a
\`scheduler:\`, and one of \`jobs:\`, \`trace:\` or \`synthetic:\` (optionally \`compare:\` and
\`horizon:\`). The job, trace and synthetic keys and the trace formats are described in
\`models/cluster/README.md\`. The scheduler:

${table([{ path: "scheduler", type: "object", default: defaultOf(schedulerNode), allowed: "", meaning: schedulerNode.description }, ...keyRows(schedulerNode, "scheduler")])}
`);
  return `${sections.join("\n").trimEnd()}\n`;
}

/** Where the page lives, from the repository root. */
export const SCENARIO_DOCS_FILE = "docs/scenario.md";

// `npm run docs`: node --import tsx/esm experiments/schema-docs.ts
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  writeFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", SCENARIO_DOCS_FILE), scenarioDocs());
  process.stdout.write(`wrote ${SCENARIO_DOCS_FILE}\n`);
}
