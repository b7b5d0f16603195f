"""Recording a token-importance trace: which past tokens each new query attends to most, per layer.

The rows follow kvsweep's trace format (docs/traces.md): the prompt is positions 0..P-1; decode step t
processes the token at position n = P + t (t = 0..D-1); row (n, l) lists past positions 0..n-1. For each
(n, l):
  - p[h][j], the softmax attention probability of the new query's head h on key j, j = 0..n (the query's
    own position included in the softmax, as the model computes it);
  - the current token j = n is dropped (its KV was just written and is read anyway); the rest are not
    renormalised;
  - heads are aggregated: `mean` over all query heads, `max` over them, or `kv-head-union`: per KV head
    the mean over its query heads (GQA groups; per head without GQA), each selected on its own and the
    union kept (so a row holds between k and k x KV heads tokens);
  - k(n) = ceil((1 - sparsity) * n) tokens are kept (at least 1), highest aggregated probability first,
    ties broken toward the later position.
"""

import hashlib
import math
import os
import sys
import time

import h5py
import numpy as np
import torch

TOOL_VERSION = "1"
AGGREGATIONS = ("mean", "max", "kv-head-union")


def keep_count(n, sparsity):
    return max(1, math.ceil((1.0 - sparsity) * n - 1e-9))


def _top(scores, k):
    """Positions of the k largest of `scores` (1-D over positions 0..n-1), ties toward later positions."""
    n = scores.shape[0]
    order = torch.sort(scores.flip(0), descending=True, stable=True).indices[:k]
    return n - 1 - order


def select(probs, n, sparsity, aggregate, kv_heads):
    """The sorted past positions kept for one (step, layer): probs [heads, n + 1] of the query at n."""
    past = probs[:, :n]
    k = keep_count(n, sparsity)
    if aggregate == "mean":
        chosen = _top(past.mean(0), k)
    elif aggregate == "max":
        chosen = _top(past.max(0).values, k)
    elif aggregate == "kv-head-union":
        groups = past.reshape(kv_heads, past.shape[0] // kv_heads, n).mean(1)
        chosen = torch.unique(torch.cat([_top(g, k) for g in groups]))
    else:
        raise ValueError(f"aggregate {aggregate!r}; allowed: {', '.join(AGGREGATIONS)}")
    return np.sort(chosen.cpu().numpy().astype(np.uint32))


class TraceWriter:
    """kvsweep's HDF5 trace format, written row by row into `path`.tmp and renamed to `path` by close():
    a failed or interrupted capture leaves no output file."""

    def __init__(self, path, prompt_tokens, decode_tokens, layers, provenance):
        self.path, self.tmp = path, path + ".tmp"
        self.f = h5py.File(self.tmp, "w")
        a = self.f.attrs
        a["format"] = np.bytes_("kvsweep-trace")
        a["format_version"] = np.uint64(1)
        a["prompt_tokens"], a["decode_tokens"], a["layers"] = (np.uint64(v) for v in
                                                              (prompt_tokens, decode_tokens, layers))
        a["created_by"] = np.bytes_(f"analysis/capture_trace.py {TOOL_VERSION}")
        for key, value in provenance.items():
            a[key] = np.bytes_(str(value)) if isinstance(value, str) else value
        self.offsets = self.f.create_dataset("offsets", shape=(1,), maxshape=(None,), dtype=np.uint64,
                                             chunks=(4096,))
        self.tokens = self.f.create_dataset("tokens", shape=(0,), maxshape=(None,), dtype=np.uint32,
                                            chunks=(1 << 16,), shuffle=True, compression="gzip",
                                            compression_opts=4)
        self.rows, self.count = 0, 0

    def add_step(self, rows):
        """The L rows of one decode step (sorted uint32 arrays)."""
        flat = np.concatenate(rows) if rows else np.zeros(0, np.uint32)
        ends = self.count + np.cumsum([len(r) for r in rows], dtype=np.uint64)
        self.tokens.resize((self.count + len(flat),))
        self.tokens[self.count:] = flat
        self.offsets.resize((self.rows + len(rows) + 1,))
        self.offsets[self.rows + 1:] = ends
        self.rows += len(rows)
        self.count += len(flat)

    def close(self):
        self.f.close()
        os.replace(self.tmp, self.path)

    def abandon(self):
        try:
            self.f.close()
        finally:
            if os.path.exists(self.tmp):
                os.remove(self.tmp)


class Progress:
    """`capture_trace.py: step 120/256 (47 %), 12.3 steps/s, ETA 11 s` on stderr, at most once a second."""

    def __init__(self, total, quiet):
        self.total, self.quiet = total, quiet
        self.t0 = self.last = time.monotonic()

    def tick(self, done, force=False):
        now = time.monotonic()
        if self.quiet or (not force and now - self.last < 1.0):
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        print(f"capture_trace.py: step {done}/{self.total} ({100 * done // max(1, self.total)} %), "
              f"{rate:.1f} steps/s, ETA {eta:.0f} s", file=sys.stderr, flush=True)


def capture(model, ids, prompt_tokens, decode_tokens, sparsity, aggregate, writer, chunk=256, quiet=False):
    """Prefill ids[:prompt_tokens] in chunks, then decode `decode_tokens` steps: step t feeds ids[P + t] when
    the ids go that far (teacher forcing), else the greedy next token. Rows go to `writer` step by step.
    Returns the decoded token ids."""
    spec = model.spec
    prompt = ids[:prompt_tokens]
    logits = None
    for start in range(0, prompt_tokens, chunk):
        logits, _ = model.forward(prompt[start:start + chunk], start)
    nxt = int(torch.argmax(logits[-1]))
    out = []
    progress = Progress(decode_tokens, quiet)
    for t in range(decode_tokens):
        n = prompt_tokens + t
        token = ids[n] if n < len(ids) else nxt
        logits, probs = model.forward([token], n, want_probs=True)
        writer.add_step([select(p, n, sparsity, aggregate, spec.kv_heads) for p in probs])
        out.append(token)
        nxt = int(torch.argmax(logits[-1]))
        progress.tick(t + 1)
    progress.tick(decode_tokens, force=True)
    return out


def prompt_hash(ids):
    return hashlib.sha256(np.asarray(ids, dtype=np.int64).tobytes()).hexdigest()[:16]
