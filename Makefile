# pikos: one Makefile that the README, the tests and CI share.  `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Every CPython of 3.11, 3.12 and 3.13 that pyenv has here; falls back to python3.11 on PATH.
PYENV_ROOT ?= /root/.pyenv
PYTHONS := $(sort $(wildcard $(PYENV_ROOT)/versions/3.11*/bin/python3 $(PYENV_ROOT)/versions/3.12*/bin/python3 $(PYENV_ROOT)/versions/3.13*/bin/python3))
ifeq ($(strip $(PYTHONS)),)
PYTHONS := $(shell command -v python3.11 || command -v python3)
endif
# The first one (3.11 when present) runs the demo, the lint and the benchmarks.
PY := $(firstword $(PYTHONS))
VENV_ROOT := .venv
PIP_FLAGS := --quiet --disable-pip-version-check

venv_of = $(VENV_ROOT)/$(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: dev
dev: ## build pikos into one virtual environment per Python (.venv/3.X)
	@set -e; for py in $(PYTHONS); do tools/dev-env.sh $$py; done

.PHONY: test
test: dev ## run the Rust unit tests and pytest on every Python (3.11, 3.12, 3.13)
	@tools/system-deps.sh
	PIKOS_TEST_PYTHON=$(PY) cargo test --quiet -p pikos-core
	@set -e; for py in $(PYTHONS); do \
	  v=$(VENV_ROOT)/$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "== pytest on $$($$v/bin/python -V)"; \
	  rc=0; $$v/bin/python -m pytest -q tests || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests on $$v: failing"; exit 1; fi; \
	  if [ $$rc -ne 0 ]; then exit $$rc; fi; \
	done

.PHONY: test-fast
test-fast: ## a quick loop: pytest on the first Python only, without the slow (100M-event) tests
	@tools/dev-env.sh $(PY)
	@rc=0; $(call venv_of,$(PY))/bin/python -m pytest -q -m "not slow" tests || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

.PHONY: lint
lint: dev ## rustfmt, clippy -D warnings, ruff, and the native stub against the module (stubtest)
	cargo fmt --all -- --check
	CARGO_TARGET_DIR=target/lint PYO3_PYTHON=$(PY) cargo clippy --quiet --workspace --all-targets --features pikos-python/floors -- -D warnings
	$(call venv_of,$(PY))/bin/ruff check python tests benchmarks
	$(call venv_of,$(PY))/bin/ruff format --check python tests benchmarks
	$(call venv_of,$(PY))/bin/python -m mypy.stubtest pikos._native

.PHONY: fmt
fmt: ## format Rust and Python sources
	cargo fmt --all
	$(call venv_of,$(PY))/bin/ruff format python tests benchmarks
	$(call venv_of,$(PY))/bin/ruff check --fix python tests benchmarks

.PHONY: bench
bench: dev ## run the overhead benchmarks on every Python and write BENCHMARKS.md
	@set -e; append=; for py in $(PYTHONS); do \
	  v=$(VENV_ROOT)/$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  $$v/bin/pip install $(PIP_FLAGS) -r benchmarks/requirements.txt; \
	  $$v/bin/python benchmarks/run.py --output BENCHMARKS.md $$append; append=--append; \
	  (cd benchmarks && ../$$v/bin/python long_run.py --output ../BENCHMARKS.md --append); \
	done; \
	cd benchmarks && ../$(call venv_of,$(PY))/bin/python writer_throughput.py --output ../BENCHMARKS.md --append

.PHONY: bench-smoke
bench-smoke: ## the benchmarks' report with shrunk workloads, in seconds (numbers mean nothing)
	@tools/dev-env.sh $(PY)
	@$(call venv_of,$(PY))/bin/pip install $(PIP_FLAGS) -r benchmarks/requirements.txt
	PIKOS_BENCH_SMOKE=1 $(call venv_of,$(PY))/bin/python benchmarks/run.py --output $${TMPDIR:-/tmp}/pikos-bench-smoke.md
	cd benchmarks && PIKOS_BENCH_SMOKE=1 ../$(call venv_of,$(PY))/bin/python long_run.py --repeats 2 --output $${TMPDIR:-/tmp}/pikos-bench-smoke.md --append

.PHONY: demo
demo: ## run the documented mandelbrot example under pikos-run (CSV + memory plot)
	@tools/dev-env.sh $(PY)
	@echo '== pikos-run line_memory examples/mandelbrot_set_example.py --recording csv --focused-on=mandelbrot'
	@$(call venv_of,$(PY))/bin/pikos-run line_memory examples/mandelbrot_set_example.py --recording csv --focused-on=mandelbrot
	@echo '== pikos plot monitor_records.csv -o memory.png'
	@$(call venv_of,$(PY))/bin/pikos plot monitor_records.csv -o memory.png
	@echo "records: $(CURDIR)/monitor_records.csv ($$(($$(wc -l < monitor_records.csv) - 1)) line records of mandelbrot)"
	@echo "plot:    $(CURDIR)/memory.png (RSS against record index)"

.PHONY: clean
clean: ## remove build outputs and virtual environments
	rm -rf target $(VENV_ROOT) build dist
