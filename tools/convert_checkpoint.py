#!/usr/bin/python3
"""Dev-only converter between reference TRM checkpoints (PyTorch pickles
written by pretrain.py) and the safetensors files the C implementation reads.

  pt2st IN.pt OUT.safetensors [--config all_config.yaml|cfg.json] [--set key=value ...]
      Loads a reference checkpoint (torch.load on CPU; a plain state_dict whose
      keys may carry "_orig_mod." / "model." / "inner." prefixes) and writes every
      tensor as F32 (bf16 buffers such as H_init/L_init are widened exactly),
      named "model.inner.<name>".
      With --config (the reference's all_config.yaml saved next to the
      checkpoint, or a JSON/YAML arch section) and/or --set, the architecture
      is stored in __metadata__["config"] as a JSON object with the reference's
      arch field names. seq_len, vocab_size and num_puzzle_identifiers are not in
      all_config.yaml (the reference takes them from the dataset metadata):
      give them with --set, or they are inferred from tensor shapes where
      possible (vocab_size, num_puzzle_identifiers; seq_len for mlp_t or learned
      positions) or from <data_path>/train/dataset.json when that file exists.

  st2pt IN.safetensors OUT.pt
      The reverse: writes a state_dict with "_orig_mod.model.inner." keys,
      float32 tensors except H_init/L_init in bfloat16, as the reference has
      them. The safetensors config metadata (if any) is printed, not stored.

Untrusted and legacy checkpoints: a .pt file is a pickle, and unpickling
can run any code the file names. pt2st therefore reads it only with
torch.load(weights_only=True), which accepts tensors, dicts, lists and
numbers, and stops with an error on anything else; there is deliberately no
option to unpickle fully. The reference's pretrain.py saves a plain
state_dict, which loads this way. For a file you trust that holds other
objects (an optimizer, a config object), extract its state_dict yourself,
in your own Python session, where the choice to run its code is yours:
    sd = torch.load("old.pt", weights_only=False)["model"]   # trusted file only
    torch.save({k: v for k, v in sd.items()}, "plain.pt")
then convert plain.pt.

Run with /usr/bin/python3 (the interpreter that has torch, >= 1.13).
"""

import argparse
import collections
import json
import inspect
import os
import pickle
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from safetensors_io import load_file, save_file  # noqa: E402

PREFIX = "model.inner."
PT_PREFIX = "_orig_mod.model.inner."

# arch fields (reference names), types and the reference defaults
# (config/arch/trm.yaml and the model's config class)
FIELDS = collections.OrderedDict([
    ("hidden_size", (int, 512)),
    ("num_heads", (int, 8)),
    ("expansion", (float, 4.0)),
    ("L_layers", (int, 2)),
    ("H_cycles", (int, 3)),
    ("L_cycles", (int, 6)),
    ("halt_max_steps", (int, 16)),
    ("halt_exploration_prob", (float, 0.1)),
    ("pos_encodings", (str, "rope")),
    ("mlp_t", (bool, False)),
    ("puzzle_emb_ndim", (int, None)),   # default: hidden_size
    ("puzzle_emb_len", (int, 16)),
    ("rms_norm_eps", (float, 1e-5)),
    ("rope_theta", (float, 10000.0)),
    ("vocab_size", (int, None)),
    ("seq_len", (int, None)),
    ("num_puzzle_identifiers", (int, None)),
])

# tensors that are never part of a checkpoint we want (non-persistent buffers)
SKIP_SUFFIXES = ("cos_cached", "sin_cached", "local_weights", "local_ids")


def strip_name(name):
    """'_orig_mod.model.inner.lm_head.weight' -> 'lm_head.weight'."""
    changed = True
    while changed:
        changed = False
        for p in ("_orig_mod.", "model.", "inner."):
            if name.startswith(p):
                name = name[len(p):]
                changed = True
    return name


def _parse_bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ValueError("not a boolean: %r" % v)


def _coerce(key, v):
    typ = FIELDS[key][0]
    if typ is bool:
        return _parse_bool(v)
    if typ is int:
        f = float(v)
        if f != int(f):
            raise ValueError("%s must be an integer, got %r" % (key, v))
        return int(f)
    if typ is float:
        return float(v)
    return str(v)


def load_config_file(path):
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        d = json.loads(text)
    else:
        import yaml
        d = yaml.safe_load(text)
    if not isinstance(d, dict):
        raise ValueError("%s: not a mapping" % path)
    return d


def build_config(cfg_file, sets, tensors):
    """Arch config dict from all_config.yaml (or an arch dict), --set pairs and
    tensor shapes."""
    raw = {}
    data_paths = []
    if cfg_file:
        d = load_config_file(cfg_file)
        if isinstance(d.get("arch"), dict):  # all_config.yaml layout
            raw.update(d["arch"])
            data_paths = list(d.get("data_paths") or [])
        elif isinstance(d.get("config"), (dict, str)):  # our own metadata layout
            c = d["config"]
            raw.update(json.loads(c) if isinstance(c, str) else c)
        else:
            raw.update(d)
    for s in sets or []:
        if "=" not in s:
            raise ValueError("--set expects key=value, got %r" % s)
        k, v = s.split("=", 1)
        k = k.strip()
        if k not in FIELDS:
            raise ValueError("--set: unknown field %r (known: %s)" % (k, ", ".join(FIELDS)))
        raw[k] = v.strip()
    if "no_ACT_continue" in raw and not _parse_bool(raw["no_ACT_continue"]):
        print("warning: no_ACT_continue = false (HRM-style Q-continue) is not supported by trm",
              file=sys.stderr)

    cfg = collections.OrderedDict()
    for k, (typ, dflt) in FIELDS.items():
        v = raw.get(k, dflt)
        if isinstance(v, str) and v.strip().startswith("${"):
            # unresolved Hydra interpolation, e.g. puzzle_emb_ndim: ${.hidden_size}
            ref = v.strip()[2:-1].lstrip(".")
            v = cfg.get(ref, raw.get(ref))
        cfg[k] = None if v is None else _coerce(k, v)
    if cfg["puzzle_emb_ndim"] is None:
        cfg["puzzle_emb_ndim"] = cfg["hidden_size"]
    if cfg["pos_encodings"] not in ("rope", "learned", "none"):
        raise ValueError("pos_encodings must be rope, learned or none")

    # shapes from the tensors
    D = cfg["hidden_size"]
    prefix = (-(-cfg["puzzle_emb_ndim"] // D) if cfg["puzzle_emb_len"] == 0
              else cfg["puzzle_emb_len"])
    inferred = {}
    t = tensors.get("embed_tokens.embedding_weight")
    if t is not None:
        inferred["vocab_size"] = int(t.shape[0])
        if int(t.shape[1]) != D:
            raise ValueError("embed_tokens has width %d but hidden_size is %d" % (t.shape[1], D))
    t = tensors.get("puzzle_emb.weights")
    if t is not None:
        inferred["num_puzzle_identifiers"] = int(t.shape[0])
        if int(t.shape[1]) != cfg["puzzle_emb_ndim"]:
            raise ValueError("puzzle_emb.weights has width %d but puzzle_emb_ndim is %d"
                             % (t.shape[1], cfg["puzzle_emb_ndim"]))
    t = tensors.get("embed_pos.embedding_weight")
    if t is None:
        t = tensors.get("L_level.layers.0.mlp_t.down_proj.weight")
    if t is not None:
        inferred["seq_len"] = int(t.shape[0]) - prefix
    for k, v in inferred.items():
        if cfg[k] is None:
            cfg[k] = v
        elif cfg[k] != v:
            raise ValueError("%s = %d disagrees with the checkpoint's tensors (%d)" % (k, cfg[k], v))
    if cfg["seq_len"] is None:
        for p in data_paths:
            meta = os.path.join(p, "train", "dataset.json")
            if not os.path.isabs(meta) and cfg_file:
                cands = [meta, os.path.join(os.path.dirname(cfg_file), meta)]
            else:
                cands = [meta]
            for c in cands:
                if os.path.exists(c):
                    with open(c) as f:
                        cfg["seq_len"] = int(json.load(f)["seq_len"])
                    break
            if cfg["seq_len"] is not None:
                break
    missing = [k for k, v in cfg.items() if v is None]
    if missing:
        raise ValueError("cannot determine %s: pass --set %s=N" % (", ".join(missing),
                                                                   "=N --set ".join(missing)))
    return cfg


def load_pt(path):
    """The state_dict in a .pt file, read with torch's weights-only unpickler
    and nothing else: a full unpickle runs whatever code the file names
    (a __reduce__ calling os.system, say), so a file the restricted loader
    refuses is an error, never a reason to fall back to it."""
    if "weights_only" not in inspect.signature(torch.load).parameters:
        raise ValueError("torch %s has no torch.load(weights_only=True) (needs torch >= 1.13); "
                         "refusing to unpickle %s without it" % (torch.__version__, path))
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04" and magic[:1] != b"\x80":  # torch.save zip, or a legacy pickle
        raise ValueError("%s: not a PyTorch checkpoint (neither a torch.save zip archive nor a pickle)" % path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message suggests weights_only=False; keep only the reason
        why = str(e).split("WeightsUnpickler error:")[-1].strip().splitlines()[0]
        raise ValueError("%s: not a plain tensor checkpoint (%s); refusing to unpickle it, "
                         "since that could run code from the file (see --help: untrusted "
                         "and legacy checkpoints)" % (path, why))
    except (RuntimeError, EOFError) as e:  # truncated or not a torch file at all
        raise ValueError("%s: not a readable PyTorch checkpoint (%s)" % (path, str(e).splitlines()[0]))
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise ValueError("%s: not a state_dict" % path)
    return obj


def cmd_pt2st(args):
    sd = load_pt(args.input)
    tensors = collections.OrderedDict()
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            print("skipping non-tensor entry %s" % k, file=sys.stderr)
            continue
        if k.endswith(SKIP_SUFFIXES):
            continue
        name = strip_name(k)
        if name in tensors:
            raise ValueError("two checkpoint entries map to %s" % name)
        if v.is_floating_point():
            v = v.detach().to(torch.float32)
        elif v.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
            v = v.detach().to(torch.int32)
        tensors[name] = v.contiguous()
    metadata = None
    if args.config or args.set:
        cfg = build_config(args.config, args.set, tensors)
        metadata = {"config": json.dumps(cfg, separators=(",", ":"))}
    save_file(collections.OrderedDict((PREFIX + n, t) for n, t in tensors.items()),
              args.output, metadata=metadata)
    n = sum(t.numel() for t in tensors.values())
    print("wrote %s: %d tensors, %s values%s" % (args.output, len(tensors), format(n, ","),
                                                   ", config " + metadata["config"] if metadata else ""))
    return 0


def cmd_st2pt(args):
    tensors, meta = load_file(args.input)
    sd = collections.OrderedDict()
    for k, v in tensors.items():
        name = strip_name(k)
        if v.is_floating_point():
            v = v.to(torch.bfloat16 if name in ("H_init", "L_init") else torch.float32)
        sd[PT_PREFIX + name] = v.contiguous()
    torch.save(sd, args.output)
    print("wrote %s: %d tensors" % (args.output, len(sd)))
    if "config" in meta:
        print("config: %s" % meta["config"])
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="convert_checkpoint.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    p = sub.add_parser("pt2st", help="reference .pt checkpoint -> safetensors")
    p.add_argument("input", help="checkpoint written by the reference pretrain.py (torch.save)")
    p.add_argument("output", help="output .safetensors")
    p.add_argument("--config", help="all_config.yaml next to the checkpoint, or a JSON/YAML arch config")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="set an arch field (e.g. seq_len=81, vocab_size=11); repeatable")
    p.set_defaults(func=cmd_pt2st)
    p = sub.add_parser("st2pt", help="safetensors -> reference-style .pt state_dict")
    p.add_argument("input", help="input .safetensors")
    p.add_argument("output", help="output .pt")
    p.set_defaults(func=cmd_st2pt)
    args = ap.parse_args(argv)
    if not args.cmd:
        ap.print_help()
        return 2
    try:
        return args.func(args)
    except (ValueError, KeyError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
