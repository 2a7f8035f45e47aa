#!/usr/bin/env bash
# tests/files.sh TRM - files that are not what they seem, through the CLI
# (TAP lines): a FIFO in place of a dataset or checkpoint file is refused at
# once instead of hanging; links planted under an output's temporary name or
# as RUN/metrics.jsonl are never written through; a checkpoint with NaN
# weights loads with one warning and `eval` still prints valid JSON (null);
# a checkpoint's config is checked against its tensors and capped.
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err
export OMP_NUM_THREADS=1
ERR_LINES=5
T="timeout 30" # a hang is a failure (exit 124), not a stuck suite

# ---- a small dataset and a checkpoint trained for two steps
D=$TMP/data
expect_ok "dataset" "$TRM" data sudoku --input data/sudoku-demo/puzzles.csv --out "$D" --test-size 8 --aug 0 --seed 1
expect_ok "checkpoint" $T "$TRM" train --data "$D" --preset tiny global_batch_size=4 max_steps=2 eval_interval=0 \
    log_every=1 --out "$TMP/run" --quiet
CK=$TMP/run/checkpoint.safetensors

# ---- FIFOs in place of files
cp -r "$D" "$TMP/fifo"
rm "$TMP/fifo/test/dataset.json" && mkfifo "$TMP/fifo/test/dataset.json"
expect_err_code "eval: FIFO as dataset.json is refused, no hang" 1 "dataset.json: not a regular file \(a FIFO\)" \
    $T "$TRM" eval --checkpoint "$CK" --data "$TMP/fifo" --quiet
rm "$TMP/fifo/test/dataset.json" && cp "$D/test/dataset.json" "$TMP/fifo/test/"
rm "$TMP/fifo/train/all__inputs.npy" && mkfifo "$TMP/fifo/train/all__inputs.npy"
expect_err_code "train: FIFO as an array is refused, no hang" 1 "all__inputs.npy: not a regular file \(a FIFO\)" \
    $T "$TRM" train --data "$TMP/fifo" --preset tiny max_steps=1 --out "$TMP/run_fifo" --quiet
mkfifo "$TMP/ck.fifo"
expect_err_code "info: FIFO as checkpoint" 1 "ck.fifo: not a regular file \(a FIFO\)" $T "$TRM" info --checkpoint "$TMP/ck.fifo"

# ---- links are not written through
echo precious >"$TMP/victim"
mkdir -p "$TMP/run2" && ln -s "$TMP/victim" "$TMP/run2/metrics.jsonl"
expect_err_code "train: a symlinked metrics.jsonl is refused" 1 "metrics.jsonl: is a symbolic link" \
    $T "$TRM" train --data "$D" --preset tiny global_batch_size=4 max_steps=1 --out "$TMP/run2" --force --quiet
[ "$(cat "$TMP/victim")" = precious ] && ok "the link's target is untouched" || bad "metrics.jsonl link target truncated"
# exec keeps the shell's pid, so the link sits at the writer's temporary name
sh -c 'ln -s "$1" "$2.tmp.$$" && exec "$3" plot "$4" -o "$2"' sh "$TMP/victim" "$TMP/curves.png" "$TRM" "$TMP/run" \
    >"$TMP/out" 2>"$TMP/err"
if [ $? -eq 0 ] && [ "$(cat "$TMP/victim")" = precious ] && [ -s "$TMP/curves.png" ]; then
    ok "plot: a link planted at OUT.tmp.<pid> is not written through"
else bad "plot through a planted link"; cat "$TMP/err"; fi

# ---- NaN weights: one warning, JSON with null
$PY - "$CK" "$TMP/nan.safetensors" <<'PYEOF'
import sys
sys.path.insert(0, "tests/reference")
import numpy as np, safetensors_io as st
t, meta = st.load_file(sys.argv[1], as_torch=False)
w = np.array(t["model.inner.lm_head.weight"]); w[0, 0] = np.nan
t["model.inner.lm_head.weight"] = w
st.save_file(t, sys.argv[2], metadata=meta)
PYEOF
"$TRM" eval --checkpoint "$TMP/nan.safetensors" --data "$D" --quiet >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "nan.safetensors: tensor lm_head.weight has 1 NaN" "$TMP/err"; then
    ok "eval: one warning line names the file and the tensor"
else bad "NaN warning (exit $rc)"; cat "$TMP/err"; fi
$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['lm_loss'] is None, d" "$TMP/out" \
    && ok "eval: a NaN loss is null in valid JSON" || { bad "eval JSON with NaN"; cat "$TMP/out"; }

# ---- the config against the tensors, and caps
cfg_with() { # cfg_with KEY VALUE OUT: CK with one config field changed
    $PY - "$CK" "$3" "$1" "$2" <<'PYEOF'
import json, sys
sys.path.insert(0, "tests/reference")
import safetensors_io as st
t, meta = st.load_file(sys.argv[1], as_torch=False)
c = json.loads(meta["config"]); c[sys.argv[3]] = int(sys.argv[4]); meta["config"] = json.dumps(c)
st.save_file(t, sys.argv[2], metadata=meta)
PYEOF
}
cfg_with hidden_size 65536 "$TMP/big.safetensors"
expect_err_code "info: hidden_size 65536 in a tiny file is a shape mismatch" 1 \
    "embed_tokens.embedding_weight: expected shape \[11, 65536\], got \[11, 64\]" "$TRM" info --checkpoint "$TMP/big.safetensors"
cfg_with halt_max_steps 100000 "$TMP/steps.safetensors"
expect_err_code "eval: halt_max_steps 100000 is over the limit" 1 \
    "halt_max_steps: 100000 is over the limit 1024 .*TRM_CONFIG_LIMITS=off" \
    $T "$TRM" eval --checkpoint "$TMP/steps.safetensors" --data "$D" --quiet
TRM_CONFIG_LIMITS=off expect_ok "TRM_CONFIG_LIMITS=off lifts the limit" "$TRM" info --checkpoint "$TMP/steps.safetensors"
cfg_with H_cycles 1000 "$TMP/cycles.safetensors"
expect_err_code "eval: H_cycles 1000 is over the limit" 1 "H_cycles: 1000 is over the limit 256" \
    $T "$TRM" eval --checkpoint "$TMP/cycles.safetensors" --data "$D" --quiet

echo "1..$n"
