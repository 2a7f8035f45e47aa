#!/usr/bin/env bash
# tests/plot.sh TRM - trm plot --compare (a study's runs against training
# FLOPs) from small synthetic metrics files: outputs, legend names, and
# one clear line for each bad input (TAP lines).
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err

# run NAME FLOPS_OF_STEP_10 FLOPS_OF_STEP_20: a run folder with a train
# row and two eval rows.
run() {
    mkdir -p "$TMP/$1"
    printf '%s\n' "{\"step\":10,\"lm_loss\":2.5,\"accuracy\":0.1,\"exact_accuracy\":0,\"flops\":$2}" \
        "{\"step\":10,\"eval\":{\"exact_accuracy\":0,\"accuracy\":0.2,\"lm_loss\":2},\"flops\":$2}" \
        "{\"step\":20,\"eval\":{\"exact_accuracy\":0.1,\"accuracy\":0.4,\"lm_loss\":1.5},\"flops\":$3}" \
        >"$TMP/$1/metrics.jsonl"
}
run reference 2e12 4e12
run muon 1e12 3e12
run best 1.5e12 2.5e13

expect_ok "plot --compare: three runs to SVG" "$TRM" plot --compare "$TMP/reference" "$TMP/muon/" \
    "$TMP/best/metrics.jsonl" -o "$TMP/study.svg"
grep -qx "$TMP/study.svg" "$TMP/out" && ok "plot --compare prints the picture's name" || bad "plot --compare stdout"
[ "$(grep -c '<polyline' "$TMP/study.svg")" -eq 9 ] && ok "plot --compare: 3 panels x 3 runs = 9 curves" \
    || bad "plot --compare curve count"
for r in reference muon best; do
    grep -q ">$r</text>" "$TMP/study.svg" && ok "legend names run folder '$r'" || bad "legend entry $r"
done
grep -q '>1e12</text>' "$TMP/study.svg" && grep -q '>5e13</text>' "$TMP/study.svg" \
    && grep -q 'training FLOPs (log scale)' "$TMP/study.svg" && ok "plot --compare: log FLOPs axis 1e12..5e13" \
    || bad "plot --compare FLOPs axis"
expect_ok "plot --compare --x step with labels, PNG" "$TRM" plot --compare "$TMP/reference" "$TMP/muon" \
    --x step --label ref --label "muon 0.02" -o "$TMP/study.png"
$PY - "$TMP/study.png" <<'PYEOF' && ok "plot --compare PNG: a valid 1920x1600 PNG" || bad "plot --compare PNG"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", b[:16]
assert struct.unpack(">II", b[16:24]) == (1920, 1600)
PYEOF
expect_ok "plot --help documents --compare" "$TRM" plot --help
grep -q -- "--compare RUN" "$TMP/out" && grep -q -- "--x flops|step" "$TMP/out" && grep -q -- "--label NAME" "$TMP/out" \
    && ok "plot --help names --compare, --x and --label" || bad "plot --help"

# ---- bad input: one line, exit 1, no picture
mkdir -p "$TMP/noeval" "$TMP/noflops"
echo '{"step":10,"lm_loss":2.5,"flops":1e12}' >"$TMP/noeval/metrics.jsonl"
echo '{"step":10,"eval":{"accuracy":0.2}}' >"$TMP/noflops/metrics.jsonl"
O=$TMP/bad.svg
expect_err "compare: a run without eval records" "noeval/metrics.jsonl: no eval records" \
    "$TRM" plot --compare "$TMP/muon" "$TMP/noeval" -o "$O"
expect_err "compare: eval records without flops" \
    'noflops/metrics.jsonl: the eval record of step 10 has no "flops" field \(needed for --x flops; --x step plots without\)' \
    "$TRM" plot --compare "$TMP/noflops" -o "$O"
expect_ok "compare: eval records without flops plot with --x step" "$TRM" plot --compare "$TMP/noflops" --x step -o "$TMP/nf.svg"
expect_err "compare: a missing run folder" "absent: no such run folder or metrics file" \
    "$TRM" plot --compare "$TMP/muon" "$TMP/absent" -o "$O"
expect_err "compare: a folder without metrics.jsonl" "empty/metrics.jsonl: cannot open" \
    sh -c 'mkdir "$1/empty" && "$2" plot --compare "$1/empty" -o "$3"' sh "$TMP" "$TRM" "$O"
R=$TMP/muon
expect_err "compare: more than 8 runs" "--compare draws at most 8 runs, got 9" \
    "$TRM" plot --compare $R $R $R $R $R $R $R $R $R -o "$O"
expect_ok "compare: 8 runs is the most" "$TRM" plot --compare $R $R $R $R $R $R $R $R -o "$TMP/eight.svg"
expect_err "compare: --label count differs from the runs'" "1 --label for 2 runs: give one per run, in order, or none" \
    "$TRM" plot --compare "$R" "$TMP/best" --label a -o "$O"
expect_err "compare: empty --label" "--label needs a name, not an empty string" \
    "$TRM" plot --compare "$R" --label "" -o "$O"
expect_err "compare: bad --x" "--x takes flops or step, not 'time'" "$TRM" plot --compare "$R" --x time -o "$O"
expect_err "compare: no -o" "--compare needs -o OUT.svg\|OUT.png" "$TRM" plot --compare "$R"
expect_err "compare: no runs" "--compare needs the runs to compare" "$TRM" plot --compare -o "$O"
expect_err "compare: unknown picture format" "bad.jpg: unknown picture format" "$TRM" plot --compare "$R" -o "$TMP/bad.jpg"
expect_err "--x without --compare" "--x and --label go with --compare" "$TRM" plot "$R" --x step
expect_err "--label without --compare" "--x and --label go with --compare" "$TRM" plot "$R" --label a
[ ! -e "$O" ] && [ ! -e "$TMP/bad.jpg" ] && ok "no picture is written on bad input" || bad "a picture was written on bad input"

echo "1..$n"
