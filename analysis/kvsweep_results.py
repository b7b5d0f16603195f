"""Read kvsweep results files (the HDF5 written by `kvsweep run`) into pandas.

    import kvsweep_results as kr
    df = kr.load("results/quick.h5")        # one row per design point: its latest attempt
    meta = kr.load_meta("results/quick.h5") # the root attributes: sweep text, hash, axes, versions
    steps = kr.load_detail("results/quick.h5", df.point_id[0])  # needs `kvsweep run --detail`

Files are opened without HDF5's file lock, so a file that a run is still appending to can be read (it
holds every row flushed so far). Every problem with the file itself (missing, not HDF5, not a kvsweep
results file) raises ResultsFileError, whose message is one line starting with the file's path.

Only h5py, numpy and pandas are needed (Debian 12: python3-h5py, python3-pandas; use /usr/bin/python3).
"""

import os
import time

import h5py
import numpy as np
import pandas as pd

FORMAT = "kvsweep-results"
SCHEMA_VERSION = 11  # the schema_version this module was written against; others load as they are
# A file a run is creating or appending to can be caught mid-write (h5py then raises KeyError or OSError):
# reads are retried this many times, this many seconds apart.
READ_TRIES, READ_PAUSE_S = 8, 0.05

# The point parameters of a row (docs/results.md "Results (HDF5)"), in table order: a sweep's axes are among them.
# Derived quantities (layers, e, W, capacity_entries, target_jaccard, ...) are not: they follow from these.
PARAMETER_COLUMNS = (
    "model", "kv_accounting", "hardware", "hbm_bw_gbps", "link_read_gbps", "link_write_gbps",
    "dram_bw_gbps", "hbm_capacity_ratio", "hbm_capacity_gb", "hbm_kv_capacity_entries", "prompt_tokens",
    "decode_tokens", "trace", "sparsity", "variation", "hbm_reads", "weights_in_dram", "batch_size",
    "batch_prompt_tokens", "prompt_tokens_spread", "kv_block_tokens", "read_unit", "link_transfer_overhead_bytes")
PARAMETER_PREFIXES = ("synthetic_", "policy_params_")


class ResultsFileError(ValueError):
    """A results file that cannot be read: str(e) is one line, starting with the file's path."""


def _text(value):
    """An HDF5 string attribute or scalar (bytes, numpy bytes or str) as str."""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return value


def _open_unlocked(path):
    """h5py.File(path, "r") without HDF5's file lock, which a run still writing the file holds."""
    try:
        return h5py.File(path, "r", locking=False)  # h5py >= 3.5 with HDF5 >= 1.10.7
    except TypeError:  # older h5py: only the environment variable, read when HDF5 starts
        return h5py.File(path, "r")
    except OSError as e:
        if "locking flag values don't match" not in str(e):
            raise
        # This process has the file open already, with locking: HDF5 shares that handle, so open it alike.
        return h5py.File(path, "r")


def _open(path):
    """Opens `path` read-only without HDF5's file lock, after checking it is a kvsweep results file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ResultsFileError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ResultsFileError(f"{path}: is a directory, not a kvsweep results file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as e:
        raise ResultsFileError(f"{path}: cannot read it ({e.strerror or e})") from None
    if not is_hdf5:
        raise ResultsFileError(f"{path}: not an HDF5 file (expected a results file of kvsweep run)")
    f = _open_unlocked(path)
    fmt = _text(f.attrs.get("format", ""))
    if fmt != FORMAT:
        f.close()
        what = f"its format attribute is '{fmt}'" if fmt else "it has no format attribute"
        raise ResultsFileError(f"{path}: not a kvsweep results file ({what}, expected '{FORMAT}')")
    if not isinstance(f.get("points"), h5py.Dataset) or f["points"].dtype.names is None:
        f.close()
        raise ResultsFileError(f"{path}: kvsweep results file without its /points table")
    return f


def _read(path, fn):
    """fn(the open file), retried while h5py fails (not while the file is plainly wrong: ResultsFileError)."""
    path = os.fspath(path)
    for attempt in range(READ_TRIES):
        try:
            with _open(path) as f:
                return fn(f)
        except ResultsFileError:
            raise
        except (OSError, KeyError, RuntimeError, ValueError) as e:
            if attempt == READ_TRIES - 1:
                raise ResultsFileError(f"{path}: cannot read it ({' '.join(str(e).split())})") from None
            time.sleep(READ_PAUSE_S)


def _frame(records):
    """A structured numpy array as a DataFrame: strings decoded to str, numbers kept as stored."""
    columns = {}
    for name in records.dtype.names:
        col = records[name]
        if col.dtype.kind == "S":  # fixed-length, NUL-padded (numpy drops the padding)
            col = np.char.decode(col, "utf-8", errors="replace").astype(object)
        columns[name] = col
    return pd.DataFrame(columns, columns=list(records.dtype.names))


def load(path, all_attempts=False, in_sweep_only=False):
    """The /points table of a results file as a DataFrame.

    One row per design point: its latest row (a retried point's last attempt, ok or failed), in the
    order those rows were written; all_attempts=True keeps every row (column `attempt` tells them apart).
    Strings are str (object dtype), numbers float64 or int64 as in the file; NaN where a value does not
    apply (docs/results.md "Results (HDF5)"). A row whose point_id is still empty (being appended right
    now by a running sweep) is left out.

    Column `in_sweep` (added here, not stored) is True for the points of the sweep that wrote the file
    last and False for points that have left it since (a resume after values or points were removed
    from the sweep keeps their rows); in_sweep_only=True drops the latter.
    """
    def read(f):
        ids = f.get("sweep_points")
        listed = None
        if isinstance(ids, h5py.Dataset):
            listed = {_text(v) for v in ids[()]}
        return f["points"][()], listed

    records, listed = _read(path, read)
    df = _frame(records)
    df = df[df["point_id"] != ""] if "point_id" in df else df
    if "point_id" in df:
        df["in_sweep"] = df["point_id"].isin(listed) if listed is not None else True
    df = df.reset_index(drop=True) if all_attempts else latest_attempts(df)
    if in_sweep_only and "in_sweep" in df:
        df = df[df["in_sweep"]].reset_index(drop=True)
    return df


def latest_attempts(rows):
    """The latest row of each point_id, in the order those rows were written (docs/results.md: the latest row wins)."""
    return rows.drop_duplicates("point_id", keep="last").reset_index(drop=True)


def load_meta(path):
    """The root attributes as a dict of str / int.

    axis_names and policies are lists; sweep_yaml is the sweep's text even when it was too long for an
    attribute (then read from the /sweep_yaml dataset); end_time is None if no run has completed yet.
    """
    def read(f):
        meta = {name: _text(value) for name, value in f.attrs.items()}
        if isinstance(f.get("sweep_yaml"), h5py.Dataset):
            meta["sweep_yaml"] = _text(f["sweep_yaml"][()])
        return meta

    meta = _read(path, read)
    if "online_policies" not in meta:  # files from before the attribute: the online policies of that time
        meta["online_policies"] = [p for p in _ONLINE_BEFORE_ATTRIBUTE if p in meta.get("policies", "").split(",")]
    for key in ("axis_names", "policies", "online_policies"):
        value = meta.get(key, "")
        meta[key] = [v for v in value.split(",") if v] if isinstance(value, str) else list(value)
    for key, value in meta.items():
        if isinstance(value, np.integer):
            meta[key] = int(value)
        elif isinstance(value, np.floating):
            meta[key] = float(value)
    meta.setdefault("end_time", None)
    return meta


def load_detail(path, point_id):
    """Per-decode-step times of one point (`kvsweep run --detail`): a DataFrame indexed by decode step
    (0 .. D-1), one float64 column per simulated policy (seconds, summed over layers; the oracle has none).
    """
    suffix = "_step_time_s"

    def read(f):
        group = f.get(f"detail/{point_id}")
        if group is None:
            raise ResultsFileError(f"{os.fspath(path)}: no per-step detail for point {point_id} "
                                   "(written only by kvsweep run --detail)")
        series = {name[: -len(suffix)]: group[name][()] for name in group if name.endswith(suffix)}
        return series, [p for p in _text(f.attrs.get("policies", "")).split(",") if p in series]

    series, order = _read(path, read)
    df = pd.DataFrame({p: series[p] for p in order + sorted(set(series) - set(order))})
    df.index.name = "step"
    return df


def policies(df, meta, online=None):
    """The sweep's policies (meta order) that have results in `df` (a filled <policy>_total_time_s).

    online=True: only those that decide from past reads (meta["online_policies"]); False: only those
    that see the future; None: both.
    """
    return [p for p in meta["policies"]
            if f"{p}_total_time_s" in df and df[f"{p}_total_time_s"].notna().any()
            and (online is None or (p in meta["online_policies"]) == online)]


# Which policies were online before results files said so (the attribute online_policies).
_ONLINE_BEFORE_ATTRIBUTE = ("unlimited_hbm", "static", "reactive_lru", "streaming", "h2o")


def varying_parameters(df, meta=None):
    """The point parameters that take more than one value in `df`: the sweep's axes (meta["axis_names"],
    '.' -> '_', in the sweep's order), then whatever else differs between points in table order (the
    entries of `points:` are not axes). A parameter that only follows another one (a hardware preset's
    bandwidths, a zipped partner) is kept: the caller decides whether to show it.
    """
    axis_cols = [a.replace(".", "_") for a in (meta or {}).get("axis_names", [])]
    out = [c for c in axis_cols if c in df]
    for c in df.columns:
        if c in PARAMETER_COLUMNS or c.startswith(PARAMETER_PREFIXES):
            if c not in out and df[c].nunique(dropna=True) > 1:
                out.append(c)
    return out


def geomean(values):
    """Geometric mean of the finite positive values (NaN if none): the mean of ratios such as speedups."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.log(v).mean())) if v.size else float("nan")
