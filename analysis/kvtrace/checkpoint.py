"""Hugging Face–format checkpoints: config.json and safetensors weights, read without `transformers`.

    spec = read_config(directory)          # ModelSpec: the architecture's sizes, checked
    weights = read_weights(directory, torch.float32, device)   # {tensor name: tensor}

A checkpoint directory holds config.json and either model.safetensors or shards listed by
model.safetensors.index.json. safetensors (https://github.com/huggingface/safetensors) is 8 bytes of
little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, then the raw
little-endian tensors; F32, F16 and BF16 are read here. Every problem is a CheckpointError whose message
is one line starting with the file it concerns.
"""

import dataclasses
import json
import math
import os
import struct

import numpy as np
import torch

# config.json's model_type -> the decoder family that runs it (model.py).
SUPPORTED = {"llama": "llama", "mistral": "llama", "qwen2": "llama", "gpt2": "gpt2"}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: str(e) is one line naming the file."""


@dataclasses.dataclass
class ModelSpec:
    model_type: str          # config.json's, e.g. "llama"
    family: str              # "llama" (Llama, Mistral, Qwen2) or "gpt2"
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    max_positions: int       # the longest sequence the model was made for
    eps: float
    tied: bool               # logits from the embedding matrix (no lm_head)
    qkv_bias: bool           # Qwen2: q/k/v projections have biases
    rope_theta: float = 10000.0
    rope_scaling: dict = None  # Llama 3's {"rope_type": "llama3", factor, low/high_freq_factor, original_max_...}
    sliding_window: int = None  # Mistral: a query sees the last `sliding_window` positions only
    activation: str = "silu"
    name: str = ""           # the checkpoint directory's name, for provenance


def read_config(directory):
    path = os.path.join(directory, "config.json")
    if not os.path.isdir(directory):
        raise CheckpointError(f"{directory}: no such checkpoint directory")
    try:
        with open(path, encoding="utf-8") as f:
            c = json.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing (a Hugging Face checkpoint has config.json)") from None
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
    model_type = c.get("model_type", "")
    if model_type not in SUPPORTED:
        raise CheckpointError(f"{path}: model_type '{model_type}' is not supported; supported: "
                              f"{', '.join(sorted(SUPPORTED))}")
    try:
        if SUPPORTED[model_type] == "gpt2":
            hidden, heads = int(c["n_embd"]), int(c["n_head"])
            spec = ModelSpec(model_type, "gpt2", int(c["n_layer"]), hidden, heads, heads, hidden // heads,
                             int(c["vocab_size"]), int(c.get("n_positions", c.get("n_ctx", 1024))),
                             float(c.get("layer_norm_epsilon", 1e-5)), True, True,
                             activation=c.get("activation_function", "gelu_new"))
        else:
            hidden, heads = int(c["hidden_size"]), int(c["num_attention_heads"])
            if model_type == "qwen2" and c.get("use_sliding_window"):
                raise CheckpointError(f"{path}: Qwen2's use_sliding_window (per-layer windows) is not supported")
            window = c.get("sliding_window") if model_type == "mistral" else None
            spec = ModelSpec(model_type, "llama", int(c["num_hidden_layers"]), hidden, heads,
                             int(c.get("num_key_value_heads") or heads), int(c.get("head_dim") or hidden // heads),
                             int(c["vocab_size"]), int(c.get("max_position_embeddings", 2048)),
                             float(c.get("rms_norm_eps", 1e-6)), bool(c.get("tie_word_embeddings", False)),
                             model_type == "qwen2", float(c.get("rope_theta", 10000.0)), c.get("rope_scaling"),
                             int(window) if window else None, c.get("hidden_act", "silu"))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: missing or bad key {e} for model_type '{model_type}'") from None
    if spec.heads % spec.kv_heads:
        raise CheckpointError(f"{path}: num_attention_heads {spec.heads} is not a multiple of "
                              f"num_key_value_heads {spec.kv_heads}")
    scaling = spec.rope_scaling or {}
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind not in (None, "default", "llama3"):
        raise CheckpointError(f"{path}: rope_scaling type '{kind}' is not supported (llama3 or none)")
    if spec.activation not in ("silu", "gelu_new", "gelu_pytorch_tanh"):
        raise CheckpointError(f"{path}: activation '{spec.activation}' is not supported")
    spec.name = os.path.basename(os.path.normpath(directory))
    return spec


# safetensors dtype -> (numpy dtype of the raw bytes, torch dtype they stand for)
_DTYPES = {"F32": (np.float32, torch.float32), "F16": (np.float16, torch.float16),
           "BF16": (np.int16, torch.bfloat16)}


def _shards(directory):
    single = os.path.join(directory, "model.safetensors")
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(single):
        return [single]
    if os.path.exists(index):
        try:
            with open(index, encoding="utf-8") as f:
                files = sorted(set(json.load(f)["weight_map"].values()))
        except (json.JSONDecodeError, KeyError, AttributeError) as e:
            raise CheckpointError(f"{index}: not a safetensors index ({e})") from None
        return [os.path.join(directory, name) for name in files]
    raise CheckpointError(f"{directory}: no model.safetensors or model.safetensors.index.json")


def _read_file(path, dtype, device, out):
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing (listed in the index)") from None
    except (struct.error, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not a safetensors file ({e})") from None
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    for name, info in header.items():
        if name == "__metadata__":
            continue
        kind = info.get("dtype")
        if kind not in _DTYPES:
            raise CheckpointError(f"{path}: tensor {name} has dtype {kind}; supported: F32, F16, BF16")
        raw_type, torch_type = _DTYPES[kind]
        begin, end = info["data_offsets"]
        shape = info["shape"]
        if end - begin != math.prod(shape) * np.dtype(raw_type).itemsize or end > len(data):
            raise CheckpointError(f"{path}: tensor {name}: data_offsets do not match its shape {shape}")
        raw = np.array(data[begin:end]).view(raw_type).reshape(shape)
        t = torch.from_numpy(raw)
        if torch_type is torch.bfloat16:
            t = t.view(torch.bfloat16)
        out[name] = t.to(device=device, dtype=dtype)


def read_weights(directory, dtype, device):
    """Every tensor of the checkpoint, converted to `dtype` on `device`."""
    out = {}
    for path in _shards(directory):
        _read_file(path, dtype, device, out)
    return out


def checkpoint_dtype(directory):
    """The dtype the weights are stored in (config.json's torch_dtype, else float32)."""
    try:
        with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
            name = json.load(f).get("torch_dtype") or "float32"
    except (OSError, json.JSONDecodeError):
        name = "float32"
    return {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(name, "fp32")
