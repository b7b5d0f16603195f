"""Capture a token-importance trace from a Hugging Face–format checkpoint into kvsweep's HDF5 trace format.

    /usr/bin/python3 analysis/capture_trace.py CHECKPOINT_DIR (--text FILE | --ids FILE) --decode N \\
        --sparsity S -o OUT.h5 [--aggregate mean|max|kv-head-union] [--device auto|cpu|cuda] [--dtype ...]

Prefills the prompt (in chunks), decodes N tokens (greedy, or teacher-forced from --ids past
--prompt-tokens) and at every (step, layer) keeps the top ceil((1 - S) n) past tokens of the new query's
head-aggregated attention (analysis/kvtrace/capture.py defines it exactly). Needs PyTorch (Debian:
python3-torch) and h5py; `transformers` is not used. --text needs the `tokenizers` package and the
checkpoint's tokenizer.json; --ids does not (one id per line, or a JSON list). docs/traces.md
"Capturing a trace" says how to use it on a real checkpoint and what it costs.

Exit codes: 0 written; 2 bad input (one line on stderr naming the file or flag; nothing written).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16", "fp64": "float64"}


class InputError(ValueError):
    pass


def read_ids(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror})") from None
    stripped = text.strip()
    try:
        if stripped.startswith("["):
            ids = json.loads(stripped)
            if not all(isinstance(i, int) for i in ids):
                raise InputError(f"{path}: the JSON list must hold integers only")
        else:
            ids = []
            for lineno, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    try:
                        ids.append(int(line))
                    except ValueError:
                        raise InputError(f"{path}:{lineno}: '{line.strip()}' is not a token id") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}:{e.colno}: not a JSON list of ids ({e.msg})") from None
    if not ids:
        raise InputError(f"{path}: no token ids")
    return ids


def read_text_ids(path, checkpoint):
    try:
        import tokenizers  # noqa: F401  (optional: not packaged in Debian 12)
    except ImportError:
        raise InputError("--text needs the Python package `tokenizers`, which is not installed; "
                         "tokenize elsewhere and give --ids") from None
    tok_path = os.path.join(checkpoint, "tokenizer.json")
    if not os.path.exists(tok_path):
        raise InputError(f"{tok_path}: missing (--text needs the checkpoint's tokenizer.json; or give --ids)")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror})") from None
    import tokenizers
    return tokenizers.Tokenizer.from_file(tok_path).encode(text).ids


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): `capture_trace.py: error: ... (see --help)`, exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse(argv):
    p = Parser(prog="capture_trace.py", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="Hugging Face checkpoint directory (config.json + safetensors)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", metavar="FILE", help="prompt text (needs the tokenizers package)")
    src.add_argument("--ids", metavar="FILE", help="token ids: one per line, or a JSON list")
    p.add_argument("--prompt-tokens", type=int, metavar="P",
                   help="with --ids: the first P ids are the prompt, the rest are fed as decode tokens "
                        "(teacher forcing); default: all of them are the prompt")
    p.add_argument("--decode", type=int, required=True, metavar="N", help="decode steps to record (D)")
    p.add_argument("--sparsity", type=float, required=True, metavar="S",
                   help="share of past tokens NOT kept per (step, layer), in [0, 1)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="the trace file to write")
    p.add_argument("--aggregate", choices=("mean", "max", "kv-head-union"), default="mean",
                   help="how heads are combined (default mean)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: cuda when available")
    p.add_argument("--dtype", choices=tuple(DTYPES), help="compute dtype (default: the checkpoint's)")
    p.add_argument("--chunk", type=int, default=256, help="prefill chunk, tokens (default 256)")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUT.h5")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    a = p.parse_args(argv)
    if a.decode < 1:
        p.error(f"--decode {a.decode}: at least 1 step")
    if not 0 <= a.sparsity < 1:
        p.error(f"--sparsity {a.sparsity}: allowed is 0 <= S < 1")
    if a.chunk < 1:
        p.error(f"--chunk {a.chunk}: at least 1")
    if a.prompt_tokens is not None and a.ids is None:
        p.error("--prompt-tokens goes with --ids")
    return a


def main(argv=None):
    args = parse(argv)
    try:
        import torch
    except ImportError:
        print("capture_trace.py: error: PyTorch is not installed (Debian: apt-get install python3-torch)",
              file=sys.stderr)
        return 2
    from kvtrace import capture as cap
    from kvtrace.checkpoint import CheckpointError, checkpoint_dtype, read_config, read_weights
    from kvtrace.model import Decoder

    writer = None
    try:
        if os.path.exists(args.output) and not args.force:
            raise InputError(f"{args.output}: exists; give --force to overwrite it")
        out_dir = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(out_dir):
            raise InputError(f"{args.output}: the directory {out_dir} does not exist")
        spec = read_config(args.checkpoint)
        ids = read_ids(args.ids) if args.ids else read_text_ids(args.text, args.checkpoint)
        prompt = args.prompt_tokens if args.prompt_tokens is not None else len(ids)
        if not 1 <= prompt <= len(ids):
            raise InputError(f"--prompt-tokens {prompt}: between 1 and the {len(ids)} ids given")
        bad = [i for i in ids if not 0 <= i < spec.vocab]
        if bad:
            raise InputError(f"{args.ids or args.text}: token id {bad[0]} is outside the vocabulary "
                             f"(0..{spec.vocab - 1})")
        total = prompt + args.decode
        if total > spec.max_positions:
            raise InputError(f"prompt {prompt} + decode {args.decode} = {total} tokens is longer than the "
                             f"model's context ({spec.max_positions}, config.json)")
        dtype_name = args.dtype or checkpoint_dtype(args.checkpoint)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
        if device == "cuda" and not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA device is available to PyTorch")
        weights = read_weights(args.checkpoint, getattr(torch, DTYPES[dtype_name]), device)
        model = Decoder(spec, weights, total)
        provenance = {"model": spec.name, "model_type": spec.model_type, "dtype": dtype_name,
                      "aggregation": args.aggregate, "sparsity": float(args.sparsity),
                      "prompt_sha256": cap.prompt_hash(ids[:prompt]), "tool_version": cap.TOOL_VERSION,
                      "teacher_forced_tokens": max(0, min(len(ids) - prompt, args.decode))}
        writer = cap.TraceWriter(args.output, prompt, args.decode, spec.layers, provenance)
        if not args.quiet:
            print(f"capture_trace.py: {spec.name} ({spec.model_type}, {spec.layers} layers, {spec.heads} heads, "
                  f"{spec.kv_heads} KV heads) in {dtype_name} on {device}: prompt {prompt}, decode {args.decode}",
                  file=sys.stderr)
        cap.capture(model, ids, prompt, args.decode, args.sparsity, args.aggregate, writer,
                    chunk=args.chunk, quiet=args.quiet)
        writer.close()
        writer = None
    except (InputError, CheckpointError) as e:
        print(f"capture_trace.py: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("capture_trace.py: interrupted; nothing written", file=sys.stderr)
        return 3
    finally:
        if writer is not None:
            writer.abandon()
    if not args.quiet:
        print(f"capture_trace.py: wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
