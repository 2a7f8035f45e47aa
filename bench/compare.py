#!/usr/bin/python3
"""trm against the PyTorch reference model, side by side, in one invocation.

For every case PRESET:MODE:BATCH[:SOLVE_STEPS] (mode train or solve) it runs
`trm bench --json` and bench/torch_bench.py on the identical configuration,
one after the other in fresh processes (so peak RSS is per case), under the
same environment (OPENBLAS_* and OMP_NUM_THREADS are passed through
unchanged to both), and prints one table:

  trm s / torch s   median seconds per training step or per solve
  speedup           torch s / trm s
  GFLOP/s, MFU      matrix-product FLOPs (spec 1.12) / trm's time; MFU
                    against the fp32 FMA peak trm measures at start-up
  RSS               peak resident memory of each process, and the ratio

  isa               the kernels' instruction set trm ran on (TRM_CPU, one
                    trm run per --isa)

Under --isa avx2 PyTorch is held to AVX2 as well, so an AVX-512 machine
measures both sides as an AVX2 machine would run them: this script sets
ATEN_CPU_CAPABILITY=avx2 (ATen's kernels), DNNL_MAX_CPU_ISA=AVX2 (oneDNN)
and OPENBLAS_CORETYPE=Haswell (OpenBLAS's AVX2 kernels) in the environment
of both the PyTorch and the trm process of those rows, overriding values
the caller set (trm's own kernels follow TRM_CPU=avx2). PyTorch runs once
per case and environment; each PyTorch run prints the instruction sets its
libraries report (ATen, OpenBLAS core, oneDNN: bench/torch_bench.py), so
the hold is checked, not assumed. Other --isa values leave the environment
as it is. bench/avx2.sh runs the one-core AVX2 comparison of issue 14.

  bench/compare.py                                  # the issue's table, native and avx2
  bench/compare.py --isa native                     # this CPU's best ISA only
  bench/compare.py --case sudoku-att:train:32 --trm-steps 3 --torch-steps 1
  bench/compare.py --precision bf16 --no-torch      # trm only (bf16 vs fp32 below)
  bench/compare.py --bf16-vs-fp32                   # trm fp32 and bf16 side by side
  OMP_NUM_THREADS=1 TRM_BENCH_CPUTIME=1 bench/compare.py   # one core, CPU time (shared machine)
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# the cases; batch-64 solving runs 4 supervision steps instead of 16
# (throughput per step is what is compared; PyTorch needs ~150 s for 16)
DEFAULT_CASES = ["sudoku-att:train:32", "sudoku-mlp:train:32", "maze-att:train:4",
                 "sudoku-mlp:solve:1", "sudoku-att:solve:1", "maze-att:solve:1",
                 "sudoku-att:solve:64:4"]


# The environment of both sides under one TRM_CPU value: only avx2 is held.
HOLD = {"avx2": {"ATEN_CPU_CAPABILITY": "avx2", "DNNL_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}}


def run_json(cmd, env):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
        return None
    for line in reversed(p.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def trm_case(a, preset, mode, batch, precision, peak_flag, env, sup=0):
    steps = a.trm_steps if not (preset.startswith(("maze", "arc")) and mode == "solve") else a.trm_long_steps
    cmd = [a.trm, "bench", "--json", "--preset", preset, "--mode", mode, "--batch", str(batch),
           "--steps", str(steps), "--warmup", str(a.warmup), "--precision", precision]
    if sup or a.solve_steps:
        cmd += ["--solve-steps", str(sup or a.solve_steps)]
    if a.profile:
        cmd += ["--profile"]
    if not peak_flag:
        cmd += ["--no-peak"]
    for s in a.set:
        cmd += ["--set", s]
    return run_json(cmd, env)


def torch_case(a, preset, mode, batch, env, sup=0):
    warm = a.torch_warmup if mode == "train" else a.torch_solve_warmup
    cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_bench.py"), "--preset", preset, "--mode", mode,
           "--batch", str(batch), "--steps", str(a.torch_steps), "--warmup", str(warm)]
    if sup or a.solve_steps:
        cmd += ["--solve-steps", str(sup or a.solve_steps)]
    for s in a.set:
        cmd += ["--set", s]
    return run_json(cmd, env)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", action="append", help="PRESET:MODE:BATCH (repeatable)")
    ap.add_argument("--trm", default=os.path.join(ROOT, "build", "trm"))
    ap.add_argument("--trm-steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--torch-steps", type=int, default=1)
    ap.add_argument("--torch-warmup", type=int, default=1, help="untimed PyTorch training steps")
    ap.add_argument("--torch-solve-warmup", type=int, default=0, help="untimed PyTorch solves")
    ap.add_argument("--trm-long-steps", type=int, default=1, help="timed trm solves for maze/arc")
    ap.add_argument("--solve-steps", type=int, default=0)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("--bf16-vs-fp32", action="store_true", help="trm fp32 and bf16, no PyTorch")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--isa", default="native,avx2",
                    help="comma-separated TRM_CPU values to run trm under (native, avx512, avx2, portable)")
    a = ap.parse_args()
    env = dict(os.environ)
    cases = a.case or DEFAULT_CASES
    print("environment: OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s OMP_NUM_THREADS=%s TRM_MATMUL=%s%s" % (
        env.get("OPENBLAS_CORETYPE", "-"), env.get("OPENBLAS_L2_SIZE", "-"),
        env.get("OMP_NUM_THREADS", "-"), env.get("TRM_MATMUL", "-"),
        "; timed by CPU time (TRM_BENCH_CPUTIME=1)" if env.get("TRM_BENCH_CPUTIME", "0") not in ("", "0") else ""),
        flush=True)
    rows = []
    peaks = {}  # TRM_CPU value -> FMA peak of that ISA, measured by its first trm run
    for case in cases:
        parts = case.split(":")
        preset, mode, batch = parts[0], parts[1], int(parts[2])
        sup = int(parts[3]) if len(parts) > 3 else 0
        torch_rows = {}  # held environment -> PyTorch's result (PyTorch ignores TRM_CPU)
        for isa in a.isa.split(","):
            hold = HOLD.get(isa, {})
            ienv = dict(env, TRM_CPU=isa, **hold)
            t = trm_case(a, preset, mode, batch, a.precision, isa not in peaks, ienv, sup)
            if t is None:
                continue
            if isa not in peaks:
                print("trm TRM_CPU=%s: kernels %s, matmul %s, %d threads, fp32 FMA peak %.0f GFLOP/s (measured), "
                      "sgemm %.0f GFLOP/s" % (isa, t.get("isa", "?"), t["matmul"], t["threads"], t["fma_peak_gflops"],
                                             t["sgemm_gflops"]), flush=True)
                peaks[isa] = t["fma_peak_gflops"]
            peak = peaks[isa]
            r = t[mode]
            flops = r["gflops"] * r["seconds"]
            row = dict(case=case, isa=t.get("isa", isa), trm_s=r["seconds"], gflops=r["gflops"],
                       mfu=r["gflops"] / peak if peak else 0, trm_rss=r["peak_rss_mb"], profile=r.get("profile"))
            if a.bf16_vs_fp32:
                b = trm_case(a, preset, mode, batch, "bf16", False, ienv, sup)
                if b:
                    row["other_s"] = b[mode]["seconds"]
                    row["other_rss"] = b[mode]["peak_rss_mb"]
            elif not a.no_torch:
                key = tuple(sorted(hold.items()))
                if key not in torch_rows:
                    torch_rows[key] = torch_case(a, preset, mode, batch, dict(env, **hold), sup) or {}
                    if torch_rows[key]:
                        t_ = torch_rows[key]
                        print("torch%s: ATen %s, OpenBLAS core %s, oneDNN %s" % (
                            " (held: %s)" % " ".join("%s=%s" % kv for kv in key) if key else "",
                            t_.get("aten_isa", "?"), t_.get("openblas_core", "?"), t_.get("dnnl_isa", "?")),
                            flush=True)
                torch_row = torch_rows[key]
                if torch_row:
                    row["other_s"] = torch_row["seconds"]
                    row["other_rss"] = torch_row["peak_rss_mb"]
                    row["other_gflops"] = flops / torch_row["seconds"]
            rows.append(row)
            print_row(row, a, header=len(rows) == 1)
    if a.profile:
        print("\nprofile (seconds per step / solve):")
        for row in rows:
            if row["profile"]:
                print("  %-22s %-8s %s" % (row["case"], row["isa"], "  ".join("%s %.3f" % kv for kv in row["profile"].items())))


def print_row(row, a, header):
    other = "bf16" if a.bf16_vs_fp32 else "torch"
    if header:
        print("%-22s %-8s %10s %10s %8s %9s %6s %9s %9s %6s" % (
            "case", "isa", "trm s", other + " s", "speedup", "GFLOP/s", "MFU", "trm RSS", other + " RSS", "RSS x"))
    o = row.get("other_s")
    print("%-22s %-8s %10.3f %10s %8s %9.1f %5.1f%% %8.0fM %9s %6s" % (
        row["case"], row["isa"], row["trm_s"], "%.3f" % o if o else "-",
        ("%.2fx" % (o / row["trm_s"] if not a.bf16_vs_fp32 else row["trm_s"] / o)) if o else "-",
        row["gflops"], 100 * row["mfu"], row["trm_rss"],
        "%.0fM" % row["other_rss"] if o else "-",
        "%.2f" % (row["trm_rss"] / row["other_rss"]) if o else "-"), flush=True)


if __name__ == "__main__":
    main()
