#!/usr/bin/python3
"""Instantiates trm_ref.py's model for the paper presets and checks the
trainable-parameter counts against spec 1.9 (the reference's num_params,
which excludes the puzzle table, H_init/L_init and RoPE tables).

usage: /usr/bin/python3 tests/reference/check_params.py    (exit 1 on mismatch)
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trm_ref  # noqa: E402

# (preset, overrides, expected count). The puzzle table is a buffer, so the
# number of identifiers does not matter; 1 keeps ARC's 876,406 x 512 table
# out of memory.
EXPECTED = [
    ("sudoku-mlp", {}, 5028866),
    ("sudoku-att", {}, 6828034),
    ("maze-att", {}, 6822914),
    ("arc1-att", {}, 6829058),
    ("arc2-att", {}, 6829058),
    ("maze-mlp", dict(mlp_t=True, pos_encodings="none", L_cycles=4, vocab_size=6, seq_len=900),
     18795522),
    ("arc-mlp", dict(mlp_t=True, pos_encodings="none", L_cycles=4, vocab_size=12, seq_len=900),
     18801666),
]


def main():
    bad = 0
    for name, over, want in EXPECTED:
        if name in trm_ref.PRESETS:
            cfg = trm_ref.preset(name, num_puzzle_identifiers=1, **over)
        else:
            cfg = trm_ref.TRMConfig.from_dict(dict(over, num_puzzle_identifiers=1))
        inner = trm_ref.TRMInner(cfg, torch.float32)
        got = inner.num_params()
        ok = got == want
        bad += not ok
        print("%-11s L=%-4d vocab=%-3d params %11s  expected %11s  %s"
              % (name, cfg.total_len, cfg.vocab_size, format(got, ","), format(want, ","),
                 "ok" if ok else "MISMATCH"))
        names = set(inner.named_tensors())
        for must in ("puzzle_emb.weights", "H_init", "L_init"):
            if must not in names or must in dict(inner.named_parameters()):
                print("  %s must be a saved, non-trainable tensor" % must)
                bad += 1
    print("all counts match spec 1.9" if not bad else "%d mismatch(es)" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
