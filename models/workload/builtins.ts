/**
 * Built-in transformer models. Shapes only; what a step costs follows from them.
 */
import type { ModelSpec } from "../scenario.ts";

const NARAYANAN =
  "Narayanan et al. 2021, 'Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM' (SC'21), Table 1; seq 2048, vocab 51,200 (padded), ffn = 4h";

/** GPT-2/3-style decoder as Megatron-LM trains it: learned positions, GELU MLP of 4h, biases, tied embeddings, dropout 0.1. */
function gpt(name: string, layers: number, hidden: number, heads: number, source: string, vocab = 51200): ModelSpec {
  return {
    name,
    layers,
    hidden,
    heads,
    kvHeads: heads,
    ffn: 4 * hidden,
    vocab,
    gatedMlp: false,
    experts: 1,
    topK: 1,
    tiedEmbeddings: true,
    positionEmbeddings: 2048,
    dropout: true,
    bias: true,
    source,
  };
}

/** Llama-style decoder: rotary positions, SwiGLU MLP, GQA, no biases, no dropout, untied output. */
function llama(name: string, layers: number, hidden: number, heads: number, kvHeads: number, ffn: number, vocab: number, source: string): ModelSpec {
  return {
    name,
    layers,
    hidden,
    heads,
    kvHeads,
    ffn,
    vocab,
    gatedMlp: true,
    experts: 1,
    topK: 1,
    tiedEmbeddings: false,
    positionEmbeddings: 0,
    dropout: false,
    bias: false,
    source,
  };
}

const LLAMA3 =
  "Llama Team, 'The Llama 3 Herd of Models' (2024), Table 3; vocab 128,256 from the released config.json";

export const BUILTIN_MODELS: Readonly<Record<string, ModelSpec>> = {
  "gpt-1.7b": gpt("gpt-1.7b", 24, 2304, 24, NARAYANAN),
  "gpt-3.6b": gpt("gpt-3.6b", 30, 3072, 32, NARAYANAN),
  "gpt-7.5b": gpt("gpt-7.5b", 36, 4096, 32, NARAYANAN),
  "gpt-18b": gpt("gpt-18b", 40, 6144, 48, NARAYANAN),
  "gpt-39b": gpt("gpt-39b", 48, 8192, 64, NARAYANAN),
  "gpt-76b": gpt("gpt-76b", 60, 10240, 80, NARAYANAN),
  "gpt-145b": gpt("gpt-145b", 80, 12288, 96, NARAYANAN),
  "gpt-310b": gpt("gpt-310b", 96, 16384, 128, NARAYANAN),
  "gpt-530b": gpt("gpt-530b", 105, 20480, 128, NARAYANAN),
  "gpt-1t": gpt("gpt-1t", 128, 25600, 160, NARAYANAN),
  "gpt3-175b": gpt(
    "gpt3-175b",
    96,
    12288,
    96,
    "Brown et al. 2020, 'Language Models are Few-Shot Learners', Table 2.1 (96 layers, d_model 12288, 96 heads, context 2048); vocab 50,257 padded to 51,200 as Megatron-LM does",
  ),
  "llama3-8b": llama("llama3-8b", 32, 4096, 32, 8, 14336, 128256, LLAMA3),
  "llama3-70b": llama("llama3-70b", 80, 8192, 64, 8, 28672, 128256, LLAMA3),
  "llama3-405b": llama("llama3-405b", 126, 16384, 128, 8, 53248, 128256, LLAMA3),
  "mistral-7b": {
    ...llama(
      "mistral-7b",
      32,
      4096,
      32,
      8,
      14336,
      32000,
      "Jiang et al. 2023, 'Mistral 7B' (arXiv 2310.06825), Table 1 (dim 4096, 32 layers, 32 heads, 8 KV heads, hidden 14336, vocab 32000, window 4096); HF mistralai/Mistral-7B-v0.1 config.json sliding_window 4096",
    ),
    slidingWindow: 4096,
  },
  "mixtral-8x7b": {
    ...llama(
      "mixtral-8x7b",
      32,
      4096,
      32,
      8,
      14336,
      32000,
      "Jiang et al. 2024, 'Mixtral of Experts', Table 1 (dim 4096, 32 layers, 32 heads, 8 KV heads, hidden 14336, vocab 32000, 8 experts, top-2)",
    ),
    experts: 8,
    topK: 2,
  },
  "mixtral-8x22b": {
    ...llama(
      "mixtral-8x22b",
      56,
      6144,
      48,
      8,
      16384,
      32768,
      "mistralai/Mixtral-8x22B-v0.1 config.json on HuggingFace (hidden_size 6144, num_hidden_layers 56, num_attention_heads 48, num_key_value_heads 8, intermediate_size 16384, vocab_size 32768, num_local_experts 8, num_experts_per_tok 2)",
    ),
    experts: 8,
    topK: 2,
  },
  "qwen3-235b-a22b": {
    ...llama(
      "qwen3-235b-a22b",
      94,
      4096,
      64,
      4,
      12288,
      151936,
      "Qwen/Qwen3-235B-A22B config.json on HuggingFace (hidden_size 4096, num_hidden_layers 94, num_attention_heads 64, num_key_value_heads 4, head_dim 128, intermediate_size 12288, moe_intermediate_size 1536, num_experts 128, num_experts_per_tok 8, vocab_size 151936, tie_word_embeddings false): 64 query heads of head_dim 128 (8192) over hidden 4096",
    ),
    headDim: 128,
    experts: 128,
    topK: 8,
    expertFfn: 1536,
  },
  "deepseek-v3": {
    ...llama(
      "deepseek-v3",
      61,
      7168,
      128,
      128,
      18432,
      129280,
      "DeepSeek-V3 technical report (arXiv 2412.19437) §4.2 and deepseek-ai/DeepSeek-V3 config.json (hidden_size 7168, num_hidden_layers 61, first_k_dense_replace 3, intermediate_size 18432, moe_intermediate_size 2048, n_routed_experts 256, num_experts_per_tok 8, n_shared_experts 1, scoring_func sigmoid, n_group 8, topk_group 4, vocab_size 129280); MLA: kv_lora_rank 512, q_lora_rank 1536, qk_rope_head_dim 64, qk_nope_head_dim 128, v_head_dim 128 (report §4.2: d_c 512, d'_c 1536, d_h^R 64, d_h 128); multi-token prediction num_nextn_predict_layers 1 (§4.2: depth D = 1)",
    ),
    kvLoraRank: 512,
    qLoraRank: 1536,
    qkRopeHeadDim: 64,
    qkNopeHeadDim: 128,
    vHeadDim: 128,
    mtpLayers: 1,
    experts: 256,
    topK: 8,
    expertFfn: 2048,
    sharedExperts: 1,
    denseLayers: 3,
    routerScoring: "sigmoid",
    expertGroups: 8,
    expertGroupsPerToken: 4,
  },
};
