# trm - Tiny Recursive Models in C.
#   make            build build/trm and build/libtrm.a
#   make test       build and run the test suite (tests/run.sh)
#   make sanitize   the same suite under AddressSanitizer + UBSan (build-asan/)
#   make check      test + sanitize + 5 s of each fuzzer + the ARM64 stage
#                   (what CI runs)
#   make cross-arm64  cross-compile build-arm64/ (aarch64-linux-gnu-gcc, BLAS=0)
#   make test-arm64   that build's NEON kernel and model parity tests under
#                   qemu-aarch64 (tests/cross_arm64.sh; a named skip without
#                   the cross tools; ARM64_TESTS="$(ARM64_TESTS_ALL)": all)
#   make CC=clang   builds as well (clang-14 or newer)
#   make BLAS=0     build without OpenBLAS (portable matmul only)
#   make MPI=1|0    with / without MPI data-parallel training (docs/mpi.md);
#                   default: with it when OpenMPI's mpicc is installed
#   make fuzz       libFuzzer harnesses (fuzz/, clang + libFuzzer, build-fuzz/),
#                   FUZZ_SECONDS (default 60) each; make check runs them 5 s each

CC      ?= gcc
BUILD   ?= build
BLAS    ?= 1
OPT     ?= -O2
# OpenMP flags: Homebrew clang on macOS takes -fopenmp too once libomp's
# prefix is on CPATH/LIBRARY_PATH (docs/install.md)
OMPFLAGS ?= -fopenmp
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra $(OMPFLAGS) -D_GNU_SOURCE -Iinclude -Isrc
LDFLAGS += $(OMPFLAGS)

# Include and link flags from pkg-config (any distribution, Homebrew, a
# cross sysroot through PKG_CONFIG), with the plain library names as the
# fallback when a package has no .pc file. Immediate (:=) so pkg-config
# runs once per make; `make VAR=...` on the command line still overrides.
PKG_CONFIG ?= pkg-config
pc_flags = $(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null || echo $(3))
DEP_CFLAGS := $(call pc_flags,--cflags,libcjson libpng)
DEP_LIBS   := $(call pc_flags,--libs,libcjson libpng,-lcjson -lpng)
CMOCKA_LIBS := $(call pc_flags,--libs,cmocka,-lcmocka)
ifeq ($(BLAS),1)
# Debian/Ubuntu/Homebrew ship openblas.pc; some distributions only cblas.pc
BLAS_CFLAGS := $(shell $(PKG_CONFIG) --cflags openblas 2>/dev/null || $(PKG_CONFIG) --cflags cblas 2>/dev/null)
BLAS_LIBS   := $(shell $(PKG_CONFIG) --libs openblas 2>/dev/null || $(PKG_CONFIG) --libs cblas 2>/dev/null || echo -lopenblas)
CFLAGS  += -DTRM_HAVE_BLAS $(BLAS_CFLAGS)
endif
CFLAGS  += $(DEP_CFLAGS)
LDLIBS  += $(BLAS_LIBS) $(DEP_LIBS) -lm
MPI     ?= $(if $(shell command -v mpicc 2>/dev/null),1,0)
ifeq ($(MPI),1)
# OpenMPI's wrapper knows its flags; other MPIs ship a pkg-config file
MPI_CFLAGS ?= $(shell mpicc --showme:compile 2>/dev/null || $(PKG_CONFIG) --cflags mpi)
MPI_LIBS   ?= $(shell mpicc --showme:link 2>/dev/null || $(PKG_CONFIG) --libs mpi)
CFLAGS  += -DTRM_HAVE_MPI $(MPI_CFLAGS)
LDLIBS  += $(MPI_LIBS)
endif

LIB_SRC  := $(wildcard src/core/*.c src/kernels/*.c src/model/*.c src/optim/*.c src/io/*.c src/data/*.c src/tasks/*.c src/train/*.c src/eval/*.c src/search/*.c src/render/*.c src/dist/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
# test-only helpers (tests/support): linked into every test, not into libtrm
TEST_SUPPORT := $(wildcard tests/support/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
HEADERS  := include/trm.h $(wildcard src/*/*.h tests/*.h tests/support/*.h)

all: $(BUILD)/trm $(BUILD)/libtrm.a

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libtrm.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/trm: $(CLI_OBJ) $(BUILD)/libtrm.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) $(BUILD)/libtrm.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(TEST_SUPPORT) $(BUILD)/libtrm.a -o $@ $(LDLIBS) $(CMOCKA_LIBS)

# the fuzz harnesses with a plain main (fuzz/replay_main.c): tests/run.sh
# replays the committed crash inputs with them in every build
FUZZ_NAMES   := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
REPLAY_BIN   := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)

$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay_main.c fuzz/fuzz_util.h $(BUILD)/libtrm.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< fuzz/replay_main.c $(BUILD)/libtrm.a -o $@ $(LDLIBS)

tests: $(TEST_BIN) $(REPLAY_BIN)

test: all tests
	tests/run.sh $(BUILD)

sanitize:
	TRM_FUZZ_SECONDS= TRM_SUITE_PASS=sanitizer $(MAKE) BUILD=build-asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDFLAGS="-fopenmp -fsanitize=address,undefined" test

# the fuzz stage runs once, in the optimized pass (its harnesses carry
# their own sanitizers)
# Builds run on every core (JOBS; the stages' scripts build the fuzz and
# ARM64 trees with the same count), the tests themselves one after another.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
export JOBS
check:
	TRM_FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) $(MAKE) -j$(JOBS) test
	$(MAKE) -j$(JOBS) sanitize
	$(MAKE) test-arm64

# ---- ARM64: cross build (Debian's gcc-aarch64-linux-gnu and the arm64
# multiarch -dev packages, found through their pkg-config directory) and
# its tests under qemu-user. BLAS=0 so the NEON GEMM is the one tested;
# MPI=0 since the host's mpicc names the host's MPI, not an arm64 one.
CROSS_ARM64      ?= aarch64-linux-gnu-
ARM64_BUILD      ?= build-arm64
ARM64_PKG_CONFIG ?= env PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config
# make check runs the NEON kernel tests and the model parity against the
# PyTorch fixtures (through the NEON dispatch); the other C tests take
# minutes each under qemu: make test-arm64 ARM64_TESTS="$(ARM64_TESTS_ALL)"
ARM64_TESTS_ALL  := test_neon test_kernels test_ops test_model test_parity test_optim
ARM64_TESTS      ?= test_neon test_parity

cross-arm64:
	$(MAKE) CC=$(CROSS_ARM64)gcc BUILD=$(ARM64_BUILD) BLAS=0 MPI=0 PKG_CONFIG="$(ARM64_PKG_CONFIG)" \
	        all $(ARM64_TESTS:%=$(ARM64_BUILD)/tests/%)

test-arm64:
	ARM64_BUILD=$(ARM64_BUILD) ARM64_TESTS="$(ARM64_TESTS)" CROSS_ARM64=$(CROSS_ARM64) tests/cross_arm64.sh

# ---- fuzzing (docs/fuzzing.md). The library is rebuilt by clang with
# fuzzer-no-link instrumentation in its own folder; each harness links it
# with libFuzzer's main. BLAS=0: the loaders do not need it, and OpenBLAS's
# OpenMP build would mix two OpenMP runtimes into one clang binary.
# Debian's clang-14 package installs clang-14; the plain name comes with "clang"
FUZZ_CC      ?= $(shell command -v clang || command -v clang-14 || echo clang)
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 5
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

fuzz-build:
	$(MAKE) CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) BLAS=0 MPI=0 OPT="-O1 -Wno-pass-failed -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	        LDFLAGS="-fopenmp -fsanitize=fuzzer $(FUZZ_SAN)" fuzz-harnesses

fuzz-harnesses: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(BUILD)/libtrm.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libtrm.a -o $@ $(LDLIBS)

# Seed inputs: fuzz/make_corpus.py writes fuzz/corpus/ (committed).
fuzz-corpus:
	/usr/bin/python3 fuzz/make_corpus.py

clean:
	rm -rf build build-asan $(FUZZ_BUILD) $(ARM64_BUILD)

.PHONY: all tests test sanitize check clean fuzz fuzz-build fuzz-harnesses fuzz-corpus cross-arm64 test-arm64
.SECONDARY:

# ---- the shared library and installing (docs/library.md). libtrm.so is
# built from its own -fPIC objects ($(BUILD)/pic/), so that the static
# library and the trm binary keep their position-dependent code; its
# soname carries the major version (libtrm.so.0 -> libtrm.so.0.1.0).
# Those objects are compiled with -fvisibility=hidden: libtrm.so exports
# only the functions trm.h marks TRM_API (libtrm.a keeps every symbol,
# for the trm binary and the tests).
TRM_VERSION_FULL := $(shell sed -n 's/^\#define TRM_VERSION "\(.*\)"/\1/p' include/trm.h)
TRM_SOMAJOR      := $(firstword $(subst ., ,$(TRM_VERSION_FULL)))
SO_NAME          := libtrm.so.$(TRM_SOMAJOR)
SO_FILE          := libtrm.so.$(TRM_VERSION_FULL)
PIC_OBJ          := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)

all: $(BUILD)/libtrm.so
tests: $(BUILD)/libtrm.so
shared: $(BUILD)/libtrm.so

$(BUILD)/pic/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/$(SO_FILE): $(PIC_OBJ)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SO_NAME) $^ -o $@ $(LDLIBS)

$(BUILD)/libtrm.so: $(BUILD)/$(SO_FILE)
	ln -sf $(SO_FILE) $(BUILD)/$(SO_NAME)
	ln -sf $(SO_FILE) $@

# make install PREFIX=/usr/local [DESTDIR=staging]: the libraries, trm.h,
# trm.pc (pkg-config: Libs.private / Requires.private list what a static
# link needs, MPI's library too in an MPI build) and the trm binary; make
# uninstall removes exactly those.
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PC_REQUIRES := libcjson libpng$(if $(filter 1,$(BLAS)), openblas)

# trm.pc is written at install time: it names the PREFIX of that install
define TRM_PC
prefix=$(PREFIX)
libdir=$(LIBDIR)
includedir=$(INCLUDEDIR)

Name: trm
Description: Tiny Recursive Models in C (libtrm)
Version: $(TRM_VERSION_FULL)
Requires.private: $(PC_REQUIRES)
Cflags: -I$${includedir}
Libs: -L$${libdir} -ltrm
Libs.private: -fopenmp -lm$(if $(filter 1,$(MPI)), $(MPI_LIBS))
endef
export TRM_PC

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(BUILD)/libtrm.a $(DESTDIR)$(LIBDIR)/libtrm.a
	install -m 755 $(BUILD)/$(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_FILE)
	ln -sf $(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_FILE) $(DESTDIR)$(LIBDIR)/libtrm.so
	install -m 644 include/trm.h $(DESTDIR)$(INCLUDEDIR)/trm.h
	printf '%s\n' "$$TRM_PC" > $(DESTDIR)$(PKGCONFIGDIR)/trm.pc
	install -m 755 $(BUILD)/trm $(DESTDIR)$(BINDIR)/trm

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libtrm.a $(DESTDIR)$(LIBDIR)/$(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_NAME) \
	      $(DESTDIR)$(LIBDIR)/libtrm.so $(DESTDIR)$(INCLUDEDIR)/trm.h $(DESTDIR)$(PKGCONFIGDIR)/trm.pc \
	      $(DESTDIR)$(BINDIR)/trm

.PHONY: shared install uninstall
