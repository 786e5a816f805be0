# The commands people type. The real build is Meson (out of tree, in build/).
PREFIX ?= /usr/local
BUILD  ?= build/default
MESON_OPTS ?=

.PHONY: all deps build demo check install uninstall clean format fuzz help xen-check xen-perf bench scale

all: build

help:
	@echo "make demo      build and run the demo (installs Debian packages if missing)"
	@echo "make check     all tests: gcc and clang+ASan/UBSan builds, lint, model"
	@echo "make build     build into $(BUILD)"
	@echo "make install   install (PREFIX=$(PREFIX), DESTDIR honoured)"
	@echo "make xen-check libIVC on a real Xen 4.17 booted in QEMU (tests/xen-lab)"
	@echo "make xen-perf  libIVC against libxenvchan in that lab, 9 boots pooled ($(BUILD)/xen-perf)"
	@echo "make fuzz      long libFuzzer runs, FUZZ_SECONDS=600 each: ring core, parsers,"
	@echo "               sim xenstored, rendezvous policy, guest xs_frame (corpora in build/fuzz)"
	@echo "make bench     benchmark sweep in sim against its baselines (results in build/bench/)"
	@echo "make scale     connects/s and connect latency, 1000 sim domains, brokered and direct"
	@echo "make format    reformat all C files with .clang-format"
	@echo "make clean     remove build/"

deps:
	@tests/scripts/deps.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	examples/demo.sh $(BUILD)

# The standard sweep: a few minutes. BENCH_ARGS go to `ivc-bench run`.
# (The default build is debugoptimized: -O2.)
bench: build
	@tests/scripts/deps.sh bench
	tests/bench/bench.sh $(BUILD) build/bench $(BENCH_ARGS)

# 1000 sim domains x 5 connects, brokered then direct: a markdown table.
SCALE_ARGS ?= 1000 5 50
scale: build
	tests/broker/scale.sh $(BUILD) $(SCALE_ARGS)

check:
	@tests/scripts/deps.sh check
	@tests/scripts/check.sh

install: build
	meson configure $(BUILD) --prefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(DESTDIR))

# Real Xen in QEMU (TCG): see tests/xen-lab/README.md. `make check` runs
# it too, unless IVC_SKIP_XEN_LAB=1.
xen-check: build
	tests/xen-lab/xen-check.sh $(BUILD)

# libIVC against libxenvchan in the lab, in several boots, pooled:
# docs/performance.md. IVC_XEN_PERF_BOOTS (9) and IVC_XEN_PERF_ROUNDS (9).
xen-perf: build
	tests/xen-lab/xen-perf.sh $(BUILD)

uninstall:
	ninja -C $(BUILD) uninstall

FUZZ_SECONDS ?= 600
fuzz:
	@tests/scripts/deps.sh check
	CC=clang meson setup build/fuzz -Db_sanitize=address,undefined -Db_lundef=false \
		2>/dev/null || true
	ninja -C build/fuzz tests/fuzz-core tests/fuzz-parse tests/fuzz-xsd tests/fuzz-policy \
		tests/fuzz-guest-xs
	tests/scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.[ch]')

clean:
	rm -rf build
