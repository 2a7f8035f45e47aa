"""Reference of TRM's training-time optimisation, written from
docs/trm-spec.md sections 3.1-3.4, for the C optimizer's fixtures.

  lr_at          warm-up + cosine learning-rate schedule (spec 3.2)
  AdamATan2      Adam with atan2 instead of the epsilon division, scale
                 constants a = b = 1, decoupled weight decay applied before
                 the moment update (spec 3.1a)
  sign_sgd_rows  sparse sign-SGD of the puzzle-embedding rows of a batch;
                 rows of equal ids sum their gradients before the sign
                 (spec 3.1b)
  EMA            shadow copy of the Adam parameters (spec 3.4)
  Trainer        one training step in the order of spec 3.3

Product decision (differs from the original code, see spec 3.4): on steps
past total_steps nothing happens at all, the EMA update included, so the
shadow does not decay towards the live weights at the end of a run.

Works in whatever dtype the tensors have (the fixtures use float64).
Run `python3 optim_ref.py` for the self test (spec 9 anchors).
"""

import math
import sys

import torch


# --------------------------------------------------------------------------- schedule

def lr_at(base, step, warmup, total, min_ratio):
    """Learning rate of (1-based) step `step`: linear ramp from 0 over
    `warmup` steps, then a cosine from base to base * min_ratio that ends at
    step `total`."""
    if step < warmup:
        return base * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    cosine = max(0.0, (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress)))
    return base * (min_ratio + cosine)


# --------------------------------------------------------------------------- optimizers

class AdamATan2:
    """AdamATan2 over a dict name -> parameter tensor (with .grad)."""

    def __init__(self, params, beta1=0.9, beta2=0.95, weight_decay=0.1):
        self.params = dict(params)
        self.beta1, self.beta2, self.weight_decay = beta1, beta2, weight_decay
        self.m = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.t = 0

    @torch.no_grad()
    def step(self, lr):
        self.t += 1
        b1, b2, t = self.beta1, self.beta2, self.t
        corr1 = 1.0 - b1 ** t       # scales the step size
        corr2 = 1.0 - b2 ** t       # divides sqrt(v) inside atan2
        for n, p in self.params.items():
            g = p.grad
            if g is None:           # no gradient: left alone (as torch optimizers)
                continue
            p.mul_(1.0 - lr * self.weight_decay)
            m, v = self.m[n], self.v[n]
            m.add_((1.0 - b1) * (g - m))
            v.add_((1.0 - b2) * (g * g - v))
            p.sub_((lr / corr1) * torch.atan2(m, v.sqrt() / math.sqrt(corr2)))


@torch.no_grad()
def sign_sgd_rows(table, ids, grad_rows, lr, weight_decay):
    """table [N, d] in place; ids [B]; grad_rows [B, d]. Every id present in
    the batch is decayed once and moved against the sign of the sum of its
    rows' gradients (sign(0) = 0); other rows are untouched."""
    ids = ids.long()
    uniq, inverse = torch.unique(ids, return_inverse=True)
    summed = torch.zeros((uniq.numel(), table.shape[1]), dtype=grad_rows.dtype)
    summed.index_add_(0, inverse, grad_rows)
    rows = table[uniq] * (1.0 - lr * weight_decay) - lr * torch.sign(summed).to(table.dtype)
    table[uniq] = rows


class EMA:
    """shadow <- rate * shadow + (1 - rate) * param over the given params,
    starting from a copy of them."""

    def __init__(self, params, rate=0.999):
        self.params = dict(params)
        self.rate = rate
        self.shadow = {n: p.detach().clone() for n, p in self.params.items()}

    @torch.no_grad()
    def update(self):
        for n, p in self.params.items():
            s = self.shadow[n]
            s.copy_(self.rate * s + (1.0 - self.rate) * p)


# --------------------------------------------------------------------------- training step

DEFAULTS = dict(lr=1e-4, puzzle_emb_lr=1e-2, weight_decay=0.1, puzzle_emb_weight_decay=0.1,
                beta1=0.9, beta2=0.95, warmup=2000, total_steps=0, min_ratio=1.0,
                ema_rate=0.999, ema=True)


class Trainer:
    """Drives a trm_ref.TRM (train mode) through spec 3.3's training steps.

    opt: dict with the keys of DEFAULTS; total_steps 0 means no end (the
    cosine then never starts: progress stays 0)."""

    def __init__(self, model, opt=None):
        self.model = model
        self.opt = dict(DEFAULTS)
        self.opt.update(opt or {})
        o = self.opt
        inner = model.inner
        self.adam = AdamATan2(inner.trainable_parameters(), o["beta1"], o["beta2"],
                              o["weight_decay"])
        self.ema = EMA(inner.trainable_parameters(), o["ema_rate"]) if o["ema"] else None
        self.step_count = 0
        self.carry = None

    def lrs(self, s):
        o = self.opt
        total = o["total_steps"] if o["total_steps"] > 0 else 1 << 62
        return (lr_at(o["lr"], s, o["warmup"], total, o["min_ratio"]),
                lr_at(o["puzzle_emb_lr"], s, o["warmup"], total, o["min_ratio"]))

    def step(self, act_loss, batch, explore_u=None, explore_k=None, grad_scale=1.0,
             loss_type="stablemax"):
        """One training step. act_loss is trm_ref.act_loss. Returns None on a
        no-op step (past total_steps), else the loss dict of the ACT call
        with the call's outputs added (logits, q_halt, q_continue)."""
        o = self.opt
        model, inner = self.model, self.model.inner
        # 1. the counter advances first; past the end nothing happens at all
        self.step_count += 1
        s = self.step_count
        if o["total_steps"] > 0 and s > o["total_steps"]:
            return None
        # 2. carry created on the first call
        if self.carry is None:
            self.carry = model.initial_carry(batch)
        # 3. one supervision step for every row, losses
        inner.zero_grad_all()
        with torch.enable_grad():
            self.carry, out = model(self.carry, batch, explore_u, explore_k)
            L = act_loss(out, self.carry, loss_type)
            # 4. backward of the scaled total
            (L["total"] * grad_scale).backward()
        # 6. sign-SGD on the batch's puzzle rows, then Adam; both from the schedule
        lr, lr_emb = self.lrs(s)
        if inner.cfg.puzzle_emb_ndim > 0:
            sign_sgd_rows(inner.puzzle_emb.weights.data, self.carry.data["puzzle_identifiers"],
                          inner.last_puzzle_rows.grad, lr_emb, o["puzzle_emb_weight_decay"])
        self.adam.step(lr)
        inner.zero_grad_all()
        # 7. EMA of the Adam parameters
        if self.ema is not None:
            self.ema.update()
        L = dict(L)
        L.update({k: v.detach() for k, v in out.items()})
        return L


# --------------------------------------------------------------------------- self test

def _selftest():
    ok = True

    def check(name, got, want, tol):
        nonlocal ok
        good = abs(got - want) <= tol * max(abs(want), 1e-300)
        ok &= good
        print("%-48s got % .12g want % .12g  %s" % (name, got, want, "ok" if good else "FAIL"))

    # spec 9: schedule anchors (r = 1, so the cosine is dormant)
    for s, want in ((1, 5e-8), (2, 1e-7), (1000, 5e-5), (1999, 9.995e-5), (2000, 1e-4),
                    (50000, 1e-4)):
        check("lr_at(1e-4, %d, 2000, 100000, 1)" % s, lr_at(1e-4, s, 2000, 100000, 1.0), want, 1e-12)
    # cosine branch with r = 0.1, W = 3, S = 5
    for s, want in ((1, 1 / 3), (3, 1.0), (4, 0.55), (5, 0.1)):
        check("lr_at(1, %d, 3, 5, 0.1)" % s, lr_at(1.0, s, 3, 5, 0.1), want, 1e-12)

    # spec 9: first Adam step moves 10 lr atan(0.1) sign(g) after the decay
    lr, wd = 1e-3, 0.1
    p = torch.tensor([0.5, -0.25, 2.0, 0.75], dtype=torch.float64)
    p.grad = torch.tensor([3.0, -1e-6, 0.0, -7.0], dtype=torch.float64)
    p0 = p.detach().clone()
    adam = AdamATan2({"p": p}, weight_decay=wd)
    adam.step(lr)
    decayed = p0 * (1 - lr * wd)
    move = (p.detach() - decayed) / lr
    check("first step coefficient = 10 atan(0.1)", 10 * math.atan(0.1), 0.9966865249, 1e-10)
    check("first step, g > 0", move[0].item(), -0.9966865249116204, 1e-10)
    check("first step, tiny g < 0", move[1].item(), 0.9966865249116204, 1e-10)
    check("zero gradient: decay only", move[2].item(), 0.0, 0)
    check("first step, g < 0", move[3].item(), 0.9966865249116204, 1e-10)
    # a second step by hand
    g2 = torch.tensor([-1.0, 2.0, 0.0, -7.0], dtype=torch.float64)
    p.grad = g2
    before = p.detach().clone()
    adam.step(lr)
    g1 = torch.tensor([3.0, -1e-6, 0.0, -7.0], dtype=torch.float64)
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.95 * 0.05 * g1 ** 2 + 0.05 * g2 ** 2
    want = before * (1 - lr * wd) - lr / (1 - 0.9 ** 2) * torch.atan2(m, v.sqrt() / math.sqrt(1 - 0.95 ** 2))
    check("second step by hand (max abs diff)", (p.detach() - want).abs().max().item(), 0.0, 0)

    # sign-SGD: duplicates sum before the sign; absent rows untouched
    table = torch.tensor([[1.0, 1.0], [2.0, -2.0], [3.0, 3.0]], dtype=torch.float64)
    ids = torch.tensor([1, 1, 0], dtype=torch.int32)
    grads = torch.tensor([[1.0, 0.5], [-3.0, -0.5], [0.0, -2.0]], dtype=torch.float64)
    sign_sgd_rows(table, ids, grads, 0.1, 0.5)
    check("sign-SGD id 1 col 0 (g +1, -3: moves +lr)", table[1, 0].item(), 2.0 * 0.95 + 0.1, 1e-15)
    check("sign-SGD id 1 col 1 (sum 0: decay only)", table[1, 1].item(), -2.0 * 0.95, 1e-15)
    check("sign-SGD id 0 col 1", table[0, 1].item(), 0.95 + 0.1, 1e-15)
    check("sign-SGD absent id 2 untouched", table[2, 0].item(), 3.0, 0)

    # EMA
    w = torch.tensor([1.0, 2.0], dtype=torch.float64)
    e = EMA({"w": w}, 0.999)
    w.data.copy_(torch.tensor([2.0, 0.0], dtype=torch.float64))
    e.update()
    check("EMA 0.999 s + 0.001 p [0]", e.shadow["w"][0].item(), 1.001, 1e-15)
    check("EMA 0.999 s + 0.001 p [1]", e.shadow["w"][1].item(), 1.998, 1e-15)

    # Trainer: past total_steps nothing moves, EMA included
    sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
    import trm_ref
    cfg = trm_ref.TRMConfig.from_dict(dict(hidden_size=16, num_heads=2, expansion=2.0, L_layers=1,
                                           H_cycles=1, L_cycles=1, halt_max_steps=2,
                                           puzzle_emb_ndim=16, puzzle_emb_len=1, vocab_size=5,
                                           seq_len=4, num_puzzle_identifiers=3))
    model = trm_ref.TRM(cfg)
    gen = torch.Generator().manual_seed(0)
    trm_ref._random_weights(model.inner, gen)
    model.train()
    tr = Trainer(model, dict(lr=1e-2, puzzle_emb_lr=1e-1, warmup=1, total_steps=1, ema_rate=0.5))
    batch = {"inputs": torch.randint(0, 5, (2, 4), generator=gen).to(torch.int32),
             "labels": torch.randint(0, 5, (2, 4), generator=gen).to(torch.int32),
             "puzzle_identifiers": torch.tensor([2, 2], dtype=torch.int32)}
    snap = lambda: {n: t.detach().clone() for n, t in model.inner.named_tensors().items()}
    s0 = snap()
    r1 = tr.step(trm_ref.act_loss, batch, grad_scale=0.5)
    s1 = snap()
    sh1 = {n: t.clone() for n, t in tr.ema.shadow.items()}
    r2 = tr.step(trm_ref.act_loss, batch, grad_scale=0.5)
    s2 = snap()
    moved = all(not torch.equal(s0[n], s1[n]) for n in model.inner.trainable_parameters())
    moved &= not torch.equal(s0["puzzle_emb.weights"][2], s1["puzzle_emb.weights"][2])
    moved &= torch.equal(s0["puzzle_emb.weights"][:2], s1["puzzle_emb.weights"][:2])
    same = all(torch.equal(s1[n], s2[n]) for n in s1)
    same &= all(torch.equal(sh1[n], tr.ema.shadow[n]) for n in sh1)
    good = r1 is not None and r2 is None and moved and same and tr.step_count == 2
    ok &= good
    print("trainer: step 1 moves every parameter, step 2 (> total) is a no-op incl. EMA  %s"
          % ("ok" if good else "FAIL"))

    print("self test", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(_selftest())
