"""Minimal safetensors reader/writer (no dependency on the `safetensors` package).

File layout:
    8 bytes   little-endian u64 N = length of the JSON header
    N bytes   UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype", "shape",
              "data_offsets": [begin, end]}, ...}; offsets are relative to the
              data section. We pad the header with spaces so that the data
              section starts at a multiple of 8 bytes.
    data      raw little-endian tensor bytes, row-major.

Writing is deterministic: tensors are stored in the order given (a dict keeps
insertion order), the JSON is compact, no timestamps.

Supported dtypes: F64, F32, BF16, F16, I64, I32, I16, I8, U8, BOOL for reading;
F64, F32, BF16, I64, I32, U8, BOOL for writing (from torch tensors or numpy
arrays). BF16 is read into float32 (exact).
"""

import json
import struct

import numpy as np

try:  # torch is optional for the numpy-only helpers
    import torch
except ImportError:  # pragma: no cover
    torch = None

_NP_OF = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
         "I8": 1, "U8": 1, "BOOL": 1}


def _torch_dtype_name(t):
    m = {
        torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
        torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
        torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
    }
    if t.dtype not in m:
        raise TypeError("unsupported torch dtype %s" % t.dtype)
    return m[t.dtype]


def _to_bytes(value, dtype=None):
    """Returns (dtype_name, shape, bytes) for a torch tensor or numpy array.

    dtype, if given ("F32", "F64", "I32", ...), converts the value first.
    """
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        if dtype is not None:
            want = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
                    "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
                    "U8": torch.uint8, "BOOL": torch.bool}[dtype]
            t = t.to(want)
        name = _torch_dtype_name(t)
        shape = list(t.shape)
        if name == "BF16":
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = np.ascontiguousarray(t.numpy().astype(_NP_OF[name], copy=False)).tobytes()
        return name, shape, raw
    a = np.asarray(value)
    if dtype is None:
        rev = {np.dtype(v).newbyteorder("<") if v.itemsize > 1 else v: k
               for k, v in _NP_OF.items()}
        key = a.dtype.newbyteorder("<") if a.dtype.itemsize > 1 else a.dtype
        if key not in rev:
            raise TypeError("unsupported numpy dtype %s" % a.dtype)
        dtype = rev[key]
    if dtype == "BF16":
        raise TypeError("BF16 writing needs a torch tensor")
    a = np.ascontiguousarray(a.astype(_NP_OF[dtype], copy=False))
    return dtype, list(a.shape), a.tobytes()


def save_file(tensors, path, metadata=None, dtypes=None):
    """Writes tensors (name -> torch tensor / numpy array) to path.

    dtypes: optional name -> dtype string ("F32", ...) to convert on write.
    metadata: optional dict of str -> str for "__metadata__".
    """
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("metadata keys and values must be strings")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, value in tensors.items():
        if name == "__metadata__":
            raise ValueError("reserved tensor name")
        want = dtypes.get(name) if dtypes else None
        dname, shape, raw = _to_bytes(value, want)
        header[name] = {"dtype": dname, "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    pad = (-(8 + len(hjson))) % 8
    hjson += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header, 8 + n


def load_file(path, as_torch=True):
    """Returns (tensors, metadata). tensors is an ordered dict name -> tensor
    (torch if as_torch and torch is available, else numpy). BF16 and F16 are
    converted to float32; everything else keeps its dtype."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("%s: header length %d beyond file size" % (path, n))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    # keep file order of the header (json preserves it)
    for name, info in header.items():
        dt = info["dtype"]
        shape = [int(s) for s in info["shape"]]
        b, e = info["data_offsets"]
        numel = int(np.prod(shape)) if shape else 1
        if e - b != numel * _SIZE[dt] or base + e > len(data):
            raise ValueError("%s: tensor %s has bad extent" % (path, name))
        raw = data[base + b:base + e]
        if dt == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32).reshape(shape)
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32).reshape(shape)
        else:
            arr = np.frombuffer(raw, dtype=_NP_OF[dt]).reshape(shape).copy()
        if dt in ("F64", "F32", "I64", "I32", "I16", "I8", "U8", "BOOL"):
            arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        out[name] = torch.from_numpy(np.array(arr)) if (as_torch and torch is not None) else arr
    return out, meta


def _selftest():
    import os
    import tempfile
    ts = {
        "a": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7,
        "b": torch.tensor([1.5, -2.25], dtype=torch.float64),
        "c": torch.tensor([[1, -2], [3, 4]], dtype=torch.int32),
        "d": torch.tensor([1.0, -3.5, 1e-3], dtype=torch.bfloat16),
        "e": torch.zeros(0, 4),
    }
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.safetensors")
        save_file(ts, p, metadata={"k": "v"})
        hdr, start = read_header(p)
        assert start % 8 == 0, start
        back, meta = load_file(p)
        assert meta == {"k": "v"}
        assert list(back) == list(ts)
        for k in ts:
            ref = ts[k].float() if ts[k].dtype == torch.bfloat16 else ts[k]
            assert back[k].dtype == ref.dtype and torch.equal(back[k], ref), k
    print("safetensors_io self-test ok")


if __name__ == "__main__":
    _selftest()
