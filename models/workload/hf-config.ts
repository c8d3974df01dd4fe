/**
 * A model from a local HuggingFace `config.json`: the keys decoder LLMs publish.
 * Pure: takes the parsed JSON, returns a ModelSpec or the list of problems.
 */
import type { ModelSpec } from "../scenario.ts";

export interface FieldProblem {
  /** Key inside config.json. */
  key: string;
  message: string;
}

type Json = Record<string, unknown>;

export function modelFromHfConfig(config: Json, name: string): { model?: ModelSpec; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const int = (key: string, fallback?: number): number => {
    const v = config[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      problems.push({ key, message: `${key}: ${JSON.stringify(v)} is not allowed; expected a positive integer` });
      return 1;
    }
    return v;
  };
  const hidden = int("hidden_size");
  const layers = int("num_hidden_layers");
  const heads = int("num_attention_heads");
  const kvHeads = int("num_key_value_heads", heads);
  const ffn = config["intermediate_size"] === undefined && config["moe_intermediate_size"] !== undefined ? int("moe_intermediate_size") : int("intermediate_size");
  const vocab = int("vocab_size");
  // Routed experts: Mixtral num_local_experts, Qwen-MoE num_experts, DeepSeek n_routed_experts.
  const expertKey = ["num_local_experts", "num_experts", "n_routed_experts"].find((k) => config[k] !== undefined && config[k] !== null);
  const experts = expertKey !== undefined ? int(expertKey) : 1;
  const topK = config["num_experts_per_tok"] !== undefined ? int("num_experts_per_tok") : 1;
  const act = String(config["hidden_act"] ?? config["activation_function"] ?? "silu");
  const gatedMlp = act === "silu" || act === "swiglu" || act === "geglu";
  const positions = config["rope_theta"] !== undefined || config["rotary_emb_base"] !== undefined ? 0 : Number(config["max_position_embeddings"] ?? config["n_positions"] ?? 0);
  if (kvHeads > heads || heads % kvHeads !== 0) {
    problems.push({ key: "num_key_value_heads", message: `num_key_value_heads: ${kvHeads} must divide num_attention_heads ${heads}` });
  }
  if (topK > experts) problems.push({ key: "num_experts_per_tok", message: `num_experts_per_tok: ${topK} exceeds the number of experts ${experts}` });
  const moe = experts > 1 ? moeFields(config, ffn, layers, problems) : {};
  if (problems.length > 0) return { problems };
  return {
    problems,
    model: {
      name,
      layers,
      hidden,
      heads,
      kvHeads,
      ffn,
      vocab,
      gatedMlp,
      experts,
      topK,
      tiedEmbeddings: config["tie_word_embeddings"] === true,
      positionEmbeddings: positions,
      dropout: Number(config["attention_dropout"] ?? 0) > 0 || Number(config["hidden_dropout"] ?? 0) > 0,
      bias: config["attention_bias"] === true || config["mlp_bias"] === true,
      ...moe,
      source: `HuggingFace config.json (${name})`,
    },
  };
}

/**
 * MoE shape keys: moe_intermediate_size (one routed expert; Mixtral has none, its experts are
 * intermediate_size), n_shared_experts (DeepSeek) or shared_expert_intermediate_size (Qwen2-MoE:
 * one shared MLP, a whole number of experts wide), first_k_dense_replace (DeepSeek), scoring_func
 * (DeepSeek-V3 sigmoid; softmax otherwise), n_group/topk_group (group-limited routing). norm_topk_prob
 * and the aux-loss keys change no cost.
 * Layer patterns the model cannot express (moe_layer_freq or decoder_sparse_step above 1,
 * mlp_only_layers) are refused by name.
 */
function moeFields(config: Json, ffn: number, layers: number, problems: FieldProblem[]): Partial<ModelSpec> {
  const out: Partial<ModelSpec> = {};
  const positive = (key: string): number | undefined => {
    const v = config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      problems.push({ key, message: `${key}: ${JSON.stringify(v)} is not allowed; expected a whole number` });
      return undefined;
    }
    return v;
  };
  const expertFfn = positive("moe_intermediate_size");
  if (expertFfn !== undefined && expertFfn > 0 && expertFfn !== ffn) out.expertFfn = expertFfn;
  const one = expertFfn ?? ffn;
  const shared = positive("n_shared_experts");
  const sharedSize = positive("shared_expert_intermediate_size");
  if (shared !== undefined && shared > 0) out.sharedExperts = shared;
  else if (sharedSize !== undefined && sharedSize > 0) {
    if (sharedSize % one !== 0) problems.push({ key: "shared_expert_intermediate_size", message: `shared_expert_intermediate_size: ${sharedSize} is not allowed; it must be a whole number of experts of moe_intermediate_size ${one}` });
    else out.sharedExperts = sharedSize / one;
  }
  const dense = positive("first_k_dense_replace");
  if (dense !== undefined && dense > 0) {
    if (dense >= layers) problems.push({ key: "first_k_dense_replace", message: `first_k_dense_replace: ${dense} is not allowed; it must be below num_hidden_layers ${layers}` });
    else out.denseLayers = dense;
  }
  for (const key of ["moe_layer_freq", "decoder_sparse_step"]) {
    const v = config[key];
    if (v !== undefined && v !== null && v !== 1) problems.push({ key, message: `${key}: ${JSON.stringify(v)} is not supported; every layer after first_k_dense_replace must be a MoE layer (1)` });
  }
  const only = config["mlp_only_layers"];
  if (Array.isArray(only) && only.length > 0) problems.push({ key: "mlp_only_layers", message: `mlp_only_layers: ${JSON.stringify(only)} is not supported; dense layers only at the front (first_k_dense_replace)` });
  const groups = positive("n_group");
  const perToken = positive("topk_group");
  if (groups !== undefined && groups > 1 && perToken !== undefined && perToken > 0) {
    out.expertGroups = groups;
    out.expertGroupsPerToken = Math.min(perToken, groups);
  }
  const scoring = config["scoring_func"];
  if (scoring === "sigmoid") out.routerScoring = "sigmoid";
  else if (scoring !== undefined && scoring !== null && scoring !== "softmax") problems.push({ key: "scoring_func", message: `scoring_func: ${JSON.stringify(scoring)} is not allowed; expected "softmax" or "sigmoid"` });
  return out;
}
