"""analysis/capture_trace.py on tiny random checkpoints that the tests write themselves (tiny_checkpoints.py):
the decoder with its KV cache against one full forward, the captured rows against an independent numpy
reference (reference_attention.py), the file through kvsweep, and bad inputs. Needs PyTorch
(python3-torch, which the test command installs): a missing torch fails these tests, it does not skip them.
"""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

import reference_attention as ref
import tiny_checkpoints as tiny
from conftest import ANALYSIS
from kvtrace import capture as cap
from kvtrace.checkpoint import read_config, read_weights
from kvtrace.model import Decoder

CAPTURE = os.path.join(ANALYSIS, "capture_trace.py")
ARCHS = ["llama", "mistral", "qwen2", "gpt2"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    out = {arch: str(root / arch) for arch in ARCHS}
    # Llama 3's RoPE scaling with an original context of 256: the head's wavelengths (6.3, 167, 4443,
    # 118143 positions) fall in all three bands (kept, blended, divided by the factor).
    scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 256}
    for arch in ARCHS:
        tiny.write_checkpoint(out[arch], arch, seed=ARCHS.index(arch),
                              overrides={"rope_scaling": scaling} if arch == "llama" else None)
    out["llama-bf16-sharded"] = str(root / "llama-bf16-sharded")
    tiny.write_checkpoint(out["llama-bf16-sharded"], "llama", dtype="bfloat16", sharded=True, seed=7)
    return out


def ids_file(tmp_path, ids, name="ids.json"):
    path = tmp_path / name
    path.write_text(json.dumps([int(i) for i in ids]))
    return str(path)


def run_capture(*args, expect=0):
    proc = subprocess.run([sys.executable, CAPTURE, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == expect, f"capture_trace.py {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}"
    return proc


def read_rows(path):
    with h5py.File(path, "r") as f:
        a = dict(f.attrs)
        offsets, tokens = f["offsets"][()], f["tokens"][()]
    rows = [tokens[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
    return a, rows


@pytest.mark.parametrize("name", ARCHS + ["llama-bf16-sharded"])
def test_cached_decoding_gives_the_full_forwards_logits(checkpoints, name):
    spec = read_config(checkpoints[name])
    ids = np.random.default_rng(1).integers(0, spec.vocab, 29)
    full = Decoder(spec, read_weights(checkpoints[name], torch.float64, "cpu"), len(ids))
    want, _ = full.forward(ids, 0)
    cached = Decoder(spec, read_weights(checkpoints[name], torch.float64, "cpu"), len(ids))
    got = [cached.forward(ids[s:s + 7], s)[0] for s in range(0, 14, 7)]        # prefill in chunks of 7
    got += [cached.forward(ids[n:n + 1], n)[0] for n in range(14, len(ids))]   # then one token a step
    np.testing.assert_allclose(torch.cat(got).numpy(), want.numpy(), rtol=0, atol=1e-10)
    # ... and the same as the numpy reference's full forward
    logits, _ = ref.forward(ref.load_reference(checkpoints[name]), ids)
    np.testing.assert_allclose(want.numpy(), logits, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("aggregate", cap.AGGREGATIONS)
@pytest.mark.parametrize("name", ARCHS)
def test_captured_rows_equal_the_numpy_reference(checkpoints, name, aggregate, tmp_path):
    spec = read_config(checkpoints[name])
    prompt, decode, sparsity = 24, 12, 0.6
    ids = np.random.default_rng(2).integers(0, spec.vocab, prompt + decode)  # teacher forced: known tokens
    out = str(tmp_path / "t.h5")
    run_capture(checkpoints[name], "--ids", ids_file(tmp_path, ids), "--prompt-tokens", str(prompt),
                "--decode", str(decode), "--sparsity", str(sparsity), "--aggregate", aggregate,
                "--dtype", "fp64", "--chunk", "5", "-q", "-o", out)
    attrs, rows = read_rows(out)
    assert (int(attrs["prompt_tokens"]), int(attrs["decode_tokens"]), int(attrs["layers"])) == (
        prompt, decode, spec.layers)
    assert attrs["aggregation"].decode() == aggregate and attrs["dtype"].decode() == "fp64"
    _, probs = ref.forward(ref.load_reference(checkpoints[name]), ids)
    for t in range(decode):
        n = prompt + t
        k = cap.keep_count(n, sparsity)
        for layer in range(spec.layers):
            want = ref.topk_sets(probs[layer], n, k, aggregate, spec.kv_heads)
            got = rows[t * spec.layers + layer]
            np.testing.assert_array_equal(got, want, err_msg=f"step {t} (n = {n}), layer {layer}")
            if aggregate == "kv-head-union":
                assert k <= len(got) <= k * spec.kv_heads
            else:
                assert len(got) == k


def test_a_long_capture_reads_in_kvsweep(checkpoints, kvsweep, tmp_path):
    # The done-when run: a 1K-token prompt and 256 greedy decode steps, end to end from the command line.
    spec = read_config(checkpoints["llama"])
    ids = np.random.default_rng(3).integers(0, spec.vocab, 1024)
    out = str(tmp_path / "long.h5")
    proc = run_capture(checkpoints["llama"], "--ids", ids_file(tmp_path, ids), "--decode", "256",
                       "--sparsity", "0.8", "-o", out)
    assert "capture_trace.py: step 256/256 (100 %)" in proc.stderr and "ETA" in proc.stderr
    stats = subprocess.run([kvsweep, "trace", "stats", out], capture_output=True, text=True, check=True).stdout
    lines = dict(line.split(None, 1) for line in stats.splitlines() if line and not line.startswith(" "))
    assert lines["prompt_tokens"].strip() == "1024" and lines["decode_tokens"].strip() == "256"
    assert lines["layers"].strip() == str(spec.layers)
    k_first, k_last = cap.keep_count(1024, 0.8), cap.keep_count(1024 + 255, 0.8)
    assert lines["reads_per_row"].split()[3:6:2] == [f"{k_first},", f"{k_last}"], lines["reads_per_row"]
    point = tmp_path / "point.yaml"
    point.write_text(f"model: {{name: tiny, layers: {spec.layers}, kv_bytes_per_token_layer: 256, "
                     f"weight_bytes_per_layer: 1.0e5}}\nhardware: gh200-measured\nhbm_capacity_ratio: 0.25\n"
                     f"trace: {{file: {out}}}\npolicies: [static, belady, fm_tracking]\n")
    ev = subprocess.run([kvsweep, "eval", str(point), "--json"], capture_output=True, text=True)
    assert ev.returncode == 0, ev.stderr
    result = json.loads(ev.stdout)
    text = json.dumps(result)
    assert "fm_tracking" in text and "total_time_s" in text


def test_kvsweep_reads_a_trace_with_string_attributes_h5py_wrote(kvsweep, tmp_path):
    # h5py stores a Python str as a variable-length UTF-8 string; kvsweep reads both kinds.
    path = str(tmp_path / "vlen.h5")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "kvsweep-trace"
        f.attrs["format_version"] = 1
        f.attrs["prompt_tokens"], f.attrs["decode_tokens"], f.attrs["layers"] = 8, 2, 2
        f.attrs["created_by"] = "h5py, a plain str"
        f["offsets"] = np.array([0, 2, 4, 6, 8], dtype=np.uint64)
        f["tokens"] = np.array([0, 1, 2, 3, 0, 4, 1, 8], dtype=np.uint32)
    proc = subprocess.run([kvsweep, "trace", "stats", path], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "total_reads          8" in proc.stdout


def test_bad_inputs_exit_2_and_write_nothing(checkpoints, tmp_path):
    spec = read_config(checkpoints["gpt2"])
    ids = ids_file(tmp_path, range(10))
    out = str(tmp_path / "out.h5")

    def refused(*args, says):
        proc = run_capture(*args, expect=2)
        assert says in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # one line, no usage block
        assert not os.path.exists(out) and not os.path.exists(out + ".tmp")

    base = ["--decode", "4", "--sparsity", "0.5", "-o", out]
    refused(str(tmp_path / "nowhere"), "--ids", ids, *base, says="nowhere: no such checkpoint directory")
    bert = tmp_path / "bert"
    tiny.write_checkpoint(str(bert), "llama")
    config = json.loads((bert / "config.json").read_text())
    config["model_type"] = "bert"
    (bert / "config.json").write_text(json.dumps(config))
    refused(str(bert), "--ids", ids, *base, says="model_type 'bert' is not supported; supported: gpt2, llama, mistral, qwen2")
    long_ids = ids_file(tmp_path, [1] * (spec.max_positions - 2), "long.json")
    refused(checkpoints["gpt2"], "--ids", long_ids, *base,
            says=f"is longer than the model's context ({spec.max_positions}, config.json)")
    refused(checkpoints["gpt2"], "--ids", ids, *base, "--dtype", "fp8", says="invalid choice: 'fp8'")
    refused(checkpoints["gpt2"], "--ids", ids, "--decode", "4", "--sparsity", "1.5", "-o", out,
            says="--sparsity 1.5: allowed is 0 <= S < 1")
    bad = tmp_path / "bad.txt"
    bad.write_text("1\n2\nthree\n")
    refused(checkpoints["gpt2"], "--ids", str(bad), *base, says="bad.txt:3: 'three' is not a token id")
    refused(checkpoints["gpt2"], "--ids", ids_file(tmp_path, [5, 500], "oov.json"), *base,
            says=f"token id 500 is outside the vocabulary (0..{spec.vocab - 1})")
    prompt_text = tmp_path / "prompt.txt"
    prompt_text.write_text("Once upon a time")
    try:
        import tokenizers  # noqa: F401
        says = "tokenizer.json: missing"  # the tiny checkpoints have no tokenizer
    except ImportError:
        says = "--text needs the Python package `tokenizers`, which is not installed"
    refused(checkpoints["gpt2"], "--text", str(prompt_text), *base, says=says)
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text((tmp_path / "bert" / "config.json").read_text().replace("bert", "llama"))
    refused(str(no_weights), "--ids", ids, *base, says="no model.safetensors or model.safetensors.index.json")
    # An existing output is kept unless --force.
    open(out, "w").write("keep me")
    proc = run_capture(checkpoints["gpt2"], "--ids", ids, *base, expect=2)
    assert "out.h5: exists; give --force" in proc.stderr and open(out).read() == "keep me"
