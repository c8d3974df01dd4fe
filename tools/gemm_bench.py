#!/usr/bin/env python3
"""Time GEMMs and flash attention on one GPU and write the CSVs `trainsim calibrate --kernels` reads.

Not run in CI (it needs a GPU and PyTorch). Usage, on the machine to calibrate:

    python tools/gemm_bench.py --out gemm.csv --attention-out attention.csv
    python tools/gemm_bench.py --dtypes bf16,fp8 --shapes 8192x8192x8192,4096x14336x4096

Each kernel is timed alone: warm-up launches, then CUDA events around `--iters` launches,
the median of `--repeats` such timings. GEMM rows: m,n,k,dtype,seconds (one C = A @ B of
shape m x k times k x n; fp8 through torch._scaled_mm with unit tensorwise scales, row-major
A and column-major B as cuBLASLt requires). Attention rows:
batch,heads,seq,head_dim,dtype,causal,pass,seconds, from
torch.nn.functional.scaled_dot_product_attention (flash backend where PyTorch has it),
forward alone and forward+backward minus forward for the backward pass. trainsim counts
attention FLOPs as FlashAttention's benchmark does (4*b*h*s^2*d, halved when causal;
backward 2.5 x forward), so the seconds are what matter here.

Tested with PyTorch 2.4-2.6 on CUDA 12; needs nothing beyond torch.
"""
import argparse
import csv
import statistics

import torch

DEFAULT_SHAPES = [
    (8192, 8192, 8192), (4096, 4096, 4096), (2048, 2048, 2048), (16384, 16384, 16384),
    (1024, 2145, 1024), (6144, 12288, 12288), (802816, 192, 768), (4096, 14336, 4096),
    (16384, 4096, 1024), (512, 4096, 4096),
]
DEFAULT_ATTENTION = [(2, 16, 8192, 128), (4, 32, 4096, 128), (8, 32, 2048, 128), (1, 16, 16384, 128), (4, 16, 4096, 64)]
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def time_it(fn, iters, repeats):
    for _ in range(max(3, iters // 4)):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        samples.append(start.elapsed_time(end) / 1e3 / iters)
    return statistics.median(samples)


def gemm_fn(m, n, k, dtype):
    if dtype == "fp8":
        a = torch.randn(m, k, device="cuda").to(torch.float8_e4m3fn)
        b = torch.randn(n, k, device="cuda").to(torch.float8_e4m3fn).t()  # column-major k x n
        one = torch.tensor(1.0, device="cuda")
        return lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    a = torch.randn(m, k, device="cuda", dtype=DTYPES[dtype])
    b = torch.randn(k, n, device="cuda", dtype=DTYPES[dtype])
    return lambda: torch.matmul(a, b)


def attention_fns(b, h, s, d, dtype, causal):
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=DTYPES[dtype], requires_grad=True) for _ in range(3))
    sdpa = torch.nn.functional.scaled_dot_product_attention
    grad = torch.randn(b, h, s, d, device="cuda", dtype=DTYPES[dtype])

    def fwd():
        with torch.no_grad():
            sdpa(q, k, v, is_causal=causal)

    def fwd_bwd():
        out = sdpa(q, k, v, is_causal=causal)
        out.backward(grad)

    return fwd, fwd_bwd


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="gemm.csv")
    p.add_argument("--attention-out", default="attention.csv")
    p.add_argument("--dtypes", default="bf16,fp8", help="comma list of bf16, fp16, fp8")
    p.add_argument("--shapes", default="", help="comma list of MxNxK (default: a standard set)")
    p.add_argument("--causal", action="store_true", help="time causal attention too")
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    shapes = [tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",") if s] or DEFAULT_SHAPES
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["m", "n", "k", "dtype", "seconds"])
        for dtype in dtypes:
            for m, n, k in shapes:
                seconds = time_it(gemm_fn(m, n, k, dtype), args.iters, args.repeats)
                w.writerow([m, n, k, dtype, f"{seconds:.9g}"])
                print(f"gemm {m}x{n}x{k} {dtype}: {2 * m * n * k / seconds / 1e12:.1f} TFLOP/s")
    with open(args.attention_out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["batch", "heads", "seq", "head_dim", "dtype", "causal", "pass", "seconds"])
        for dtype in [d for d in dtypes if d in DTYPES]:
            for causal in [False, True] if args.causal else [False]:
                for b, h, s, d in DEFAULT_ATTENTION:
                    fwd, fwd_bwd = attention_fns(b, h, s, d, dtype, causal)
                    t_fwd = time_it(fwd, args.iters, args.repeats)
                    t_bwd = max(time_it(fwd_bwd, args.iters, args.repeats) - t_fwd, 1e-9)
                    w.writerow([b, h, s, d, dtype, str(causal).lower(), "fwd", f"{t_fwd:.9g}"])
                    w.writerow([b, h, s, d, dtype, str(causal).lower(), "bwd", f"{t_bwd:.9g}"])
                    print(f"attention b{b} h{h} s{s} d{d} {dtype} causal={causal}: fwd {t_fwd * 1e3:.3f} ms, bwd {t_bwd * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
