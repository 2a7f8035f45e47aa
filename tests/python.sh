#!/usr/bin/env bash
# tests/python.sh TRM - the trm Python package (python/trm, ctypes over
# BUILD/libtrm.so) with Debian's /usr/bin/python3: python/tests/test_trm.py
# under unittest, one TAP line per test. Named skips: no numpy, or a
# sanitizer build (its libtrm.so needs the ASan runtime preloaded into
# python, which ASan does not support cleanly; test_bind.c covers the C
# helpers the package uses under the sanitizers).
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad/skip
BUILD=$(dirname "$TRM")
if ! $PY -c 'import numpy' 2>/dev/null; then
    skip "python/tests/test_trm.py" "numpy not installed for $PY"
    echo "1..$n"; exit 0
fi
if nm "$BUILD/libtrm.a" 2>/dev/null | grep -q ' U __asan_'; then
    skip "python/tests/test_trm.py" "sanitizer build: python cannot load an ASan libtrm.so"
    echo "1..$n"; exit 0
fi
# OMP_NUM_THREADS=1: the shared machine; results do not depend on it
TRM_LIB=$BUILD/libtrm.so OMP_NUM_THREADS=1 $PY python/tests/test_trm.py --tap
