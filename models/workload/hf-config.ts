/**
 * A model from a local HuggingFace `config.json`: the keys decoder LLMs publish.
 * Pure: takes the parsed JSON, returns a ModelSpec or the list of problems. Every key read
 * is checked (type, integer-ness, range, allowed strings) before it is used: a config.json
 * is someone else's file, and `"lots"` or `{...}` must be refused by name, not become NaN.
 */
import type { ModelSpec } from "../scenario.ts";

export interface FieldProblem {
  /** Key inside config.json. */
  key: string;
  message: string;
}

type Json = Record<string, unknown>;

/**
 * Activation names HuggingFace transformers maps to a function (ACT2CLS in
 * transformers/activations.py, v4.57), plus "swiglu" and "geglu" as some configs write the
 * gated ones. Only whether the MLP is gated matters here.
 */
export const HF_ACTIVATIONS = [
  "gelu", "gelu_10", "gelu_accurate", "gelu_fast", "gelu_new", "gelu_python", "gelu_pytorch_tanh", "geglu", "laplace", "leaky_relu", "linear",
  "mish", "prelu", "quick_gelu", "relu", "relu2", "relu6", "sigmoid", "silu", "swiglu", "swish", "tanh", "xielu",
] as const;
const GATED_ACTIVATIONS = new Set(["silu", "swiglu", "geglu"]);

/** The largest integer a size or count may be: exact in a double. */
const MAX_INT = Number.MAX_SAFE_INTEGER;

/** A value as it was written: 1e400 parsed to Infinity shows as Infinity, not JSON's "null". */
function shown(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (v === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function modelFromHfConfig(config: Json, name: string): { model?: ModelSpec; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const refuse = (key: string, expected: string): void => {
    problems.push({ key, message: `${key}: ${shown(config[key])} is not allowed; expected ${expected}` });
  };
  const has = (key: string): boolean => config[key] !== undefined;
  /** An integer >= min (a size or count); `fallback` when the key is absent. */
  const int = (key: string, fallback?: number, min = 1): number => {
    const v = config[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > MAX_INT) {
      refuse(key, min === 1 ? "a positive integer" : `an integer >= ${min}`);
      return 1;
    }
    return v;
  };
  const bool = (key: string): boolean => {
    const v = config[key];
    if (v === undefined) return false;
    if (typeof v !== "boolean") {
      refuse(key, "true or false");
      return false;
    }
    return v;
  };
  /** A probability in [0, 1]: only whether it is above 0 is used. */
  const rate = (key: string): number => {
    const v = config[key];
    if (v === undefined) return 0;
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
      refuse(key, "a number from 0 to 1");
      return 0;
    }
    return v;
  };
  const hidden = int("hidden_size");
  const layers = int("num_hidden_layers");
  const heads = int("num_attention_heads");
  const kvHeads = int("num_key_value_heads", heads);
  const ffn = !has("intermediate_size") && has("moe_intermediate_size") ? int("moe_intermediate_size") : int("intermediate_size");
  const vocab = int("vocab_size");
  // Routed experts: Mixtral num_local_experts, Qwen-MoE num_experts, DeepSeek n_routed_experts.
  const expertKey = ["num_local_experts", "num_experts", "n_routed_experts"].find((k) => has(k) && config[k] !== null);
  const experts = expertKey !== undefined ? int(expertKey) : 1;
  const topK = has("num_experts_per_tok") ? int("num_experts_per_tok") : 1;
  const actKey = has("hidden_act") ? "hidden_act" : has("activation_function") ? "activation_function" : undefined;
  let act = "silu";
  if (actKey !== undefined) {
    const v = config[actKey];
    if (typeof v === "string" && (HF_ACTIVATIONS as readonly string[]).includes(v)) act = v;
    else refuse(actKey, `one of ${HF_ACTIVATIONS.map((a) => JSON.stringify(a)).join(", ")}`);
  }
  const gatedMlp = GATED_ACTIVATIONS.has(act);
  // Rotary models carry no learned position table; null counts as present, as before.
  const rotaryKeys = ["rope_theta", "rotary_emb_base"].filter(has);
  for (const key of rotaryKeys) {
    const v = config[key];
    if (v !== null && (typeof v !== "number" || !(v > 0) || !Number.isFinite(v))) refuse(key, "a positive number (the rotary base)");
  }
  const positionsKey = has("max_position_embeddings") ? "max_position_embeddings" : has("n_positions") ? "n_positions" : undefined;
  const positionsWritten = positionsKey === undefined ? 0 : int(positionsKey, undefined, 0);
  const positions = rotaryKeys.length > 0 ? 0 : positionsWritten;
  const tiedEmbeddings = bool("tie_word_embeddings");
  const dropout = rate("attention_dropout") > 0 || rate("hidden_dropout") > 0;
  const attentionBias = bool("attention_bias");
  const mlpBias = bool("mlp_bias");
  if (problems.length === 0 && (kvHeads > heads || heads % kvHeads !== 0)) {
    problems.push({ key: "num_key_value_heads", message: `num_key_value_heads: ${kvHeads} must divide num_attention_heads ${heads}` });
  }
  if (problems.length === 0 && topK > experts) problems.push({ key: "num_experts_per_tok", message: `num_experts_per_tok: ${topK} exceeds the number of experts ${experts}` });
  const variants = attentionVariants(config, layers, hidden, heads, problems);
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
      tiedEmbeddings,
      positionEmbeddings: positions,
      dropout,
      bias: attentionBias || mlpBias,
      ...moe,
      source: `HuggingFace config.json (${name})`,
      ...variants,
    },
  };
}

/**
 * The head width (head_dim), MLA (DeepSeek-V2/V3: kv_lora_rank, q_lora_rank null or absent for none, qk_rope_head_dim,
 * qk_nope_head_dim, v_head_dim), the sliding window (sliding_window, unless
 * use_sliding_window is false as in Qwen2's configs; Gemma 3's sliding_window_pattern, or
 * layer_types whose "full_attention" entries recur with a fixed period), and multi-token
 * prediction (num_nextn_predict_layers). Null counts as absent.
 */
function attentionVariants(config: Json, layers: number, hidden: number, heads: number, problems: FieldProblem[]): Partial<ModelSpec> {
  const out: Partial<ModelSpec> = {};
  const opt = (key: string, minimum: number): number | undefined => {
    const v = config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < minimum) {
      problems.push({ key, message: `${key}: ${JSON.stringify(v)} is not allowed; expected an integer of at least ${minimum}${minimum === 0 ? "" : " (or null)"}` });
      return undefined;
    }
    return v;
  };
  const kvLora = opt("kv_lora_rank", 1);
  if (kvLora !== undefined) {
    out.kvLoraRank = kvLora;
    const q = opt("q_lora_rank", 0);
    if (q !== undefined && q > 0) out.qLoraRank = q;
    const rope = opt("qk_rope_head_dim", 0);
    if (rope !== undefined) out.qkRopeHeadDim = rope;
    const nope = opt("qk_nope_head_dim", 1);
    if (nope !== undefined) out.qkNopeHeadDim = nope;
    const v = opt("v_head_dim", 1);
    if (v !== undefined) out.vHeadDim = v;
  }
  const window = opt("sliding_window", 1);
  if (window !== undefined && config["use_sliding_window"] !== false) {
    out.slidingWindow = window;
    // Gemma 2's early configs state no pattern: its modeling code alternates local and global layers.
    const pattern = opt("sliding_window_pattern", 1) ?? layerTypesPeriod(config, layers, problems) ?? (config["model_type"] === "gemma2" ? 2 : undefined);
    if (pattern !== undefined) out.slidingWindowPattern = pattern;
  }
  // head_dim (Qwen3, Gemma, Llama 3.1+, Mistral): kept only where it departs from hidden/heads, so
  // a config that merely restates the default gives the same model. Under MLA transformers'
  // DeepSeek configs set head_dim to qk_rope_head_dim (the rotary width), not a head width: ignored.
  const hd = opt("head_dim", 1);
  if (hd !== undefined && kvLora === undefined && hd * heads !== hidden) out.headDim = hd;
  const mtp = opt("num_nextn_predict_layers", 0);
  if (mtp !== undefined && mtp > 0) out.mtpLayers = mtp;
  return out;
}

/** The period N of layer_types when layer i is "full_attention" exactly when (i+1) % N == 0; undefined if every layer slides. */
function layerTypesPeriod(config: Json, layers: number, problems: FieldProblem[]): number | undefined {
  const types = config["layer_types"];
  if (types === undefined || types === null) return undefined;
  const bad = (why: string): undefined => {
    problems.push({ key: "layer_types", message: `layer_types: ${why}` });
    return undefined;
  };
  if (!Array.isArray(types) || types.length !== layers || types.some((t) => t !== "sliding_attention" && t !== "full_attention")) {
    return bad(`expected ${layers} entries (num_hidden_layers), each "sliding_attention" or "full_attention"`);
  }
  const first = types.indexOf("full_attention");
  if (first < 0) return undefined;
  const period = first + 1;
  if (types.some((t, i) => (t === "full_attention") !== ((i + 1) % period === 0))) {
    return bad(`the full-attention layers do not recur every ${period} layers (the ${period}-th, ${2 * period}-th, …); trainsim's slidingWindowPattern needs a fixed period`);
  }
  return period;
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
