"""Plain numpy (float64) reference of the tiny Llama / Mistral / Qwen2 / GPT-2 models.

Written from the architectures' definitions, independently of the PyTorch capture tool, so tests can
compare that tool's attention against it:

    model = load_reference(directory)          # config.json + safetensors (single file or sharded)
    logits, probs = forward(model, ids)        # probs[layer]: [n_heads, T, T], causal, full sequence
    sel = topk_sets(probs[layer], row, k, "mean", model.n_kv_heads)

The safetensors reader below is numpy only (F32, F16, BF16; F64 too). Weights are converted to float64
after reading, so a bf16/f16 checkpoint is evaluated with exactly its rounded weights.
"""

import json
import math
import os
import struct

import numpy as np

AGGREGATES = ("mean", "max", "kv-head-union")


def read_safetensors(path):
    """{name: float64 array} of one safetensors file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw, dtype = data[begin:end], info["dtype"]
        if dtype == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in ("F16", "F32", "F64"):
            a = np.frombuffer(raw, {"F16": "<f2", "F32": "<f4", "F64": "<f8"}[dtype])
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        out[name] = a.astype(np.float64).reshape(info["shape"])
    return out


def read_weights(directory):
    """All tensors of the checkpoint in `directory`: model.safetensors, or the shards of the index."""
    index = os.path.join(directory, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(directory, "model.safetensors"))
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    weights = {}
    for shard in sorted(set(weight_map.values())):
        weights.update(read_safetensors(os.path.join(directory, shard)))
    missing = set(weight_map) - set(weights)
    if missing:
        raise ValueError(f"{directory}: tensors listed in the index but not in the shards: {sorted(missing)}")
    return weights


class ReferenceModel:
    """Config and float64 weights of a checkpoint, with the attention geometry spelled out."""

    def __init__(self, config, weights):
        self.config = config
        self.model_type = config["model_type"]
        if self.model_type == "gpt2":
            # Real GPT-2 files may prefix names with "transformer."; the reference uses bare names.
            self.weights = {k[len("transformer."):] if k.startswith("transformer.") else k: v
                            for k, v in weights.items()}
            self.n_layers, self.n_heads = config["n_layer"], config["n_head"]
            self.n_kv_heads = self.n_heads
            self.head_dim = config["n_embd"] // self.n_heads
        else:
            self.weights = weights
            self.n_layers, self.n_heads = config["num_hidden_layers"], config["num_attention_heads"]
            self.n_kv_heads = config.get("num_key_value_heads") or self.n_heads
            self.head_dim = config.get("head_dim") or config["hidden_size"] // self.n_heads

    def sliding_window(self, layer):
        """Window w (key j visible to query i iff i - j < w) of `layer`, or None."""
        c = self.config
        if self.model_type == "mistral":
            return c.get("sliding_window")
        if self.model_type == "qwen2" and c.get("use_sliding_window"):
            return c.get("sliding_window") if layer >= c.get("max_window_layers", 0) else None
        return None


def load_reference(directory):
    """ReferenceModel of the Hugging Face-format checkpoint in `directory`."""
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    return ReferenceModel(config, read_weights(directory))


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def layer_norm(x, weight, bias, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * weight + bias


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope_inv_freq(config, head_dim):
    """inv_freq[j] = theta^(-2j/hd), with the "llama3" rope_scaling applied when configured."""
    inv = config.get("rope_theta", 10000.0) ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    rs = config.get("rope_scaling")
    if not rs:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "default":
        return inv
    if kind != "llama3":
        raise NotImplementedError(f"rope_scaling type {kind!r}")
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    orig = rs["original_max_position_embeddings"]
    wavelen = 2.0 * math.pi / inv
    smooth = (orig / wavelen - lo) / (hi - lo)
    medium = (1.0 - smooth) * inv / factor + smooth * inv
    return np.where(wavelen > orig / lo, inv / factor, np.where(wavelen < orig / hi, inv, medium))


def apply_rope(x, cos, sin):
    """x [T, heads, hd] rotated with the HF rotate_half convention; cos, sin [T, hd]."""
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos[:, None, :] + rotated * sin[:, None, :]


def attention(q, k, v, window=None):
    """Causal attention. q [T, nH, hd], k/v [T, nKV, hd] -> (out [T, nH*hd], probs [nH, T, T])."""
    T, nH, hd = q.shape
    group = nH // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)  # query head j uses KV head j // group
    scores = np.einsum("ihd,jhd->hij", q, k) / math.sqrt(hd)
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    visible = j <= i
    if window is not None:
        visible &= (i - j) < window
    scores = np.where(visible, scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)  # exp(-inf) == 0 above the diagonal
    probs = e / e.sum(axis=-1, keepdims=True)
    out = np.einsum("hij,jhd->ihd", probs, v).reshape(T, nH * hd)
    return out, probs


def forward(model, ids):
    """Full-sequence forward pass (no KV cache) on token ids.

    Returns (logits [T, V] float64, probs): probs is a list over layers of [n_heads, T, T] arrays, row i
    the softmax over keys 0..i (zeros above the diagonal, and outside a sliding window if any).
    """
    ids = np.asarray(ids, dtype=np.int64)
    if model.model_type == "gpt2":
        return _forward_gpt2(model, ids)
    c, w = model.config, model.weights
    T, nH, nKV, hd, eps = len(ids), model.n_heads, model.n_kv_heads, model.head_dim, c["rms_norm_eps"]
    angles = np.arange(T, dtype=np.float64)[:, None] * rope_inv_freq(c, hd)[None, :]
    emb = np.concatenate([angles, angles], axis=-1)
    cos, sin = np.cos(emb), np.sin(emb)

    def proj(h, name):
        y = h @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    x, probs = w["model.embed_tokens.weight"][ids], []
    for layer in range(model.n_layers):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = apply_rope(proj(h, p + "self_attn.q_proj").reshape(T, nH, hd), cos, sin)
        k = apply_rope(proj(h, p + "self_attn.k_proj").reshape(T, nKV, hd), cos, sin)
        v = proj(h, p + "self_attn.v_proj").reshape(T, nKV, hd)
        out, pr = attention(q, k, v, model.sliding_window(layer))
        x = x + proj(out, p + "self_attn.o_proj")
        probs.append(pr)
        h2 = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = proj(h2, p + "mlp.gate_proj")
        x = x + proj(gate / (1.0 + np.exp(-gate)) * proj(h2, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if c.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ head.T, probs


def _forward_gpt2(model, ids):
    c, w = model.config, model.weights
    T, nH, hd, eps = len(ids), model.n_heads, model.head_dim, c["layer_norm_epsilon"]
    H = nH * hd
    x, probs = w["wte.weight"][ids] + w["wpe.weight"][np.arange(T)], []
    for layer in range(model.n_layers):
        p = f"h.{layer}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: weight is [in, out]
        q, k, v = (qkv[:, s * H:(s + 1) * H].reshape(T, nH, hd) for s in range(3))
        out, pr = attention(q, k, v)
        x = x + out @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        probs.append(pr)
        h2 = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = gelu_new(h2 @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].T, probs


def aggregated_scores(probs_layer, row, aggregate, n_kv_heads=None):
    """[groups, row] aggregated probabilities of query `row` over past positions 0..row-1.

    The current position `row` is dropped (not renormalised). "mean"/"max" over all query heads give one
    group; "kv-head-union" gives one group per KV head (mean over its query heads j, j // (nH/nKV) == g).
    """
    p = np.asarray(probs_layer, dtype=np.float64)[:, row, :row]  # [nH, row]
    if aggregate == "mean":
        return p.mean(axis=0, keepdims=True)
    if aggregate == "max":
        return p.max(axis=0, keepdims=True)
    if aggregate == "kv-head-union":
        nH = p.shape[0]
        n_kv = n_kv_heads or nH
        if nH % n_kv:
            raise ValueError(f"{nH} query heads are not a multiple of {n_kv} KV heads")
        return p.reshape(n_kv, nH // n_kv, row).mean(axis=1)
    raise ValueError(f"unknown aggregate {aggregate!r}; expected one of {AGGREGATES}")


def ranked_positions(scores):
    """Positions 0..n-1 ordered by score, highest first, ties toward the LATER position."""
    pos = np.arange(len(scores))
    return np.lexsort((-pos, -scores))


def topk_sets(probs_layer, row, k_of_n, aggregate, n_kv_heads=None):
    """Reference selection of past positions for query `row` of one layer's probs [nH, T, T].

    k_of_n (= ceil((1 - sparsity) * row)) positions among 0..row-1 per group (see aggregated_scores),
    the union over groups for "kv-head-union". Returns the positions as a sorted int64 array.
    n_kv_heads defaults to the number of query heads (GPT-2: "kv-head-union" is per head).
    """
    scores = aggregated_scores(probs_layer, row, aggregate, n_kv_heads)
    k = max(0, min(int(k_of_n), row))
    chosen = set()
    for group in scores:
        chosen.update(ranked_positions(group)[:k].tolist())
    return np.array(sorted(chosen), dtype=np.int64)


def selection_margin(probs_layer, row, k_of_n, aggregate, n_kv_heads=None):
    """Smallest gap, over groups, between the k-th and (k+1)-th aggregated probabilities of `row`.

    inf when the selection is forced (k >= row or k <= 0). A test comparing a lower-precision tool's
    selection with topk_sets can skip rows whose margin is below that tool's numerical error.
    """
    k = int(k_of_n)
    if k <= 0 or k >= row:
        return math.inf
    scores = np.sort(aggregated_scores(probs_layer, row, aggregate, n_kv_heads), axis=1)[:, ::-1]
    return float(np.min(scores[:, k - 1] - scores[:, k]))
