#!/usr/bin/python3
"""fuzz/make_corpus.py - writes the seed corpora fuzz/corpus/<name>/ (a few
small valid inputs per harness; the fuzzers mutate from there).
Deterministic; the output is committed, so this runs only when a format
changes (`make fuzz-corpus`). Needs NumPy and torch (/usr/bin/python3).
fuzz_resume's seed is not here: it is a state file of the harness's own
tiny run, which fuzz/run.sh has the harness write (FUZZ_RESUME_SEED) before
each session, so it always matches the current state format."""
import io
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
from safetensors_io import save_file  # noqa: E402
import torch  # noqa: E402

SEP = b"\n--8<--\n"   # fuzz_util.h FZ_SEP


def put(name, fname, data):
    d = os.path.join(ROOT, "fuzz", "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def safetensors_seeds():
    tmp = os.path.join(ROOT, "build-fuzz", "seed.safetensors")
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    cases = {
        "f32_i32.safetensors": ({"a": torch.arange(6, dtype=torch.float32).reshape(2, 3),
                                 "b": torch.tensor([1, -2, 3], dtype=torch.int32)}, {"config": "{}"}),
        "bf16_i64_u8.safetensors": ({"h": torch.ones(4, dtype=torch.bfloat16), "i": torch.tensor([7], dtype=torch.int64),
                                     "u": torch.tensor([[1, 2], [3, 4]], dtype=torch.uint8)}, None),
    }
    for fname, (t, meta) in cases.items():
        save_file(t, tmp, metadata=meta)
        with open(tmp, "rb") as f:
            put("safetensors", fname, f.read())
    os.remove(tmp)


def npy_seeds():
    put("npy", "u1.npy", npy(np.arange(12, dtype=np.uint8).reshape(3, 4)))
    put("npy", "i4.npy", npy(np.array([0, 3, 5], dtype="<i4")))
    put("npy", "i8_be.npy", npy(np.array([[1, -1]], dtype=">i8")))
    put("npy", "f4.npy", npy(np.array([0.5, -2.0], dtype="<f4")))
    put("npy", "b1_scalar.npy", npy(np.array(True)))


def dataset_seed(n_groups, seq_len, vocab):
    inputs = (np.arange(n_groups * seq_len) % (vocab - 1) + 1).astype(np.uint8).reshape(n_groups, seq_len)
    labels = inputs[:, ::-1].copy()
    meta = {"pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": vocab,
            "seq_len": seq_len, "num_puzzle_identifiers": n_groups + 1, "total_groups": n_groups,
            "mean_puzzle_examples": 1.0, "total_puzzles": n_groups, "sets": ["all"]}
    parts = [json.dumps(meta).encode(), npy(inputs), npy(labels),
             npy(np.arange(1, n_groups + 1, dtype=np.int32)), npy(np.arange(n_groups + 1, dtype=np.int32)),
             npy(np.arange(n_groups + 1, dtype=np.int32))]
    return SEP.join(parts)


def arc_seeds():
    grid = [[0, 1], [2, 3]]
    task = {"train": [{"input": grid, "output": grid[::-1]}], "test": [{"input": grid, "output": grid}]}
    put("arc_task", "tiny.json", json.dumps(task))
    g3 = [[5, 0, 9], [0, 7, 0], [4, 4, 4]]
    put("arc_task", "test_first.json", json.dumps({"test": [{"input": g3, "output": g3[::-1]}], "train": [
        {"input": g3, "output": [r[::-1] for r in g3]}, {"input": [[1]], "output": [[2, 2]]}], "name": "extra key"}))
    ch = {"00000001": {"train": task["train"], "test": [{"input": grid}]}}
    put("arc_kaggle", "with_solutions.json", json.dumps(ch).encode() + SEP + json.dumps({"00000001": [grid]}).encode())
    put("arc_kaggle", "no_solutions.json", json.dumps(ch))


def puzzle_text_seeds():
    q = ".................1.....2.3......3.2...1.4......5....6..3......4.7..8...962...7..."
    a = "953168742862734951417952836746893125281645397395271468138529674574386219629417583"
    put("puzzle_text", "sudoku_csv", b"\x00question,answer\n" + (q + "," + a + "\n").encode())
    put("puzzle_text", "sudoku_lines", b"\x00# comment\n\n" + (q.replace(".", "0") + "\n" + q + "\n").encode())
    put("puzzle_text", "maze_csv", b"\x01question,answer\nS  ## G  ,Soo##oGoo\n")
    put("puzzle_text", "maze_noheader", b"\x01S  ## G  ,Soo##oGoo\r\nS  ## G  ,Soo##oGoo")


def config_seeds():
    put("config", "arch", "hidden_size=64\nnum_heads=4\nL_cycles=2\npos_encodings=rope\nmlp_t=false\n"
        "vocab_size=11\nseq_len=81\nnum_puzzle_identifiers=2\n")
    put("config", "train", "global_batch_size=8\nepochs=2.5\nlr=1e-4\nema=true\nloss_type=softmax\nseed=18446744073709551615\n")
    put("config", "json", '{"hidden_size":32,"num_heads":2,"expansion":4,"L_layers":2,"H_cycles":3,"L_cycles":6,'
        '"halt_max_steps":16,"halt_exploration_prob":0.1,"pos_encodings":"learned","mlp_t":false,'
        '"puzzle_emb_ndim":32,"puzzle_emb_len":0,"rms_norm_eps":1e-05,"rope_theta":10000,'
        '"vocab_size":12,"seq_len":900,"num_puzzle_identifiers":5}\n')


def main():
    safetensors_seeds()
    npy_seeds()
    put("dataset", "four_groups", dataset_seed(4, 4, 5))
    put("dataset", "one_group", dataset_seed(1, 9, 11))
    arc_seeds()
    puzzle_text_seeds()
    config_seeds()


if __name__ == "__main__":
    main()
