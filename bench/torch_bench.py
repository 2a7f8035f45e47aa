#!/usr/bin/python3
"""Times the PyTorch reference model (tests/reference/trm_ref.py) in float32
on the configuration `trm bench` uses, so the two can be compared in one run
(bench/compare.py does that).

  train: one training step = ACT call + loss + backward + sign-SGD + AdamATan2
         + EMA (tests/reference/optim_ref.py's Trainer), on a random batch.
  solve: halt_max_steps evaluation ACT calls from a fresh carry, no grad.

Prints one JSON object: seconds (median), examples_per_s, peak_rss_mb, and
the instruction sets PyTorch's libraries ran on (read back from them, so a
run held to AVX2 by bench/compare.py --isa avx2 shows that it was):
aten_isa (ATen's kernels: torch.__config__.show()), openblas_core (the
core OpenBLAS chose, openblas_get_corename) and dnnl_isa (oneDNN's
dnnl_get_effective_cpu_isa), "-" where a library is not loaded.
With TRM_BENCH_CPUTIME=1 (as `trm bench`) steps are timed by the process's
CPU time instead of the wall clock (meaningful with OMP_NUM_THREADS=1 on a
machine shared with other jobs).
"""
import argparse
import ctypes
import json
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))

import torch  # noqa: E402

import optim_ref  # noqa: E402
import trm_ref  # noqa: E402

# trm's presets beyond the reference's table (src/core/config.c)
EXTRA = {"tiny": dict(hidden_size=64, num_heads=4, L_cycles=2, H_cycles=2, halt_max_steps=8, puzzle_emb_ndim=64,
                      puzzle_emb_len=1, vocab_size=11, seq_len=81)}


def make_cfg(preset, sets):
    d = dict(trm_ref.PRESETS.get(preset) or EXTRA[preset])
    for kv in sets:
        k, v = kv.split("=", 1)
        d[k] = v
    return trm_ref.TRMConfig.from_dict(d)


# dnnl_cpu_isa_t values of oneDNN 2.x (dnnl_types.h)
DNNL_ISA = {0x0: "all", 0x1: "sse41", 0x3: "avx", 0x7: "avx2", 0x407: "avx2_vnni", 0x27: "avx512_core",
            0x67: "avx512_core_vnni", 0xE7: "avx512_core_bf16", 0x3E7: "avx512_core_amx"}


def backend_isas():
    """ATen's CPU capability, OpenBLAS's core and oneDNN's ISA in this process."""
    info = {"aten_isa": "-", "openblas_core": "-", "dnnl_isa": "-"}
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            info["aten_isa"] = line.split(":", 1)[1].strip()
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if path.startswith("/") and (".so" in path) and ("openblas" in path or "dnnl" in path):
                libs.add(path)
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            if "openblas" in path and hasattr(lib, "openblas_get_corename"):
                lib.openblas_get_corename.restype = ctypes.c_char_p
                info["openblas_core"] = lib.openblas_get_corename().decode()
            if "dnnl" in path and hasattr(lib, "dnnl_get_effective_cpu_isa"):
                v = lib.dnnl_get_effective_cpu_isa()
                info["dnnl_isa"] = DNNL_ISA.get(v, hex(v))
        except OSError:
            pass
    return info


def random_batch(cfg, B, gen):
    return {
        "inputs": torch.randint(1, cfg.vocab_size, (B, cfg.seq_len), generator=gen).to(torch.int32),
        "labels": torch.randint(1, cfg.vocab_size, (B, cfg.seq_len), generator=gen).to(torch.int32),
        "puzzle_identifiers": torch.randint(0, cfg.num_puzzle_identifiers, (B,), generator=gen).to(torch.int32),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="sudoku-att")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--mode", choices=("train", "solve"), required=True)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--solve-steps", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="default: OMP_NUM_THREADS or all cores")
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    threads = a.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or os.cpu_count()
    torch.set_num_threads(threads)
    cfg = make_cfg(a.preset, a.set)
    B = a.batch or (32 if a.mode == "train" else 1)
    gen = torch.Generator().manual_seed(1)
    model = trm_ref.TRM(cfg, torch.float32)
    model.inner.reference_init(gen)
    times = []
    now = time.process_time if os.environ.get("TRM_BENCH_CPUTIME", "0") not in ("", "0") else time.perf_counter
    if a.mode == "train":
        model.train()
        tr = optim_ref.Trainer(model)
        for s in range(a.warmup + a.steps):
            batch = random_batch(cfg, B, gen)
            t0 = now()
            tr.step(trm_ref.act_loss, batch)
            if s >= a.warmup:
                times.append(now() - t0)
    else:
        model.eval()
        sup = a.solve_steps or cfg.halt_max_steps
        with torch.no_grad():
            for s in range(a.warmup + a.steps):
                batch = random_batch(cfg, B, gen)
                batch["labels"].fill_(trm_ref.IGNORE)
                t0 = now()
                carry = model.initial_carry(batch)
                for _ in range(sup):
                    carry, out = model(carry, batch)
                if s >= a.warmup:
                    times.append(now() - t0)
    sec = statistics.median(times)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": threads,
                      "preset": a.preset, "mode": a.mode, "batch": B, "seconds": sec,
                      "examples_per_s": B / sec,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      **backend_isas()}))


if __name__ == "__main__":
    main()
