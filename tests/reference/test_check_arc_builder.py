#!/usr/bin/python3
"""The optional parts of check_arc_builder.py (issue 11 item 17): without the
reference repository or the ARC files it is one named skip (exit 0, never a
failure), and an installed pydantic 1 (Debian 12's python3-pydantic, no
BaseModel.model_dump) is replaced by the shim instead of failing inside the
reference's builder. Needs neither the reference nor the data.

usage: /usr/bin/python3 tests/reference/test_check_arc_builder.py   (exit 1 on failure)
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "check_arc_builder.py")
failed = []
count = [0]


def check(ok, name, detail=""):
    count[0] += 1
    print(("ok - " if ok else "not ok - ") + name)
    if not ok:
        print("#   " + detail.replace("\n", "\n#   "))
        failed.append(name)


def run(env_extra):
    env = dict(os.environ, **env_extra)
    p = subprocess.run([sys.executable, SCRIPT, "trm-not-needed"], capture_output=True, text=True, env=env)
    return p.returncode, p.stdout + p.stderr


with tempfile.TemporaryDirectory() as tmp:
    # no ARC files: a named skip naming the folder
    rc, out = run({"TRM_ARC_DATA": os.path.join(tmp, "no-data"), "TRM_REFERENCE_REPO": os.path.join(tmp, "no-repo")})
    check(rc == 0 and "# SKIP no ARC Kaggle files in " + os.path.join(tmp, "no-data") in out,
          "no ARC files: one named skip, exit 0", f"exit {rc}: {out}")

    # ARC files present, no reference repository: a named skip saying how to point at one
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    open(os.path.join(data, "arc-agi_training_challenges.json"), "w").write("{}")
    rc, out = run({"TRM_ARC_DATA": data, "TRM_REFERENCE_REPO": os.path.join(tmp, "no-repo")})
    check(rc == 0 and "# SKIP no reference repository at " + os.path.join(tmp, "no-repo") in out
          and "TRM_REFERENCE_REPO" in out, "no reference repository: one named skip, exit 0", f"exit {rc}: {out}")

    # pydantic 1 (no model_dump) is not usable: the shim stands in for it
    fake = os.path.join(tmp, "fake")
    os.makedirs(fake)
    open(os.path.join(fake, "pydantic.py"), "w").write(
        "VERSION = '1.10.4'\nclass BaseModel:\n    def dict(self):\n        return {}\n")
    probe = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import check_arc_builder as c; "
             "print('usable', c.usable('pydantic'))")
    p = subprocess.run([sys.executable, "-c", probe, fake, HERE], capture_output=True, text=True)
    check(p.returncode == 0 and "usable False" in p.stdout and "pydantic 1.10.4 has no BaseModel.model_dump" in p.stdout,
          "pydantic 1 is refused (the shim is used instead)", p.stdout + p.stderr)

    # the shim serves the builder: defaults, and model_dump() in field order (dataset.json's key order)
    ns = {}
    exec(open(SCRIPT).read().split("SHIM_PYDANTIC = '''")[1].split("'''")[0], ns)

    class Meta(ns["BaseModel"]):
        seq_len: int
        vocab_size: int
        pad_id: int = 0

    class Sub(Meta):
        sets: list

    d = Sub(vocab_size=12, seq_len=900, sets=["all"]).model_dump()
    check(list(d.items()) == [("seq_len", 900), ("vocab_size", 12), ("pad_id", 0), ("sets", ["all"])],
          "the shim's model_dump keeps field order and defaults", repr(d))
    try:
        Meta(vocab_size=1)
        check(False, "the shim refuses a missing field without default")
    except TypeError:
        check(True, "the shim refuses a missing field without default")

print(f"1..{count[0]}")
sys.exit(1 if failed else 0)
