# easel: `make serve` and `make test` set up everything they need on a fresh
# machine, and are quick when it is already there.

SHELL := /bin/bash
VENV := .venv
PYTHON ?= python3
ORT_VERSION := 1.22.1
ORT_STAMP := $(VENV)/.onnxruntime-$(ORT_VERSION)
ORT_LIB = $(firstword $(wildcard $(VENV)/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.*))
CARGO ?= cargo

.PHONY: all venv build release serve test test-rust lint bench bench-venv compare clean

all: build

# A project-local virtualenv holding the ONNX Runtime shared library (from the
# onnxruntime wheel); easel loads it at run time.
venv: $(ORT_STAMP)
$(ORT_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check onnxruntime==$(ORT_VERSION) numpy
	touch $@

build: venv
	$(CARGO) build --locked

release: venv
	$(CARGO) build --locked --release

serve: release
	@echo "easel serve arrives with the inference service (issue 4); until then see README: easel generate"
	ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) ./target/release/easel --help

test: venv lint test-rust

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

test-rust: venv
	ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) $(CARGO) test --locked --release

bench: release
	ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) ./target/release/easel bench

# PyTorch for the baseline in bench/compare.sh; large, so not part of `make test`.
bench-venv: .venv-bench/.torch
.venv-bench/.torch:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --disable-pip-version-check torch numpy pillow
	touch $@

compare: release bench-venv
	bench/compare.sh

clean:
	$(CARGO) clean
	rm -rf $(VENV)
