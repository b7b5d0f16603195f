"""Tiny random checkpoints in Hugging Face layout, for tests of the attention-trace tooling.

`write_checkpoint(directory, arch)` writes config.json plus safetensors weights (one file, or two shards
and model.safetensors.index.json) for a scaled-down "llama", "mistral", "qwen2" or "gpt2" model.

Everything here is pure Python + numpy: the safetensors files are produced by the small writer below,
not by the safetensors package. Weight scales are chosen so that activations stay O(1) and attention
probabilities are clearly non-uniform (query/key projections are deliberately larger than usual), so
that a top-k of past positions is well defined (no near-ties).
"""

import json
import math
import os
import struct

import numpy as np

ARCHS = ("llama", "mistral", "qwen2", "gpt2")
DTYPES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}

QK_SCALE = 1.5  # q/k weights have std QK_SCALE/sqrt(H): per-element q, k ~ QK_SCALE, scores ~ QK_SCALE**2


def float32_to_bf16_bits(a):
    """uint16 bfloat16 bit patterns of `a` (upper 16 bits of float32, rounded to nearest even)."""
    bits = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2")


def tensor_bytes(array, dtype):
    """Raw little-endian row-major bytes of `array` stored as safetensors dtype "F32", "F16" or "BF16"."""
    if dtype == "F32":
        return np.ascontiguousarray(array, dtype="<f4").tobytes()
    if dtype == "F16":
        return np.ascontiguousarray(array, dtype="<f2").tobytes()
    if dtype == "BF16":
        return float32_to_bf16_bits(array).tobytes()
    raise ValueError(f"unsupported safetensors dtype {dtype}")


def write_safetensors(path, tensors, dtype):
    """Writes {name: float array} to `path` in the safetensors format, every tensor as `dtype`.

    Layout: u64 little-endian header length N, N bytes of JSON header (space-padded to a multiple of 8),
    then the tensors' bytes back to back in the order given. Returns the number of data bytes.
    """
    header = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, array in tensors.items():
        blob = tensor_bytes(array, dtype)
        header[name] = {"dtype": dtype, "shape": list(np.shape(array)), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    return offset


def make_config(arch, dtype="float32"):
    """The config.json dict for a tiny model of architecture `arch`."""
    if arch == "gpt2":
        return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 64, "n_layer": 3,
                "n_head": 4, "n_positions": 1024, "n_inner": None, "layer_norm_epsilon": 1e-5,
                "vocab_size": 97, "activation_function": "gelu_new", "torch_dtype": dtype}
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {ARCHS}")
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
              "intermediate_size": 96, "num_hidden_layers": 3, "num_attention_heads": 8,
              "num_key_value_heads": 2, "head_dim": 8, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
              "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                               "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
              "max_position_embeddings": 2048, "vocab_size": 97, "hidden_act": "silu",
              "tie_word_embeddings": False, "torch_dtype": dtype}
    if arch == "mistral":
        del config["rope_scaling"]
        config.update(architectures=["MistralForCausalLM"], model_type="mistral", rope_theta=10000.0,
                      sliding_window=None)
    elif arch == "qwen2":
        del config["rope_scaling"]
        config.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", rope_theta=1000000.0,
                      tie_word_embeddings=True, use_sliding_window=False)
    return config


def make_weights(config, rng):
    """{tensor name: float32 array} for `config`, in the order they are written."""
    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def linear(out_dim, in_dim, std=None):  # PyTorch nn.Linear layout [out, in]
        return normal((out_dim, in_dim), std if std is not None else 1.0 / math.sqrt(in_dim))

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    def bias(n):
        return normal((n,), 0.1)

    w = {}
    if config["model_type"] == "gpt2":
        H, V, P = config["n_embd"], config["vocab_size"], config["n_positions"]
        inner = config["n_inner"] or 4 * H
        qk = QK_SCALE / math.sqrt(H)
        w["wte.weight"] = normal((V, H), 1.0)
        w["wpe.weight"] = normal((P, H), 1.0)
        for i in range(config["n_layer"]):
            p = f"h.{i}."
            w[p + "ln_1.weight"], w[p + "ln_1.bias"] = norm(H), bias(H)
            # Conv1D layout [in, out]; columns are q | k | v.
            w[p + "attn.c_attn.weight"] = np.concatenate(
                [normal((H, H), qk), normal((H, H), qk), normal((H, H), 1.0 / math.sqrt(H))], axis=1)
            w[p + "attn.c_attn.bias"] = bias(3 * H)
            w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = normal((H, H), 1.0 / math.sqrt(H)), bias(H)
            w[p + "ln_2.weight"], w[p + "ln_2.bias"] = norm(H), bias(H)
            w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = normal((H, inner), 1.0 / math.sqrt(H)), bias(inner)
            w[p + "mlp.c_proj.weight"] = normal((inner, H), 1.0 / math.sqrt(inner))
            w[p + "mlp.c_proj.bias"] = bias(H)
        w["ln_f.weight"], w["ln_f.bias"] = norm(H), bias(H)
        return w

    H, I, V = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    nH, nKV = config["num_attention_heads"], config["num_key_value_heads"]
    hd = config.get("head_dim") or H // nH
    qk = QK_SCALE / math.sqrt(H)
    attn_bias = config["model_type"] == "qwen2"
    w["model.embed_tokens.weight"] = normal((V, H), 1.0)
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "self_attn.q_proj.weight"] = linear(nH * hd, H, qk)
        w[p + "self_attn.k_proj.weight"] = linear(nKV * hd, H, qk)
        w[p + "self_attn.v_proj.weight"] = linear(nKV * hd, H)
        if attn_bias:
            w[p + "self_attn.q_proj.bias"] = bias(nH * hd)
            w[p + "self_attn.k_proj.bias"] = bias(nKV * hd)
            w[p + "self_attn.v_proj.bias"] = bias(nKV * hd)
        w[p + "self_attn.o_proj.weight"] = linear(H, nH * hd)
        w[p + "post_attention_layernorm.weight"] = norm(H)
        w[p + "mlp.gate_proj.weight"] = linear(I, H)
        w[p + "mlp.up_proj.weight"] = linear(I, H)
        w[p + "mlp.down_proj.weight"] = linear(H, I)
    w["model.norm.weight"] = norm(H)
    if not config.get("tie_word_embeddings", False):
        w["lm_head.weight"] = linear(V, H)
    return w


def write_checkpoint(directory, arch, *, dtype="float32", sharded=False, seed=0, overrides=None):
    """Writes a tiny random `arch` checkpoint into `directory` (created if needed); returns its config.

    dtype: "float32", "float16" or "bfloat16" (safetensors F32/F16/BF16; config "torch_dtype").
    sharded: two shards model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json, else
    a single model.safetensors. seed: numpy default_rng seed (same seed, arch and config => same weights).
    overrides: optional dict merged into the config before the weights are made (tensor shapes follow
    the final config), e.g. {"sliding_window": 8} for mistral or {"num_hidden_layers": 1}.
    """
    if dtype not in DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}; expected one of {tuple(DTYPES)}")
    config = make_config(arch, dtype)
    config.update(overrides or {})
    weights = make_weights(config, np.random.default_rng(seed))
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    st = DTYPES[dtype]
    if not sharded:
        write_safetensors(os.path.join(directory, "model.safetensors"), weights, st)
        return config
    # Two shards: tensors in order, split where the running size passes half of the total.
    names = list(weights)
    sizes = [weights[n].size for n in names]
    half, running, cut = sum(sizes) / 2, 0, 1
    for cut, size in enumerate(sizes, start=1):
        running += size
        if running >= half:
            break
    cut = min(max(cut, 1), len(names) - 1)
    shards = [names[:cut], names[cut:]]
    weight_map, total = {}, 0
    for index, shard in enumerate(shards, start=1):
        fname = f"model-{index:05d}-of-{len(shards):05d}.safetensors"
        total += write_safetensors(os.path.join(directory, fname), {n: weights[n] for n in shard}, st)
        weight_map.update({n: fname for n in shard})
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return config
