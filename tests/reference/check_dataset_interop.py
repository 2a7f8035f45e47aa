#!/usr/bin/python3
"""Dataset interoperability with the reference (spec 4.1 / 3.5).

Usage (run with /usr/bin/python3; needs only numpy):

  check_dataset_interop.py DIR
      Checks a dataset directory written by trm (DIR/identifiers.json,
      DIR/<split>/dataset.json + all__*.npy for every split present) the
      way the reference reads it: np.load with mmap_mode="r" for inputs and
      labels and in memory for the index arrays, json.load of dataset.json
      validated against the fields and types of the reference's
      PuzzleDatasetMetadata, then index semantics, token ranges, and one
      pass of the reference's train and test batching logic.
      Exits 0 when everything holds, 1 with a message on stderr otherwise.

  check_dataset_interop.py --write DIR [--seed N]
      Writes a small Sudoku dataset the way the reference's
      dataset/build_sudoku_dataset.py does (np.save of uint8 inputs/labels
      with tokens = cell + 1, int32 index arrays, dataset.json via
      json.dump of the metadata dict with the same keys and order,
      identifiers.json = ["<blank>"]): train = 4 groups of 1 + 3 augmented
      puzzles, test = 5 groups of 1 puzzle, one example per puzzle, so that
      the C side can prove it loads a reference-built dataset.

This file is written from the spec and the reference's documented
behaviour; it does not import the reference (which needs torch, pydantic
and argdantic).
"""
import json
import os
import sys

import numpy as np

IGNORE_LABEL_ID = -100

# PuzzleDatasetMetadata (dataset/common.py): field -> accepted Python types
# after json.load. pydantic's lax mode would also coerce some strings; we
# insist on the plain JSON types the builders produce.
META_FIELDS = {
    "pad_id": (int,),
    "ignore_label_id": (int, type(None)),
    "blank_identifier_id": (int,),
    "vocab_size": (int,),
    "seq_len": (int,),
    "num_puzzle_identifiers": (int,),
    "total_groups": (int,),
    "mean_puzzle_examples": (float, int),
    "total_puzzles": (int,),
    "sets": (list,),
}

FIELDS = ["inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices"]


class Bad(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Bad(msg)


# ---------------------------------------------------------------- checking

def check_metadata(path):
    with open(path) as f:
        meta = json.load(f)
    need(isinstance(meta, dict), f"{path}: not a JSON object")
    need(set(meta) == set(META_FIELDS),
         f"{path}: keys {sorted(meta)} differ from PuzzleDatasetMetadata's {sorted(META_FIELDS)}")
    for key, types in META_FIELDS.items():
        v = meta[key]
        need(isinstance(v, types) and not isinstance(v, bool),
             f"{path}: field {key!r}: {v!r} is not of type {'/'.join(t.__name__ for t in types)}")
    need(all(isinstance(s, str) for s in meta["sets"]) and "all" in meta["sets"],
         f"{path}: field 'sets': {meta['sets']!r} must be strings including 'all'")
    return meta


def check_offsets(name, a, end):
    need(a.ndim == 1 and a.size >= 1, f"{name}: shape {a.shape}, expected 1-D, non-empty")
    need(a[0] == 0, f"{name}: starts at {a[0]}, expected 0")
    need(np.all(np.diff(a) >= 0), f"{name}: not non-decreasing")
    need(a[-1] == end, f"{name}: ends at {a[-1]}, expected {end}")


def load_split(split_dir, meta):
    # exactly the reference's _lazy_load_dataset
    modes = {"inputs": "r", "labels": "r", "puzzle_identifiers": None,
             "puzzle_indices": None, "group_indices": None}
    return {k: np.load(os.path.join(split_dir, f"all__{k}.npy"), mmap_mode=m)
            for k, m in modes.items()}


def check_arrays(split_dir, meta, d):
    inp, lab = d["inputs"], d["labels"]
    for k in ("inputs", "labels"):
        need(d[k].dtype == np.uint8, f"{split_dir}/all__{k}.npy: dtype {d[k].dtype}, the "
             "reference builders write uint8")
    for k in ("puzzle_identifiers", "puzzle_indices", "group_indices"):
        need(d[k].dtype == np.int32,
             f"{split_dir}/all__{k}.npy: dtype {d[k].dtype}, expected int32")
    need(inp.ndim == 2 and inp.shape[1] == meta["seq_len"],
         f"{split_dir}: inputs shape {inp.shape}, expected [N, {meta['seq_len']}]")
    need(lab.shape == inp.shape, f"{split_dir}: labels shape {lab.shape} != inputs {inp.shape}")
    n_ex = inp.shape[0]
    check_offsets(f"{split_dir}/all__puzzle_indices.npy", d["puzzle_indices"], n_ex)
    n_puz = d["puzzle_indices"].size - 1
    check_offsets(f"{split_dir}/all__group_indices.npy", d["group_indices"], n_puz)
    n_grp = d["group_indices"].size - 1
    ids = d["puzzle_identifiers"]
    need(ids.shape == (n_puz,),
         f"{split_dir}: puzzle_identifiers shape {ids.shape}, expected ({n_puz},)")
    need(np.all((ids >= 0) & (ids < meta["num_puzzle_identifiers"])),
         f"{split_dir}: puzzle identifier outside [0, {meta['num_puzzle_identifiers']})")
    v = meta["vocab_size"]
    need(np.all(inp < v), f"{split_dir}: input token >= vocab_size {v}")
    ok_lab = lab < v
    if meta["ignore_label_id"] is not None:
        ok_lab |= lab == meta["ignore_label_id"]
    need(np.all(ok_lab), f"{split_dir}: label token >= vocab_size {v}")
    need(meta["total_groups"] == n_grp,
         f"{split_dir}: total_groups {meta['total_groups']} != {n_grp}")
    # Sudoku/Maze builders (and trm) store the group count in total_puzzles,
    # the ARC builder the puzzle count (spec 8 #18): either is legitimate
    need(meta["total_puzzles"] in (n_grp, n_puz),
         f"{split_dir}: total_puzzles {meta['total_puzzles']} is neither {n_grp} groups "
         f"nor {n_puz} puzzles")
    if n_puz:
        need(abs(meta["mean_puzzle_examples"] - n_ex / n_puz) < 1e-9,
             f"{split_dir}: mean_puzzle_examples {meta['mean_puzzle_examples']} != {n_ex / n_puz}")


def collate(meta, batch, size):
    # the reference's _collate_batch: int32, ignore -> -100, pad to size
    batch = {k: v.astype(np.int32) for k, v in batch.items()}
    if meta["ignore_label_id"] is not None:
        batch["labels"][batch["labels"] == meta["ignore_label_id"]] = IGNORE_LABEL_ID
    pad = size - batch["puzzle_identifiers"].size
    if pad > 0:
        vals = {"inputs": meta["pad_id"], "labels": IGNORE_LABEL_ID,
                "puzzle_identifiers": meta["blank_identifier_id"]}
        batch = {k: np.pad(v, ((0, pad),) + ((0, 0),) * (v.ndim - 1), constant_values=vals[k])
                 for k, v in batch.items()}
    return batch


def exercise_loader(meta, d, batch_size=4):
    """One test pass and one train epoch with the reference's index logic."""
    n_ex = d["inputs"].shape[0]
    seen = 0
    for start in range(0, n_ex, batch_size):
        end = min(n_ex, start + batch_size)
        p = np.searchsorted(d["puzzle_indices"], start, side="right") - 1
        pids = []
        for i in range(start, end):
            while p + 1 < len(d["puzzle_indices"]) and i >= d["puzzle_indices"][p + 1]:
                p += 1
            pids.append(p)
        b = collate(meta, {"inputs": d["inputs"][start:end], "labels": d["labels"][start:end],
                           "puzzle_identifiers": d["puzzle_identifiers"][pids]}, batch_size)
        need(b["inputs"].shape == (batch_size, meta["seq_len"]), "test batch has the wrong shape")
        seen += end - start
    need(seen == n_ex, "test pass did not cover every example")
    gi, pi = d["group_indices"], d["puzzle_indices"]
    rng = np.random.Generator(np.random.Philox(seed=1))
    for g in rng.permutation(gi.size - 1):
        if gi[g + 1] > gi[g]:
            p = rng.integers(gi[g], gi[g + 1])
            size = int(pi[p + 1] - pi[p])
            idx = pi[p] + np.random.choice(size, min(size, batch_size), replace=False)
            collate(meta, {"inputs": d["inputs"][idx], "labels": d["labels"][idx],
                           "puzzle_identifiers": np.full(idx.size, d["puzzle_identifiers"][p])},
                    batch_size)


def check_dataset(root):
    with open(os.path.join(root, "identifiers.json")) as f:
        names = json.load(f)
    need(isinstance(names, list) and names and names[0] == "<blank>" and
         all(isinstance(s, str) for s in names),
         f"{root}/identifiers.json: expected a list of strings starting with '<blank>'")
    splits = [s for s in sorted(os.listdir(root))
              if os.path.isfile(os.path.join(root, s, "dataset.json"))]
    need(splits, f"{root}: no split directory with a dataset.json")
    for s in splits:
        split_dir = os.path.join(root, s)
        meta = check_metadata(os.path.join(split_dir, "dataset.json"))
        d = load_split(split_dir, meta)
        check_arrays(split_dir, meta, d)
        exercise_loader(meta, d)


# ---------------------------------------------------------------- writing

def solved_grid(rng):
    """A valid solution: the standard pattern under a random validity-
    preserving shuffle (bands, rows, stacks, columns, digits)."""
    base = np.array([[(r * 3 + r // 3 + c) % 9 + 1 for c in range(9)] for r in range(9)])
    rows = np.concatenate([b * 3 + rng.permutation(3) for b in rng.permutation(3)])
    cols = np.concatenate([s * 3 + rng.permutation(3) for s in rng.permutation(3)])
    digits = np.concatenate([[0], rng.permutation(np.arange(1, 10))])
    return digits[base[rows][:, cols]].astype(np.uint8)


def shuffle_sudoku(rng, board, solution):
    """The builder's augmentation (spec 4.2), drawn from rng."""
    digit_map = np.pad(rng.permutation(np.arange(1, 10)), (1, 0))
    transpose = rng.random() < 0.5
    rows = np.concatenate([b * 3 + rng.permutation(3) for b in rng.permutation(3)])
    cols = np.concatenate([s * 3 + rng.permutation(3) for s in rng.permutation(3)])
    mapping = np.array([rows[i // 9] * 9 + cols[i % 9] for i in range(81)])

    def apply(x):
        if transpose:
            x = x.T
        return digit_map[x.flatten()[mapping].reshape(9, 9)].astype(np.uint8)

    return apply(board), apply(solution)


def write_subset(out_dir, name, rng, n_groups, num_aug):
    res = {k: [] for k in FIELDS}
    res["puzzle_indices"].append(0)
    res["group_indices"].append(0)
    example_id = puzzle_id = 0
    for _ in range(n_groups):
        sol = solved_grid(rng)
        q = np.where(rng.random((9, 9)) < 0.5, 0, sol).astype(np.uint8)
        for aug in range(1 + num_aug):
            inp, out = (q, sol) if aug == 0 else shuffle_sudoku(rng, q, sol)
            res["inputs"].append(inp)
            res["labels"].append(out)
            example_id += 1
            puzzle_id += 1
            res["puzzle_indices"].append(example_id)
            res["puzzle_identifiers"].append(0)
        res["group_indices"].append(puzzle_id)

    def seq_to_numpy(seq):
        arr = np.concatenate(seq).reshape(len(seq), -1)
        assert np.all((arr >= 0) & (arr <= 9))
        return arr + 1  # stays uint8, as in the builder

    arrays = {
        "inputs": seq_to_numpy(res["inputs"]),
        "labels": seq_to_numpy(res["labels"]),
        "group_indices": np.array(res["group_indices"], dtype=np.int32),
        "puzzle_indices": np.array(res["puzzle_indices"], dtype=np.int32),
        "puzzle_identifiers": np.array(res["puzzle_identifiers"], dtype=np.int32),
    }
    # PuzzleDatasetMetadata(...).model_dump(): field order of the model,
    # mean_puzzle_examples coerced to float, total_puzzles = groups
    n_grp = len(res["group_indices"]) - 1
    meta = {"pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": 11,
            "seq_len": 81, "num_puzzle_identifiers": 1, "total_groups": n_grp,
            "mean_puzzle_examples": 1.0, "total_puzzles": n_grp, "sets": ["all"]}
    save_dir = os.path.join(out_dir, name)
    os.makedirs(save_dir, exist_ok=True)
    with open(os.path.join(save_dir, "dataset.json"), "w") as f:
        json.dump(meta, f)
    for k, v in arrays.items():
        np.save(os.path.join(save_dir, f"all__{k}.npy"), v)
    with open(os.path.join(out_dir, "identifiers.json"), "w") as f:
        json.dump(["<blank>"], f)


def write_dataset(out_dir, seed):
    rng = np.random.default_rng(seed)
    write_subset(out_dir, "train", rng, n_groups=4, num_aug=3)
    write_subset(out_dir, "test", rng, n_groups=5, num_aug=0)


# ---------------------------------------------------------------- main

def main(argv):
    if len(argv) >= 2 and argv[0] == "--write":
        seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
        write_dataset(argv[1], seed)
        return 0
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        check_dataset(argv[0])
    except (Bad, OSError, ValueError, KeyError) as e:
        print(f"check_dataset_interop: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
