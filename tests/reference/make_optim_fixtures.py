#!/usr/bin/python3
"""Writes optimizer fixtures for the C implementation: a few complete training
steps (ACT call, loss, backward, sign-SGD + AdamATan2, EMA) of small models.

usage: /usr/bin/python3 tests/reference/make_optim_fixtures.py OUTDIR [CASE ...]

Each case is a directory OUTDIR/<case>/ holding
  config.json            arch config (reference field names), compact JSON
  weights.safetensors    the initial weights, as make_fixtures.py writes them
  meta.json              optimizer settings and run shape (below)
  step_<k>.safetensors   k = 0..K-1: the batch and draws of training step k + 1
                         and the state after it

meta.json: lr, puzzle_emb_lr, weight_decay, puzzle_emb_weight_decay, beta1,
beta2, warmup, total_steps, min_ratio, ema_rate, grad_scale, K, B, loss, mode,
and informational extras (seed, decision margins, the float32 deviation).

step_<k>.safetensors:
  inputs, labels [B, S] I32; puzzle_ids [B] I32; explore_u [B] F32;
  explore_k [B] I32             the batch and exploration draws
  noop [1] I32                  1 if the step is past total_steps (the
                                reference then does nothing at all: no
                                forward, no update, no EMA)
  lr [2] F64                    Adam's and sign-SGD's learning rate (not noop)
  total, lm_loss, q_halt_loss [1] F64   losses of the ACT call (not noop)
  y, z [B, L, D] F32; steps, halted [B] I32   carry after the call (not noop)
  param.<name>                  F32, every saved tensor after the step
                                (trainable parameters, puzzle_emb.weights,
                                H_init, L_init)
  ema.<name>                    F32, EMA shadow of every trainable parameter

The expected values come from trm_ref.py + optim_ref.py in float64 starting
from the F32 weights; parameters are not rounded to float32 between steps.
As in make_fixtures.py, each case's seed is bumped until a float32 run of the
same reference (carry forced to the float64 one before each call, as the C
test does) agrees with it on every discrete outcome with comfortable margins.
Output is the same byte for byte on every run.

Muon (muon_ref.py) has fixtures of its own, without the model's forward:
  OUTDIR/muon_ns5.safetensors  g.<k> [r, c] F32 inputs of the Newton-Schulz
                               iteration (wide, tall, square, one row, and
                               an ill-conditioned one), steps.<k> [1] I32,
                               ns.<k> F64 its float64 result from the F32 input
  OUTDIR/<case>/ for MUON_CASES: config.json, weights.safetensors as above;
    meta.json      optimizer, muon_adam, lr, muon_lr, beta1, beta2, adam_eps,
                   weight_decay, muon_weight_decay, muon_momentum,
                   muon_nesterov, muon_ns_steps, warmup, total_steps,
                   min_ratio, K
    step_<k>.safetensors  grad.<name> F32: the gradient of step k + 1 for
                   every trainable tensor; lr [2] F64 (Adam's, Muon's);
                   param.<name> F32: every tensor after the step (float64
                   optimizer state and parameters, rounded only on write)
"""

import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures  # noqa: E402
import muon_ref  # noqa: E402
import optim_ref  # noqa: E402
import trm_ref  # noqa: E402
from safetensors_io import save_file  # noqa: E402

SMALL = make_fixtures.SMALL

# large rates so that every parameter visibly moves; W = 3 and S_total = 5 put
# steps 1-2 in the warm-up, 3-5 on the cosine (min_ratio 0.1) and make step 6
# a no-op. ema_rate 0.75 (not 0.999) so that the shadow's change is large
# against float32 rounding; the 0.999 arithmetic is unit-tested in C.
OPT = dict(lr=1e-2, puzzle_emb_lr=1e-1, weight_decay=0.1, puzzle_emb_weight_decay=0.1,
           beta1=0.9, beta2=0.95, warmup=3, total_steps=5, min_ratio=0.1, ema_rate=0.75)

CASES = [
    dict(name="att_small", cfg=SMALL, B=6, K=6, seed=7101),
    dict(name="mlp_small", cfg=make_fixtures._cfg(SMALL, mlp_t=True, pos_encodings="none",
                                                  puzzle_emb_len=0, puzzle_emb_ndim=128,
                                                  halt_exploration_prob=0.25),
         B=6, K=6, seed=7202),
]
LOSS = "stablemax"

Q_MARGIN = 2e-3       # |q_halt| (decides halting)
LABEL_MARGIN = 2e-3   # |logit[label] - best other| where it can decide seq_correct
U_MARGIN = 1e-6       # |u - halt_exploration_prob|
F32_L2 = 2e-5         # bounds on the float32 run's deviation (see build_case)
F32_MAX = 2e-3
MAX_ATTEMPTS = 8


def run(cfg, weights, batches, draws, dtype, B, forced=None):
    """K training steps; returns per-step records. forced: records of another
    run whose carry (y, z) replaces ours before each call."""
    model = trm_ref.TRM(cfg, dtype)
    model.inner.load_tensors(weights)
    model.train()
    opt = dict(OPT, ema=True)
    tr = optim_ref.Trainer(model, opt)
    recs = []
    for k, batch in enumerate(batches):
        u, kk = draws[k]
        if forced is not None and k > 0 and tr.carry is not None and forced[k - 1]["y"] is not None:
            tr.carry.y = forced[k - 1]["y"].to(dtype).clone()
            tr.carry.z = forced[k - 1]["z"].to(dtype).clone()
        reset = None if tr.carry is None else tr.carry.halted.clone()
        L = tr.step(trm_ref.act_loss, batch, u.to(torch.float64), kk, grad_scale=1.0 / B,
                    loss_type=LOSS)
        rec = {"noop": L is None,
               "params": {n: t.detach().clone() for n, t in model.inner.named_tensors().items()},
               "ema": {n: t.clone() for n, t in tr.ema.shadow.items()},
               "y": None, "z": None}
        if L is not None:
            c = tr.carry
            rec.update({
                "lr": tr.lrs(tr.step_count),
                "reset": torch.ones(B, dtype=torch.bool) if reset is None else reset,
                "total": L["total"].detach().to(torch.float64).clone(),
                "lm_loss": L["lm_loss"].detach().to(torch.float64).clone(),
                "q_halt_loss": L["q_halt_loss"].detach().to(torch.float64).clone(),
                "y": c.y.clone(), "z": c.z.clone(), "steps": c.steps.clone(),
                "halted": c.halted.clone(), "seq_correct": L["seq_correct"].clone(),
                "preds": L["preds"].clone(), "labels": c.data["labels"].clone(),
                "pids": c.data["puzzle_identifiers"].clone(),
                "q_halt": L["q_halt"].clone(), "logits": L["logits"].clone(),
            })
        recs.append(rec)
    return recs


def margins(cfg, recs, draws):
    q_m = l_m = u_m = float("inf")
    for k, r in enumerate(recs):
        if r["noop"]:
            continue
        q_m = min(q_m, r["q_halt"].abs().min().item())
        u_m = min(u_m, (draws[k][0].to(torch.float64) - cfg.halt_exploration_prob).abs().min().item())
        lab = r["labels"].long()
        mask = lab != trm_ref.IGNORE
        lg = r["logits"]
        safe = torch.where(mask, lab, torch.zeros_like(lab))
        own = lg.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
        other = lg.scatter(-1, safe.unsqueeze(-1), float("-inf")).max(-1).values
        d = own - other
        for b in range(lab.shape[0]):
            m = mask[b]
            if not m.any():
                continue
            wrong = (d[b][m] < -LABEL_MARGIN).sum().item()
            if wrong >= 1:      # a clearly wrong token: seq_correct is false either way
                continue
            l_m = min(l_m, d[b][m].abs().min().item())
    return {"q_halt": q_m, "label_logit": l_m, "explore_u": u_m}


def change_err(got, want, init):
    """Error of `got` against `want` on the change from `init`:
    (||got - want||_2 / ||want - init||_2, max |got - want| / max |want - init|),
    (0, 0) when neither moved. These are the C test's metrics."""
    got, init = got.to(torch.float64), init.to(torch.float64)
    d = got - want
    ch = want - init
    if not ch.any():
        return (0.0, 0.0) if not d.any() else (float("inf"), float("inf"))
    return (d.norm().item() / ch.norm().item(), d.abs().max().item() / ch.abs().max().item())


def compare_f32(r64, r32, weights):
    """Discrete agreement and the largest deviations of a float32 run."""
    same = True
    dev = {"params_l2": 0.0, "params_max": 0.0, "ema_l2": 0.0, "ema_max": 0.0,
           "puzzle_emb_max": 0.0, "total_rel": 0.0}

    def note(key, e):
        dev[key + "_l2"] = max(dev[key + "_l2"], e[0])
        dev[key + "_max"] = max(dev[key + "_max"], e[1])
    for a, b in zip(r64, r32):
        same &= a["noop"] == b["noop"]
        if not a["noop"]:
            for key in ("halted", "steps", "seq_correct", "reset"):
                same &= bool(torch.equal(a[key], b[key]))
            dev["total_rel"] = max(dev["total_rel"], abs(a["total"].item() - b["total"].item())
                                   / max(1.0, abs(a["total"].item())))
        for n, p in a["params"].items():
            e = change_err(b["params"][n], p, weights[n])
            if n == "puzzle_emb.weights":
                dev["puzzle_emb_max"] = max(dev["puzzle_emb_max"], e[1])
            else:
                note("params", e)
        for n, p in a["ema"].items():
            note("ema", change_err(b["ema"][n], p, weights[n]))
    return same, dev


def write_case(outdir, case, cfg, weights, batches, draws, recs, seed, extra):
    d = os.path.join(outdir, case["name"])
    os.makedirs(d, exist_ok=True)
    cjson = cfg.to_json()
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(cjson + "\n")
    save_file({"model.inner." + n: t for n, t in weights.items()},
              os.path.join(d, "weights.safetensors"), metadata={"config": cjson},
              dtypes={"model.inner." + n: "F32" for n in weights})
    B, K = case["B"], case["K"]
    meta = dict(OPT)
    meta.update({"grad_scale": 1.0 / B, "K": K, "B": B, "loss": LOSS, "mode": "train",
                 "seed": seed})
    meta.update(extra)
    with open(os.path.join(d, "meta.json"), "w") as f:
        f.write(json.dumps(make_fixtures._finite(meta), indent=1, allow_nan=False) + "\n")
    for k, r in enumerate(recs):
        t = {
            "inputs": batches[k]["inputs"].to(torch.int32),
            "labels": batches[k]["labels"].to(torch.int32),
            "puzzle_ids": batches[k]["puzzle_identifiers"].to(torch.int32),
            "explore_u": draws[k][0].to(torch.float32),
            "explore_k": draws[k][1].to(torch.int32),
            "noop": torch.tensor([int(r["noop"])], dtype=torch.int32),
        }
        if not r["noop"]:
            t["lr"] = torch.tensor(r["lr"], dtype=torch.float64)
            for n in ("total", "lm_loss", "q_halt_loss"):
                t[n] = r[n].reshape(1).to(torch.float64)
            t["y"] = r["y"].to(torch.float32)
            t["z"] = r["z"].to(torch.float32)
            t["steps"] = r["steps"].to(torch.int32)
            t["halted"] = r["halted"].to(torch.int32)
        for n, p in r["params"].items():
            t["param." + n] = p.to(torch.float32)
        for n, p in r["ema"].items():
            t["ema." + n] = p.to(torch.float32)
        save_file(t, os.path.join(d, "step_%d.safetensors" % k))


def build_case(outdir, case):
    t0 = time.time()
    cfg = trm_ref.TRMConfig.from_dict(case["cfg"])
    B, K = case["B"], case["K"]
    for attempt in range(MAX_ATTEMPTS):
        seed = case["seed"] + 1000 * attempt
        weights = make_fixtures.make_weights(cfg, seed)
        batches, draws = make_fixtures.make_data(cfg, B, K, seed)
        r64 = run(cfg, weights, batches, draws, torch.float64, B)
        r32 = run(cfg, weights, batches, draws, torch.float32, B, forced=r64)
        m = margins(cfg, r64, draws)
        same, dev = compare_f32(r64, r32, weights)
        resets = sum(int(r["reset"].sum()) for r in r64[1:] if not r["noop"])
        dups = all(len(set(r["pids"].tolist())) < B for r in r64 if not r["noop"])
        # the float32 run must be well inside the C test's bounds (1e-4 on
        # the relative L2 error of the change, 1e-2 elementwise, 1e-4 on the
        # sign-SGD rows)
        f32_ok = (dev["params_l2"] <= F32_L2 and dev["ema_l2"] <= F32_L2
                  and dev["params_max"] <= F32_MAX and dev["puzzle_emb_max"] <= F32_L2)
        ok = (same and f32_ok and m["q_halt"] >= Q_MARGIN and m["label_logit"] >= LABEL_MARGIN
              and m["explore_u"] >= U_MARGIN and resets > 0 and dups)
        if ok:
            break
        print("  optim %s: seed %d rejected (f32 agrees: %s, f32 dev %s, margins %s, "
              "mid-run loads %d, duplicate ids %s)" % (case["name"], seed, same, dev, m, resets,
                                                         dups), file=sys.stderr)
    else:
        raise RuntimeError("%s: no acceptable seed" % case["name"])
    assert r64[-1]["noop"] and not any(r["noop"] for r in r64[:-1])
    extra = {"margins": m, "f32_max_rel_dev": dev, "rows_loaded_mid_run": resets,
             "halted_per_step": [int(r["halted"].sum()) for r in r64 if not r["noop"]]}
    write_case(outdir, case, cfg, weights, batches, draws, r64, seed, extra)
    dt = time.time() - t0
    print("optim %-10s %5.2f s  seed %d  halts/step %s  margins q %.3g label %.3g  "
          "f32 (forced carry) dev: params l2 %.2e max %.2e, ema l2 %.2e max %.2e, puzzle %.2e, "
          "loss %.2e" % (case["name"], dt, seed, extra["halted_per_step"], m["q_halt"],
                         m["label_logit"], dev["params_l2"], dev["params_max"], dev["ema_l2"],
                         dev["ema_max"], dev["puzzle_emb_max"], dev["total_rel"]),
          file=sys.stderr)
    return dt


# --------------------------------------------------------------------------- Muon

# trm_config_preset "tiny" (src/core/config.c) with the defaults it keeps
TINY = dict(hidden_size=64, num_heads=4, expansion=4.0, L_layers=2, H_cycles=2, L_cycles=2,
            halt_max_steps=8, halt_exploration_prob=0.1, pos_encodings="rope", mlp_t=False,
            puzzle_emb_ndim=64, puzzle_emb_len=1, rms_norm_eps=1e-5, rope_theta=10000.0,
            vocab_size=11, seq_len=81, num_puzzle_identifiers=3)

# rates larger than a real run's so that every tensor visibly moves; the
# schedule covers the warm-up (steps 1-2) and the cosine (3-5)
MUON_OPT = dict(lr=1e-3, muon_lr=0.02, beta1=0.9, beta2=0.95, adam_eps=1e-8, weight_decay=0.1,
                muon_weight_decay=0.1, muon_momentum=0.95, muon_nesterov=True, muon_ns_steps=5,
                warmup=2, total_steps=5, min_ratio=0.1)

MUON_CASES = [
    dict(name="muon_tiny", cfg=TINY, K=5, seed=9101,
         opt=dict(MUON_OPT, optimizer="muon", muon_adam="adamw")),
    dict(name="muon_tiny_mlp", cfg=make_fixtures._cfg(TINY, mlp_t=True, pos_encodings="none"),
         K=5, seed=9202,
         opt=dict(MUON_OPT, optimizer="muon", muon_adam="adam_atan2", muon_nesterov=False,
                  muon_ns_steps=3, muon_momentum=0.9, muon_weight_decay=0.0)),
    dict(name="adamw_tiny", cfg=TINY, K=3, seed=9303, opt=dict(MUON_OPT, optimizer="adamw")),
]


def ns5_inputs(gen):
    """Name -> (F32 matrix, steps): the orientations and an ill-conditioned
    matrix (singular values from 1 down to 1e-3)."""
    out = {}
    for r, c, steps in ((24, 64, 5), (96, 32, 5), (48, 48, 5), (1, 17, 5), (40, 24, 3)):
        out["%dx%d" % (r, c)] = (torch.randn(r, c, generator=gen, dtype=torch.float64), steps)
    u, _ = torch.linalg.qr(torch.randn(32, 32, generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(80, 32, generator=gen, dtype=torch.float64))
    out["illcond_32x80"] = (u @ torch.diag(torch.logspace(0, -3, 32, dtype=torch.float64)) @ v.T, 5)
    return {k: (g.to(torch.float32), s) for k, (g, s) in out.items()}


def build_ns5(outdir):
    gen = torch.Generator().manual_seed(8080)
    t = {}
    for k, (g, steps) in ns5_inputs(gen).items():
        t["g." + k] = g
        t["steps." + k] = torch.tensor([steps], dtype=torch.int32)
        t["ns." + k] = muon_ref.ns5(g.to(torch.float64), steps)
    save_file(t, os.path.join(outdir, "muon_ns5.safetensors"))


def muon_grads(train, K, seed):
    """K gradients per trainable tensor, F32: correlated from step to step
    (so momentum matters) with per-tensor scales over three decades."""
    gen = torch.Generator().manual_seed(seed + 17)
    out, prev = [], {}
    for _ in range(K):
        g = {}
        for i, (n, p) in enumerate(train.items()):
            scale = 10.0 ** (-(i % 4))
            fresh = torch.randn(p.shape, generator=gen, dtype=torch.float64) * scale
            g[n] = (fresh + 0.7 * prev[n] if n in prev else fresh).to(torch.float32)
        prev = {n: x.to(torch.float64) for n, x in g.items()}
        out.append(g)
    return out


def build_muon_case(outdir, case):
    cfg = trm_ref.TRMConfig.from_dict(case["cfg"])
    o, K = case["opt"], case["K"]
    weights = make_fixtures.make_weights(cfg, case["seed"])
    names = trm_ref.TRMInner(cfg, torch.float64).trainable_parameters().keys()
    params = {n: w.to(torch.float64).clone() for n, w in weights.items()}
    train = {n: params[n].requires_grad_() for n in names}
    muon_on = o["optimizer"] == "muon"
    to_muon = {n: p for n, p in train.items() if muon_on and muon_ref.is_muon(n, p)}
    rest = {n: p for n, p in train.items() if n not in to_muon}
    adam_kind = o["muon_adam"] if muon_on else o["optimizer"]
    if adam_kind == "adamw":
        adam = muon_ref.AdamW(rest, o["beta1"], o["beta2"], o["weight_decay"], o["adam_eps"])
    else:
        adam = optim_ref.AdamATan2(rest, o["beta1"], o["beta2"], o["weight_decay"])
    muon = muon_ref.Muon(to_muon, o["muon_momentum"], o["muon_nesterov"], o["muon_ns_steps"],
                         o["muon_weight_decay"])
    d = os.path.join(outdir, case["name"])
    os.makedirs(d, exist_ok=True)
    cjson = cfg.to_json()
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(cjson + "\n")
    save_file({"model.inner." + n: t for n, t in weights.items()},
              os.path.join(d, "weights.safetensors"), metadata={"config": cjson},
              dtypes={"model.inner." + n: "F32" for n in weights})
    with open(os.path.join(d, "meta.json"), "w") as f:
        f.write(json.dumps(dict(o, K=K, seed=case["seed"], muon_tensors=sorted(to_muon)), indent=1)
                + "\n")
    for k, g in enumerate(muon_grads(train, K, case["seed"])):
        step = k + 1
        for n, p in train.items():
            p.grad = g[n].to(torch.float64)
        lrs = [optim_ref.lr_at(o[key], step, o["warmup"], o["total_steps"], o["min_ratio"])
               for key in ("lr", "muon_lr")]
        adam.step(lrs[0])
        muon.step(lrs[1])
        t = {"grad." + n: x for n, x in g.items()}
        t["lr"] = torch.tensor(lrs, dtype=torch.float64)
        t.update({"param." + n: p.detach().to(torch.float32) for n, p in params.items()})
        save_file(t, os.path.join(d, "step_%d.safetensors" % k))
    print("optim %-13s %d steps, %d tensors to Muon" % (case["name"], K, len(to_muon)),
          file=sys.stderr)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        print("cases:", ", ".join([c["name"] for c in CASES + MUON_CASES] + ["muon_ns5"]))
        return 0 if len(argv) >= 2 else 2
    outdir = argv[1]
    want = set(argv[2:])
    unknown = want - {c["name"] for c in CASES + MUON_CASES} - {"muon_ns5"}
    if unknown:
        print("unknown case(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2
    os.makedirs(outdir, exist_ok=True)
    total = 0.0
    for case in CASES:
        if want and case["name"] not in want:
            continue
        total += build_case(outdir, case)
    if not want or "muon_ns5" in want:
        build_ns5(outdir)
    for case in MUON_CASES:
        if not want or case["name"] in want:
            build_muon_case(outdir, case)
    print("optim total %.2f s" % total, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
