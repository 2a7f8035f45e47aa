#!/usr/bin/env bash
# bench/ddp.sh - data-parallel scaling of trm train under mpirun
# (docs/mpi.md, "Scaling"). Trains the same run three ways on this host:
#   P=1 x 1 thread, P=2 x 1 thread (each rank its core: the scaling of
#   adding a machine), P=1 x 2 threads (the same cores through OpenMP)
# reads the training rate (examples/s of the last metrics window, so
# start-up is excluded) and the exchange per step that rank 0 reports,
# then predicts the efficiency for more hosts from those measurements:
# compute per example (measured) vs the bytes each step exchanges (the
# dense gradients' ring all-reduce and the puzzle rows' all-gather) over
# a given network.
#   PRESET (sudoku-att) B (global batch here, 8) STEPS (4) CORES_PER_HOST
#   (16, for the prediction) TRM (build/trm) OUT (/tmp/trm-bench-ddp)
set -u
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
PRESET=${PRESET:-sudoku-att}
B=${B:-8}
STEPS=${STEPS:-4}
CORES_PER_HOST=${CORES_PER_HOST:-16}
OUT=${OUT:-${TMPDIR:-/tmp}/trm-bench-ddp}
command -v mpirun >/dev/null || { echo "bench/ddp.sh: no mpirun (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
ldd "$TRM" | grep -q libmpi || { echo "bench/ddp.sh: $TRM was built without MPI (make MPI=1)" >&2; exit 1; }
MPIRUN=(mpirun --oversubscribe --bind-to none --mca btl self,vader,tcp --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
rm -rf "$OUT" && mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $PRESET, batch $B, $STEPS steps" \
    | tee "$OUT/env.txt"
"$TRM" data sudoku --input data/sudoku-demo/puzzles.csv --out "$OUT/data" --test-size 8 --aug 3 --seed 1 >/dev/null
"$TRM" info --preset "$PRESET" >"$OUT/info.json"
ARGS=(--data "$OUT/data" --preset "$PRESET" global_batch_size="$B" epochs=1000 max_steps="$STEPS"
      log_every=$((STEPS / 2)) eval_interval=0 eval_max_examples=1 --ignore-memory-check)
run() { # NAME P THREADS
    local name=$1 p=$2 t=$3
    if [ "$p" = 1 ]; then OMP_NUM_THREADS=$t "$TRM" train "${ARGS[@]}" --out "$OUT/$name" 2>"$OUT/$name.err"
    else "${MPIRUN[@]}" -np "$p" -x OMP_NUM_THREADS="$t" "$TRM" train "${ARGS[@]}" --out "$OUT/$name" 2>"$OUT/$name.err"; fi \
        || { echo "bench/ddp.sh: $name failed:" >&2; tail -n 5 "$OUT/$name.err" >&2; exit 1; }
}
run p1t1 1 1
run p2t1 2 1
run p1t2 1 2
/usr/bin/python3 - "$OUT" "$B" "$CORES_PER_HOST" <<'PYEOF'
import json, re, sys
out, B, K = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
info = json.load(open(f"{out}/info.json"))
def rate(name):
    rows = [json.loads(l) for l in open(f"{out}/{name}/metrics.jsonl") if '"examples_per_s"' in l]
    return rows[-1]["examples_per_s"]
r11, r21, r12 = rate("p1t1"), rate("p2t1"), rate("p1t2")
m = re.search(r"exchange per step and rank \(rank 0\): ([0-9.]+) MB in ([0-9.]+) ms", open(f"{out}/p2t1.err").read())
mb, ms = float(m.group(1)), float(m.group(2))
print(f"measured ({info['preset']}, global batch {B}):")
print(f"  P=1 x 1 thread : {r11:8.2f} examples/s")
print(f"  P=2 x 1 thread : {r21:8.2f} examples/s  scaling efficiency {r21 / (2 * r11):.0%} (speed-up {r21 / r11:.2f} on 2 ranks)")
print(f"  P=1 x 2 threads: {r12:8.2f} examples/s  (MPI ranks vs OpenMP threads on the same cores: {r21 / r12:.2f}x)")
print(f"  exchange per step and rank at P=2: {mb:.3f} MB in {ms:.1f} ms "
      f"(step {1e3 * B / r21:.0f} ms; the time includes waiting for the slower rank)")
# Prediction: the reference's global batch 768 over P hosts of K cores,
# each core as fast as this one (per-example time measured at P=1 x 1
# thread, OpenMP scaling over K cores assumed ideal: optimistic for the
# compute, so pessimistic for the efficiency), no overlap of exchange and
# compute (ours: the all-reduce follows the backward).
nd = info["config"]["puzzle_emb_ndim"]
dense = 4.0 * info["num_params"]            # bytes all-reduced per step
rows = lambda P: 4.0 * 768 * (nd + 1)       # bytes all-gathered per step (whole batch)
t_ex = 1.0 / r11                            # seconds per example on one core
print(f"\npredicted, global batch 768, hosts of {K} cores like this one's, ring all-reduce of "
      f"{dense / 1e6:.1f} MB + all-gather of {rows(1) / 1e6:.2f} MB per step:")
nets = [("10 GbE", 1.25e9, 30e-6), ("100 Gb IB", 12.5e9, 3e-6)]
print("  hosts  compute/step " + "".join(f"  {n:>22}" for n, _, _ in nets))
for P in (1, 2, 4, 8, 16, 32, 64):
    comp = 768 / P * t_ex / K
    cells = []
    for _, bw, lat in nets:
        comm = 0.0 if P == 1 else 2 * (P - 1) / P * dense / bw + 2 * (P - 1) * lat + (P - 1) / P * rows(P) / bw
        cells.append(f"{1e3 * comm:7.1f} ms -> {comp / (comp + comm):4.0%}")
    print(f"  {P:5d}  {comp:9.2f} s  " + "".join(f"  {c:>22}" for c in cells))
PYEOF
