#!/usr/bin/env python3
"""check_arc_builder.py - `trm data arc` against the reference's
dataset/build_arc_dataset.py: the same inputs and seed must give the same
bytes in every output file (the five arrays and dataset.json of each split,
identifiers.json, test_puzzles.json).

usage: check_arc_builder.py TRM [--full] [--num-aug N] [--keep DIR]

  TRM          the trm binary
  (default)    small cases: a few tasks of each ARC-1 subset (Kaggle files),
               one subset without a solutions file (dummy outputs), two seeds
  --full       the whole ARC-1 run (training, evaluation, concept; test set
               evaluation) with --num-aug N (default 10: the reference keeps
               every array in memory, 1000 needs tens of GB)

The reference's dataset/ code is read (git show HEAD:...) from the clone or
mirror of https://github.com/SamsungSAILMontreal/TinyRecursiveModels named by
$TRM_REFERENCE_REPO (default: ../TinyRecursiveModels beside this checkout)
and run with NumPy; its two non-NumPy imports (argdantic, pydantic 2) are
replaced by tiny shims when missing, and so is pydantic 1 (Debian 12's
python3-pydantic), which lacks the model_dump() the builder calls. Prints
TAP lines; without the reference or NumPy it is one named skip.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("TRM_ARC_DATA", os.path.join(ROOT, "..", "shared", "data", "arc-kaggle-combined"))
REPO = os.environ.get("TRM_REFERENCE_REPO", os.path.normpath(os.path.join(ROOT, "..", "TinyRecursiveModels")))

# Stand-ins for the two imports the builder needs besides NumPy: a config
# object with defaults, and model_dump() in field order (json.dump of it is
# dataset.json, so the order matters).
SHIM_PYDANTIC = '''
class BaseModel:
    def __init__(self, **kw):
        fields = {}
        for klass in reversed(type(self).__mro__):
            fields.update(getattr(klass, "__annotations__", {}))
        for name in fields:
            if name in kw:
                setattr(self, name, kw[name])
            elif not hasattr(type(self), name):
                raise TypeError("missing field " + name)
        self._fields = list(fields)
    def model_dump(self):
        return {name: getattr(self, name) for name in self._fields}
'''
SHIM_ARGDANTIC = '''
class ArgParser:
    def command(self, *a, **k):
        return lambda f: f
    def __call__(self):
        raise SystemExit("shim: call convert_dataset directly")
'''

RUN_REFERENCE = '''
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from dataset.build_arc_dataset import DataProcessConfig, convert_dataset
convert_dataset(DataProcessConfig(input_file_prefix=sys.argv[3], output_dir=sys.argv[4],
                                  subsets=sys.argv[5].split(","), test_set_name=sys.argv[6],
                                  num_aug=int(sys.argv[7]), seed=int(sys.argv[8])))
'''

FILES = ["identifiers.json", "test_puzzles.json"] + [
    f"{split}/{name}" for split in ("train", "test")
    for name in ("dataset.json", "all__inputs.npy", "all__labels.npy", "all__puzzle_identifiers.npy",
                 "all__puzzle_indices.npy", "all__group_indices.npy")]

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print(("ok - " if ok else "not ok - ") + name + (f" # {detail}" if detail else ""), flush=True)


def skip(why):
    print(f"ok - reference ARC builder comparison # SKIP {why}")
    sys.exit(0)


def extract_reference(tmp):
    """dataset/{build_arc_dataset,common}.py from the mirror, plus shims."""
    ref = os.path.join(tmp, "ref")
    os.makedirs(os.path.join(ref, "dataset"))
    open(os.path.join(ref, "dataset", "__init__.py"), "w").close()
    for name in ("build_arc_dataset.py", "common.py"):
        try:
            src = subprocess.run(["git", "-C", REPO, "show", f"HEAD:dataset/{name}"], check=True,
                                 capture_output=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            skip(f"cannot read the reference's dataset/{name} from {REPO} ({e})")
        with open(os.path.join(ref, "dataset", name), "wb") as f:
            f.write(src)
    shim = os.path.join(tmp, "shim")
    os.makedirs(shim)
    for mod, text in (("pydantic", SHIM_PYDANTIC), ("argdantic", SHIM_ARGDANTIC)):
        if not usable(mod):
            with open(os.path.join(shim, mod + ".py"), "w") as f:
                f.write(text)
    return ref, shim


def usable(mod):
    """Whether the installed module serves the builder: importable, and for
    pydantic the 2.x API (BaseModel.model_dump; 1.x only has .dict())."""
    try:
        m = __import__(mod)
    except ImportError:
        return False
    if mod == "pydantic" and not hasattr(m.BaseModel, "model_dump"):
        print(f"# pydantic {getattr(m, 'VERSION', '?')} has no BaseModel.model_dump: using the shim")
        return False
    return True


def write_inputs(tmp, picks, drop_solutions=()):
    """The first k tasks of each subset, as Kaggle files under tmp/in."""
    d = os.path.join(tmp, "in")
    os.makedirs(d, exist_ok=True)
    for subset, k in picks:
        with open(os.path.join(DATA, f"arc-agi_{subset}_challenges.json")) as f:
            ch = json.load(f)
        with open(os.path.join(DATA, f"arc-agi_{subset}_solutions.json")) as f:
            sol = json.load(f)
        ids = list(ch)[:k]
        with open(os.path.join(d, f"arc-agi_{subset}_challenges.json"), "w") as f:
            json.dump({i: ch[i] for i in ids}, f)
        path = os.path.join(d, f"arc-agi_{subset}_solutions.json")
        if subset in drop_solutions:
            if os.path.exists(path):
                os.remove(path)
        else:
            with open(path, "w") as f:
                json.dump({i: sol[i] for i in ids}, f)
    return os.path.join(d, "arc-agi")


def compare(name, trm, prefix, subsets, test_set, num_aug, seed, tmp):
    ref, shim = extract_reference(tmp) if not os.path.isdir(os.path.join(tmp, "ref")) else \
        (os.path.join(tmp, "ref"), os.path.join(tmp, "shim"))
    out_ref, out_trm = os.path.join(tmp, f"ref-{name}"), os.path.join(tmp, f"trm-{name}")
    t0 = time.time()
    p = subprocess.run([sys.executable, "-c", RUN_REFERENCE, shim, ref, prefix, out_ref, ",".join(subsets),
                        test_set, str(num_aug), str(seed)], capture_output=True, text=True)
    t_ref = time.time() - t0
    if p.returncode:
        tap(False, f"{name}: reference builder runs", p.stderr.strip().splitlines()[-1] if p.stderr else "")
        return
    t0 = time.time()
    q = subprocess.run([trm, "data", "arc", "--input-prefix", prefix, "--subsets", ",".join(subsets),
                        "--test-set", test_set, "--num-aug", str(num_aug), "--seed", str(seed), "--out", out_trm],
                       capture_output=True, text=True)
    t_trm = time.time() - t0
    if q.returncode:
        tap(False, f"{name}: trm data arc runs", q.stderr.strip())
        return
    bad = []
    for f in FILES:
        a, b = os.path.join(out_ref, f), os.path.join(out_trm, f)
        if os.path.exists(a) != os.path.exists(b):
            bad.append(f"{f} ({'only reference' if os.path.exists(a) else 'only trm'})")
        elif os.path.exists(a):
            with open(a, "rb") as fa, open(b, "rb") as fb:
                if fa.read() != fb.read():
                    bad.append(f)
    extra = sorted(set(os.listdir(out_trm)) - {"train", "test", "identifiers.json", "test_puzzles.json"})
    bad += [f"{e} (unexpected)" for e in extra]
    with open(os.path.join(out_ref, "train", "dataset.json")) as f:
        meta = json.load(f)
    tap(not bad, f"{name}: byte-identical to the reference ({meta['total_puzzles']} train puzzles, "
        f"{meta['num_puzzle_identifiers']} ids; reference {t_ref:.1f} s, trm {t_trm:.1f} s)",
        "differ: " + ", ".join(bad) if bad else "")
    if not bad:
        shutil.rmtree(out_ref)
        shutil.rmtree(out_trm)


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    trm, full, num_aug, keep = args[0], "--full" in args, 10, None
    if "--num-aug" in args:
        num_aug = int(args[args.index("--num-aug") + 1])
    if "--keep" in args:
        keep = args[args.index("--keep") + 1]
    try:
        import numpy  # noqa: F401
    except ImportError:
        skip(f"NumPy is missing for {sys.executable}")
    if not os.path.isfile(os.path.join(DATA, "arc-agi_training_challenges.json")):
        skip(f"no ARC Kaggle files in {DATA}")
    if subprocess.run(["git", "-C", REPO, "rev-parse", "--verify", "-q", "HEAD:dataset/build_arc_dataset.py"],
                      capture_output=True).returncode:
        skip(f"no reference repository at {REPO} (set TRM_REFERENCE_REPO to a clone of "
             "https://github.com/SamsungSAILMontreal/TinyRecursiveModels)")
    tmp = keep or tempfile.mkdtemp(prefix="trm_arc_ref_")
    os.makedirs(tmp, exist_ok=True)
    try:
        arc1 = ["training", "evaluation", "concept"]
        if full:
            compare(f"ARC-1 full, num_aug {num_aug}", trm, os.path.join(DATA, "arc-agi"), arc1, "evaluation",
                    num_aug, 42, tmp)
        else:
            prefix = write_inputs(tmp, [("training", 12), ("evaluation", 6), ("concept", 4)])
            compare("small, seed 42", trm, prefix, arc1, "evaluation", 40, 42, tmp)
            compare("small, seed 7, num_aug 0", trm, prefix, arc1, "evaluation", 0, 7, tmp)
            prefix = write_inputs(os.path.join(tmp, "nosol"), [("training", 5), ("evaluation", 4)],
                                  drop_solutions=("evaluation",))
            compare("small, test set without solutions", trm, prefix, ["training", "evaluation"], "evaluation",
                    25, 3, tmp)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
