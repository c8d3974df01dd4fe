/**
 * Text widths for layout in Node, where vega has no canvas to measure text
 * and would guess 0.8 em per character (far too wide: legends and titles
 * push the chart off to one side). These are the advance widths of DejaVu
 * Sans and DejaVu Sans Bold (the fonts the PNG renderer uses), in em, read
 * once from the TTF hmtx tables; characters not listed count as 0.62 em
 * (DejaVu's average). Browsers measure with their own fonts. Charts use
 * textWidth to size bands that must hold a label; render.ts installs it
 * as vega's text measure.
 */
const CHARS = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\u00b5\u00d7\u2013\u2014\u2264\u2265\u00b1\u00b7\u2026\u2192\u2190\u00b0\u00b2\u00b3\u20ac\u2019\u2018\u201c\u201d\u00e9\u00fc";
const REGULAR = [0.3179, 0.4009, 0.46, 0.8379, 0.6362, 0.9502, 0.7798, 0.2749, 0.3901, 0.3901, 0.5, 0.8379, 0.3179, 0.3608, 0.3179, 0.3369, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.3369, 0.3369, 0.8379, 0.8379, 0.8379, 0.5308, 1.0, 0.6841, 0.686, 0.6982, 0.77, 0.6318, 0.5752, 0.7749, 0.752, 0.2949, 0.2949, 0.6558, 0.5571, 0.8628, 0.748, 0.7871, 0.603, 0.7871, 0.6948, 0.6348, 0.6108, 0.7319, 0.6841, 0.9888, 0.6851, 0.6108, 0.6851, 0.3901, 0.3369, 0.3901, 0.8379, 0.5, 0.5, 0.6128, 0.6348, 0.5498, 0.6348, 0.6152, 0.3521, 0.6348, 0.6338, 0.2778, 0.2778, 0.5791, 0.2778, 0.9741, 0.6338, 0.6118, 0.6348, 0.6348, 0.4111, 0.521, 0.3921, 0.6338, 0.5918, 0.8179, 0.5918, 0.5918, 0.5249, 0.6362, 0.3369, 0.6362, 0.8379, 0.6362, 0.8379, 0.5, 1.0, 0.8379, 0.8379, 0.8379, 0.3179, 1.0, 0.8379, 0.8379, 0.5, 0.4009, 0.4009, 0.6362, 0.3179, 0.3179, 0.5181, 0.5181, 0.6152, 0.6338];
const BOLD = [0.3481, 0.4561, 0.521, 0.8379, 0.6958, 1.002, 0.8721, 0.3062, 0.457, 0.457, 0.5229, 0.8379, 0.3799, 0.415, 0.3799, 0.3652, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.3999, 0.3999, 0.8379, 0.8379, 0.8379, 0.5801, 1.0, 0.7739, 0.7622, 0.7339, 0.8301, 0.6831, 0.6831, 0.8208, 0.8369, 0.3721, 0.3721, 0.7749, 0.6372, 0.9951, 0.8369, 0.8501, 0.7329, 0.8501, 0.77, 0.7202, 0.6821, 0.812, 0.7739, 1.103, 0.771, 0.7241, 0.7251, 0.457, 0.3652, 0.457, 0.8379, 0.5, 0.5, 0.6748, 0.7158, 0.5928, 0.7158, 0.6782, 0.4351, 0.7158, 0.7119, 0.3428, 0.3428, 0.665, 0.3428, 1.042, 0.7119, 0.687, 0.7158, 0.7158, 0.4932, 0.5952, 0.478, 0.7119, 0.6519, 0.9238, 0.645, 0.6519, 0.582, 0.7119, 0.3652, 0.7119, 0.8379, 0.7358, 0.8379, 0.5, 1.0, 0.8379, 0.8379, 0.8379, 0.3799, 1.0, 0.8379, 0.8379, 0.5, 0.438, 0.438, 0.6958, 0.3799, 0.3799, 0.6572, 0.6572, 0.6782, 0.7119];

const regular = new Map<string, number>();
const bold = new Map<string, number>();
[...CHARS].forEach((c, i) => {
  regular.set(c, REGULAR[i] ?? 0.62);
  bold.set(c, BOLD[i] ?? 0.68);
});

/** Width in pixels of `text` at `fontSize` px, DejaVu Sans (bold when `isBold`). */
export function textWidth(text: string, fontSize: number, isBold = false): number {
  const table = isBold ? bold : regular;
  let em = 0;
  for (const c of text) em += table.get(c) ?? (isBold ? 0.68 : 0.62);
  return em * fontSize;
}
