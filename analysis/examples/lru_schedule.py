#!/usr/bin/env python3
"""A placement policy in numpy, judged by kvsweep: least-recently-used KV entries over a trace file.

    kvsweep trace convert point.yaml trace.h5                  # the point's trace, kvsweep HDF5
    python3 lru_schedule.py trace.h5 CAPACITY -o lru.h5         # this program: the schedule
    kvsweep judge point.yaml lru.h5                             # its time, beside the point's bounds

CAPACITY is the point's HBM capacity in KV entries (`C=` in `kvsweep eval`'s table). The policy is
kvsweep's reactive_lru, so the judge gives reactive_lru's time to the last bit: at every (step, layer)
the entries read and the new one are held, stamped (step - P) * L + layer + 1 (prefill: 0), and while
more than CAPACITY are held, the smallest stamp goes first (ties: lowest layer, then lowest token).
Change `decide` to try your own idea. One sequence, one token per block (docs/schedule-file.md says
how batches and blocks are written). Plain numpy: for points of a few thousand tokens.
"""
import argparse

import h5py
import numpy as np

ROW = np.dtype([("state", "<u4"), ("sequence", "<u4"), ("layer", "<u4"), ("block", "<u4")])


def read_trace(path):
    """P, D, L and a function reads(n, l) -> the tokens layer l reads at decode step n."""
    with h5py.File(path, "r") as f:
        P, D, L = (int(f.attrs[k]) for k in ("prompt_tokens", "decode_tokens", "layers"))
        offsets, tokens = f["offsets"][:], f["tokens"][:]

    def reads(n, l):
        i = (n - P) * L + l
        return tokens[offsets[i]:offsets[i + 1]]
    return P, D, L, reads


def decide(held, stamp, n, l, read, e, capacity):
    """LRU at (n, l): hold what is read and the new entry, then evict the oldest stamps while over."""
    held[l, read] = True
    stamp[l, read] = e
    held[l, n] = True
    stamp[l, n] = e
    excess = int(held.sum()) - capacity
    if excess > 0:
        layers, toks = np.nonzero(held)
        oldest = np.lexsort((toks, layers, stamp[layers, toks]))[:excess]
        held[layers[oldest], toks[oldest]] = False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", help="kvsweep HDF5 trace (kvsweep trace convert)")
    ap.add_argument("capacity", type=int, help="HBM capacity in KV entries")
    ap.add_argument("-o", "--output", required=True, help="schedule file to write")
    args = ap.parse_args()
    P, D, L, reads = read_trace(args.trace)
    held = np.zeros((L, P + D), bool)
    stamp = np.zeros((L, P + D), np.int64)
    # Prefill: entries (t, l) in order t = 0.., l = 0..L-1 while fewer than the capacity (static's).
    first = np.arange(min(P * L, args.capacity))
    held[first % L, first // L] = True
    rows = {"promote": [], "evict": []}

    def record(state, before):  # the blocks promoted and evicted from `before` to `held`
        for name, change in (("promote", held & ~before), ("evict", before & ~held)):
            layer, token = np.nonzero(change)
            r = np.zeros(len(token), ROW)
            r["state"], r["layer"], r["block"] = state, layer, token
            rows[name].append(r)

    record(0, np.zeros_like(held))                    # state 0: after prefill
    for n in range(P, P + D):
        before = held.copy()
        for l in range(L):
            decide(held, stamp, n, l, reads(n, l), (n - P) * L + l + 1, args.capacity)
        record(n - P + 1, before)                     # state s: while decode step s reads
    with h5py.File(args.output, "w") as f:
        f.attrs.update(format="kvsweep-schedule", version=1, decode_tokens=D, layers=L, kv_block_tokens=1,
                       capacity="hbm", policy="lru_schedule.py")
        f["prompt_tokens"] = np.array([P], np.uint32)
        for name, parts in rows.items():
            f[name] = np.concatenate(parts)
    print(f"{args.output}: {sum(len(p) for p in rows['promote'])} promotions, "
          f"{sum(len(p) for p in rows['evict'])} evictions over {D + 1} states")


if __name__ == "__main__":
    main()
