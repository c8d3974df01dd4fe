/** Intel Gaudi accelerators. */
import type { Accelerator } from "../types.ts";
import { CSCS_LAT, GAUDI3_HC, GiB, MAMF } from "./sources.ts";

export const INTEL: Readonly<Record<string, Accelerator>> = {
  Gaudi3: {
    name: "Gaudi3",
    vendor: "Intel",
    peakFlops: { bf16: 1835e12, fp8: 1835e12 },
    hbmBytes: 128 * GiB,
    hbmBandwidth: 3.67e12,
    // 21 of 24 200GbE ports form the all-to-all scale-up mesh in an 8-card HLS/HLB board (3 per peer).
    scaleUpBandwidth: 525e9,
    scaleUpKind: "roce",
    scaleUpDomain: 8,
    nicBandwidth: 75e9,
    tdpWatts: 900,
    idleWatts: 264,
    // 8 MMEs do the GEMMs (64 TPCs handle non-matmul work).
    smCount: 8,
    efficiency: {
      gemmPeakFraction: 0.677,
      hbmPeakFraction: 0.834,
      kernelLaunchSeconds: 2.7e-6,
      attentionPeakFraction: 0.569,
    },
    sources: {
      "peakFlops.bf16": `${GAUDI3_HC}: BF16 matrix (MME) 1835 TFLOPS at the planned 1.75 GHz MME clock (shipping parts run 1.6 GHz = 1677 per ml-engineering)`,
      "peakFlops.fp8": `${GAUDI3_HC}: FP8 matrix (MME) 1835 TFLOPS`,
      hbmBytes: `${GAUDI3_HC}: 128 GB HBM2e (8 stacks); hl-smi reports 131072 MiB = 128 GiB`,
      hbmBandwidth: `${GAUDI3_HC}: HBM bandwidth 3.67 TB/s (marketing rounds to 3.7)`,
      scaleUpBandwidth: `${GAUDI3_HC}: 24x 200GbE RoCE (1200 GB/s bidirectional); Intel Gaudi 3 white paper HLS-style 8-card board: 21 ports all-to-all -> 21 x 25 GB/s = 525 GB/s per direction (assumption: HLB baseboard topology)`,
      scaleUpDomain: "Intel Gaudi 3 white paper: 8 OAMs all-to-all per baseboard",
      nicBandwidth: "Intel Gaudi 3 white paper: remaining 3 of 24 200GbE ports per card for scale-out = 600 Gb/s = 75e9 B/s",
      tdpWatts: `${GAUDI3_HC}: TDP (OAM) 900 W air-cooled (1200 W liquid)`,
      idleWatts: "instructlab/instructlab Intel Gaudi guide hl-smi capture: HL-325 264 W / 900 W at 0% AIP-Util, 672 MiB used (single reading)",
      smCount: `${GAUDI3_HC}: MME units 8, TPC units 64`,
      "efficiency.gemmPeakFraction": `${MAMF}: Intel Gaudi 3 1243.0 TFLOP/s (PT_HPU_LAZY_MODE=1) / 1835 Intel peak (table reports 74.1% against its 1677 1.6 GHz figure)`,
      "efficiency.hbmPeakFraction": "Derived (no published Gaudi 3 stream measurement): HBM2e stream efficiency of A100-80GB, Azure ND A100 v4 BabelStream Triad 1.70 / 2.039 TB/s",
      "efficiency.kernelLaunchSeconds": `Estimate: graph-compiled (lazy/recipe) launches; no public per-op figure, GPU value used (${CSCS_LAT} A100 async 2.7 us)`,
      "efficiency.attentionPeakFraction": "Derived: measured GEMM fraction 0.677 x (A100 FA2-fwd/GEMM ratio 0.73/0.869 = 0.84) = 0.569 for FusedSDPA; no published measurement",
    },
  },
};
