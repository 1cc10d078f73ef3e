# GoMLX v0.28.16 needs Go >= 1.27; the go command fetches this toolchain from
# the module proxy on first use. Every target runs under it.
export GOTOOLCHAIN := go1.27.3
# The pure-Go GoMLX backend: nothing to install, nothing downloaded at run time.
export GOMLX_BACKEND ?= go
# Go 1.27's SIMD experiment: the backend's vectorised kernels (matmul at
# ~100 GFLOP/s a core instead of ~5, 2–9× faster training steps). Its exp,
# tanh and sigmoid do not propagate NaN; fit's guard checks finiteness in Go
# instead (see algos/fit). "GOEXPERIMENT= make test" runs the scalar build.
export GOEXPERIMENT ?= simd
# go1.27.3 with its SIMD partial loads fixed (they read past the end of short
# slices and can crash the backend; see scripts/gotoolchain.sh), first on
# PATH: being go1.27.3, it is the toolchain GOTOOLCHAIN asks for.
export PATH := $(shell scripts/gotoolchain.sh):$(PATH)

GO ?= go
# A full "go test ./..." takes a few minutes on 2 cores; the timeout is for a
# hung test, not a slow one.
TEST_TIMEOUT ?= 12m
FUZZTIME ?= 30s

.PHONY: all build test vet notebooks demo kernel bench fuzz replicate-quick clean

all: build

build:
	$(GO) build -o build/alignlab ./cmd/alignlab

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory replicate-quick
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory notebooks; \
	else \
		echo "make test: no notebooks/*.ipynb, skipping notebooks"; \
	fi

# Executes every notebook headless with the "alignlab" kernel and fails on
# any error output (the script belongs to the notebook tooling).
notebooks:
	./scripts/run-notebooks.sh

demo: build
	build/alignlab run bt.ratings --out build/demo
	@echo
	@echo "report: file://$(CURDIR)/build/demo/report.html"
	@echo "result: $(CURDIR)/build/demo/result.json"

kernel: build
	build/alignlab kernel install --user

bench:
	@mkdir -p bench/out
	$(GO) test -run '^$$' -bench . -benchmem ./... >bench/out/bench.txt; \
		status=$$?; cat bench/out/bench.txt; \
		echo "side-by-side timings against PyTorch / scikit-learn: bench/*/run.sh"; exit $$status

# Every paper's replication, reduced to run in about a minute on 2 cores;
# fails if any claim leaves its band. The full one: alignlab replicate --out DIR.
replicate-quick: build
	build/alignlab replicate --quick --out build/replicate-quick

# Runs each Fuzz target for FUZZTIME; go test accepts one -fuzz target per package.
fuzz:
	@found=0; \
	for f in $$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . 2>/dev/null | sort); do \
		dir=$$(dirname $$f); \
		for name in $$(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' $$f); do \
			found=1; \
			echo "== $$dir $$name ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) "$$dir" || exit 1; \
		done; \
	done; \
	if [ $$found = 0 ]; then echo "make fuzz: no Fuzz targets, nothing to do"; fi

clean:
	rm -rf build bench/out
