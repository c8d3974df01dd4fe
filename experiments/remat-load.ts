/**
 * parallelism.remat: the named tensors a recompute-full layer keeps (models/workload/remat-policy.ts).
 * The schema has checked the policy and tensor names; this checks what remat needs of the rest.
 */
import type { ParallelPlan } from "../models/scenario.ts";
import type { RematPolicy, RematSpec, RematTensorName } from "../models/workload/remat-names.ts";
import { isPlainObject, showValue, type Problems } from "./schema.ts";

export interface RematContext {
  /** parallelism.recompute as written (undefined when absent). */
  recompute: unknown;
  precision: string;
  attention: unknown;
  dropout: boolean;
  eager: boolean;
  offloadActivations: boolean;
}

export function rematFrom(raw: unknown, plan: ParallelPlan, c: RematContext, problems: Problems): void {
  if (!isPlainObject(raw)) return;
  if (c.recompute !== undefined && c.recompute !== "full") {
    problems.invalid("parallelism.recompute", c.recompute, `${showValue(c.recompute)} is not allowed with parallelism.remat, which keeps named tensors of a layer recomputed from its input; expected full or no recompute key`);
    return;
  }
  // The tensor sizes are those of the fused BF16/FP32 flash-attention layer MaxText runs.
  const refuse = (why: string): void => problems.invalid("parallelism.remat", raw, `not allowed ${why}`);
  if (c.precision === "fp8") return refuse("with workload.precision fp8; expected bf16, fp16, fp32 or tf32 (FP8 layers save their own casts)");
  if (c.attention !== undefined && c.attention !== "flash") return refuse(`with workload.attention ${showValue(c.attention)}; expected flash`);
  if (c.dropout) return refuse("with a model that has dropout; expected dropout false");
  if (c.eager) return refuse("with workload.layerImplementation eager; expected fused");
  if (c.offloadActivations) return refuse("with parallelism.offloadActivations; offload tensors through remat.offload instead");
  const spec: RematSpec = {
    ...(typeof raw["policy"] === "string" ? { policy: raw["policy"] as RematPolicy } : {}),
    ...(Array.isArray(raw["save"]) ? { save: raw["save"] as RematTensorName[] } : {}),
    ...(Array.isArray(raw["offload"]) ? { offload: raw["offload"] as RematTensorName[] } : {}),
  };
  plan.remat = spec;
  plan.recompute = "full";
}
