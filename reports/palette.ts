/**
 * One colour per bottleneck category, shared by every chart (and the HTML
 * report's table swatches), so "orange" means HBM everywhere.
 *
 * The colours are Okabe & Ito's colour-blind-safe set (Okabe & Ito 2008,
 * "Color Universal Design") plus a neutral grey for idle time. The pairs that
 * matter most in the headline chart (compute/hbm, compute/nvlink,
 * nvlink/network) differ in lightness as well as hue, so they stay apart
 * under deuteranopia, protanopia and in greyscale print.
 */
import { scaleOrdinal, type ScaleOrdinal } from "d3-scale";
import { CATEGORIES, type Category } from "../models/categories.ts";

export const CATEGORY_COLOURS: Readonly<Record<Category, string>> = {
  compute: "#0072B2", // blue
  hbm: "#E69F00", // orange
  nvlink: "#56B4E9", // sky blue
  network: "#009E73", // bluish green
  power: "#D55E00", // vermillion
  bubble: "#BBBBBB", // grey: idle
  data: "#F0E442", // yellow
  failure: "#000000", // black
  checkpoint: "#CC79A7", // reddish purple
};

/** Colour for a category name this palette does not know (a span of a future model). */
export const UNKNOWN_CATEGORY_COLOUR = "#7F7F7F";

/** What a reader should read each category as (legends, tooltips, the HTML table). */
export const CATEGORY_MEANING: Readonly<Record<Category, string>> = {
  compute: "kernels limited by the SMs",
  hbm: "kernels limited by HBM bandwidth",
  nvlink: "waiting on NVLink / scale-up transfers",
  network: "waiting on NICs and the scale-out fabric",
  power: "throttled below max clock by a power cap",
  bubble: "idle: pipeline bubble or stage imbalance",
  data: "input pipeline stall",
  failure: "down, restarting or lost work",
  checkpoint: "writing checkpoints",
};

/** The one ordinal scale every chart colours categories with. */
export const categoryScale: ScaleOrdinal<string, string, string> = scaleOrdinal<string, string, string>()
  .domain([...CATEGORIES])
  .range(CATEGORIES.map((c) => CATEGORY_COLOURS[c]))
  .unknown(UNKNOWN_CATEGORY_COLOUR);

export const CATEGORY_DOMAIN: readonly Category[] = CATEGORIES;
export const CATEGORY_RANGE: readonly string[] = CATEGORIES.map((c) => CATEGORY_COLOURS[c]);

export function categoryColour(category: string): string {
  return categoryScale(category);
}

export function isCategory(name: string): name is Category {
  return (CATEGORIES as readonly string[]).includes(name);
}

/**
 * A Vega-Lite `scale` for a colour channel on category names. Pass the
 * categories a chart actually shows to keep its legend short; colours come
 * from the shared scale either way, in CATEGORIES order.
 */
export function vegaCategoryScale(present?: Iterable<string>): { domain: string[]; range: string[] } {
  const want = present === undefined ? undefined : new Set(present);
  const domain: string[] = [...CATEGORIES].filter((c) => want === undefined || want.has(c));
  if (want !== undefined) for (const c of want) if (!domain.includes(c)) domain.push(c);
  return { domain, range: domain.map((c) => categoryScale(c)) };
}

/** Parts of a GPU's memory (memory chart, HTML table); also colour-blind-safe (Paul Tol's "muted"). */
export const MEMORY_PARTS = ["weights", "gradients", "optimizer", "activations", "buffers"] as const;
export type MemoryPart = (typeof MEMORY_PARTS)[number];
export const MEMORY_COLOURS: Readonly<Record<MemoryPart, string>> = {
  weights: "#332288",
  gradients: "#88CCEE",
  optimizer: "#44AA99",
  activations: "#DDCC77",
  buffers: "#AA4499",
};

/**
 * Lines that are not categories (sweep series: "100 Gb/s" vs "400 Gb/s"):
 * Paul Tol's "muted" set, colour-blind-safe, starting with hues the
 * category palette does not use so a series is not mistaken for a category.
 */
export const SERIES_COLOURS: readonly string[] = ["#332288", "#CC6677", "#117733", "#882255", "#999933", "#44AA99", "#AA4499", "#DDCC77", "#88CCEE"];

/** Neutral inks for annotations (limits, reference lines, labels). */
export const INK = { text: "#222222", muted: "#666666", limit: "#222222", reference: "#444444", band: "#DDDDDD" } as const;
