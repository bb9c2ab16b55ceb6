# nnspy build. `make` builds the preload library, the CLI, the examples and the
# simulated device; `make check` builds and runs every test; `make demo` runs the
# AlexNet example under nnspy (simulated device when no GPU is present).

CUDA_HOME ?= /usr/local/cuda
ifeq ($(wildcard $(CUDA_HOME)/include/cudnn.h),)
$(error CUDA toolkit with cuDNN not found under CUDA_HOME=$(CUDA_HOME): install the CUDA toolkit and cuDNN 9, or set CUDA_HOME to where they are)
endif
CUDA_LIB := $(firstword $(wildcard $(CUDA_HOME)/lib64/libcudnn.so.9 $(CUDA_HOME)/lib/libcudnn.so.9 $(CUDA_HOME)/targets/x86_64-linux/lib/libcudnn.so.9))
CUDA_LIBDIR := $(dir $(CUDA_LIB))

B ?= build
CC ?= gcc
SAN ?=
OPT ?= -O2
CFLAGS_BASE := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
               -Wformat=2 -Wno-deprecated-declarations -fno-omit-frame-pointer $(SAN)
CUDA_INC := -isystem $(CUDA_HOME)/include
LDFLAGS_BASE := $(SAN)

# What the profiled process loads: preload core, wrappers, pure counters.
PRELOAD_SRC := $(wildcard preload/*.c) $(wildcard counters/*.c) report/frames.c report/numfmt.c
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(B)/obj/%.o)
COUNTERS_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard counters/*.c))

SIM_LIBS := $(B)/sim/libcudart.so.13 $(B)/sim/libcudnn.so.9 $(B)/sim/libcublasLt.so.13 \
            $(B)/sim/libcublas.so.13 $(B)/sim/libcuda.so.1 $(B)/sim/libcupti.so.13
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))
E2E_PROGS := $(patsubst tests/e2e/%.c,$(B)/tests/%,$(filter-out tests/e2e/plugin_%.c,$(wildcard tests/e2e/*.c)))
E2E_PLUGINS := $(patsubst tests/e2e/%.c,$(B)/tests/%.so,$(wildcard tests/e2e/plugin_*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))

# Programs written against cuDNN/cuBLAS link the toolkit's libraries; at run time
# LD_LIBRARY_PATH=$(B)/sim swaps in the simulated device (RUNPATH yields to it).
CUDA_APP_LIBS := -L$(CUDA_LIBDIR) -Wl,--enable-new-dtags,-rpath,$(CUDA_LIBDIR) \
                 -lcudnn -lcublasLt -lcublas -lcudart -lm

.PHONY: all check unit e2e demo clean sanitize deps fuzz fuzz-deps
all: $(B)/libnnspy.so $(B)/nnspy $(SIM_LIBS) $(EXAMPLES) $(E2E_PROGS) $(E2E_PLUGINS) $(UNIT_TESTS) \
     $(B)/tests/plugin_conv_v8.so

$(B)/obj/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -fPIC -fvisibility=hidden $(CUDA_INC) -Iinclude -Icounters -Ipreload -Ireport -c $< -o $@

# dlsym.c runs before any sanitizer runtime is ready (the runtimes resolve their
# own interceptors through dlsym), so it is never instrumented.
$(B)/obj/preload/dlsym.o: preload/dlsym.c preload/core.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(SAN),$(CFLAGS_BASE)) -fPIC -fvisibility=hidden $(CUDA_INC) -Iinclude -Icounters -Ipreload -Ireport -c $< -o $@

# counters/ must stay free of CUDA headers: compiled without the include path.
$(B)/obj/counters/%.o: counters/%.c counters/counters.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -fPIC -fvisibility=hidden -Icounters -c $< -o $@

$(B)/libnnspy.so: $(PRELOAD_OBJ) preload/libnnspy.map
	$(CC) -shared $(LDFLAGS_BASE) -Wl,-soname,libnnspy.so -Wl,-z,nodelete -Wl,--version-script=preload/libnnspy.map -o $@ $(PRELOAD_OBJ) -lunwind -ldl -lpthread

# The CLI: `nnspy run`, and `nnspy report` from the .nns traces (jansson reads their
# JSON). HTML output is built in once report/html.c is there (NNSPY_HTML_SRC= leaves
# it out).
NNSPY_SRC := report/nnspy.c report/cli.c report/report_cmd.c report/summary.c \
             report/trace_read.c report/frames.c report/diff.c report/numfmt.c \
             report/symbolize.c report/layers.c
NNSPY_HTML_SRC ?= $(wildcard report/html.c)
$(B)/nnspy: $(NNSPY_SRC) $(NNSPY_HTML_SRC) $(wildcard report/*.h) include/nnspy.h
	@mkdir -p $(B)
	$(CC) $(CFLAGS_BASE) $(if $(NNSPY_HTML_SRC),-DNNSPY_HTML) -Ireport -Iinclude -o $@ \
	  $(filter %.c,$^) $(LDFLAGS_BASE) -ljansson -ldw -lelf -lm

# ---------------------------------------------------------- simulated device
$(B)/sim/libcudart.so.13: tests/sim/cudart.c tests/sim/sim.h tests/sim/libcudart.map
	@mkdir -p $(B)/sim
	$(CC) $(CFLAGS_BASE) -fPIC $(CUDA_INC) -shared -Wl,-soname,libcudart.so.13 \
	  -Wl,--version-script=tests/sim/libcudart.map -o $@ $< -lm -lpthread $(LDFLAGS_BASE)

# The legacy API (cudnn.c) and the graph API (cudnn_backend.c).
SIM_CUDNN_SRC := tests/sim/cudnn.c tests/sim/cudnn_backend.c
$(B)/sim/libcudnn.so.9: $(SIM_CUDNN_SRC) tests/sim/sim.h tests/sim/sim_cudnn.h tests/sim/libcudnn.map $(B)/sim/libcudart.so.13
	$(CC) $(CFLAGS_BASE) -fPIC $(CUDA_INC) -shared -Wl,-soname,libcudnn.so.9 \
	  -Wl,--version-script=tests/sim/libcudnn.map -o $@ $(SIM_CUDNN_SRC) -L$(B)/sim -l:libcudart.so.13 -lm -lpthread $(LDFLAGS_BASE)

$(B)/sim/libcublasLt.so.13: tests/sim/cublaslt.c tests/sim/sim.h tests/sim/libcublasLt.map $(B)/sim/libcudart.so.13
	$(CC) $(CFLAGS_BASE) -fPIC $(CUDA_INC) -shared -Wl,-soname,libcublasLt.so.13 \
	  -Wl,--version-script=tests/sim/libcublasLt.map -o $@ $< -L$(B)/sim -l:libcudart.so.13 -lm -lpthread $(LDFLAGS_BASE)

$(B)/sim/libcublas.so.13: tests/sim/cublas.c tests/sim/sim.h tests/sim/libcublas.map $(B)/sim/libcublasLt.so.13
	$(CC) $(CFLAGS_BASE) -fPIC $(CUDA_INC) -shared -Wl,-soname,libcublas.so.13 \
	  -Wl,--version-script=tests/sim/libcublas.map -o $@ $< -L$(B)/sim -l:libcublasLt.so.13 -l:libcudart.so.13 -lm -lpthread $(LDFLAGS_BASE)

# The driver: linked against the sim runtime, which loads it with dlopen at run time.
$(B)/sim/libcuda.so.1: tests/sim/cuda.c tests/sim/sim.h tests/sim/libcuda.map $(B)/sim/libcudart.so.13
	$(CC) $(CFLAGS_BASE) -fPIC $(CUDA_INC) -shared -Wl,-soname,libcuda.so.1 \
	  -Wl,--version-script=tests/sim/libcuda.map -o $@ $< -L$(B)/sim -l:libcudart.so.13 -lpthread $(LDFLAGS_BASE)

# CUPTI: linked against the sim runtime, whose kernels, copies and memsets it records.
$(B)/sim/libcupti.so.13: tests/sim/cupti.c tests/sim/sim.h tests/sim/libcupti.map $(B)/sim/libcudart.so.13
	$(CC) $(CFLAGS_BASE) -fPIC $(CUDA_INC) -shared -Wl,-soname,libcupti.so.13 \
	  -Wl,--version-script=tests/sim/libcupti.map -o $@ $< -L$(B)/sim -l:libcudart.so.13 -lpthread $(LDFLAGS_BASE)

# A second cuDNN soname (libcudnn.so.8, same stand-in) and a plugin linked to it,
# for the test of two cuDNN versions in one process.
$(B)/sim-v8/libcudnn.so.8: $(SIM_CUDNN_SRC) tests/sim/sim.h tests/sim/sim_cudnn.h tests/sim/libcudnn.map $(B)/sim/libcudart.so.13
	@mkdir -p $(B)/sim-v8
	sed 's/libcudnn\.so\.9/libcudnn.so.8/' tests/sim/libcudnn.map > $(B)/sim-v8/libcudnn.map
	$(CC) $(CFLAGS_BASE) -fPIC $(CUDA_INC) -shared -Wl,-soname,libcudnn.so.8 \
	  -Wl,--version-script=$(B)/sim-v8/libcudnn.map -o $@ $(SIM_CUDNN_SRC) -L$(B)/sim -l:libcudart.so.13 -lm -lpthread $(LDFLAGS_BASE)

$(B)/tests/plugin_conv_v8.so: tests/e2e/plugin_conv.c $(B)/sim-v8/libcudnn.so.8
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -fPIC -shared $(CUDA_INC) -o $@ $< -L$(B)/sim-v8 -l:libcudnn.so.8 \
	  -L$(B)/sim -l:libcudart.so.13 $(LDFLAGS_BASE)

# ---------------------------------------------------------------- programs
$(B)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CUDA_INC) -o $@ $< $(CUDA_APP_LIBS) $(LDFLAGS_BASE)

$(B)/tests/%.so: tests/e2e/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -fPIC -shared $(CUDA_INC) -o $@ $< $(CUDA_APP_LIBS) $(LDFLAGS_BASE)

# A program of the driver API links the toolkit's stub libcuda.so (soname libcuda.so.1,
# not in its RUNPATH): the driver found at run time is the system's, or the sim's.
$(B)/tests/driver_graph: tests/e2e/driver_graph.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CUDA_INC) -o $@ $< $(CUDA_APP_LIBS) -L$(CUDA_LIBDIR)stubs -lcuda $(LDFLAGS_BASE)

$(B)/tests/%: tests/e2e/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CUDA_INC) -o $@ $< $(CUDA_APP_LIBS) -ldl -lpthread $(LDFLAGS_BASE)

# Unit tests (cmocka) link the pure parts only: the counters and the descriptor
# readers, which test_descriptors drives with the toolkit's real libcudnn and
# libcublasLt (their descriptor functions need no GPU). No wrapper is linked in.
UNIT_OBJ := $(COUNTERS_OBJ) $(addprefix $(B)/obj/preload/,cudnn_read.o cublaslt_read.o cuda_types.o \
            ranges.o addrmap.o) $(B)/obj/report/frames.o
$(B)/tests/test_%: tests/unit/test_%.c $(UNIT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CUDA_INC) -Icounters -Ipreload -Ireport -Iinclude -o $@ $< $(UNIT_OBJ) \
	  $(CUDA_APP_LIBS) -lcmocka -ldl -lpthread $(LDFLAGS_BASE)

# The graph API's shadow and cost, driven next to the toolkit's real libcudnn.
GRAPH_TEST_OBJ := $(UNIT_OBJ) $(addprefix $(B)/obj/preload/,cudnn_graph_shadow.o cudnn_graph_cost.o shape_text.o)
$(B)/tests/test_graph: tests/unit/test_graph.c $(GRAPH_TEST_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CUDA_INC) -Icounters -Ipreload -Ireport -Iinclude -o $@ $< $(GRAPH_TEST_OBJ) \
	  $(CUDA_APP_LIBS) -lcmocka -ldl -lpthread $(LDFLAGS_BASE)

# The trace reader's tests link the reader and `nnspy report`'s pure parts.
TRACE_READ_OBJ := $(addprefix $(B)/obj/report/,trace_read.o summary.o report_cmd.o cli.o numfmt.o \
                  symbolize.o layers.o)
$(B)/tests/test_trace_read: tests/unit/test_trace_read.c $(B)/obj/report/frames.o $(TRACE_READ_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Ireport -Iinclude -o $@ $< $(B)/obj/report/frames.o $(TRACE_READ_OBJ) \
	  -lcmocka -ljansson -ldw -lelf -lm $(LDFLAGS_BASE)

# ------------------------------------------------------------------- running
unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

e2e: all $(B)/tests/html_demo
	@B=$(B) SAN_PRELOAD=$(SAN_PRELOAD) E2E_SCALE=$(E2E_SCALE) python3 tests/run_e2e.py
	@B=$(B) SAN_PRELOAD=$(SAN_PRELOAD) python3 tests/run_report.py
	@B=$(B) SAN_PRELOAD=$(SAN_PRELOAD) python3 tests/run_diff.py
	@B=$(B) SAN_PRELOAD=$(SAN_PRELOAD) python3 tests/run_graph.py
	@B=$(B) SAN_PRELOAD=$(SAN_PRELOAD) python3 tests/run_sites.py
	@B=$(B) SAN_PRELOAD=$(SAN_PRELOAD) python3 tests/run_trace_packed.py
	@B=$(B) SAN_PRELOAD=$(SAN_PRELOAD) python3 tests/run_legacy.py
	@$(B)/tests/html_demo $(B)/tests/html_demo.html && python3 tests/check_html.py $(B)/tests/html_demo.html

# The HTML report's demo: traces built in memory, rendered, checked for structure.
$(B)/tests/html_demo: tests/html_demo.c report/html.c report/frames.c $(wildcard report/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Ireport -Icounters -o $@ tests/html_demo.c report/html.c report/frames.c -lm $(LDFLAGS_BASE)

# Missing Debian packages (cmocka) are installed first, so that `make check` and
# `make demo` are the only two commands a fresh machine needs.
deps:
	@tools/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e
	@echo "make check: all tests passed"

demo: deps
	@$(MAKE) --no-print-directory -s $(B)/libnnspy.so $(B)/nnspy $(SIM_LIBS) $(EXAMPLES) >/dev/null
	@B=$(B) tests/demo.sh

# The whole suite again under ASan+UBSan and under TSan, in separate build dirs.
# Programs run with the sanitizer's runtime preloaded ahead of libnnspy.so. TSan
# refuses by default to start a thread in the child of a multi-threaded fork, which
# glibc allows and nnspy does (each forked child writes its own trace).
E2E_SCALE ?= 1
SAN_PRELOAD ?=
sanitize:
	$(MAKE) --no-print-directory B=build-asan SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  SAN_PRELOAD="$$($(CC) -print-file-name=libasan.so)" E2E_SCALE=0.1 check
	TSAN_OPTIONS="die_after_fork=0 $$TSAN_OPTIONS" \
	$(MAKE) --no-print-directory B=build-tsan SAN="-fsanitize=thread" \
	  SAN_PRELOAD="$$($(CC) -print-file-name=libtsan.so)" E2E_SCALE=0.02 check

# Bounded fuzzing (libFuzzer, clang) of every parser of outside input: the
# environment, `nnspy run`'s options, the descriptors a program hands over, and
# the .nns traces `nnspy report` reads. tests/fuzz/seeds-TARGET, when there, seeds
# TARGET's corpus.
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              $(CUDA_INC) -Icounters -Ipreload -Ireport -Iinclude
FUZZ_TARGETS := fuzz_config fuzz_cli fuzz_descriptors fuzz_trace fuzz_graph
fuzz_config_SRC := preload/config.c
fuzz_cli_SRC := report/cli.c
fuzz_trace_SRC := report/trace_read.c report/frames.c report/summary.c report/report_cmd.c \
                  report/cli.c report/numfmt.c report/symbolize.c report/layers.c
fuzz_trace_LIBS := -ljansson -ldw -lelf -lm
fuzz_descriptors_SRC := preload/cudnn_read.c preload/cublaslt_read.c preload/cuda_types.c \
                        $(wildcard counters/*.c)
fuzz_graph_SRC := preload/cudnn_graph_shadow.c preload/cudnn_graph_cost.c preload/shape_text.c \
                  preload/cudnn_read.c preload/cuda_types.c preload/addrmap.c $(wildcard counters/*.c)
build-fuzz/%: tests/fuzz/%.c $(wildcard preload/*.c preload/*.h report/*.c report/*.h counters/*)
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $($*_SRC) $($*_LIBS)

fuzz-deps:
	@tools/install-deps.sh fuzz

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory $(addprefix build-fuzz/,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus-$$t; \
	  if ! build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	       -artifact_prefix=build-fuzz/$$t- build-fuzz/corpus-$$t \
	       $$(test -d tests/fuzz/seeds-$$t && echo tests/fuzz/seeds-$$t) > build-fuzz/$$t.log 2>&1; then \
	    tail -40 build-fuzz/$$t.log; echo "fuzz: $$t found a crash"; exit 1; fi; \
	  echo "fuzz: $$t: $$(grep -E '^stat::number_of_executed_units' build-fuzz/$$t.log | \
	    awk '{print $$2}') inputs in $(FUZZ_SECONDS) s, no crash"; \
	done

clean:
	rm -rf build build-asan build-tsan build-fuzz

# ------------------------------------------------------------------- bench
# What nnspy costs per call, in memory and in trace size, and nnspy report's
# throughput, on the simulated device (bench/run.py; under two minutes).
$(B)/bench/driver: bench/driver.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CUDA_INC) -o $@ $< $(CUDA_APP_LIBS) -lpthread $(LDFLAGS_BASE)

.PHONY: bench
bench: $(B)/libnnspy.so $(B)/nnspy $(SIM_LIBS) $(B)/bench/driver
	@B=$(B) python3 bench/run.py
# The memo of cublasLtMatmul's descriptor reads, tested against the real libcublasLt.
UNIT_OBJ += $(B)/obj/preload/lt_memo.o
$(UNIT_TESTS): $(B)/obj/preload/lt_memo.o
