"""python/tests/test_trm.py - the trm Python package over libtrm.so
(tests/python.sh runs it): loading a shipped model, solving and reading
supervision steps, bad input raising the library's one-line message,
building a dataset, training with progress reports, stopping and resuming,
the warning for a checkpoint with non-finite weights.
Run: TRM_LIB=build/libtrm.so /usr/bin/python3 python/tests/test_trm.py [--tap]"""
import os
import shutil
import subprocess
import sys
import tempfile
import json
import re
import struct
import unittest
import warnings

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import trm  # noqa: E402

SUDOKU = os.path.join(ROOT, "models", "sudoku-cpu.safetensors")


def showcase(n):
    """The first n (question, answer) pairs of the shipped showcase file."""
    rows = [l.strip().split(",") for l in open(os.path.join(ROOT, "models", "sudoku-cpu-showcase.csv"))
            if l.strip() and not l.startswith("#")][1:]
    return rows[:n]


class SolveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = trm.Model.load(SUDOKU)

    def test_config_and_task(self):
        m = self.model
        self.assertEqual((m.task, m.seq_len, m.vocab_size), ("sudoku", 81, 11))
        self.assertEqual(m.config["hidden_size"], 64)

    def test_solve_showcase(self):
        q, a = showcase(1)[0]
        x = self.model.parse(q)
        self.assertEqual((x.shape, x.dtype), ((1, 81), np.int32))
        self.assertEqual(self.model.format(x[0]), q)
        sol = self.model.solve(x)
        self.assertEqual(self.model.format(sol.tokens[0]), a)
        self.assertGreater(sol.confidence[0], 0.5)
        self.assertAlmostEqual(sol.confidence[0], 1 / (1 + np.exp(-float(sol.q_halt[0]))), places=6)
        self.assertEqual(sol.steps[0], self.model.config["halt_max_steps"])

    def test_batch_equals_rows(self):
        x = self.model.parse([q for q, _ in showcase(3)])
        whole = self.model.solve(x)
        for i in range(3):
            one = self.model.solve(x[i])
            np.testing.assert_array_equal(one.tokens[0], whole.tokens[i])
            self.assertEqual(one.q_halt[0], whole.q_halt[i])

    def test_run_steps_matches_solve(self):
        x = self.model.parse([q for q, _ in showcase(2)])
        for k in (1, 3):
            logits, q = self.model.run_steps(x, k)
            self.assertEqual(logits.shape, (2, 81, 11))
            sol = self.model.solve(x, max_steps=k)
            np.testing.assert_array_equal(logits.argmax(-1), sol.tokens)
            np.testing.assert_array_equal(q, sol.q_halt)

    def test_bad_input(self):
        m = self.model
        with self.assertRaisesRegex(trm.TrmError, r"^expected 81 cells"):
            m.parse("123")
        x = m.parse(showcase(1)[0][0])
        x[0, 5] = 99
        with self.assertRaisesRegex(trm.TrmError, r"^inputs\[0\]\[5\]: token id 99 out of range \[0, 11\)$"):
            m.solve(x)
        with self.assertRaisesRegex(trm.TrmError, r"token id 99"):
            m.run_steps(x, 2)
        with self.assertRaisesRegex(ValueError, r"shape \[n, 81\]"):
            m.solve(np.zeros((2, 80), dtype=np.int32))
        with self.assertRaisesRegex(ValueError, r"integer token ids"):
            m.solve(np.zeros((1, 81), dtype=np.float32))
        with self.assertRaisesRegex(ValueError, r"k: expected >= 1"):
            m.run_steps(x, 0)
        with self.assertRaisesRegex(ValueError, r"max_steps: expected >= 0"):
            m.solve(m.parse(showcase(1)[0][0]), max_steps=-1)
        with self.assertRaisesRegex(ValueError, r"puzzle_ids: expected 1 ids, got 2"):
            m.solve(x, puzzle_ids=[0, 0])
        with self.assertRaisesRegex(trm.TrmError, r"/nonexistent\.safetensors"):
            trm.Model.load("/nonexistent.safetensors")


def with_nonfinite(src, dst, values):
    """A copy of checkpoint src at dst with values {tensor name: [floats]}
    written over the first elements of those F32 tensors."""
    with open(src, "rb") as f:
        blob = bytearray(f.read())
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    for name, vals in values.items():
        t = header[name]
        assert t["dtype"] == "F32", t
        at = 8 + n + t["data_offsets"][0]
        blob[at:at + 4 * len(vals)] = struct.pack("<%df" % len(vals), *vals)
    with open(dst, "wb") as f:
        f.write(blob)


class NonFiniteTest(unittest.TestCase):
    """Non-finite weights load with one RuntimeWarning naming the file and
    the tensor (the CLI's warning line, cli_checkpoint_load)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="trm_py_nan_")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def load(self, path):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m = trm.Model.load(path)
        m.close()
        return [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]

    def test_finite_model_loads_quietly(self):
        self.assertEqual(self.load(SUDOKU), [])

    def test_one_tensor(self):
        p = os.path.join(self.tmp, "nan.safetensors")
        with_nonfinite(SUDOKU, p, {"model.inner.lm_head.weight": [float("nan"), float("inf")]})
        self.assertEqual(self.load(p), [
            "%s: tensor lm_head.weight has 2 NaN or infinite values of 704; "
            "the model's outputs will not be finite" % p])

    def test_several_tensors(self):
        p = os.path.join(self.tmp, "inf.safetensors")
        with_nonfinite(SUDOKU, p, {"model.inner.q_head.bias": [float("-inf")],
                                   "model.inner.H_init": [float("nan")] * 3})
        msgs = self.load(p)
        self.assertEqual(len(msgs), 1, msgs)
        self.assertRegex(msgs[0], r"^%s: tensor \S+ has \d+ NaN or infinite values of \d+ \(2 tensors have some\); "
                                  r"the model's outputs will not be finite$" % re.escape(p))


class LibraryPathTest(unittest.TestCase):
    def run_py(self, env):
        code = "import sys; sys.path.insert(0, %r); import trm; print(trm.library_path())" % os.path.join(ROOT, "python")
        e = {k: v for k, v in os.environ.items() if k != "TRM_LIB"}
        e.update(env)
        return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True)

    def test_trm_lib_missing_file(self):
        r = self.run_py({"TRM_LIB": "/nonexistent/libtrm.so"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("trm.TrmError: TRM_LIB=/nonexistent/libtrm.so: no such file", r.stderr)

    def test_build_folder_fallback(self):
        if not os.path.isfile(os.path.join(ROOT, "build", "libtrm.so")):
            self.skipTest("no build/libtrm.so (make not run in the repository)")
        r = self.run_py({})
        self.assertEqual(r.stdout.strip(), os.path.join(ROOT, "build", "libtrm.so"), r.stderr)


class TrainTest(unittest.TestCase):
    """A small 4x4 Sudoku dataset, built and trained on from Python."""
    ARCH = {"hidden_size": 16, "num_heads": 2, "expansion": 2, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
            "halt_max_steps": 2, "puzzle_emb_ndim": 16, "puzzle_emb_len": 1}
    TRAIN = {"global_batch_size": 8, "epochs": 4, "eval_interval": 0, "max_steps": 6, "log_every": 1,
             "eval_max_examples": 8, "lr_warmup_steps": 2, "ema": False}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="trm_py_")
        cls.data = os.path.join(cls.tmp, "data")
        cls.built = trm.build_dataset("sudoku4", cls.data, train_size=64, test_size=16, blanks=6, seed=3)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_build(self):
        self.assertEqual((self.built["train_examples"], self.built["test_examples"]), (64, 16))
        self.assertTrue(os.path.isfile(os.path.join(self.data, "identifiers.json")))

    def test_build_errors(self):
        with self.assertRaisesRegex(trm.TrmError, r"^build option blanks: expected an integer in \[1, 12\], got '13'$"):
            trm.build_dataset("sudoku4", os.path.join(self.tmp, "x"), blanks=13)
        with self.assertRaisesRegex(trm.TrmError, r"^unknown task 'chess'"):
            trm.build_dataset("chess", os.path.join(self.tmp, "x"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))

    def test_train_stop_resume_solve(self):
        out = os.path.join(self.tmp, "run")
        opts = dict(self.ARCH, **self.TRAIN)
        seen = []

        def stop_at_3(r):
            seen.append(r)
            return r["type"] == "progress" and r["step"] == 3

        ev = trm.train(self.data, out, options=opts, progress=stop_at_3)
        self.assertEqual((ev["kind"], ev["step"]), ("interrupted", 3))
        self.assertEqual([r["step"] for r in seen if r["type"] == "progress"], [1, 2, 3])
        self.assertTrue(all(np.isfinite(r["lm_loss"]) for r in seen if r["type"] == "progress"))
        ev = trm.train(self.data, out, options=opts, resume=True)
        self.assertEqual((ev["kind"], ev["step"]), ("done", 6))
        m = trm.Model.load(ev["checkpoint_path"])
        self.assertEqual((m.task, m.seq_len), ("sudoku4", 16))
        sol = m.solve(np.zeros((4, 16), dtype=np.int32) + 1)
        self.assertEqual(sol.tokens.shape, (4, 16))

    def test_train_errors(self):
        with self.assertRaisesRegex(trm.TrmError, r"hidden_size"):
            trm.train(self.data, os.path.join(self.tmp, "bad"), options={"hidden_size": "big"})
        with self.assertRaisesRegex(trm.TrmError, r"nodata"):
            trm.train(os.path.join(self.tmp, "nodata"), os.path.join(self.tmp, "bad2"), options=self.TRAIN)

    def test_callback_exception_stops_and_raises(self):
        def boom(r):
            if r["type"] == "progress":
                raise RuntimeError("from the callback")
        with self.assertRaisesRegex(RuntimeError, "from the callback"):
            trm.train(self.data, os.path.join(self.tmp, "boom"), options=dict(self.ARCH, **self.TRAIN), progress=boom)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "boom", "state.safetensors")))


class TapResult(unittest.TextTestResult):
    """One TAP line per test, as tests/run.sh counts them."""
    n = 0

    def _line(self, test, status, note=""):
        TapResult.n += 1
        print("%s %d - %s%s" % (status, TapResult.n, test.id().split(".", 1)[-1], note), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, "not ok")

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, "not ok")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, "ok", " # skip " + reason)


if __name__ == "__main__":
    if "--tap" in sys.argv:
        sys.argv.remove("--tap")
        runner = unittest.TextTestRunner(resultclass=TapResult, stream=sys.stderr, verbosity=0)
        prog = unittest.main(testRunner=runner, exit=False)
        print("1..%d" % TapResult.n)
        sys.exit(0 if prog.result.wasSuccessful() else 1)
    unittest.main()
