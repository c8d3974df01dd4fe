/**
 * Kernel timings as CSV, one kernel timed alone per row (tools/gemm_bench.py writes both):
 *   GEMM:      m,n,k,dtype,seconds  (or tflops instead of seconds; optional batch)
 *   attention: batch,heads,seq,head_dim,dtype,seconds  (or tflops; optional causal, pass)
 * A header row names the columns (any order, case-insensitive). dtype: bf16, fp16, fp8, fp4
 * (and the PyTorch spellings bfloat16, float16, half, float8_e4m3fn, float8_e5m2). Attention
 * FLOPs follow the FlashAttention benchmark convention: forward 4·batch·heads·seq²·head_dim,
 * halved when causal; backward 2.5 × forward.
 */
import { parseCsv } from "../cluster-load.ts";
import { CalibrationInputError, inputProblem } from "./errors.ts";
import type { AttentionLevel, GemmLevel } from "./calibration-file.ts";

export interface GemmRow {
  line: number;
  m: number;
  n: number;
  k: number;
  batch: number;
  level: GemmLevel;
  flops: number;
  seconds: number;
}

export interface AttentionRow {
  line: number;
  batch: number;
  heads: number;
  seq: number;
  headDim: number;
  causal: boolean;
  backward: boolean;
  level: AttentionLevel;
  flops: number;
  seconds: number;
}

export type KernelTable = { kind: "gemm"; file: string; rows: GemmRow[] } | { kind: "attention"; file: string; rows: AttentionRow[] };

const DTYPES: Readonly<Record<string, GemmLevel>> = {
  bf16: "bf16",
  bfloat16: "bf16",
  fp16: "bf16",
  float16: "bf16",
  half: "bf16",
  fp8: "fp8",
  e4m3: "fp8",
  e5m2: "fp8",
  float8_e4m3fn: "fp8",
  float8_e5m2: "fp8",
  fp4: "fp4",
  nvfp4: "fp4",
};

const ALIASES: Readonly<Record<string, string>> = { seqlen: "seq", seq_len: "seq", sequence: "seq", headdim: "head_dim", hdim: "head_dim", time_s: "seconds", time: "seconds", s: "seconds", tflop_s: "tflops", "tflop/s": "tflops", direction: "pass" };

/** Parse one kernel CSV; the columns say whether it holds GEMMs or attention. */
export function parseKernelCsv(file: string, text: string): KernelTable {
  const rows = parseCsv(text);
  const header = rows[0];
  if (header === undefined) throw new CalibrationInputError(`${file}: header: the file is empty; expected a header row such as m,n,k,dtype,seconds or batch,heads,seq,head_dim,dtype,seconds`);
  const cols = header.map((h) => {
    const c = h.trim().toLowerCase();
    return ALIASES[c] ?? c;
  });
  const at = (name: string): number => cols.indexOf(name);
  const gemm = at("m") >= 0 && at("n") >= 0 && at("k") >= 0;
  const attention = at("heads") >= 0 && at("seq") >= 0 && at("head_dim") >= 0;
  if (!gemm && !attention) throw new CalibrationInputError(`${file}:1: header: ${JSON.stringify(header.join(","))} is not allowed; expected GEMM columns m,n,k,dtype and seconds or tflops, or attention columns batch,heads,seq,head_dim,dtype and seconds or tflops`);
  const timed = at("seconds") >= 0 ? "seconds" : at("tflops") >= 0 ? "tflops" : undefined;
  if (timed === undefined) throw new CalibrationInputError(`${file}:1: header: no seconds or tflops column; expected one of them`);
  if (at("dtype") < 0) throw new CalibrationInputError(`${file}:1: header: no dtype column; expected dtype (bf16, fp16, fp8, fp4)`);
  const cell = (r: string[], name: string): string | undefined => {
    const i = at(name);
    return i < 0 ? undefined : r[i]?.trim();
  };
  const int = (r: string[], line: number, name: string, fallback?: number): number => {
    const t = cell(r, name);
    if ((t === undefined || t === "") && fallback !== undefined) return fallback;
    const v = Number(t);
    if (!Number.isInteger(v) || v < 1) throw inputProblem(file, line, name, t ?? "(missing)", "an integer >= 1");
    return v;
  };
  const positive = (r: string[], line: number, name: string): number => {
    const t = cell(r, name);
    const v = Number(t);
    if (t === undefined || t === "" || !Number.isFinite(v) || v <= 0) throw inputProblem(file, line, name, t ?? "(missing)", "a number > 0");
    return v;
  };
  const level = (r: string[], line: number): GemmLevel => {
    const t = (cell(r, "dtype") ?? "").toLowerCase().replace(/^torch\./, "");
    const l = DTYPES[t];
    if (l === undefined) throw inputProblem(file, line, "dtype", t, `one of ${Object.keys(DTYPES).join(", ")}`);
    return l;
  };
  const body = rows.slice(1).map((r, i) => ({ r, line: i + 2 })).filter(({ r }) => !(r.length === 1 && r[0]?.trim() === "") && !(r[0] ?? "").trim().startsWith("#"));
  if (body.length === 0) throw new CalibrationInputError(`${file}: rows: no data rows after the header; expected one timed kernel per row`);
  const time = (r: string[], line: number, flops: number): number => (timed === "seconds" ? positive(r, line, "seconds") : flops / (positive(r, line, "tflops") * 1e12));
  if (gemm) {
    return {
      kind: "gemm",
      file,
      rows: body.map(({ r, line }) => {
        const m = int(r, line, "m");
        const n = int(r, line, "n");
        const k = int(r, line, "k");
        const batch = int(r, line, "batch", 1);
        const flops = 2 * m * n * k * batch;
        return { line, m, n, k, batch, level: level(r, line), flops, seconds: time(r, line, flops) };
      }),
    };
  }
  return {
    kind: "attention",
    file,
    rows: body.map(({ r, line }) => {
      const batch = int(r, line, "batch", 1);
      const heads = int(r, line, "heads");
      const seq = int(r, line, "seq");
      const headDim = int(r, line, "head_dim");
      const c = (cell(r, "causal") ?? "false").toLowerCase();
      if (!["true", "false", "1", "0", ""].includes(c)) throw inputProblem(file, line, "causal", c, "true or false");
      const causal = c === "true" || c === "1";
      const p = (cell(r, "pass") ?? "fwd").toLowerCase();
      if (!["fwd", "forward", "bwd", "backward", ""].includes(p)) throw inputProblem(file, line, "pass", p, "fwd or bwd");
      const backward = p === "bwd" || p === "backward";
      const lvl = level(r, line);
      if (lvl === "fp4") throw inputProblem(file, line, "dtype", cell(r, "dtype") ?? "", "bf16, fp16 or fp8 for attention");
      const forwardFlops = (4 * batch * heads * seq * seq * headDim) / (causal ? 2 : 1);
      const flops = backward ? 2.5 * forwardFlops : forwardFlops;
      return { line, batch, heads, seq, headDim, causal, backward, level: lvl as AttentionLevel, flops, seconds: time(r, line, flops) };
    }),
  };
}
