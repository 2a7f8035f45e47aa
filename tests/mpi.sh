#!/usr/bin/env bash
# tests/mpi.sh TRM - data-parallel training under mpirun over loopback
# (docs/mpi.md): the same weights for P = 1, 2, 4 ranks, resume with
# another P, rank-0-only outputs, threads per rank, bad inputs, and a rank
# killed mid-run leaving a state that resumes (TAP lines).
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err
ERR_LINES=5
ERR_STDOUT_ANY=1

if ! command -v mpirun >/dev/null; then
    skip "data-parallel training" "no mpirun (apt-get install openmpi-bin libopenmpi-dev)"
    echo "1..$n"; exit 0
fi
if ! ldd "$TRM" | grep -q libmpi; then
    skip "data-parallel training" "$TRM was built without MPI (make MPI=1)"
    echo "1..$n"; exit 0
fi
# --oversubscribe: more ranks than cores here; --bind-to none: each rank
# may use every core (the thread check below counts them); as root (CI
# containers) OpenMPI wants to be told
MPIRUN=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
# plain shared-memory and TCP transports: quiet in containers without
# InfiniBand or a usable CMA
MPIRUN+=(--mca btl self,vader,tcp --mca btl_vader_single_copy_mechanism none)
mpi() { local p=$1; shift; "${MPIRUN[@]}" -np "$p" "$@"; }
# Under make sanitize: OpenMPI never frees some of its own and its plugins'
# allocations, and unloads the plugins before LeakSanitizer looks (their
# frames are "<unknown module>", beyond a suppression file), so leak
# reports are off in the ranks; address errors and UBSan stay on, and the
# single-process runs here (and every other test) keep the leak check.
MPIRUN+=(-x "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
export OMP_NUM_THREADS=1

D=$TMP/data
expect_ok "dataset" "$TRM" data sudoku --input data/sudoku-demo/puzzles.csv --out "$D" --test-size 16 --aug 3 --seed 1
BASE=(--data "$D" --preset tiny global_batch_size=8 epochs=1 lr=1e-3 lr_warmup_steps=2 eval_interval=0.5
      eval_max_examples=12 eval_batch_size=8 log_every=4 max_steps=12)
COMMON=("${BASE[@]}" --quiet)

# ---- the same run with 1, 2 and 4 ranks
expect_ok "train, one process" "$TRM" train "${COMMON[@]}" --out "$TMP/p1"
expect_ok "train, mpirun -np 2" mpi 2 "$TRM" train "${COMMON[@]}" --out "$TMP/p2"
expect_ok "train, mpirun -np 4" mpi 4 "$TRM" train "${COMMON[@]}" --out "$TMP/p4"

grep -q '"eval":{"examples":12' "$TMP/p4/metrics.jsonl" \
    && ok "split evaluation counts every example once (12 over 4 ranks)" || bad "split evaluation count"
[ "$(ls "$TMP/p2" | sort | tr '\n' ' ')" = "$(ls "$TMP/p1" | sort | tr '\n' ' ')" ] \
    && ok "rank 0 alone writes the run folder: the same files as one process" || bad "run folder files differ"

# ---- resume with another number of ranks
expect_ok "P=2 stops after 6 steps" mpi 2 "$TRM" train "${COMMON[@]}" --out "$TMP/r24" stop_after=6
expect_ok "P=4 resumes it" mpi 4 "$TRM" train --data "$D" --out "$TMP/r24" --resume stop_after=0 --quiet
# (not the metrics: a resumed run's first record averages fewer steps)
expect_ok "one process stops after 6 steps" "$TRM" train "${COMMON[@]}" --out "$TMP/r12" stop_after=6
expect_ok "P=2 resumes it" mpi 2 "$TRM" train --data "$D" --out "$TMP/r12" --resume stop_after=0 --quiet

# ---- compare: one Python for every pair (its start-up is most of a check's time).
# Tolerance: the ranks' sums reach the weights in another order, so they
# may differ in the last bits; with lr 1e-3 over 12 steps we measured at
# most ~5e-7 on any weight or moment and ~5e-6 on the carry (docs/mpi.md).
# Integer tensors (halting, steps, data, RNGs, counters) must be identical.
# Each argument NAME=A,B[,METRICS_A,METRICS_B] compares two states (and
# their metrics: counts equal, values close); one line per pair.
cat >"$TMP/same.py" <<'PYEOF'
import json, sys
sys.path.insert(0, "tests/reference")
import numpy as np
from safetensors_io import load_file

def states(pa, pb):
    a, _ = load_file(pa, as_torch=False); b, _ = load_file(pb, as_torch=False)
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
    worst = {}
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        assert x.shape == y.shape and x.dtype == y.dtype, k
        if x.dtype.kind != "f":
            assert np.array_equal(x, y), f"{k} differs"
            continue
        group = "carry" if k.startswith("carry.") else "weights"
        d = float(np.max(np.abs(x.astype(np.float64) - y))) if x.size else 0.0
        worst[group] = max(worst.get(group, 0.0), d)
    tol = {"weights": 1e-5, "carry": 1e-3}
    for g, d in worst.items():
        assert d <= tol[g], f"{g}: max abs difference {d:.3g} > {tol[g]}"
    return ", ".join(f"{g} {d:.2g}" for g, d in worst.items())

def flat(r, p=""):
    for k, v in r.items():
        if isinstance(v, dict): yield from flat(v, p + k + ".")
        elif k != "examples_per_s": yield p + k, v

def metrics(pa, pb):
    la = [json.loads(l) for l in open(pa)]; lb = [json.loads(l) for l in open(pb)]
    assert len(la) == len(lb), (len(la), len(lb))
    for ra, rb in zip(la, lb):
        fa, fb = dict(flat(ra)), dict(flat(rb))
        assert fa.keys() == fb.keys(), (ra, rb)
        for k in fa:
            assert (fa[k] is None and fb[k] is None) or abs(fa[k] - fb[k]) <= 1e-4 * max(1, abs(fa[k])), (k, ra, rb)

for arg in sys.argv[1:]:
    name, paths = arg.split("=", 1)
    p = paths.split(",")
    try:
        note = states(p[0], p[1])
        if len(p) > 2: metrics(p[2], p[3])
        print(f"same {name}: max abs difference {note}")
    except AssertionError as e:
        print(f"differ {name}: {e}")
PYEOF
S=$TMP/p1/state.safetensors M=$TMP/p1/metrics.jsonl
$PY "$TMP/same.py" "p2=$S,$TMP/p2/state.safetensors,$M,$TMP/p2/metrics.jsonl" \
    "p4=$S,$TMP/p4/state.safetensors,$M,$TMP/p4/metrics.jsonl" \
    "ckpt4=$TMP/p1/checkpoint.safetensors,$TMP/p4/checkpoint.safetensors" \
    "r24=$S,$TMP/r24/state.safetensors" "r12=$S,$TMP/r12/state.safetensors" >"$TMP/same" 2>&1
same() { grep -q "^same $1:" "$TMP/same"; }
why() { grep "^[a-z]* $1:" "$TMP/same" || cat "$TMP/same"; }
for p in 2 4; do
    same "p$p" && ok "P=$p: state equals P=1's (integers exactly, floats within tolerance), metrics too ($(why "p$p"))" \
        || { bad "P=$p state or metrics differ from P=1's"; why "p$p"; }
done
same ckpt4 && ok "P=4: checkpoint equals P=1's" || { bad "P=4 checkpoint differs"; why ckpt4; }
same r24 && ok "2 ranks, then 4 resuming, end as one process uninterrupted" || { bad "resume 2 -> 4"; why r24; }
same r12 && ok "1 process, then 2 ranks resuming, end as one process uninterrupted" || { bad "resume 1 -> 2"; why r12; }

# ---- threads per rank: cores / ranks of the host by default, OMP_NUM_THREADS wins
online=$(getconf _NPROCESSORS_ONLN); avail=$(nproc)
want=$((online / 2)); [ "$want" -gt "$avail" ] && want=$avail; [ "$want" -lt 1 ] && want=1
env -u OMP_NUM_THREADS "${MPIRUN[@]}" -np 2 "$TRM" train "${BASE[@]}" --out "$TMP/t1" max_steps=1 >"$TMP/out" 2>"$TMP/err"
grep -q "2 ranks x $want threads" "$TMP/err" && ok "2 ranks on $online cores: $want threads each" \
    || { bad "default threads per rank (want $want)"; cat "$TMP/err"; }
mpi 2 -x OMP_NUM_THREADS=3 "$TRM" train "${BASE[@]}" --out "$TMP/t2" max_steps=1 >"$TMP/out" 2>"$TMP/err"
grep -q "2 ranks x 3 threads" "$TMP/err" && ok "OMP_NUM_THREADS overrides the threads per rank" \
    || { bad "OMP_NUM_THREADS override"; cat "$TMP/err"; }
[ "$(grep -c 'trm train:' "$TMP/err")" -eq 1 ] && ok "one start line for the whole job (rank 0 prints)" \
    || { bad "start line printed by several ranks"; cat "$TMP/err"; }
# the library prints nothing and calls back on every rank: trm train reports rank 0's
[ "$(grep -c '^done: ' "$TMP/err")" -eq 1 ] && [ "$(grep -c '^eval at step' "$TMP/err")" -eq 1 ] \
    && grep -q '^done: .*; exchange per step and rank (rank 0): ' "$TMP/err" \
    && ok "one evaluation line and one end line with the exchange cost (rank 0 reports)" \
    || { bad "evaluation / end lines not from rank 0 alone"; cat "$TMP/err"; }

# ---- bad inputs: every rank stops, one of them says why (mpirun then adds its own note)
first_line() { # NAME PATTERN: exit 1, our line first and only once
    local rc=$1 name=$2 pat=$3
    if [ "$rc" -eq 1 ] && head -n 1 "$TMP/err" | grep -qE -- "$pat" && [ "$(grep -c 'trm train' "$TMP/err")" -eq 1 ]; then ok "$name"
    else bad "$name (exit $rc, want 1 and /$pat/ once)"; cat "$TMP/err"; fi
}
mpi 4 "$TRM" train "${COMMON[@]}" --out "$TMP/bad1" global_batch_size=6 >"$TMP/out" 2>"$TMP/err"
first_line $? "global batch not divisible by the ranks" \
    "^trm train: global_batch_size=6 does not split over 4 ranks: each rank takes an equal slice \(use a multiple of 4\)$"
mpi 2 "$TRM" train "${COMMON[@]}" --out "$TMP/bad2" replay_failures=0.2 >"$TMP/out" 2>"$TMP/err"
first_line $? "replay_failures is refused under mpirun" "^trm train: replay_failures=0.2 needs a single process"
mpi 2 "$TRM" train "${COMMON[@]}" --out "$TMP/p1" >"$TMP/out" 2>"$TMP/err"
first_line $? "a run folder holding a run is refused once (rank 0 owns the folder)" "^trm train: .*run folder is not empty"
mpi 2 "$TRM" train "${COMMON[@]}" --out "$TMP/bad3" bogus_key=1 >"$TMP/out" 2>"$TMP/err"
first_line $? "a bad key is reported by one rank" "^trm train: .*bogus_key"

# ---- signals and a rank killed mid-run
rank_pid() { # MPIRUN_PID RANK: the pid of that rank (mpirun's child)
    local p
    for p in $(pgrep -P "$1"); do grep -qxz "OMPI_COMM_WORLD_RANK=$2" "/proc/$p/environ" 2>/dev/null && echo "$p"; done
}
RUN=$TMP/kill
LONG=(--data "$D" --out "$RUN" --preset tiny global_batch_size=8 epochs=50 lr=1e-3 eval_interval=0 log_every=4
      checkpoint_every=2)
"${MPIRUN[@]}" -np 2 "$TRM" train "${LONG[@]}" >"$TMP/out" 2>"$TMP/err" &
MP=$!
for _ in $(seq 300); do [ -s "$RUN/metrics.jsonl" ] && break; sleep 0.1; done
victim=$(rank_pid "$MP" 1)
[ -n "$victim" ] && kill -TERM "$victim"
wait "$MP"; rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c 'interrupted: saved state at step' "$TMP/err")" -eq 1 ] \
    && ok "SIGTERM to rank 1 stops every rank at the same step; rank 0 saves once (exit 0)" \
    || { bad "SIGTERM to one rank (exit $rc)"; tail -n 5 "$TMP/err"; }
"${MPIRUN[@]}" -np 2 "$TRM" train "${LONG[@]}" --resume --quiet >"$TMP/out" 2>"$TMP/err" &
MP=$!
sleep 3
victim=$(rank_pid "$MP" 1)
[ -n "$victim" ] && kill -9 "$victim"
wait "$MP"; rc=$?
[ "$rc" -ne 0 ] && grep -q "rank 1 .*exited on signal 9" "$TMP/err" \
    && ok "a killed rank ends the job with an error naming it (exit $rc)" || { bad "killed rank (exit $rc)"; cat "$TMP/err"; }
expect_ok "the kept checkpoint is whole: info reads it" "$TRM" info --checkpoint "$RUN/checkpoint.safetensors"
expect_ok "and one process resumes the run from the kept state" "$TRM" train --data "$D" --out "$RUN" --resume \
    stop_after=2 --quiet
ls "$RUN" | grep -q '\.tmp\.' && bad "temporary files left after the resume" || ok "no temporary files left after the resume"

echo "1..$n"
