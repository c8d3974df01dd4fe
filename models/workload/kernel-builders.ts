/**
 * Building blocks of the kernel lists: a GEMM, a linear layer (FP8-aware), a memory-bound
 * kernel, and a GEMM's backward with its weight-gradient accumulation. Conventions as in
 * layer-kernels.ts (one read of each input and one write of the output per GEMM).
 */
import type { Kernel, StreamClass } from "../compute/kernel.ts";
import type { Precision } from "../hardware/types.ts";
import { fp8BackwardPlan, fp8BackwardQuantize, fp8ForwardQuantize, fp8RescaleKernel, fp8RowwiseForward, type Fp8Settings } from "./fp8.ts";

/** What the builders read of a layer's shape (layer-kernels.ts's LayerShape has these). */
export interface BuildShape {
  /** Bytes per activation element. */
  elementBytes: number;
  /** Bytes per accumulated gradient element. */
  gradBytes: number;
  gradAccumulationFusion: boolean;
  gradAccumulateShare: number;
  fp8?: Fp8Settings;
}

/** A GEMM reading `inBytes`-wide inputs (1 for FP8) and writing an `e`-wide output. */
export function gemm(name: string, m: number, n: number, k: number, e: number, batch = 1, launches = 1, inBytes = e): Kernel {
  return {
    name,
    kind: "gemm",
    flops: 2 * m * n * k * batch,
    bytes: batch * (inBytes * (m * k + k * n) + e * m * n),
    gemm: { m, n, k, batch },
    launches,
  };
}

/** Precision of the ops an FP8 recipe keeps in BF16 (attention, router, output layer); the run's otherwise. */
export function highPrecision(x: Pick<BuildShape, "fp8">): Precision | undefined {
  return x.fp8 ? "bf16" : undefined;
}

/** A linear layer's forward GEMM: FP8 inputs with a BF16 output in an FP8 run (TE Linear / LayerNormLinear). */
export function linear(name: string, m: number, n: number, k: number, x: BuildShape, batch = 1): Kernel {
  if (!x.fp8) return gemm(name, m, n, k, x.elementBytes, batch);
  const recipe = x.fp8.recipe;
  const scaling = fp8RowwiseForward(recipe) ? { fp8Scaling: "rowwise" as const } : recipe === "mxfp8" || recipe === "blockwise" ? { fp8Scaling: recipe } : {};
  return { ...gemm(name, m, n, k, x.elementBytes, batch, 1, 1), precision: "fp8", ...scaling };
}

/** A kernel at the high precision of an FP8 run (unchanged otherwise). */
export function inHighPrecision(k: Kernel, x: Pick<BuildShape, "fp8">): Kernel {
  const p = highPrecision(x);
  return p === undefined ? k : { ...k, precision: p };
}

/** Forward kernels of an FP8 linear layer: its quantizations, then the GEMM. */
export function withQuantize(k: Kernel, x: BuildShape): Kernel[] {
  return x.fp8 && k.precision === "fp8" ? [...fp8ForwardQuantize(k.name, k.gemm!, x.elementBytes, x.fp8), k] : [k];
}

export function memory(name: string, bytes: number, flops = 0, launches = 1): Kernel {
  return { name, kind: "memory", flops, bytes, launches };
}

/** The kernel tagged with the class of memory-bound kernel it is (its share of STREAM: kernel.ts). */
export function streamed(k: Kernel, cls: StreamClass): Kernel {
  return { ...k, streamClass: cls };
}

/** `count` fused RMSNorm/LayerNorm forwards over `rows` × `width`: read and write e bytes an element. */
export function normKernel(name: string, rows: number, width: number, e: number, count = 1): Kernel {
  return streamed(memory(name, count * 2 * e * rows * width, count * 8 * rows * width, count), "norm");
}

/** Their backwards: read x and dy, write dx, and `weightGradBytes` twice per column for the weight-gradient partials. */
export function normBackwardKernel(name: string, rows: number, width: number, e: number, weightGradBytes: number, count = 1): Kernel {
  return streamed(memory(name, count * (3 * e * rows * width + 2 * weightGradBytes * width), count * 10 * rows * width, count), "normBackward");
}

/** A fused RoPE over `elements` of Q and K (forward or backward): read and write e bytes an element, 2 launches. */
export function ropeKernel(name: string, elements: number, e: number): Kernel {
  return streamed(memory(name, 2 * e * elements, 3 * elements, 2), "rope");
}

/** A fused activation: gated ones (SwiGLU, GeGLU) are their own class; a plain one streams like any elementwise kernel. */
export function activation(k: Kernel, gate: number): Kernel {
  return gate > 1 ? streamed(k, "gatedActivation") : k;
}

/**
 * Accumulating a weight gradient of `params` elements into the gradient buffer,
 * when that is a kernel of its own (unfused): read the fresh gradient (e bytes)
 * and the buffer, write the buffer. In PyTorch this is autograd's
 * AccumulateGrad `grad += new_grad` (fp16 gradients in fp16 parameters, as
 * Megatron-LM 2021 ran fp16) or Megatron's DDP hook `main_grad.add_(grad)`
 * into fp32 main grads; a separate pass over a weight-sized buffer per
 * micro-batch, which the wgrad GEMM's compute cannot hide.
 */
export function gradAccumulateKernel(name: string, params: number, x: Pick<BuildShape, "elementBytes" | "gradBytes" | "gradAccumulateShare">): Kernel[] {
  const n = params * x.gradAccumulateShare;
  if (n <= 0) return [];
  return [memory(`${name}.grad-accumulate`, (x.elementBytes + 2 * x.gradBytes) * n, n, x.gradAccumulateShare)];
}

export type GradAccumulation = Pick<BuildShape, "elementBytes" | "gradBytes" | "gradAccumulationFusion" | "gradAccumulateShare">;

/**
 * Backward of a GEMM: the input gradient and the weight gradient, same FLOPs each, in the
 * forward's precision. An FP8 GEMM's backward first quantizes the incoming gradient.
 */
export function gemmBackward(fwd: Kernel, e: number, acc: GradAccumulation | null, fp8?: Fp8Settings): Kernel[] {
  const g = fwd.gemm!;
  const out: Kernel[] = [];
  const isFp8 = fwd.precision === "fp8";
  const inBytes = isFp8 ? 1 : e;
  // The backward GEMMs keep the forward's precision, and MXFP8's or Transformer Engine's block scales
  // (torchao's rowwise recipes send theirs to the tensorwise kernel: fp8BackwardPlan).
  const mx = fwd.fp8Scaling === "mxfp8" || fwd.fp8Scaling === "blockwise" ? { fp8Scaling: fwd.fp8Scaling } : {};
  const own = (k: Kernel): Kernel => (fwd.precision === undefined ? k : { ...k, precision: fwd.precision, ...mx });
  if (isFp8 && fp8) out.push(...fp8BackwardQuantize(fwd.name, g, e, fp8));
  const plan = isFp8 && fp8 ? fp8BackwardPlan(fp8.recipe) : { wgradInBf16: false, rescaleOutputs: false };
  const rescale = (k: Kernel): Kernel[] => (plan.rescaleOutputs ? [k, fp8RescaleKernel(k.name, k.gemm!.m * k.gemm!.n * (k.gemm!.batch ?? 1), e)] : [k]);
  // dX[m,k] = dY[m,n] · W[k,n]^T : inner dimension n.
  out.push(...rescale(own(gemm(`${fwd.name}.dgrad`, g.m, g.k, g.n, e, g.batch ?? 1, 1, inBytes))));
  if (acc !== null) {
    // dW[k,n] = X[m,k]^T · dY[m,n] : inner dimension m (tokens); accumulated into main grads.
    const w = plan.wgradInBf16
      ? { ...gemm(`${fwd.name}.wgrad`, g.k, g.n, g.m, e, g.batch ?? 1), precision: "bf16" as const }
      : own(gemm(`${fwd.name}.wgrad`, g.k, g.n, g.m, e, g.batch ?? 1, 1, inBytes));
    const params = g.k * g.n * (g.batch ?? 1);
    if (acc.gradAccumulationFusion) {
      // The epilogue reads and writes the gradient buffer in place of writing a fresh gradient.
      w.bytes += (2 * acc.gradBytes - e) * params;
      out.push(...rescale(w));
    } else {
      out.push(...rescale(w), ...gradAccumulateKernel(fwd.name, params, acc));
    }
  } else {
    out.push(...rescale(own(gemm(`${fwd.name}.dgrad2`, g.k, g.n, g.m, e, g.batch ?? 1, 1, inBytes))));
  }
  return out;
}

