"""A small decoder with a KV cache for the checkpoints checkpoint.py reads: the Llama family (Llama with
Llama 3 RoPE scaling and GQA, Mistral with its sliding window, Qwen2 with q/k/v biases) and GPT-2.

    model = Decoder(spec, weights, max_len)          # weights: checkpoint.read_weights(...)
    logits, _ = model.forward(prompt_ids, 0)         # prefill (in chunks: see capture.py)
    logits, probs = model.forward(ids[n:n+1], n, want_probs=True)   # one decode step

forward(ids, start) runs the tokens at positions start .. start+T-1, appends their keys and values to the
cache and returns the logits of every row; with want_probs, also each layer's attention probabilities of
the LAST row over keys 0 .. start+T-1 (the query's own position included): a list of [heads, keys]
tensors. Softmax runs in float32 (float64 for float64 weights) whatever the weights' dtype.
"""

import math

import torch

from .checkpoint import CheckpointError


def _rope_inv_freq(spec, device):
    """RoPE inverse frequencies, with Llama 3's scaling when the checkpoint asks for it."""
    hd = spec.head_dim
    inv = 1.0 / (spec.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float64, device=device) / hd))
    s = spec.rope_scaling or {}
    if s.get("rope_type", s.get("type")) == "llama3":
        factor, low, high = float(s["factor"]), float(s["low_freq_factor"]), float(s["high_freq_factor"])
        original = float(s["original_max_position_embeddings"])
        wavelen = 2 * math.pi / inv
        smooth = (original / wavelen - low) / (high - low)
        scaled = torch.where(wavelen > original / low, inv / factor, inv)
        middle = (wavelen <= original / low) & (wavelen >= original / high)
        inv = torch.where(middle, (1 - smooth) * inv / factor + smooth * inv, scaled)
    return inv


def _rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class Decoder:
    def __init__(self, spec, weights, max_len):
        self.spec = spec
        self.w = weights
        first = next(iter(weights.values()))
        self.dtype, self.device = first.dtype, first.device
        self.soft_dtype = torch.float64 if self.dtype == torch.float64 else torch.float32
        self.max_len = max_len
        prefix = "transformer." if spec.family == "gpt2" and "transformer.wte.weight" in weights else ""
        self.prefix = prefix
        self._check_names()
        shape = (spec.layers, max_len, spec.kv_heads, spec.head_dim)
        self.k_cache = torch.zeros(shape, dtype=self.dtype, device=self.device)
        self.v_cache = torch.zeros(shape, dtype=self.dtype, device=self.device)
        if spec.family == "llama":
            inv = _rope_inv_freq(spec, self.device)
            angles = torch.outer(torch.arange(max_len, dtype=torch.float64, device=self.device), inv)
            emb = torch.cat((angles, angles), dim=-1)
            self.cos, self.sin = emb.cos().to(self.dtype), emb.sin().to(self.dtype)

    def _check_names(self):
        s, p = self.spec, self.prefix
        if s.family == "gpt2":
            need = [f"{p}wte.weight", f"{p}wpe.weight", f"{p}ln_f.weight"] + [
                f"{p}h.{i}.attn.c_attn.weight" for i in range(s.layers)]
        else:
            need = ["model.embed_tokens.weight", "model.norm.weight"] + [
                f"model.layers.{i}.self_attn.q_proj.weight" for i in range(s.layers)]
            if not s.tied:
                need.append("lm_head.weight")
        missing = [n for n in need if n not in self.w]
        if missing:
            raise CheckpointError(f"{s.name}: tensors missing from the checkpoint: {', '.join(missing[:4])}"
                                  + (" ..." if len(missing) > 4 else ""))

    # -- layers -------------------------------------------------------------------------------------

    def _rmsnorm(self, x, weight):
        x32 = x.to(self.soft_dtype)
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.spec.eps)).to(self.dtype) * weight

    def _layernorm(self, x, name):
        return torch.nn.functional.layer_norm(x.to(self.soft_dtype), (x.shape[-1],),
                                              self.w[name + ".weight"].to(self.soft_dtype),
                                              self.w[name + ".bias"].to(self.soft_dtype),
                                              self.spec.eps).to(self.dtype)

    def _attend(self, layer, q, k, v, start, want_probs):
        """q [T, heads, hd]; k, v [T, kv_heads, hd] of positions start..start+T-1, appended to the cache.
        Returns the attention output [T, heads*hd] and, if asked, the last row's probabilities."""
        s = self.spec
        t = q.shape[0]
        end = start + t
        self.k_cache[layer, start:end] = k
        self.v_cache[layer, start:end] = v
        keys, values = self.k_cache[layer, :end], self.v_cache[layer, :end]
        group = s.heads // s.kv_heads
        qpos = torch.arange(start, end, device=self.device)[:, None]
        kpos = torch.arange(end, device=self.device)[None, :]
        visible = kpos <= qpos
        if s.sliding_window:
            visible &= qpos - kpos < s.sliding_window
        out = torch.empty((t, s.heads, s.head_dim), dtype=self.dtype, device=self.device)
        last = torch.empty((s.heads, end), dtype=self.soft_dtype, device=self.device) if want_probs else None
        scale = 1.0 / math.sqrt(s.head_dim)
        for g in range(s.kv_heads):  # one KV head's query heads at a time: [group, T, keys] scores at most
            qg = q[:, g * group:(g + 1) * group].transpose(0, 1).to(self.soft_dtype)
            scores = qg @ keys[:, g].to(self.soft_dtype).T * scale
            scores = scores.masked_fill(~visible, float("-inf"))
            probs = torch.softmax(scores, dim=-1)
            out[:, g * group:(g + 1) * group] = (probs @ values[:, g].to(self.soft_dtype)).transpose(0, 1).to(self.dtype)
            if want_probs:
                last[g * group:(g + 1) * group] = probs[:, -1]
        return out.reshape(t, s.heads * s.head_dim), last

    def _llama_layer(self, i, x, start, want_probs):
        s, w = self.spec, self.w
        p = f"model.layers.{i}."
        t = x.shape[0]
        h = self._rmsnorm(x, w[p + "input_layernorm.weight"])
        q = h @ w[p + "self_attn.q_proj.weight"].T
        k = h @ w[p + "self_attn.k_proj.weight"].T
        v = h @ w[p + "self_attn.v_proj.weight"].T
        if s.qkv_bias:
            q, k, v = (q + w[p + "self_attn.q_proj.bias"], k + w[p + "self_attn.k_proj.bias"],
                       v + w[p + "self_attn.v_proj.bias"])
        q = q.view(t, s.heads, s.head_dim)
        k = k.view(t, s.kv_heads, s.head_dim)
        v = v.view(t, s.kv_heads, s.head_dim)
        cos, sin = self.cos[start:start + t, None, :], self.sin[start:start + t, None, :]
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        attn, probs = self._attend(i, q, k, v, start, want_probs)
        x = x + attn @ w[p + "self_attn.o_proj.weight"].T
        h = self._rmsnorm(x, w[p + "post_attention_layernorm.weight"])
        act = torch.nn.functional.silu if s.activation == "silu" else _gelu_tanh
        mlp = act(h @ w[p + "mlp.gate_proj.weight"].T) * (h @ w[p + "mlp.up_proj.weight"].T)
        return x + mlp @ w[p + "mlp.down_proj.weight"].T, probs

    def _gpt2_layer(self, i, x, start, want_probs):
        s, w = self.spec, self.w
        p = f"{self.prefix}h.{i}."
        t = x.shape[0]
        h = self._layernorm(x, p + "ln_1")
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: weight is [in, out]
        q, k, v = (part.reshape(t, s.heads, s.head_dim) for part in qkv.split(s.hidden, dim=-1))
        attn, probs = self._attend(i, q, k, v, start, want_probs)
        x = x + attn @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = self._layernorm(x, p + "ln_2")
        mlp = _gelu_tanh(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        return x + mlp @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"], probs

    # -- the whole model ----------------------------------------------------------------------------

    @torch.no_grad()
    def forward(self, ids, start, want_probs=False):
        """Logits [T, vocab] (float32/64) of ids at positions start..; the last row's attention per layer."""
        s, w = self.spec, self.w
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.device)
        if start + ids.shape[0] > self.max_len:
            raise ValueError(f"positions up to {start + ids.shape[0]} exceed the cache of {self.max_len}")
        probs = []
        if s.family == "gpt2":
            pos = torch.arange(start, start + ids.shape[0], device=self.device)
            x = w[f"{self.prefix}wte.weight"][ids] + w[f"{self.prefix}wpe.weight"][pos]
            for i in range(s.layers):
                x, pr = self._gpt2_layer(i, x, start, want_probs)
                probs.append(pr)
            x = self._layernorm(x, f"{self.prefix}ln_f")
            head = w[f"{self.prefix}wte.weight"]
        else:
            x = w["model.embed_tokens.weight"][ids]
            for i in range(s.layers):
                x, pr = self._llama_layer(i, x, start, want_probs)
                probs.append(pr)
            x = self._rmsnorm(x, w["model.norm.weight"])
            head = w["model.embed_tokens.weight"] if s.tied else w["lm_head.weight"]
        logits = (x @ head.T).to(self.soft_dtype)
        return logits, (probs if want_probs else None)
