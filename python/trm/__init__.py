"""trm - Tiny Recursive Models from Python, over libtrm.so (docs/python.md).

    import trm
    model = trm.Model.load("models/sudoku-cpu.safetensors")
    x = model.parse([puzzle_text])                # int32 [n, seq_len]
    sol = model.solve(x)                          # tokens, confidence, steps, q_halt
    print(model.format(sol.tokens[0]), sol.confidence[0])

Only the standard library (ctypes) and numpy. libtrm.so is looked up in
$TRM_LIB (a file), next to this package, then in the repository's build/
folder. Errors of the library raise trm.TrmError with its one-line message.
"""
import ctypes
import json
import os
import warnings
from collections import namedtuple

import numpy as np

__all__ = ["TrmError", "Model", "Solution", "train", "build_dataset", "library_path"]


class TrmError(Exception):
    """An error reported by libtrm: its one-line message."""


# ---------------------------------------------------------------- the library

def library_path():
    """The libtrm.so this package loads: $TRM_LIB, else next to the package,
    else the repository's build/ folder."""
    env = os.environ.get("TRM_LIB")
    if env:
        if not os.path.isfile(env):
            raise TrmError("TRM_LIB=%s: no such file" % env)
        return env
    here = os.path.dirname(os.path.realpath(__file__))
    for cand in (os.path.join(here, "libtrm.so"),
                 os.path.join(here, "..", "..", "build", "libtrm.so")):
        if os.path.isfile(cand):
            return os.path.normpath(cand)  # here is a real path: ".." is lexical
    raise TrmError("libtrm.so not found: set TRM_LIB, put it next to %s, or run make in the repository" % here)


class _Err(ctypes.Structure):
    _fields_ = [("msg", ctypes.c_char * 512)]


class _Batch(ctypes.Structure):  # trm_batch
    _fields_ = [("batch", ctypes.c_int), ("inputs", ctypes.c_void_p),
                ("labels", ctypes.c_void_p), ("puzzle_ids", ctypes.c_void_p)]


class _SolveOpts(ctypes.Structure):  # trm_solve_opts
    _fields_ = [("max_steps", ctypes.c_int), ("early_halt", ctypes.c_bool),
                ("check", ctypes.c_void_p), ("check_ctx", ctypes.c_void_p),
                ("on_step", ctypes.c_void_p), ("step_ctx", ctypes.c_void_p)]


class _SolveOut(ctypes.Structure):  # trm_solve_out
    _fields_ = [("tokens", ctypes.c_void_p), ("q_halt", ctypes.c_void_p), ("confidence", ctypes.c_void_p),
                ("steps", ctypes.c_void_p), ("verdict", ctypes.c_void_p), ("violations", ctypes.c_void_p)]


class _BuildResult(ctypes.Structure):  # trm_build_result
    _fields_ = [(n, ctypes.c_long) for n in ("train_groups", "train_puzzles", "train_examples", "test_groups",
                                             "test_puzzles", "test_examples", "identifiers", "leaks_dropped",
                                             "short_groups")] + [("ratings_json", ctypes.c_void_p)]


class _NonFinite(ctypes.Structure):  # trm_nonfinite
    _fields_ = [("tensors", ctypes.c_int), ("first", ctypes.c_char_p),
                ("first_count", ctypes.c_int64), ("first_numel", ctypes.c_int64)]


_JSON_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)
_P, _E, _I, _S = ctypes.c_void_p, ctypes.POINTER(_Err), ctypes.c_int, ctypes.c_char_p

# name: (restype, argtypes)
_SIGNATURES = {
    "trm_checkpoint_load": (_P, [_S, _E]),
    "trm_model_free": (None, [_P]),
    "trm_model_nonfinite": (_I, [_P, ctypes.POINTER(_NonFinite)]),
    "trm_model_config": (_P, [_P]),
    "trm_config_to_json": (_P, [_P]),
    "trm_free": (None, [_P]),
    "trm_task_detect": (_P, [_I, _I]),
    "trm_task_by_name": (_P, [_S]),
    "trm_task_name": (_S, [_P]),
    "trm_task_parse": (_I, [_P, _S, _I, _P, _P, ctypes.POINTER(ctypes.c_bool), _E]),
    "trm_task_format": (_I, [_P, _P, _I, ctypes.c_char_p, ctypes.c_size_t, _E]),
    "trm_solve": (_I, [_P, _P, ctypes.POINTER(_Batch), ctypes.POINTER(_SolveOpts), ctypes.POINTER(_SolveOut), _E]),
    "trm_act_new": (_P, [_P, _I, _I, ctypes.c_uint64, _E]),
    "trm_act_free": (None, [_P]),
    "trm_act_step": (_I, [_P, _P, ctypes.POINTER(_Batch), _P, _E]),
    "trm_act_set_step_cap": (None, [_P, _I]),
    "trm_act_logits": (_P, [_P]),
    "trm_act_q_halt": (_P, [_P]),
    "trm_act_steps": (_P, [_P]),
    "trm_config_new": (_P, [_S, _E]),
    "trm_config_set": (_I, [_P, _S, _S, _E]),
    "trm_train_config_new": (_P, []),
    "trm_train_config_set": (_I, [_P, _S, _S, _E]),
    "trm_train_run_json": (_I, [_P, _P, _S, _S, ctypes.c_bool, ctypes.c_bool, _JSON_FN, _P, _E]),
    "trm_build_args_new": (_P, [_S, _E]),
    "trm_build_args_set": (_I, [_P, _S, _S, _E]),
    "trm_build_args_run": (_I, [_P, ctypes.POINTER(_BuildResult), _E]),
    "trm_build_args_free": (None, [_P]),
    "trm_build_result_free": (None, [ctypes.POINTER(_BuildResult)]),
}

_lib = None


def _L():
    """The loaded library, its signatures declared (loaded on first use)."""
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(library_path())
        for name, (res, args) in _SIGNATURES.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        _lib = lib
    return _lib


def _call(fn, *args):
    """Calls fn(*args, err); raises TrmError with the message on -1 / NULL."""
    err = _Err()
    r = fn(*args, ctypes.byref(err))
    if r is None or (isinstance(r, int) and r == -1 and fn.restype is _I):
        raise TrmError(err.msg.decode(errors="replace") or "%s failed" % fn.__name__)
    return r


def _b(s):
    return os.fsencode(s) if isinstance(s, (str, os.PathLike)) else s


def _text(v):
    """A Python value as the text the library's key=value setters read."""
    if isinstance(v, bool):
        return b"true" if v else b"false"
    return str(v).encode()


def _ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p) if a is not None else None


# ---------------------------------------------------------------- models

Solution = namedtuple("Solution", "tokens confidence steps q_halt")
Solution.__doc__ = """What Model.solve returns: tokens int32 [n, seq_len], confidence float64 [n]
(sigmoid(q_halt)), steps int32 [n] (supervision steps run), q_halt float32 [n]."""


class Model:
    """A trained model (trm_model) and the task its vocabulary fits."""

    def __init__(self, handle):
        self._m = handle
        cfg = _L().trm_model_config(handle)
        s = _L().trm_config_to_json(cfg)
        try:
            self.config = json.loads(ctypes.string_at(s).decode())
        finally:
            _L().trm_free(s)
        self.seq_len = int(self.config["seq_len"])
        self.vocab_size = int(self.config["vocab_size"])
        self._task = _L().trm_task_detect(self.vocab_size, self.seq_len)
        self.task = _L().trm_task_name(self._task).decode() if self._task else None

    @classmethod
    def load(cls, path):
        """Loads a checkpoint (trm_checkpoint_load). Weights holding NaN or
        infinite values load (a diverged run's checkpoint is worth reading)
        with a RuntimeWarning naming the file and the tensor, the warning
        trm's commands print."""
        m = cls(_call(_L().trm_checkpoint_load, _b(path)))
        nf = _NonFinite()
        if _L().trm_model_nonfinite(m._m, ctypes.byref(nf)):
            msg = "%s: tensor %s has %d NaN or infinite values of %d" % (
                os.fsdecode(path), (nf.first or b"?").decode(errors="replace"), nf.first_count, nf.first_numel)
            if nf.tensors > 1:
                msg += " (%d tensors have some)" % nf.tensors
            warnings.warn(msg + "; the model's outputs will not be finite", RuntimeWarning, stacklevel=2)
        return m

    def close(self):
        """Frees the model (also at the end of a with block, or when collected)."""
        # _lib, not _L(): at interpreter exit the module's globals may be gone
        if getattr(self, "_m", None) and _lib is not None:
            _lib.trm_model_free(self._m)
        self._m = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if not self._m:
            raise TrmError("the model is closed")
        return self._m

    def _tokens(self, inputs):
        """inputs as a C-contiguous int32 [n, seq_len] array."""
        x = np.asarray(inputs)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.seq_len or x.shape[0] < 1:
            raise ValueError("inputs: expected an array of shape [n, %d] (n >= 1), got %s"
                             % (self.seq_len, tuple(np.shape(inputs))))
        if x.dtype.kind not in "iu":
            raise ValueError("inputs: expected integer token ids, got dtype %s" % x.dtype)
        return np.ascontiguousarray(x, dtype=np.int32)

    def _rows(self, inputs, puzzle_ids):
        """inputs as _tokens does, and puzzle_ids as int32 [n] (or None)."""
        x = self._tokens(inputs)
        if puzzle_ids is None:
            return x, None
        pid = np.ascontiguousarray(puzzle_ids, dtype=np.int32).reshape(-1)
        if pid.shape[0] != x.shape[0]:
            raise ValueError("puzzle_ids: expected %d ids, got %d" % (x.shape[0], pid.shape[0]))
        return x, pid

    def _need_task(self):
        if not self._task:
            raise TrmError("no task has vocabulary %d and %d tokens" % (self.vocab_size, self.seq_len))
        return self._task

    def parse(self, puzzles):
        """Puzzle texts (the task's one-line form, as trm solve reads) ->
        int32 [n, seq_len] input tokens."""
        if isinstance(puzzles, (str, bytes)):
            puzzles = [puzzles]
        task = self._need_task()
        out = np.zeros((len(puzzles), self.seq_len), dtype=np.int32)
        for i, p in enumerate(puzzles):
            _call(_L().trm_task_parse, task, _b(p) if isinstance(p, bytes) else p.encode(), self.seq_len,
                  _ptr(out[i]), None, None)
        return out

    def format(self, tokens):
        """One row of tokens [seq_len] -> the task's text form."""
        x = self._tokens(tokens)
        if x.shape[0] != 1:
            raise ValueError("format: expected one row of %d tokens, got %d rows" % (self.seq_len, x.shape[0]))
        buf = ctypes.create_string_buffer(2 * self.seq_len + 2)
        _call(_L().trm_task_format, self._need_task(), _ptr(x), self.seq_len, buf, len(buf))
        return buf.value.decode()

    def solve(self, inputs, max_steps=0, puzzle_ids=None):
        """Solves a batch (trm_solve): every row from a fresh carry, up to
        max_steps supervision steps (0: the model's halt_max_steps)."""
        if int(max_steps) < 0:
            raise ValueError("max_steps: expected >= 0 (0: the model's halt_max_steps), got %r" % (max_steps,))
        x, pid = self._rows(inputs, puzzle_ids)
        n = x.shape[0]
        tokens = np.zeros((n, self.seq_len), dtype=np.int32)
        conf = np.zeros(n, dtype=np.float64)
        steps = np.zeros(n, dtype=np.int32)
        q = np.zeros(n, dtype=np.float32)
        batch = _Batch(n, _ptr(x), None, _ptr(pid))
        opts = _SolveOpts(max_steps=int(max_steps))
        out = _SolveOut(tokens=_ptr(tokens), q_halt=_ptr(q), confidence=_ptr(conf), steps=_ptr(steps))
        _call(_L().trm_solve, self._live(), None, ctypes.byref(batch), ctypes.byref(opts), ctypes.byref(out))
        return Solution(tokens, conf, steps, q)

    def run_steps(self, inputs, k, puzzle_ids=None):
        """Runs k supervision steps (trm_act_step, evaluation mode, fresh
        carry, no halting before step k) -> (logits float32 [n, seq_len,
        vocab], q_halt float32 [n]) of the last step."""
        if int(k) < 1:
            raise ValueError("k: expected >= 1 supervision steps, got %r" % (k,))
        x, pid = self._rows(inputs, puzzle_ids)
        n = x.shape[0]
        lib = _L()
        a = _call(lib.trm_act_new, self._live(), n, 0, 0)  # TRM_EVAL
        try:
            lib.trm_act_set_step_cap(a, int(k))
            batch = _Batch(n, _ptr(x), None, _ptr(pid))
            for _ in range(int(k)):
                _call(lib.trm_act_step, self._m, a, ctypes.byref(batch), None)
            shape = (n, self.seq_len, self.vocab_size)
            logits = np.ctypeslib.as_array(ctypes.cast(lib.trm_act_logits(a), ctypes.POINTER(ctypes.c_float)),
                                           shape=shape).copy()
            q = np.ctypeslib.as_array(ctypes.cast(lib.trm_act_q_halt(a), ctypes.POINTER(ctypes.c_float)),
                                      shape=(n,)).copy()
        finally:
            lib.trm_act_free(a)
        return logits, q


# ---------------------------------------------------------------- training

def train(data_dir, out_dir, preset=None, options=None, progress=None, stop=None, resume=False, force=False):
    """Trains (trm_train_run) on data_dir/train into out_dir.

    preset: an architecture preset ("tiny", "sudoku-att", ...), else the
    reference defaults. options: {key: value} of architecture and training
    fields, as `trm train KEY=VALUE` takes them. progress(record) is called
    with each report as a dict ({"type": "progress"|"eval"|"eval_progress"|
    "event", ...}); a true return value stops the run (state saved). stop:
    an object with is_set() (threading.Event) checked at each report.
    Returns the last event record (kind "done", "stopped" or
    "interrupted", with checkpoint_path)."""
    lib = _L()
    arch = _call(lib.trm_config_new, preset.encode() if preset else None)
    tc = lib.trm_train_config_new()
    last = {}
    failure = []

    def on_record(_ctx, rec):
        try:
            r = json.loads(rec.decode())
            if r["type"] == "event":
                last.clear()
                last.update(r)
            want_stop = bool(progress(r)) if progress else False
            return 1 if want_stop or (stop is not None and stop.is_set()) else 0
        except BaseException as e:  # KeyboardInterrupt included: stop, save, raise after
            failure.append(e)
            return 1

    try:
        if not tc:
            raise TrmError("out of memory")
        for key, value in (options or {}).items():
            err = _Err()
            r = lib.trm_train_config_set(tc, key.encode(), _text(value), ctypes.byref(err))
            if r == 1:
                r = lib.trm_config_set(arch, key.encode(), _text(value), ctypes.byref(err))
            if r != 0:
                raise TrmError(err.msg.decode(errors="replace"))
        cb = _JSON_FN(on_record)
        _call(lib.trm_train_run_json, arch, tc, _b(data_dir), _b(out_dir), bool(resume), bool(force), cb, None)
    finally:
        lib.trm_free(arch)
        lib.trm_free(tc)
    if failure:
        raise failure[0]
    return dict(last)


# ---------------------------------------------------------------- datasets

def build_dataset(task, out, **options):
    """Builds task's dataset ("sudoku", "sudoku4", "maze", "arc") into out
    (trm_build_dataset); options are the builder's keys (input, test_input,
    train_size, test_size, seed, blanks, aug, ...: docs/python.md). Returns
    what was written as a dict (train_examples, test_examples, ...)."""
    lib = _L()
    b = _call(lib.trm_build_args_new, task.encode())
    res = _BuildResult()
    try:
        for key, value in [("out", os.fspath(out))] + list(options.items()):
            _call(lib.trm_build_args_set, b, key.encode(), _text(value))
        _call(lib.trm_build_args_run, b, ctypes.byref(res))
    finally:
        lib.trm_build_args_free(b)
    d = {name: getattr(res, name) for name, _ in _BuildResult._fields_ if name != "ratings_json"}
    if res.ratings_json:
        d["ratings"] = json.loads("{" + ctypes.string_at(res.ratings_json).decode() + "}")
    lib.trm_build_result_free(ctypes.byref(res))
    return d
