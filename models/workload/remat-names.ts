/**
 * The names parallelism.remat takes (remat-policy.ts holds what they mean): MaxText's
 * remat_policy values and checkpoint_name tags, and trainsim's names for the tensors MaxText
 * leaves unnamed. Plain data, imported by the scenario types and the schema.
 */
export const REMAT_TENSOR_NAMES = [
  "decoder_layer_input",
  "query_proj",
  "key_proj",
  "value_proj",
  "qkv_proj",
  "context",
  "out_proj",
  "mlpwi",
  "mlpwi_0",
  "mlpwi_1",
  "mlpwo",
  "attention_norm",
  "attention_residual",
  "mlp_norm",
  "mlp_activation",
  "mla_latents",
  "moe_routing",
] as const;
export type RematTensorName = (typeof REMAT_TENSOR_NAMES)[number];

/** MaxText's remat_policy values (92e59fd; "proj" is the Dec 2023 name of save_qkv_proj); "none" is recompute none. */
export const REMAT_POLICIES = [
  "minimal",
  "minimal_with_context",
  "minimal_flash",
  "save_dot_with_context_except_mlp",
  "save_dot_except_mlpwi",
  "save_dot_except_mlp",
  "save_qkv_proj",
  "proj",
  "qkv_proj_offloaded",
  "minimal_offloaded",
  "save_out_proj",
  "custom",
  "full",
] as const;
export type RematPolicy = (typeof REMAT_POLICIES)[number];

/** parallelism.remat as written: a policy, and tensors kept on device (save) or in host memory (offload) on top of it. */
export interface RematSpec {
  policy?: RematPolicy;
  save?: readonly RematTensorName[];
  offload?: readonly RematTensorName[];
}
