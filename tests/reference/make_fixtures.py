#!/usr/bin/python3
"""Writes TRM parity fixtures for the C implementation.

usage: /usr/bin/python3 tests/reference/make_fixtures.py OUTDIR [CASE ...]

Each case is a directory OUTDIR/<case>/ holding
  config.json            arch config (reference field names), compact JSON
  weights.safetensors    every parameter and persistent buffer, F32, named
                         "model.inner.<name>"; __metadata__ {"config": <config.json text>}
  meta.json              {"mode", "loss", "batch", "steps", "grad_scale", ...}
  step_<k>.safetensors   inputs of ACT call k and the expected results after it

The expected results come from trm_ref.py in float64 with the F32 weights.
The run is a sequence of K ACT calls on one persistent carry (all rows start
halted). Weights are not updated between calls; gradients are zeroed before
each call. See the module docstring of trm_ref.py and the report in
tests/reference/README.md for the tensor list.

Robustness: each case's trajectory (halting decisions, argmax correctness)
is also recomputed in float32 with the same reference; the case's seed is
bumped until float32 and float64 agree on every discrete decision and the
decision margins are comfortable, so a float32 C port can match discrete
outputs exactly.
"""

import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trm_ref  # noqa: E402
from safetensors_io import save_file  # noqa: E402

SMALL = dict(hidden_size=64, num_heads=4, expansion=4.0, L_layers=2, H_cycles=2, L_cycles=2,
             halt_max_steps=4, halt_exploration_prob=0.5, pos_encodings="rope", mlp_t=False,
             puzzle_emb_ndim=64, puzzle_emb_len=2, rms_norm_eps=1e-5, rope_theta=10000.0,
             vocab_size=11, seq_len=16, num_puzzle_identifiers=5)

SUDOKU = dict(hidden_size=512, num_heads=8, expansion=4.0, L_layers=2, H_cycles=3, L_cycles=6,
              halt_max_steps=16, halt_exploration_prob=0.1, pos_encodings="rope", mlp_t=False,
              puzzle_emb_ndim=512, puzzle_emb_len=16, rms_norm_eps=1e-5, rope_theta=10000.0,
              vocab_size=11, seq_len=81, num_puzzle_identifiers=1)


def _finite(v):
    if isinstance(v, float) and v != v or v in (float("inf"), float("-inf")):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def _cfg(base, **over):
    d = dict(base)
    d.update(over)
    return d


CASES = [
    dict(name="att_small", cfg=SMALL, mode="train", loss="stablemax", B=6, K=5, seed=2101,
         require=("explore", "midrun_reset", "exact")),
    dict(name="mlp_small", cfg=_cfg(SMALL, mlp_t=True, pos_encodings="none", puzzle_emb_len=0,
                                    puzzle_emb_ndim=128, halt_exploration_prob=0.25),
         mode="train", loss="stablemax", B=6, K=5, seed=202,
         require=("explore", "midrun_reset", "exact")),
    dict(name="learned_small", cfg=_cfg(SMALL, pos_encodings="learned", halt_exploration_prob=0.25),
         mode="train", loss="softmax", B=6, K=3, seed=1303, require=("midrun_reset", "exact")),
    dict(name="att_eval", cfg=_cfg(SMALL, halt_max_steps=3), mode="eval", loss="stablemax",
         B=6, K=4, seed=404, require=("exact",)),
    dict(name="sudoku_att", cfg=SUDOKU, mode="train", loss="stablemax", B=2, K=2, seed=3505,
         require=("carry_kept",)),
    dict(name="sudoku_mlp", cfg=_cfg(SUDOKU, mlp_t=True, pos_encodings="none"), mode="train",
         loss="stablemax", B=2, K=1, seed=606),
]

# decision margins required of a case (float64 values)
Q_MARGIN = 2e-3       # |q_halt| wherever its sign decides halting or q_halt_accuracy
LABEL_MARGIN = 2e-3   # |logit[label] - max other logit| on valid tokens
U_MARGIN = 1e-6       # |u - halt_exploration_prob|
MAX_ATTEMPTS = 8


# --------------------------------------------------------------------------- weights

def make_weights(cfg, seed):
    """Spec 1.7 initialization made non-degenerate, rounded to float32."""
    gen = torch.Generator().manual_seed(seed)
    inner = trm_ref.TRMInner(cfg, torch.float64)
    inner.reference_init(gen)
    D = cfg.hidden_size
    with torch.no_grad():
        # q_halt = w . y[0] + b with unit-RMS y: std(w) = 1/sqrt(D) gives
        # q_halt ~ N(0, 1), so about half the rows halt by q_halt > 0
        inner.q_head.weight.copy_(trunc_normal(gen, (2, D), 1.0 / math.sqrt(D)))
        inner.q_head.bias.copy_(trunc_normal(gen, (2,), 0.1))
        if cfg.puzzle_emb_ndim > 0:
            w = inner.puzzle_emb.weights
            w.copy_(trunc_normal(gen, tuple(w.shape), 1.0 / math.sqrt(D)))
    return {n: t.detach().to(torch.float32).clone() for n, t in inner.named_tensors().items()}


def trunc_normal(gen, shape, std):
    return trm_ref.trunc_normal(shape, std, gen, torch.float64)


# --------------------------------------------------------------------------- data

def make_data(cfg, B, K, seed):
    gen = torch.Generator().manual_seed(seed + 7)
    S, V = cfg.seq_len, cfg.vocab_size
    batches, draws = [], []
    for _ in range(K):
        inputs = torch.randint(0, V, (B, S), generator=gen).to(torch.int32)
        labels = torch.randint(0, V, (B, S), generator=gen).to(torch.int32)
        drop = torch.rand((B, S), generator=gen) < 0.2
        labels[drop] = trm_ref.IGNORE
        pids = torch.randint(0, cfg.num_puzzle_identifiers, (B,), generator=gen).to(torch.int32)
        batches.append({"inputs": inputs, "labels": labels, "puzzle_identifiers": pids})
        u = torch.rand(B, generator=gen, dtype=torch.float64).to(torch.float32)
        k = torch.randint(2, cfg.halt_max_steps + 1, (B,), generator=gen).to(torch.int32)
        draws.append((u, k))
    # one row offered with no valid label at all (row 1 of the first call is
    # always loaded because every row starts halted); not in the tiny
    # batches of the Sudoku cases, which keep one row of random labels
    if B >= 4:
        batches[0]["labels"][1, :] = trm_ref.IGNORE
    return batches, draws


# --------------------------------------------------------------------------- running

def simulate(cfg, weights, batches, draws, mode, loss, dtype, grads):
    """Runs the K ACT calls; returns a list of per-call records."""
    model = trm_ref.TRM(cfg, dtype)
    model.inner.load_tensors(weights)
    model.train(mode == "train")
    B = batches[0]["inputs"].shape[0]
    carry = model.initial_carry(batches[0])
    recs = []
    for k, batch in enumerate(batches):
        u, kk = draws[k]
        reset = carry.halted.clone()
        model.inner.zero_grad_all()
        ctx = torch.enable_grad() if grads else torch.no_grad()
        with ctx:
            carry, out = model(carry, batch, u.to(torch.float64), kk)
            L = trm_ref.act_loss(out, carry, loss)
            if grads:
                (L["total"] * (1.0 / B)).backward()
        with torch.no_grad():
            rec = {
                "reset": reset,
                "logits": out["logits"].detach().clone(),
                "q_halt": out["q_halt"].detach().clone(),
                "q_continue": out["q_continue"].detach().clone(),
                "y": carry.y.clone(), "z": carry.z.clone(),
                "steps": carry.steps.clone(), "halted": carry.halted.clone(),
                "preds": L["preds"].clone(), "seq_correct": L["seq_correct"].clone(),
                "labels": carry.data["labels"].clone(),
                "lm_loss": L["lm_loss"].detach().to(torch.float64).clone(),
                "q_halt_loss": L["q_halt_loss"].detach().to(torch.float64).clone(),
                "total": L["total"].detach().to(torch.float64).clone(),
                "metrics": L["metrics"].clone(),
            }
        if grads:
            g = {}
            for n, p in model.inner.trainable_parameters().items():
                g[n] = p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
            if cfg.puzzle_emb_ndim > 0:
                pw = model.inner.puzzle_emb.weights
                g["puzzle_emb.weights"] = pw.grad.detach().clone()
                rec["puzzle_grad_rows"] = model.inner.last_puzzle_rows.grad.detach().clone()
            for n in ("H_init", "L_init"):
                assert getattr(model.inner, n).grad is None, n
            rec["grads"] = g
        recs.append(rec)
    return recs


def choose_labels(cfg, batches, trajectory):
    """Labels are not used by the forward pass, so the trajectory is known
    before they are chosen. For every load of a row (a call at which it was
    reset), except the all-ignored row, the label of one row per call is set
    to the model's own prediction at the call where that row halts (or the
    last call), so seq_correct = 1 there (BCE target 1, exact_accuracy)."""
    K = len(batches)
    B = batches[0]["inputs"].shape[0]
    chosen = []
    for k in range(K):
        loaded = [b for b in range(B) if bool(trajectory[k]["reset"][b])
                  and not (k == 0 and b == 1 and B >= 4)]
        if B < 4 and k > 0:
            loaded = []  # tiny batches: one argmax-labelled row (call 0) is enough
        if not loaded:
            continue
        # where does each loaded row end (halt, or the end of the run)?
        ends = {}
        for b in loaded:
            e = k
            while e < K - 1 and not bool(trajectory[e]["halted"][b]):
                e += 1
            ends[b] = e
        # prefer a row that halts within the run and a variety of rows
        order = sorted(loaded, key=lambda b: (not bool(trajectory[ends[b]]["halted"][b]),
                                              (b - k) % B))
        b = order[0]
        lab = trajectory[ends[b]]["preds"][b].to(torch.int32).clone()
        lab[(k + 2) % cfg.seq_len] = trm_ref.IGNORE  # keep a couple of ignored tokens
        lab[(k + 5) % cfg.seq_len] = trm_ref.IGNORE
        batches[k]["labels"][b] = lab
        chosen.append((k, b, ends[b]))
    return chosen


def margins(cfg, mode, recs, draws):
    q_m = float("inf")
    l_m = float("inf")
    u_m = float("inf")
    for k, r in enumerate(recs):
        qa = r["q_halt"].abs()
        if mode == "train":
            q_m = min(q_m, qa.min().item())
            u = draws[k][0].to(torch.float64)
            u_m = min(u_m, (u - cfg.halt_exploration_prob).abs().min().item())
        else:  # only q_halt_accuracy of halted rows depends on the sign
            if r["halted"].any():
                q_m = min(q_m, qa[r["halted"]].min().item())
        lab = r["labels"].long()
        mask = lab != trm_ref.IGNORE
        if mask.any():
            lg = r["logits"]
            safe = torch.where(mask, lab, torch.zeros_like(lab))
            own = lg.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
            other = lg.scatter(-1, safe.unsqueeze(-1), float("-inf")).max(-1).values
            l_m = min(l_m, (own - other).abs()[mask].min().item())
    return {"q_halt": q_m, "label_logit": l_m, "explore_u": u_m}


def compare_f32(r64, r32):
    """Discrete agreement and the largest deviations of a float32 run."""
    same = True
    dev = {}
    for a, b in zip(r64, r32):
        for key in ("halted", "steps", "seq_correct", "reset"):
            same &= bool(torch.equal(a[key], b[key]))
        lab = a["labels"].long()
        mask = lab != trm_ref.IGNORE
        same &= bool(torch.equal((a["preds"] == lab) & mask, (b["preds"] == lab) & mask))
        same &= bool(torch.equal(a["metrics"][[0, 2, 3, 4]], b["metrics"][[0, 2, 3, 4]]))
        for key in ("logits", "q_halt", "y", "z"):
            d = (a[key] - b[key].to(torch.float64)).abs().max().item()
            dev[key] = max(dev.get(key, 0.0), d)
        d = abs(a["total"].item() - b["total"].item()) / max(1.0, abs(a["total"].item()))
        dev["total_rel"] = max(dev.get("total_rel", 0.0), d)
    return same, dev


def trajectory_equal(ra, rb):
    for a, b in zip(ra, rb):
        for key in ("halted", "steps", "reset", "preds"):
            if not torch.equal(a[key], b[key]):
                return False
    return True


# --------------------------------------------------------------------------- writing

def statistics(cfg, mode, recs, chosen):
    """How often each rule fired during the run."""
    n_q = n_explore = n_seq = n_mid = n_kept = 0
    for k, r in enumerate(recs):
        n_seq += int(r["seq_correct"].sum())
        if k > 0:
            n_mid += int(r["reset"].sum())
            n_kept += int((~r["reset"]).sum())
        if mode == "train":
            wants = (r["q_halt"] > 0) | (r["steps"] >= cfg.halt_max_steps)
            n_q += int((r["q_halt"] > 0).sum())
            n_explore += int((wants & ~r["halted"]).sum())
    return {"halted_rows": sum(int(r["halted"].sum()) for r in recs),
            "q_halt_positive": n_q, "exploration_blocked": n_explore,
            "rows_loaded_mid_run": n_mid, "rows_carried_over": n_kept,
            "seq_correct_rows": n_seq,
            "exact_accuracy_sum": float(sum(r["metrics"][2].item() for r in recs)),
            "argmax_labels": [list(c) for c in chosen]}


def stats_ok(req, st):
    if req == "explore":
        return st["exploration_blocked"] > 0
    if req == "midrun_reset":
        return st["rows_loaded_mid_run"] > 0
    if req == "carry_kept":
        return st["rows_carried_over"] > 0
    if req == "exact":
        return st["exact_accuracy_sum"] > 0
    raise ValueError(req)


def write_case(outdir, case, cfg, weights, batches, draws, recs, seed, extra):
    d = os.path.join(outdir, case["name"])
    os.makedirs(d, exist_ok=True)
    cjson = cfg.to_json()
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(cjson + "\n")
    save_file({"model.inner." + n: t for n, t in weights.items()},
              os.path.join(d, "weights.safetensors"), metadata={"config": cjson},
              dtypes={"model.inner." + n: "F32" for n in weights})
    B = case["B"]
    meta = {"mode": case["mode"], "loss": case["loss"], "batch": B, "steps": case["K"],
            "grad_scale": 1.0 / B, "seed": seed}
    meta.update(extra)
    with open(os.path.join(d, "meta.json"), "w") as f:
        # strict JSON: an infinite margin (nothing near a threshold) is null
        f.write(json.dumps(_finite(meta), indent=1, allow_nan=False) + "\n")
    for k, r in enumerate(recs):
        t = {
            "inputs": batches[k]["inputs"].to(torch.int32),
            "labels": batches[k]["labels"].to(torch.int32),
            "puzzle_ids": batches[k]["puzzle_identifiers"].to(torch.int32),
            "explore_u": draws[k][0].to(torch.float32),
            "explore_k": draws[k][1].to(torch.int32),
            "logits": r["logits"].to(torch.float32),
            "q_halt": r["q_halt"].to(torch.float32),
            "q_continue": r["q_continue"].to(torch.float32),
            "y": r["y"].to(torch.float32),
            "z": r["z"].to(torch.float32),
            "steps": r["steps"].to(torch.int32),
            "halted": r["halted"].to(torch.int32),
            "lm_loss": r["lm_loss"].reshape(1).to(torch.float64),
            "q_halt_loss": r["q_halt_loss"].reshape(1).to(torch.float64),
            "total": r["total"].reshape(1).to(torch.float64),
            "metrics": r["metrics"].to(torch.float64),
        }
        if "grads" in r:
            for n, g in r["grads"].items():
                t["grad." + n] = g.to(torch.float32)
            if "puzzle_grad_rows" in r:
                t["puzzle_grad_rows"] = r["puzzle_grad_rows"].to(torch.float32)
        save_file(t, os.path.join(d, "step_%d.safetensors" % k))


def build_case(outdir, case):
    t0 = time.time()
    cfg = trm_ref.TRMConfig.from_dict(case["cfg"])
    B, K, mode, loss = case["B"], case["K"], case["mode"], case["loss"]
    for attempt in range(MAX_ATTEMPTS):
        seed = case["seed"] + 1000 * attempt
        weights = make_weights(cfg, seed)
        batches, draws = make_data(cfg, B, K, seed)
        # 1. trajectory (label independent), float64, no graph
        traj = simulate(cfg, weights, batches, draws, mode, loss, torch.float64, grads=False)
        chosen = choose_labels(cfg, batches, traj)
        # 2. float32 run of the same reference: discrete decisions must agree
        r32 = simulate(cfg, weights, batches, draws, mode, loss, torch.float32, grads=False)
        # 3. the expected values: float64 with gradients
        recs = simulate(cfg, weights, batches, draws, mode, loss, torch.float64,
                        grads=(mode == "train"))
        assert trajectory_equal(traj, recs), "trajectory changed between runs"
        m = margins(cfg, mode, recs, draws)
        same, dev = compare_f32(recs, r32)
        stats = statistics(cfg, mode, recs, chosen)
        missing = [r for r in case.get("require", ()) if not stats_ok(r, stats)]
        ok = (same and m["q_halt"] >= Q_MARGIN and m["label_logit"] >= LABEL_MARGIN
              and m["explore_u"] >= U_MARGIN and not missing)
        if ok:
            break
        print("  %s: seed %d rejected (f32 agrees: %s, margins %s, missing %s)"
              % (case["name"], seed, same, m, missing), file=sys.stderr)
    else:
        raise RuntimeError("%s: no acceptable seed" % case["name"])
    extra = {"margins": m, "f32_max_abs_dev": dev, "stats": stats}
    write_case(outdir, case, cfg, weights, batches, draws, recs, seed, extra)
    dt = time.time() - t0
    print("%-14s %6.2f s  seed %d  halts/step %s  stats %s  margins q %.3g label %.3g  "
          "f32 dev logits %.2e y %.2e"
          % (case["name"], dt, seed, [int(r["halted"].sum()) for r in recs],
             {k: v for k, v in stats.items() if k != "argmax_labels"},
             m["q_halt"], m["label_logit"], dev["logits"], dev["y"]), file=sys.stderr)
    return dt


LOSS_EPS = [0.0, 0.1, 0.2, 0.5]


def write_label_smoothing(outdir):
    """OUTDIR/label_smoothing/losses.safetensors: per-token losses and their
    logit gradients under label smoothing, from trm_ref.token_losses
    (softmax: PyTorch's cross_entropy(label_smoothing=eps)), float64.
      logits F32 [N, V] (some exactly 0, stablemax's branch point; N = 24, V = 11)
      labels I32 [N] (two ignored, -100)
      eps    F64 [E] = LOSS_EPS
      loss.<kind>.<e>  F64 [N]     per-token loss at eps[e] (0 where ignored)
      grad.<kind>.<e>  F64 [N, V]  d loss[n] / d logits[n]"""
    gen = torch.Generator().manual_seed(7)
    N, V = 24, 11
    logits = (torch.randn(N, V, generator=gen, dtype=torch.float64) * 3).to(torch.float32)
    logits[0, :4] = 0.0
    logits[5, 3] = 0.0
    labels = torch.randint(0, V, (N,), generator=gen, dtype=torch.int32)
    labels[3] = trm_ref.IGNORE
    labels[17] = trm_ref.IGNORE
    t = {"logits": logits, "labels": labels,
         "eps": torch.tensor(LOSS_EPS, dtype=torch.float64)}
    for kind in ("stablemax", "softmax"):
        for e, eps in enumerate(LOSS_EPS):
            x = logits.to(torch.float64).clone().requires_grad_(True)
            loss = trm_ref.token_losses(x.unsqueeze(0), labels.long().unsqueeze(0), kind, eps)[0]
            loss.sum().backward()
            t["loss.%s.%d" % (kind, e)] = loss.detach()
            t["grad.%s.%d" % (kind, e)] = x.grad.detach()
    d = os.path.join(outdir, "label_smoothing")
    os.makedirs(d, exist_ok=True)
    save_file(t, os.path.join(d, "losses.safetensors"))


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        print("cases:", ", ".join(c["name"] for c in CASES), "label_smoothing")
        return 0 if len(argv) >= 2 else 2
    outdir = argv[1]
    want = set(argv[2:])
    unknown = want - {c["name"] for c in CASES} - {"label_smoothing"}
    if unknown:
        print("unknown case(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2
    os.makedirs(outdir, exist_ok=True)
    total = 0.0
    for case in CASES:
        if want and case["name"] not in want:
            continue
        total += build_case(outdir, case)
    if not want or "label_smoothing" in want:
        write_label_smoothing(outdir)
    print("total %.2f s" % total, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
