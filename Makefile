# trm - Tiny Recursive Models in C.
#   make            build build/trm and build/libtrm.a
#   make test       build and run the test suite (tests/run.sh)
#   make sanitize   the same suite under AddressSanitizer + UBSan (build-asan/)
#   make check      test + sanitize + 10 s of each fuzzer (what CI runs)
#   make BLAS=0     build without OpenBLAS (portable matmul only)
#   make MPI=1|0    with / without MPI data-parallel training (docs/mpi.md);
#                   default: with it when OpenMPI's mpicc is installed
#   make fuzz       libFuzzer harnesses (fuzz/, clang + libFuzzer, build-fuzz/),
#                   FUZZ_SECONDS (default 60) each; make check runs them 10 s each

CC      ?= gcc
BUILD   ?= build
BLAS    ?= 1
OPT     ?= -O2
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -fopenmp -D_GNU_SOURCE -Iinclude -Isrc
LDLIBS  += -lcjson -lpng -lm
ifeq ($(BLAS),1)
CFLAGS  += -DTRM_HAVE_BLAS -I/usr/include/x86_64-linux-gnu/openblas-openmp
LDLIBS  += -lopenblas
endif
LDFLAGS += -fopenmp
MPI     ?= $(if $(shell command -v mpicc 2>/dev/null),1,0)
ifeq ($(MPI),1)
# OpenMPI's wrapper knows its flags; other MPIs ship a pkg-config file
MPI_CFLAGS ?= $(shell mpicc --showme:compile 2>/dev/null || pkg-config --cflags mpi)
MPI_LIBS   ?= $(shell mpicc --showme:link 2>/dev/null || pkg-config --libs mpi)
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
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(TEST_SUPPORT) $(BUILD)/libtrm.a -o $@ $(LDLIBS) -lcmocka

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
	TRM_FUZZ_SECONDS= TRM_SKIP_LEARNING=1 $(MAKE) BUILD=build-asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDFLAGS="-fopenmp -fsanitize=address,undefined" test

# the fuzz stage runs once, in the optimized pass (its harnesses carry
# their own sanitizers)
check:
	TRM_FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) $(MAKE) test
	$(MAKE) sanitize

# ---- fuzzing (docs/fuzzing.md). The library is rebuilt by clang with
# fuzzer-no-link instrumentation in its own folder; each harness links it
# with libFuzzer's main. BLAS=0: the loaders do not need it, and OpenBLAS's
# OpenMP build would mix two OpenMP runtimes into one clang binary.
# Debian's clang-14 package installs clang-14; the plain name comes with "clang"
FUZZ_CC      ?= $(shell command -v clang || command -v clang-14 || echo clang)
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 10
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

fuzz-build:
	$(MAKE) CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) BLAS=0 OPT="-O1 -Wno-pass-failed -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	        LDFLAGS="-fopenmp -fsanitize=fuzzer $(FUZZ_SAN)" fuzz-harnesses

fuzz-harnesses: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(BUILD)/libtrm.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libtrm.a -o $@ $(LDLIBS)

# Seed inputs: fuzz/make_corpus.py writes fuzz/corpus/ (committed).
fuzz-corpus:
	/usr/bin/python3 fuzz/make_corpus.py

clean:
	rm -rf build build-asan $(FUZZ_BUILD)

.PHONY: all tests test sanitize check clean fuzz fuzz-build fuzz-harnesses fuzz-corpus
.SECONDARY:

# ---- the shared library and installing (docs/library.md). libtrm.so is
# built from its own -fPIC objects ($(BUILD)/pic/), so that the static
# library and the trm binary keep their position-dependent code; its
# soname carries the major version (libtrm.so.0 -> libtrm.so.0.1.0).
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
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

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
