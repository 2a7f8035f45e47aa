#!/usr/bin/env bash
# tests/install.sh TRM - libtrm installed like a library (TAP lines): make
# install into a temporary prefix (and with DESTDIR), the files, soname and
# trm.pc it puts there, examples/solve.c built against that installed copy
# with pkg-config (shared and static), its answer to a shipped model's
# puzzle equal to trm solve's, and make uninstall removing it all again.
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err
BUILD=$(dirname "$TRM")
P=$TMP/prefix
CK=models/sudoku-cpu.safetensors
# a held-out puzzle of the showcase file (question column)
Q=$(grep -v '^#' models/sudoku-cpu-showcase.csv | sed -n 2p | cut -d, -f1)
VERSION=$(sed -n 's/^#define TRM_VERSION "\(.*\)"/\1/p' include/trm.h)
# A sanitizer build's libraries need the sanitizer runtime in whatever
# links them: the example gets the same flags (and none of an outer make's
# command-line variables, which MAKEFLAGS would pass down).
SAN=
if nm "$BUILD/libtrm.a" 2>/dev/null | grep -q ' U __asan_'; then SAN="-fsanitize=address,undefined"; fi
# make with this build's folder only: everything is built already, so
# install copies and builds nothing but trm.pc
inst() { make -s --no-print-directory BUILD="$BUILD" "$@"; }

expect_ok "make install PREFIX=tmp" inst install PREFIX="$P"
missing=
for f in lib/libtrm.a "lib/libtrm.so.$VERSION" lib/libtrm.so.0 lib/libtrm.so include/trm.h lib/pkgconfig/trm.pc bin/trm; do
    [ -e "$P/$f" ] || missing+=" $f"
done
[ -z "$missing" ] && ok "installed: libtrm.a, libtrm.so(.0, .$VERSION), trm.h, trm.pc, trm" || bad "install lacks$missing"
[ "$(readlink "$P/lib/libtrm.so.0")" = "libtrm.so.$VERSION" ] && [ "$(readlink "$P/lib/libtrm.so")" = "libtrm.so.$VERSION" ] \
    && ok "libtrm.so and libtrm.so.0 link to libtrm.so.$VERSION" || bad "libtrm.so symlinks"
readelf -d "$P/lib/libtrm.so.$VERSION" | grep -q 'SONAME.*\[libtrm\.so\.0\]' && ok "soname libtrm.so.0" || bad "soname"

# symbol visibility: libtrm.so is built with -fvisibility=hidden and
# exports exactly the functions the installed trm.h marks TRM_API (every
# exported symbol declared there, every declared one exported), and trm.h
# declares no function at file scope without TRM_API
H=$P/include/trm.h
tr '\n' ' ' <"$H" | grep -oE 'TRM_API [^(;{]*\(' | grep -oE '[A-Za-z_][A-Za-z0-9_]*\($' | tr -d '(' \
    | grep -v '^__attribute__$' | sort -u >"$TMP/declared"
nm -D --defined-only "$P/lib/libtrm.so.$VERSION" | awk '{print $NF}' | sort -u >"$TMP/exported"
undeclared=$(comm -13 "$TMP/declared" "$TMP/exported" | tr '\n' ' ')
unexported=$(comm -23 "$TMP/declared" "$TMP/exported" | tr '\n' ' ')
[ -s "$TMP/exported" ] && [ -z "$undeclared" ] \
    && ok "libtrm.so exports only trm.h's TRM_API functions ($(wc -l <"$TMP/exported") symbols)" \
    || bad "libtrm.so exports symbols trm.h does not declare: $undeclared"
[ -s "$TMP/declared" ] && [ -z "$unexported" ] && ok "every TRM_API function of trm.h is exported" \
    || bad "declared TRM_API but not exported by libtrm.so: $unexported"
bare=$(grep -nE '^[A-Za-z_][A-Za-z0-9_ ]*[ *]trm_[A-Za-z0-9_]+\(' "$H" | grep -v ':typedef ' | grep -v ':TRM_API ')
[ -z "$bare" ] && ok "every function declared in trm.h is marked TRM_API" || bad "trm.h declarations without TRM_API: $bare"
nm "$P/lib/libtrm.a" | grep -q ' T build_generate_all$' && ok "libtrm.a keeps the internal symbols (the tests link them)" \
    || bad "libtrm.a lacks internal symbols"
# naming (trm.h conventions): trm_ is the public prefix, so the trm_
# symbols of libtrm.a are exactly trm.h's; internal ones carry their
# module's prefix (util_parse_ll, task_list, loader_new, ...)
nm -g --defined-only "$P/lib/libtrm.a" | awk 'NF == 3 {print $3}' | grep '^trm_' | sort -u >"$TMP/trm_syms"
internal=$(comm -23 "$TMP/trm_syms" "$TMP/declared" | tr '\n' ' ')
[ -s "$TMP/trm_syms" ] && [ -z "$internal" ] && ok "every trm_ symbol of libtrm.a is declared in trm.h" \
    || bad "libtrm.a symbols named trm_ that trm.h does not declare: $internal"

if ! command -v pkg-config >/dev/null; then
    skip "example against the installed library" "pkg-config not installed"
else
    export PKG_CONFIG_PATH=$P/lib/pkgconfig
    [ "$(pkg-config --modversion trm)" = "$VERSION" ] && ok "pkg-config --modversion trm = $VERSION" || bad "pkg-config modversion"
    libs=$(pkg-config --static --libs trm)
    { [[ $libs == *-ltrm* && $libs == *-lcjson* && $libs == *-lpng* && $libs == *-fopenmp* && $libs == *-lm* ]]; } \
        && ok "pkg-config --static --libs trm lists cjson, png, -fopenmp, -lm" || bad "static libs: $libs"
    # an MPI build's libtrm.a calls MPI (src/dist, data-parallel training):
    # a static link of a program that trains needs MPI's library too
    if nm "$BUILD/libtrm.a" 2>/dev/null | grep -q ' U MPI_'; then
        [[ $libs == *-lmpi* ]] && ok "pkg-config --static --libs trm lists MPI's library (MPI build)" \
            || bad "static libs of an MPI build lack -lmpi: $libs"
    else
        skip "MPI in the static libs" "$BUILD/libtrm.a was built without MPI"
    fi
    # the CLI's answer, from the installed binary
    expect_ok "installed trm solves the puzzle" "$P/bin/trm" solve --checkpoint "$CK" --json "$Q"
    want=$($PY -c 'import json,sys; d=json.load(sys.stdin); print(d["solution"], "%.6f" % d["confidence"], d["steps"])' <"$TMP/out")
    for kind in shared static; do
        bin=$TMP/solve-$kind
        st=0; [ $kind = static ] && st=1
        expect_ok "examples/solve.c builds against the installed $kind library" \
            env -u MAKEFLAGS -u MFLAGS CFLAGS="$SAN" LDFLAGS="$SAN" make -s -B --no-print-directory -C examples BIN="$bin" STATIC=$st
        if [ $kind = shared ]; then
            readelf -d "$bin" | grep -q 'NEEDED.*libtrm\.so\.0' && ok "shared example needs libtrm.so.0" || bad "shared example NEEDED"
        else
            [ -x "$bin" ] && ! readelf -d "$bin" | grep -q "NEEDED.*libtrm" && ok "static example needs no libtrm.so" || bad "static example: missing or needs libtrm.so"
        fi
        expect_ok "$kind example solves the puzzle" env LD_LIBRARY_PATH="$P/lib" "$bin" "$CK" "$Q"
        got=$(awk '/^solution/{s=$2} /^confidence/{c=$2} /^steps/{k=$2} END{print s, c, k}' "$TMP/out")
        [ -n "$want" ] && [ "$got" = "$want" ] && ok "$kind example: same answer, confidence, steps as trm solve" \
            || bad "$kind example: got '$got', trm solve '$want'"
        if [ $kind = shared ]; then
            LD_LIBRARY_PATH="$P/lib" ldd "$bin" | grep -q "libtrm.so.0 => $P/lib/" && ok "shared example loads the installed libtrm.so.0" \
                || bad "shared example loads another libtrm"
        fi
    done
    expect_err "example: a bad puzzle is one error line" '^solve: puzzle: .*81' \
        env LD_LIBRARY_PATH="$P/lib" "$TMP/solve-shared" "$CK" "12345"
    expect_err "example: a missing checkpoint is one error line" "^solve: $TMP/nope: " \
        env LD_LIBRARY_PATH="$P/lib" "$TMP/solve-shared" "$TMP/nope" "$Q"
fi

expect_ok "make uninstall" inst uninstall PREFIX="$P"
left=$(find "$P" -type f -o -type l)
[ -z "$left" ] && ok "uninstall removes every installed file" || bad "left after uninstall: $left"

expect_ok "make install DESTDIR=stage PREFIX=/opt/trm" inst install DESTDIR="$TMP/stage" PREFIX=/opt/trm
grep -qx 'prefix=/opt/trm' "$TMP/stage/opt/trm/lib/pkgconfig/trm.pc" && [ -x "$TMP/stage/opt/trm/bin/trm" ] \
    && ok "DESTDIR stages under DESTDIR, trm.pc names the real prefix" || bad "DESTDIR install"

echo "1..$n"
