#!/usr/bin/python3
"""Round-trip test of tools/convert_checkpoint.py on state_dicts built here
(reference key names and dtypes: "_orig_mod.model.inner." keys, float32
weights, bfloat16 H_init/L_init).

usage: /usr/bin/python3 tests/reference/test_convert_checkpoint.py   (exit 1 on failure)
"""

import collections
import json
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import trm_ref  # noqa: E402
from safetensors_io import load_file, read_header  # noqa: E402

TOOL = os.path.join(HERE, "..", "..", "tools", "convert_checkpoint.py")

ALL_CONFIG = """\
arch:
  H_cycles: 3
  H_layers: 0
  L_cycles: {L_cycles}
  L_layers: 2
  expansion: 4
  forward_dtype: bfloat16
  halt_exploration_prob: 0.1
  halt_max_steps: 16
  hidden_size: 32
  loss:
    loss_type: stablemax_cross_entropy
    name: losses@ACTLossHead
  mlp_t: {mlp_t}
  name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1
  no_ACT_continue: true
  num_heads: 4
  pos_encodings: {pos}
  puzzle_emb_len: 16
  puzzle_emb_ndim: 32
beta1: 0.9
data_paths:
- data/does-not-exist
global_batch_size: 768
lr: 0.0001
"""


def run(*args):
    p = subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


class Payload:
    """Unpickling this runs touch(marker): what a malicious .pt does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch '%s'" % self.marker,))


def check_untrusted(d, check):
    """pt2st must never unpickle beyond torch's weights-only loader: a file
    it refuses is an error (exit 1, one line), and its code never runs."""
    marker = os.path.join(d, "pwned")
    evil = os.path.join(d, "evil.pt")
    torch.save({"_orig_mod.model.inner.lm_head.weight": torch.zeros(2, 2), "x": Payload(marker)}, evil)
    rc, out = run("pt2st", evil, os.path.join(d, "evil.safetensors"))
    check(rc == 1 and not os.path.exists(marker), "malicious .pt: exit 1, its payload never runs")
    check(len(out.strip().splitlines()) == 1 and "refusing to unpickle" in out,
          "malicious .pt: one error line saying why")
    check(not os.path.exists(os.path.join(d, "evil.safetensors")), "malicious .pt: no output file")
    junk = os.path.join(d, "junk.pt")
    with open(junk, "wb") as f:
        f.write(b"not a checkpoint")
    rc, out = run("pt2st", junk, os.path.join(d, "junk.safetensors"))
    check(rc == 1 and len(out.strip().splitlines()) == 1 and "junk.pt" in out,
          "not a torch file: exit 1, one line naming the file")


def reference_state_dict(cfg, seed):
    inner = trm_ref.TRMInner(cfg, torch.float32)
    gen = torch.Generator().manual_seed(seed)
    inner.reference_init(gen)
    with torch.no_grad():
        inner.puzzle_emb.weights.normal_(generator=gen)
    sd = collections.OrderedDict()
    for n, t in inner.named_tensors().items():
        t = t.detach().clone()
        if n in ("H_init", "L_init"):
            t = t.to(torch.bfloat16)  # created in bf16 by the reference
        sd["_orig_mod.model.inner." + n] = t
    return sd


def main():
    fails = []

    def check(cond, what):
        print("%-70s %s" % (what, "ok" if cond else "FAIL"))
        if not cond:
            fails.append(what)

    variants = [
        ("mlp_t", dict(mlp_t=True, pos_encodings="none", L_cycles=6), dict(mlp_t="true", pos="none", L_cycles=6), []),
        ("att", dict(mlp_t=False, pos_encodings="rope", L_cycles=4), dict(mlp_t="false", pos="rope", L_cycles=4),
         ["--set", "seq_len=9"]),
    ]
    with tempfile.TemporaryDirectory() as d:
        for vname, over, yaml_over, sets in variants:
            cfgd = dict(hidden_size=32, num_heads=4, expansion=4.0, puzzle_emb_ndim=32, puzzle_emb_len=16,
                        vocab_size=7, seq_len=9, num_puzzle_identifiers=3, H_cycles=3, halt_max_steps=16)
            cfgd.update(over)
            cfg = trm_ref.TRMConfig.from_dict(cfgd)
            sd = reference_state_dict(cfg, 5)
            pt = os.path.join(d, vname + ".pt")
            torch.save(sd, pt)
            yml = os.path.join(d, vname + "_all_config.yaml")
            with open(yml, "w") as f:
                f.write(ALL_CONFIG.format(**yaml_over))
            st = os.path.join(d, vname + ".safetensors")
            rc, out = run("pt2st", pt, st, "--config", yml, *sets)
            check(rc == 0, "%s: pt2st with all_config.yaml exits 0" % vname)
            if rc:
                print(out)
                continue
            hdr, start = read_header(st)
            check(start % 8 == 0, "%s: data section 8-byte aligned" % vname)
            tens, meta = load_file(st)
            want_names = ["model.inner." + k[len("_orig_mod.model.inner."):] for k in sd]
            check(list(tens) == want_names, "%s: names are model.inner.<name>, same order" % vname)
            check(all(hdr[n]["dtype"] == "F32" for n in want_names), "%s: every tensor F32" % vname)
            same = all(torch.equal(tens["model.inner." + k[len("_orig_mod.model.inner."):]], v.float())
                       for k, v in sd.items())
            check(same, "%s: values equal (bf16 H_init/L_init widened exactly)" % vname)
            got = json.loads(meta.get("config", "{}"))
            want = cfg.to_dict()
            check(got == want, "%s: metadata config equals the arch config" % vname)
            if got != want:
                print(" got ", got, "\n want", want)
            check(list(got) == list(want), "%s: config keys in the reference field order" % vname)
            back = os.path.join(d, vname + "_back.pt")
            rc, out = run("st2pt", st, back)
            check(rc == 0, "%s: st2pt exits 0" % vname)
            sd2 = torch.load(back)
            check(list(sd2) == list(sd), "%s: st2pt keys equal the original state_dict" % vname)
            check(all(sd2[k].dtype == v.dtype and torch.equal(sd2[k], v) for k, v in sd.items()),
                  "%s: st2pt dtypes (bf16 H_init/L_init) and values equal" % vname)
            # a state_dict without the _orig_mod. prefix converts to the same file
            plain = os.path.join(d, vname + "_plain.pt")
            torch.save(collections.OrderedDict((k[len("_orig_mod."):], v) for k, v in sd.items()), plain)
            st2 = os.path.join(d, vname + "_plain.safetensors")
            rc, _ = run("pt2st", plain, st2, "--config", yml, *sets)
            with open(st, "rb") as f1, open(st2, "rb") as f2:
                check(rc == 0 and f1.read() == f2.read(), "%s: model.inner. prefix alone gives identical bytes" % vname)
            st3 = os.path.join(d, vname + "_nocfg.safetensors")
            rc, _ = run("pt2st", pt, st3)
            check(rc == 0 and "config" not in load_file(st3)[1], "%s: no config without --config/--set" % vname)
        # attention checkpoint without seq_len cannot be described
        rc, out = run("pt2st", os.path.join(d, "att.pt"), os.path.join(d, "x.safetensors"),
                      "--config", os.path.join(d, "att_all_config.yaml"))
        check(rc == 1 and "seq_len" in out, "att: missing seq_len is an error naming seq_len")
        # contradicting the tensors is an error
        rc, out = run("pt2st", os.path.join(d, "att.pt"), os.path.join(d, "x.safetensors"),
                      "--config", os.path.join(d, "att_all_config.yaml"), "--set", "seq_len=9",
                      "--set", "vocab_size=8")
        check(rc == 1 and "vocab_size" in out, "att: vocab_size contradicting the tensors is an error")
        check_untrusted(d, check)
        rc, out = run("--help")
        check(rc == 0 and "pt2st" in out and "st2pt" in out and "weights_only" in out, "--help")
    print("convert_checkpoint test", "PASSED" if not fails else "FAILED (%d)" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
