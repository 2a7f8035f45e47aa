"""Independent PyTorch reference of the Tiny Recursive Model (TRM), written from
docs/trm-spec.md sections 1 and 2, used to generate parity fixtures
for the C implementation.

Differences from the original code, on purpose:
  * one dtype everywhere (float64 by default, float32 optional); no bf16 casts.
    The stablemax cross entropy is always evaluated in float64.
  * the puzzle-embedding table `puzzle_emb.weights` is a buffer (so it is not
    counted as a trainable parameter, as in the reference) but it is a leaf
    tensor with requires_grad=True, so backward() leaves its dense gradient
    [num_puzzle_identifiers, puzzle_emb_ndim] in `.grad` (duplicate ids sum).
  * exploration draws (u, k) of the ACT wrapper can be passed in explicitly.
  * no torch.compile, no distributed code, no Q-continue loss
    (no_ACT_continue = true is the only supported mode, as in TRM's default).

Parameter / buffer names equal the reference state_dict names below the
`model.inner.` prefix (spec 1.10).

Run `python3 trm_ref.py` for the self test (worked examples of spec 2.2/2.3,
finite-difference gradient checks in float64, truncated-gradient semantics).
"""

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

IGNORE = -100

# --------------------------------------------------------------------------- config

_POS = ("rope", "learned", "none")

# keys that may appear in a reference arch config / all_config.yaml and that
# this reference accepts but ignores
_IGNORED_KEYS = {"name", "loss", "H_layers", "forward_dtype", "batch_size",
                 "no_ACT_continue"}


@dataclass
class TRMConfig:
    hidden_size: int = 512
    num_heads: int = 8
    expansion: float = 4.0
    L_layers: int = 2
    H_cycles: int = 3
    L_cycles: int = 6
    halt_max_steps: int = 16
    halt_exploration_prob: float = 0.1
    pos_encodings: str = "rope"
    mlp_t: bool = False
    puzzle_emb_ndim: int = 512
    puzzle_emb_len: int = 16
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    vocab_size: int = 11
    seq_len: int = 81
    num_puzzle_identifiers: int = 1

    # ---- derived sizes
    @property
    def prefix_len(self) -> int:
        """Puzzle prefix positions; puzzle_emb_len 0 means ceil(ndim / D)."""
        if self.puzzle_emb_len == 0:
            return -(-self.puzzle_emb_ndim // self.hidden_size)
        return self.puzzle_emb_len

    @property
    def total_len(self) -> int:
        return self.seq_len + self.prefix_len

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def validate(self):
        if self.pos_encodings not in _POS:
            raise ValueError("pos_encodings must be one of %s" % (_POS,))
        if not self.mlp_t and self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be a multiple of num_heads")
        if self.pos_encodings == "rope" and self.head_dim % 2:
            raise ValueError("rope needs an even head_dim")
        if self.puzzle_emb_ndim < 0 or self.puzzle_emb_ndim > self.prefix_len * self.hidden_size:
            raise ValueError("puzzle_emb_ndim must fit in puzzle_emb_len * hidden_size")
        if self.puzzle_emb_ndim == 0 and self.prefix_len != 0:
            # the original code would build a carry longer than the input
            raise ValueError("puzzle_emb_ndim 0 requires puzzle_emb_len 0")
        if min(self.L_layers, self.H_cycles, self.L_cycles, self.halt_max_steps) < 1:
            raise ValueError("L_layers, H_cycles, L_cycles, halt_max_steps must be >= 1")
        return self

    # ---- (de)serialization with the reference's arch field names
    def to_dict(self):
        d = dataclasses.asdict(self)
        d["expansion"] = float(d["expansion"])
        d["halt_exploration_prob"] = float(d["halt_exploration_prob"])
        d["rms_norm_eps"] = float(d["rms_norm_eps"])
        d["rope_theta"] = float(d["rope_theta"])
        d["mlp_t"] = bool(d["mlp_t"])
        return d

    def to_json(self):
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d, strict=True):
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {}
        for k, v in d.items():
            if k in names:
                kw[k] = v
            elif k in _IGNORED_KEYS:
                if k == "no_ACT_continue" and not v:
                    raise ValueError("only no_ACT_continue = true is supported")
            elif strict:
                raise KeyError("unknown config key %r" % k)
        cfg = cls(**kw)
        for f in dataclasses.fields(cls):
            v = getattr(cfg, f.name)
            if f.type in (int, "int"):
                setattr(cfg, f.name, int(v))
            elif f.type in (float, "float"):
                setattr(cfg, f.name, float(v))
            elif f.type in (bool, "bool"):
                if isinstance(v, str):
                    v = v.strip().lower() in ("1", "true", "yes")
                setattr(cfg, f.name, bool(v))
        return cfg.validate()


PRESETS = {
    "sudoku-mlp": dict(mlp_t=True, pos_encodings="none", L_cycles=6, vocab_size=11, seq_len=81),
    "sudoku-att": dict(L_cycles=6, vocab_size=11, seq_len=81),
    "maze-att": dict(L_cycles=4, vocab_size=6, seq_len=900),
    "arc1-att": dict(L_cycles=4, vocab_size=12, seq_len=900),
    "arc2-att": dict(L_cycles=4, vocab_size=12, seq_len=900),
}


def preset(name, **over):
    d = dict(PRESETS[name])
    d.update(over)
    return TRMConfig.from_dict(d)


# --------------------------------------------------------------------------- helpers

def swiglu_width(h_in: int, expansion: float) -> int:
    """round(expansion * h_in * 2/3) rounded up to a multiple of 256 (Python's
    round, as the reference)."""
    r = round(expansion * h_in * 2 / 3)
    return -(-r // 256) * 256


TRUNC_A = math.erf(-2.0 / math.sqrt(2.0))
TRUNC_B = math.erf(2.0 / math.sqrt(2.0))


def _trunc_std_factor():
    # std of a standard normal truncated to [-2, 2], inverted
    c = (2 * math.pi) ** -0.5
    pdf2 = c * math.exp(-2.0)
    z = TRUNC_B  # P(-2 < X < 2) = (erf(2/sqrt2) - erf(-2/sqrt2)) / 2
    var = 1 - (2 * pdf2 + 2 * pdf2) / z  # 1 - 2 a phi(a) / Z with a = 2
    return 1.0 / math.sqrt(var)


TRUNC_FACTOR = _trunc_std_factor()  # 1.1368472343385565


def trunc_normal(shape, std, gen=None, dtype=torch.float64):
    """JAX-style truncated normal (spec 1.7): truncation at +-2 standard units,
    rescaled so that the empirical std equals `std`."""
    if std == 0:
        return torch.zeros(shape, dtype=dtype)
    u = torch.empty(shape, dtype=torch.float64).uniform_(TRUNC_A, TRUNC_B, generator=gen)
    c = std * TRUNC_FACTOR
    x = torch.erfinv(u) * (math.sqrt(2.0) * c)
    return x.clamp(-2 * c, 2 * c).to(dtype)


def rms_norm(x, eps):
    """Parameter-free RMSNorm over the last axis."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


# --------------------------------------------------------------------------- modules

class Linear(nn.Module):
    def __init__(self, n_in, n_out, bias, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_out, n_in, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(n_out, dtype=dtype)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class Embedding(nn.Module):
    def __init__(self, n, dim, dtype):
        super().__init__()
        self.embedding_weight = nn.Parameter(torch.zeros(n, dim, dtype=dtype))

    def forward(self, idx):
        return self.embedding_weight[idx.long()]


class PuzzleEmbedding(nn.Module):
    """Table [num_ids, ndim] kept as a (persistent) buffer with requires_grad."""

    def __init__(self, n, dim, dtype):
        super().__init__()
        self.register_buffer("weights", torch.zeros(n, dim, dtype=dtype).requires_grad_(True))

    def forward(self, ids):
        return self.weights[ids.long()]


class SwiGLU(nn.Module):
    def __init__(self, h_in, expansion, dtype):
        super().__init__()
        self.inter = swiglu_width(h_in, expansion)
        self.gate_up_proj = Linear(h_in, 2 * self.inter, False, dtype)
        self.down_proj = Linear(self.inter, h_in, False, dtype)

    def forward(self, x):
        gu = self.gate_up_proj(x)
        gate, up = gu[..., :self.inter], gu[..., self.inter:]
        return self.down_proj(F.silu(gate) * up)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    """Full bidirectional multi-head self attention with fused QKV."""

    def __init__(self, dim, num_heads, dtype):
        super().__init__()
        self.h = num_heads
        self.hd = dim // num_heads
        self.qkv_proj = Linear(dim, 3 * dim, False, dtype)
        self.o_proj = Linear(dim, dim, False, dtype)

    def forward(self, x, cos_sin):
        B, L, D = x.shape
        qkv = self.qkv_proj(x).view(B, L, 3 * self.h, self.hd)
        q = qkv[:, :, :self.h]
        k = qkv[:, :, self.h:2 * self.h]
        v = qkv[:, :, 2 * self.h:]
        if cos_sin is not None:
            cos, sin = cos_sin  # [L, hd]
            cos = cos[:, None, :]
            sin = sin[:, None, :]
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, L, hd]
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd))
        att = torch.softmax(att, dim=-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(B, L, D)
        return self.o_proj(o)


class Block(nn.Module):
    """Post-norm block: (attention | token MLP) then channel SwiGLU."""

    def __init__(self, cfg: TRMConfig, dtype):
        super().__init__()
        self.cfg = cfg
        if cfg.mlp_t:
            self.mlp_t = SwiGLU(cfg.total_len, cfg.expansion, dtype)
        else:
            self.self_attn = Attention(cfg.hidden_size, cfg.num_heads, dtype)
        self.mlp = SwiGLU(cfg.hidden_size, cfg.expansion, dtype)

    def forward(self, h, cos_sin):
        eps = self.cfg.rms_norm_eps
        if self.cfg.mlp_t:
            t = h.transpose(1, 2)                 # [B, D, L]
            t = rms_norm(t + self.mlp_t(t), eps)  # normalized over L
            h = t.transpose(1, 2)
        else:
            h = rms_norm(h + self.self_attn(h, cos_sin), eps)
        return rms_norm(h + self.mlp(h), eps)


class ReasoningModule(nn.Module):
    def __init__(self, cfg, dtype):
        super().__init__()
        self.layers = nn.ModuleList([Block(cfg, dtype) for _ in range(cfg.L_layers)])

    def forward(self, h, inj, cos_sin):
        h = h + inj
        for layer in self.layers:
            h = layer(h, cos_sin)
        return h


class TRMInner(nn.Module):
    def __init__(self, cfg: TRMConfig, dtype=torch.float64):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.dtype = dtype
        D = cfg.hidden_size
        self.P = cfg.prefix_len
        self.L = cfg.total_len
        self.embed_scale = math.sqrt(D)

        self.embed_tokens = Embedding(cfg.vocab_size, D, dtype)
        self.lm_head = Linear(D, cfg.vocab_size, False, dtype)
        self.q_head = Linear(D, 2, True, dtype)
        if cfg.puzzle_emb_ndim > 0:
            self.puzzle_emb = PuzzleEmbedding(cfg.num_puzzle_identifiers, cfg.puzzle_emb_ndim, dtype)
        if cfg.pos_encodings == "learned":
            self.embed_pos = Embedding(self.L, D, dtype)
        self.L_level = ReasoningModule(cfg, dtype)
        self.register_buffer("H_init", torch.zeros(D, dtype=dtype))
        self.register_buffer("L_init", torch.zeros(D, dtype=dtype))

        if cfg.pos_encodings == "rope":
            hd = cfg.head_dim
            inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
            ang = torch.outer(torch.arange(self.L, dtype=torch.float64), inv)
            ang = torch.cat((ang, ang), dim=-1)
            self.register_buffer("rope_cos", ang.cos().to(dtype), persistent=False)
            self.register_buffer("rope_sin", ang.sin().to(dtype), persistent=False)
        else:
            self.rope_cos = None
            self.rope_sin = None

    # ---- weights
    def reference_init(self, gen=None):
        """Initialization of spec 1.7 (degenerate q_head/puzzle table)."""
        D = self.cfg.hidden_size
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("embedding_weight"):
                    p.copy_(trunc_normal(p.shape, 1.0 / math.sqrt(D), gen, p.dtype))
                elif name == "q_head.weight":
                    p.zero_()
                elif name == "q_head.bias":
                    p.fill_(-5.0)
                else:
                    p.copy_(trunc_normal(p.shape, 1.0 / math.sqrt(p.shape[1]), gen, p.dtype))
            if hasattr(self, "puzzle_emb"):
                self.puzzle_emb.weights.zero_()
            self.H_init.copy_(trunc_normal((D,), 1.0, gen, self.dtype))
            self.L_init.copy_(trunc_normal((D,), 1.0, gen, self.dtype))

    def named_tensors(self):
        """Every saved parameter and buffer, reference names, in a fixed order."""
        out = dict(self.named_parameters())
        for n, b in self.named_buffers():
            if n in ("rope_cos", "rope_sin"):
                continue
            out[n] = b
        return out

    def trainable_parameters(self):
        return dict(self.named_parameters())

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def load_tensors(self, tensors: Dict[str, torch.Tensor], strict=True):
        own = self.named_tensors()
        missing = [n for n in own if n not in tensors]
        extra = [n for n in tensors if n not in own]
        if strict and (missing or extra):
            raise KeyError("missing %s, unexpected %s" % (missing, extra))
        with torch.no_grad():
            for n, t in tensors.items():
                if n in own:
                    if tuple(own[n].shape) != tuple(t.shape):
                        raise ValueError("%s: shape %s != %s" % (n, tuple(t.shape), tuple(own[n].shape)))
                    own[n].copy_(t.to(self.dtype))

    def zero_grad_all(self):
        for t in self.named_tensors().values():
            t.grad = None

    # ---- forward
    def input_embeddings(self, inputs, puzzle_ids):
        cfg = self.cfg
        D = cfg.hidden_size
        e = self.embed_tokens(inputs)  # [B, S, D]
        if cfg.puzzle_emb_ndim > 0:
            pe = self.puzzle_emb(puzzle_ids)  # [B, ndim]
            if pe.requires_grad:
                # gradient w.r.t. the gathered rows (the reference's
                # per-batch "local_weights"), for tests that want it
                pe.retain_grad()
            self.last_puzzle_rows = pe
            pad = self.P * D - cfg.puzzle_emb_ndim
            if pad > 0:
                pe = F.pad(pe, (0, pad))
            e = torch.cat((pe.view(-1, self.P, D), e), dim=1)
        if cfg.pos_encodings == "learned":
            e = 0.707106781 * (e + self.embed_pos.embedding_weight)
        return self.embed_scale * e

    def cos_sin(self):
        return None if self.rope_cos is None else (self.rope_cos, self.rope_sin)

    def f(self, h, inj):
        return self.L_level(h, inj, self.cos_sin())

    def cycle(self, y, z, x):
        """One recursion cycle: n latent updates then one answer update."""
        for _ in range(self.cfg.L_cycles):
            z = self.f(z, y + x)
        y = self.f(y, z)
        return y, z

    def forward(self, y, z, inputs, puzzle_ids):
        """One supervision step (spec 1.5). Returns (y, z) detached, logits
        [B, seq_len, V], q_halt [B], q_continue [B]."""
        x = self.input_embeddings(inputs, puzzle_ids)
        with torch.no_grad():
            for _ in range(self.cfg.H_cycles - 1):
                y, z = self.cycle(y, z, x)
        y, z = self.cycle(y, z, x)
        logits = self.lm_head(y)[:, self.P:]
        q = self.q_head(y[:, 0])
        return y.detach(), z.detach(), logits, q[:, 0], q[:, 1]


# --------------------------------------------------------------------------- ACT wrapper

@dataclass
class Carry:
    y: torch.Tensor            # [B, L, D]  (reference z_H)
    z: torch.Tensor            # [B, L, D]  (reference z_L)
    steps: torch.Tensor        # int32 [B]
    halted: torch.Tensor       # bool [B]
    data: Dict[str, torch.Tensor] = field(default_factory=dict)


class TRM(nn.Module):
    """ACT wrapper; `inner` holds all weights (names below `model.inner.`)."""

    def __init__(self, cfg: TRMConfig, dtype=torch.float64):
        super().__init__()
        self.cfg = cfg
        self.inner = TRMInner(cfg, dtype)

    def initial_carry(self, batch: Dict[str, torch.Tensor]) -> Carry:
        B = batch["inputs"].shape[0]
        shape = (B, self.inner.L, self.cfg.hidden_size)
        return Carry(
            y=torch.zeros(shape, dtype=self.inner.dtype),
            z=torch.zeros(shape, dtype=self.inner.dtype),
            steps=torch.zeros(B, dtype=torch.int32),
            halted=torch.ones(B, dtype=torch.bool),
            data={k: torch.zeros_like(v) for k, v in batch.items()},
        )

    def forward(self, carry: Carry, batch: Dict[str, torch.Tensor],
                explore_u: Optional[torch.Tensor] = None,
                explore_k: Optional[torch.Tensor] = None):
        """One ACT call (spec 1.6). batch: inputs [B,S], labels [B,S],
        puzzle_identifiers [B]. In training mode explore_u (float [B] in
        [0,1)) and explore_k (int [B] in [2, halt_max_steps]) are the
        exploration draws; drawn from torch's RNG when not given."""
        cfg = self.cfg
        reset = carry.halted
        r3 = reset.view(-1, 1, 1)
        y = torch.where(r3, self.inner.H_init.view(1, 1, -1).expand_as(carry.y), carry.y)
        z = torch.where(r3, self.inner.L_init.view(1, 1, -1).expand_as(carry.z), carry.z)
        steps = torch.where(reset, torch.zeros_like(carry.steps), carry.steps)
        data = {}
        for k, v in carry.data.items():
            m = reset.view((-1,) + (1,) * (v.dim() - 1))
            data[k] = torch.where(m, batch[k], v)

        y, z, logits, q_halt, q_cont = self.inner(y, z, data["inputs"], data["puzzle_identifiers"])

        with torch.no_grad():
            steps = steps + 1
            halted = steps >= cfg.halt_max_steps
            if self.training and cfg.halt_max_steps > 1:
                halted = halted | (q_halt > 0)
                B = steps.shape[0]
                if explore_u is None:
                    explore_u = torch.rand(B, dtype=torch.float64)
                if explore_k is None:
                    explore_k = torch.randint(2, cfg.halt_max_steps + 1, (B,))
                min_steps = torch.where(explore_u.to(torch.float64) < cfg.halt_exploration_prob,
                                        explore_k.to(torch.int32), torch.zeros_like(steps))
                halted = halted & (steps >= min_steps)
        new = Carry(y=y, z=z, steps=steps.to(torch.int32), halted=halted, data=data)
        return new, {"logits": logits, "q_halt": q_halt, "q_continue": q_cont}


# --------------------------------------------------------------------------- losses

def stablemax_s(x):
    # s(v) = v + 1 (v >= 0), 1 / (1 - v + 1e-30) (v < 0); the clamp keeps the
    # unused branch finite so its zero gradient stays zero
    neg = torch.clamp(x, max=0.0)
    return torch.where(x < 0, 1.0 / (1.0 - neg + 1e-30), x + 1.0)


def stablemax_log_probs(logits):
    s = stablemax_s(logits.to(torch.float64))
    return torch.log(s) - torch.log(s.sum(-1, keepdim=True))


def token_losses(logits, labels, loss_type="stablemax", label_smoothing=0.0):
    """Per-token loss [B, S] (0 at ignored positions). label_smoothing eps:
    cross entropy against (1 - eps) onehot + eps / V (softmax: PyTorch's own
    cross_entropy(label_smoothing=eps); stablemax: that target written out
    against the log-stablemax)."""
    mask = labels != IGNORE
    safe = torch.where(mask, labels, torch.zeros_like(labels)).long()
    eps = float(label_smoothing)
    if loss_type == "softmax" and eps > 0:
        V = logits.shape[-1]
        ce = F.cross_entropy(logits.reshape(-1, V), safe.reshape(-1), reduction="none",
                             label_smoothing=eps).reshape(safe.shape)
        return torch.where(mask, ce, torch.zeros_like(ce))
    if loss_type == "stablemax":
        lp = stablemax_log_probs(logits)
    elif loss_type == "softmax":
        lp = torch.log_softmax(logits, dim=-1)
    else:
        raise ValueError("loss_type must be stablemax or softmax")
    nll = -lp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    if eps > 0:
        nll = (1.0 - eps) * nll - eps * lp.mean(-1)
    return torch.where(mask, nll, torch.zeros_like(nll))


def bce_with_logits(x, t):
    """max(x,0) - x t + log(1 + exp(-|x|)), elementwise."""
    return torch.clamp(x, min=0) - x * t + torch.log1p(torch.exp(-x.abs()))


def act_loss(outputs, carry: Carry, loss_type="stablemax"):
    """Loss and metrics of one ACT call (spec 2.3-2.4). Returns a dict with
    total, lm_loss, q_halt_loss (tensors; total has a graph) and metrics
    (float64 [5]: count, accuracy, exact_accuracy, q_halt_accuracy, steps)."""
    logits = outputs["logits"]
    q_halt = outputs["q_halt"]
    labels = carry.data["labels"].long()
    with torch.no_grad():
        mask = labels != IGNORE
        count = mask.sum(-1)
        divisor = count.clamp(min=1)
        preds = logits.argmax(-1)
        correct = mask & (preds == labels)
        seq_correct = correct.sum(-1) == count
        valid = carry.halted & (count > 0)
        acc_rows = correct.to(torch.float64).sum(-1) / divisor.to(torch.float64)
        metrics = torch.stack([
            valid.sum().to(torch.float64),
            torch.where(valid, acc_rows, torch.zeros_like(acc_rows)).sum(),
            (valid & seq_correct).sum().to(torch.float64),
            (valid & ((q_halt >= 0) == seq_correct)).sum().to(torch.float64),
            torch.where(valid, carry.steps.long(), torch.zeros_like(carry.steps.long())).sum().to(torch.float64),
        ])
    tl = token_losses(logits, labels, loss_type).to(torch.float64)
    lm_loss = (tl / divisor.unsqueeze(-1).to(torch.float64)).sum()
    q_halt_loss = bce_with_logits(q_halt, seq_correct.to(q_halt.dtype)).sum().to(torch.float64)
    total = lm_loss + 0.5 * q_halt_loss
    return {"total": total, "lm_loss": lm_loss, "q_halt_loss": q_halt_loss,
            "metrics": metrics, "preds": preds, "seq_correct": seq_correct}


# --------------------------------------------------------------------------- self test

def _random_weights(inner: TRMInner, gen):
    """Non-degenerate weights for gradient tests."""
    inner.reference_init(gen)
    D = inner.cfg.hidden_size
    with torch.no_grad():
        inner.q_head.weight.copy_(trunc_normal((2, D), 1.0 / math.sqrt(D), gen, inner.dtype))
        inner.q_head.bias.copy_(trunc_normal((2,), 0.1, gen, inner.dtype))
        if hasattr(inner, "puzzle_emb"):
            w = inner.puzzle_emb.weights
            w.copy_(trunc_normal(tuple(w.shape), 1.0 / math.sqrt(D), gen, inner.dtype))


def _selftest():
    import sys
    torch.set_num_threads(max(1, torch.get_num_threads()))
    ok = True

    def check(name, got, want, tol):
        nonlocal ok
        err = abs(got - want)
        good = err <= tol * max(1.0, abs(want))
        ok &= good
        print("%-52s got % .17g want % .17g  %s" % (name, got, want, "ok" if good else "FAIL"))

    # spec 2.2 worked example
    lg = torch.tensor([[[2.0, -1.0, 0.0, 0.5]]], dtype=torch.float64)
    lp = stablemax_log_probs(lg)[0, 0]
    for i, w in enumerate((-0.693147, -2.484907, -1.791759, -1.386294)):
        check("stablemax log p[%d]" % i, lp[i].item(), w, 1e-6)
    check("stablemax loss (label 0)", token_losses(lg, torch.tensor([[0]]))[0, 0].item(),
          0.6931471805599453, 1e-15)
    check("softmax loss (label 0)", token_losses(lg, torch.tensor([[0]]), "softmax")[0, 0].item(),
          0.342350, 1e-6)
    x = torch.tensor([-5.0], dtype=torch.float64)
    check("BCE(-5, 0)", bce_with_logits(x, torch.zeros(1, dtype=torch.float64)).item(),
          0.006715348489117967, 1e-15)
    check("BCE(-5, 1)", bce_with_logits(x, torch.ones(1, dtype=torch.float64)).item(),
          5.006715348489118, 1e-15)
    check("truncated-normal factor", TRUNC_FACTOR, 1.1368472343385565, 1e-15)
    check("swiglu width 512", swiglu_width(512, 4.0), 1536, 0)
    check("swiglu width 97", swiglu_width(97, 4.0), 512, 0)
    check("swiglu width 916", swiglu_width(916, 4.0), 2560, 0)
    g = torch.Generator().manual_seed(0)
    t = trunc_normal((200000,), 0.5, g)
    check("truncated normal empirical std (0.5)", t.std().item(), 0.5, 5e-3)
    check("truncated normal max <= 2.2736944687*std", min(t.abs().max().item(), 1.1368944),
          1.1368944, 1e-3)

    # finite differences (float64). H_cycles = 1 so the whole step has a graph
    # and the truncated gradient equals the true derivative.
    variants = [
        ("att/rope/stablemax", dict(pos_encodings="rope"), "stablemax"),
        ("mlp_t/none/stablemax", dict(mlp_t=True, pos_encodings="none", puzzle_emb_len=0,
                                      puzzle_emb_ndim=24), "stablemax"),
        ("att/learned/softmax", dict(pos_encodings="learned"), "softmax"),
    ]
    for vname, over, loss_type in variants:
        base = dict(hidden_size=16, num_heads=2, expansion=2.0, L_layers=2, H_cycles=1,
                    L_cycles=2, halt_max_steps=3, pos_encodings="rope", puzzle_emb_ndim=16,
                    puzzle_emb_len=2, vocab_size=5, seq_len=6, num_puzzle_identifiers=3)
        base.update(over)
        cfg = TRMConfig.from_dict(base)
        model = TRM(cfg, torch.float64)
        gen = torch.Generator().manual_seed(1)
        _random_weights(model.inner, gen)
        model.train()
        B = 3
        batch = {
            "inputs": torch.randint(0, cfg.vocab_size, (B, cfg.seq_len), generator=gen).to(torch.int32),
            "labels": torch.randint(0, cfg.vocab_size, (B, cfg.seq_len), generator=gen).to(torch.int32),
            "puzzle_identifiers": torch.tensor([1, 2, 1], dtype=torch.int32),
        }
        batch["labels"][0, :2] = IGNORE
        u = torch.ones(B, dtype=torch.float64)
        k = torch.full((B,), 2, dtype=torch.int32)

        def loss_fn():
            c = model.initial_carry(batch)
            c, out = model(c, batch, u, k)
            return act_loss(out, c, loss_type)["total"]

        model.inner.zero_grad_all()
        loss_fn().backward()
        tensors = model.inner.named_tensors()
        probes = ["lm_head.weight", "q_head.bias", "embed_tokens.embedding_weight",
                  "L_level.layers.0.mlp.gate_up_proj.weight", "L_level.layers.1.mlp.down_proj.weight",
                  "puzzle_emb.weights"]
        probes.append("L_level.layers.0.mlp_t.gate_up_proj.weight" if cfg.mlp_t
                      else "L_level.layers.0.self_attn.qkv_proj.weight")
        if cfg.pos_encodings == "learned":
            probes.append("embed_pos.embedding_weight")
        gsel = torch.Generator().manual_seed(7)
        for pn in probes:
            p = tensors[pn]
            flat = p.detach().view(-1)
            if pn == "puzzle_emb.weights":
                idx = 1 * cfg.puzzle_emb_ndim + 3  # id 1 appears twice in the batch
            elif pn == "embed_tokens.embedding_weight":
                idx = int(batch["inputs"][0, 0]) * cfg.hidden_size + 5
            else:
                idx = int(torch.randint(0, flat.numel(), (1,), generator=gsel))
            h = 1e-5
            with torch.no_grad():
                old = flat[idx].item()
                flat[idx] = old + h
                lp_ = loss_fn().item()
                flat[idx] = old - h
                lm_ = loss_fn().item()
                flat[idx] = old
            fd = (lp_ - lm_) / (2 * h)
            an = p.grad.view(-1)[idx].item()
            good = abs(fd - an) <= 1e-8 + 1e-6 * abs(fd)
            ok &= good
            print("FD %-22s %-44s fd % .10e an % .10e  %s" % (vname, pn + "[%d]" % idx, fd, an,
                                                               "ok" if good else "FAIL"))
        for n in ("H_init", "L_init"):
            if tensors[n].grad is not None:
                ok = False
                print("FAIL: %s received a gradient" % n)

    # truncated gradient: with H_cycles = 2 the gradient must equal that of one
    # graph-building cycle started from the (detached) state after one cycle.
    cfg = TRMConfig.from_dict(dict(hidden_size=16, num_heads=2, expansion=2.0, H_cycles=2, L_cycles=2,
                                   puzzle_emb_ndim=16, puzzle_emb_len=1, vocab_size=5, seq_len=6,
                                   num_puzzle_identifiers=2, halt_max_steps=2))
    model = TRM(cfg)
    gen = torch.Generator().manual_seed(3)
    _random_weights(model.inner, gen)
    inp = torch.randint(0, 5, (2, 6), generator=gen)
    pid = torch.tensor([0, 1])
    lab = torch.randint(0, 5, (2, 6), generator=gen)
    inner = model.inner
    y0 = inner.H_init.view(1, 1, -1).expand(2, inner.L, -1)
    z0 = inner.L_init.view(1, 1, -1).expand(2, inner.L, -1)
    inner.zero_grad_all()
    _, _, lg, qh, _ = inner(y0, z0, inp, pid)
    (token_losses(lg, lab).sum() + qh.sum()).backward()
    g1 = {n: t.grad.clone() for n, t in inner.named_tensors().items() if t.grad is not None}
    with torch.no_grad():
        y1, z1 = inner.cycle(y0, z0, inner.input_embeddings(inp, pid))
    inner.zero_grad_all()
    inner.cfg.H_cycles = 1
    _, _, lg, qh, _ = inner(y1, z1, inp, pid)
    (token_losses(lg, lab).sum() + qh.sum()).backward()
    inner.cfg.H_cycles = 2
    worst = max((g1[n] - t.grad).abs().max().item() for n, t in inner.named_tensors().items()
                if t.grad is not None)
    good = worst < 1e-12 and set(g1) == {n for n, t in inner.named_tensors().items() if t.grad is not None}
    ok &= good
    print("truncated gradient (H_cycles=2 vs 1 from detached state): max diff %.3e  %s"
          % (worst, "ok" if good else "FAIL"))

    print("self test", "PASSED" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    _selftest()
