"""Reference of the Muon optimizer and AdamW for the C optimizer's fixtures,
written from the common description of Muon (Keller Jordan's): SGD momentum
whose update is replaced by an approximate orthogonalisation, the quintic
Newton-Schulz iteration.

  ns5       quintic Newton-Schulz: X = G / (||G||_F + 1e-7) (transposed to
            the wide orientation), then X <- a X + (b A + c A A) X with
            A = X X^T, (a, b, c) = (3.4445, -4.7750, 2.0315)
  Muon      M <- lerp(M, G, 1 - mu); U = nesterov ? lerp(G, M, mu) : M;
            W <- W (1 - lr wd) - lr sqrt(max(1, rows / cols)) ns5(U)
  AdamW     torch.optim.AdamW's update (decoupled decay first, bias-corrected
            moments, eps added to sqrt(v) / sqrt(bc2))
  is_muon   which tensors Muon takes: the 2-D weights inside the blocks
            (names L_level.layers.*); the rest go to AdamW or AdamATan2

The published Muon runs ns5 in bfloat16; this one runs in the tensors'
dtype (the fixtures use float64, the C code float32).
Run `python3 muon_ref.py` for the self test.
"""

import math
import sys

import torch

NS_COEFFS = (3.4445, -4.7750, 2.0315)


def ns5(G, steps=5, eps=1e-7):
    """Approximate orthogonal factor of a 2-D tensor G."""
    a, b, c = NS_COEFFS
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / (X.norm() + eps)
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return X.T if tall else X


def is_muon(name, t):
    return t.dim() == 2 and name.startswith("L_level.layers.")


class Muon:
    """Muon over a dict name -> 2-D parameter (with .grad)."""

    def __init__(self, params, momentum=0.95, nesterov=True, ns_steps=5, weight_decay=0.0):
        self.params = dict(params)
        self.momentum, self.nesterov = momentum, nesterov
        self.ns_steps, self.weight_decay = ns_steps, weight_decay
        self.buf = {n: torch.zeros_like(p) for n, p in self.params.items()}

    @torch.no_grad()
    def step(self, lr):
        mu = self.momentum
        for n, p in self.params.items():
            g, m = p.grad, self.buf[n]
            m.lerp_(g, 1.0 - mu)
            u = g.lerp(m, mu) if self.nesterov else m
            o = ns5(u, self.ns_steps) * math.sqrt(max(1.0, p.shape[0] / p.shape[1]))
            p.mul_(1.0 - lr * self.weight_decay)
            p.add_(o, alpha=-lr)


class AdamW:
    """AdamW over a dict name -> parameter (with .grad)."""

    def __init__(self, params, beta1=0.9, beta2=0.95, weight_decay=0.1, eps=1e-8):
        self.params = dict(params)
        self.beta1, self.beta2, self.weight_decay, self.eps = beta1, beta2, weight_decay, eps
        self.m = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.t = 0

    @torch.no_grad()
    def step(self, lr):
        self.t += 1
        bc1, bc2 = 1.0 - self.beta1 ** self.t, 1.0 - self.beta2 ** self.t
        for n, p in self.params.items():
            g, m, v = p.grad, self.m[n], self.v[n]
            p.mul_(1.0 - lr * self.weight_decay)
            m.mul_(self.beta1).add_(g, alpha=1.0 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)
            denom = v.sqrt() / math.sqrt(bc2) + self.eps
            p.addcdiv_(m, denom, value=-lr / bc1)


# --------------------------------------------------------------------------- self test

def _self_test():
    torch.manual_seed(0)
    # AdamW against torch's own, three steps with changing rates
    p0 = torch.randn(7, 5, dtype=torch.float64)
    a, b = p0.clone().requires_grad_(), p0.clone().requires_grad_()
    ours = AdamW({"w": a}, 0.9, 0.95, 0.1, 1e-8)
    theirs = torch.optim.AdamW([b], lr=1.0, betas=(0.9, 0.95), weight_decay=0.1, eps=1e-8)
    for k, lr in enumerate((1e-2, 5e-3, 2e-3)):
        g = torch.randn(7, 5, dtype=torch.float64) * (k + 1)
        a.grad, b.grad = g.clone(), g.clone()
        for grp in theirs.param_groups:
            grp["lr"] = lr
        ours.step(lr)
        theirs.step()
    assert torch.allclose(a, b, rtol=1e-12, atol=1e-14), (a - b).abs().max()
    # ns5: singular values pushed near 1 (about [0.7, 1.2] for these
    # coefficients), whatever the scale; tall = transpose of wide
    for shape in ((16, 48), (48, 16), (32, 32)):
        G = torch.randn(*shape, dtype=torch.float64) * 3.0
        s = torch.linalg.svdvals(ns5(G))
        assert s.min() > 0.5 and s.max() < 1.25, (shape, s.min(), s.max())
        assert torch.allclose(ns5(G.T), ns5(G).T, rtol=0, atol=1e-14)
    assert not ns5(torch.zeros(4, 6, dtype=torch.float64)).any()
    # one Muon step from zero momentum without Nesterov: W -= lr * ns5(G)
    w = torch.randn(8, 4, dtype=torch.float64, requires_grad=True)
    w0 = w.detach().clone()
    w.grad = torch.randn(8, 4, dtype=torch.float64)
    Muon({"w": w}, momentum=0.9, nesterov=False, weight_decay=0.5).step(0.1)
    want = w0 * (1 - 0.05) - 0.1 * math.sqrt(2.0) * ns5(0.1 * w.grad)
    assert torch.allclose(w.detach(), want, rtol=0, atol=1e-12)
    print("muon_ref self-test ok")


if __name__ == "__main__":
    _self_test()
    sys.exit(0)
