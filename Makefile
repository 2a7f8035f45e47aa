# trm - Tiny Recursive Models in C.
#   make            build build/trm and build/libtrm.a
#   make test       build and run the test suite (tests/run.sh)
#   make sanitize   the same suite under AddressSanitizer + UBSan (build-asan/)
#   make check      test + sanitize (what CI runs)
#   make BLAS=0     build without OpenBLAS (portable matmul only)

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

LIB_SRC  := $(wildcard src/core/*.c src/kernels/*.c src/model/*.c src/optim/*.c src/io/*.c src/data/*.c src/tasks/*.c src/train/*.c src/eval/*.c src/search/*.c src/render/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
HEADERS  := include/trm.h $(wildcard src/*/*.h tests/*.h)

all: $(BUILD)/trm $(BUILD)/libtrm.a

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libtrm.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/trm: $(CLI_OBJ) $(BUILD)/libtrm.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libtrm.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libtrm.a -o $@ $(LDLIBS) -lcmocka

tests: $(TEST_BIN)

test: all tests
	tests/run.sh $(BUILD)

sanitize:
	TRM_SKIP_LEARNING=1 $(MAKE) BUILD=build-asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDFLAGS="-fopenmp -fsanitize=address,undefined" test

check: test sanitize

clean:
	rm -rf build build-asan

.PHONY: all tests test sanitize check clean
.SECONDARY:
