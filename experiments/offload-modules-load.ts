/**
 * parallelism.offloadModules (Megatron-Core --fine-grained-activation-offloading --offload-modules):
 * the schema has checked the names; this checks each module once, and what Megatron-Core accepts
 * with the rest of the run (models/workload/offload-modules.ts).
 */
import type { ModelSpec, OffloadModule, ParallelPlan } from "../models/scenario.ts";
import { offloadsActivations } from "../models/workload/memory.ts";
import { offloadModulesProblem } from "../models/workload/offload-modules.ts";
import { showValue, type Problems } from "./schema.ts";

export function offloadModulesFrom(raw: Record<string, unknown>, plan: ParallelPlan, model: ModelSpec | undefined, layerImplementation: string, problems: Problems): void {
  const list = raw["offloadModules"];
  if (!Array.isArray(list)) return;
  const path = "parallelism.offloadModules";
  const modules = list as OffloadModule[];
  if (problems.repeated(path, modules)) return;
  if (model !== undefined) {
    const context = { recompute: plan.recompute, ...(plan.recomputeModules !== undefined ? { recomputeModules: plan.recomputeModules } : {}), remat: raw["remat"], offloading: offloadsActivations(plan) };
    for (const [i, module] of modules.entries()) {
      const why = offloadModulesProblem(module, model.experts, context, layerImplementation);
      if (why !== null) problems.invalid(`${path}.${i}`, module, `${showValue(module)} is not allowed: ${why}`);
    }
  }
  plan.offloadModules = modules;
}
