/**
 * Accelerator catalog: datasheet figures in SI units (FLOP/s, bytes, bytes/s, W) plus one
 * measured efficiency calibration per part. Peak FLOP/s are DENSE (vendor "with sparsity"
 * figures halved). Every numeric field has a citation in `sources`; where no measurement is
 * published for a part, the value is derived from its closest sibling and the source says so.
 */
import type { Accelerator } from "./types.ts";
import { AMD } from "./catalog/amd.ts";
import { GOOGLE } from "./catalog/google.ts";
import { INTEL } from "./catalog/intel.ts";
import { NVIDIA } from "./catalog/nvidia.ts";

// One file per vendor under catalog/; shared citations in catalog/sources.ts.
export const CATALOG: Readonly<Record<string, Accelerator>> = { ...NVIDIA, ...AMD, ...GOOGLE, ...INTEL };
