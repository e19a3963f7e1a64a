# easel: `make serve` and `make test` set up everything they need on a fresh
# machine, and are quick when it is already there.

SHELL := /bin/bash
VENV := .venv
PYTHON ?= python3
ORT_VERSION := 1.22.1
ORT_STAMP := $(VENV)/.onnxruntime-$(ORT_VERSION)
ORT_LIB = $(firstword $(wildcard $(VENV)/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.*))
CARGO ?= cargo
TRAIN_VENV := .venv-train
GPU_VENV := .venv-gpu
GPU_STAMP := $(GPU_VENV)/.onnxruntime-gpu-$(ORT_VERSION)
GPU_ORT_LIB = $(firstword $(wildcard $(GPU_VENV)/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.*))
TRAIN_STAMP := $(TRAIN_VENV)/.installed
OV_VENV := .venv-openvino
OV_VERSION := 2026.4.1
OV_STAMP := $(OV_VENV)/.openvino-$(OV_VERSION)
K8S_VENV := .venv-k8s
K8S_VALIDATE_VERSION := 1.37.0
K8S_STAMP := $(K8S_VENV)/.kubernetes-validate-$(K8S_VALIDATE_VERSION)
# The Kubernetes version the manifests are checked against (schemas bundled).
K8S_VERSION := 1.32.0

NODE_STAMP := frontend/node_modules/.installed
BROWSER_STAMP := tests/browser/node_modules/.installed
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: all venv venv-openvino venv-gpu serve-gpu build release serve test test-rust test-train test-frontend lint bench train-venv compare slurm test-slurm \
	frontend-deps browser-test-deps chromium screenshots gpu-bundle clean

all: build

# Project-local virtualenvs holding the runtimes' shared libraries, from
# their wheels; easel loads them at run time: ONNX Runtime (fp32, every
# machine) and OpenVINO (bf16 on CPUs with native bf16; --compute).
venv: $(ORT_STAMP) $(OV_STAMP)
$(ORT_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check onnxruntime==$(ORT_VERSION) numpy
	touch $@

# Only the C libraries are used, so the wheel's Python dependencies are not installed.
venv-openvino: $(OV_STAMP)
$(OV_STAMP):
	$(PYTHON) -m venv $(OV_VENV)
	$(OV_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps openvino==$(OV_VERSION)
	touch $@

# ONNX Runtime for NVIDIA GPUs, with CUDA 12 and cuDNN 9 from NVIDIA's wheels
# (easel preloads them from the same site-packages); not needed for tests.
venv-gpu: $(GPU_STAMP)
$(GPU_STAMP):
	$(PYTHON) -m venv $(GPU_VENV)
	$(GPU_VENV)/bin/pip install --quiet --disable-pip-version-check 'onnxruntime-gpu[cuda,cudnn]==$(ORT_VERSION)'
	touch $@

serve-gpu: release venv-gpu
	ORT_DYLIB_PATH=$(abspath $(GPU_ORT_LIB)) ./target/release/easel serve --models models --device cuda

build: venv
	$(CARGO) build --locked

release: venv
	$(CARGO) build --locked --release

serve: release
	ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) ./target/release/easel serve --models models

test: venv lint test-rust test-frontend test-train test-slurm

lint: lint-k8s
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

# The Kubernetes manifests against Kubernetes' own schemas, offline.
lint-k8s: $(K8S_STAMP)
	$(K8S_VENV)/bin/kubernetes-validate --strict -k $(K8S_VERSION) deploy/kubernetes/*.yaml

$(K8S_STAMP):
	$(PYTHON) -m venv $(K8S_VENV)
	$(K8S_VENV)/bin/pip install --quiet --disable-pip-version-check kubernetes-validate==$(K8S_VALIDATE_VERSION)
	touch $@

test-rust: venv
	ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) $(CARGO) test --locked --release

bench: release
	ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) ./target/release/easel bench

# The painting page's type checker, TypeScript (tsc --checkJs), pinned by
# frontend/package-lock.json.
frontend-deps: $(NODE_STAMP)
$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# playwright-core for the browser tests (no browser download: they drive
# Debian's Chromium), pinned by tests/browser/package-lock.json; Node resolves
# a bare import from the importing file's folder upwards, so tests/browser
# carries its own small package rather than reaching into frontend/node_modules.
browser-test-deps: $(BROWSER_STAMP)
$(BROWSER_STAMP): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the browser tests, installed once.
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get install -y -q chromium || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }; }

# Types of the page's modules, its unit tests (frontend/tests, no browser),
# then the browser tests (tests/browser) in headless Chromium against a real
# server (screenshots go to target/screenshots).
test-frontend: frontend-deps browser-test-deps chromium release
	cd frontend && npx tsc -p .
	cd frontend && node --test tests/
	cd tests/browser && EASEL_BIN=$(abspath target/release/easel) ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) \
		CHROMIUM=$(CHROMIUM) node --test .

# Refreshes the README's screenshots from a test run.
screenshots: browser-test-deps chromium release
	cd tests/browser && EASEL_SCREENSHOTS=$(abspath docs/images) EASEL_BIN=$(abspath target/release/easel) \
		ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) CHROMIUM=$(CHROMIUM) node --test --test-name-pattern=screenshot painter.test.mjs

# A stripped easel for training/train_gpu.sh, small enough to carry to a GPU
# machine, where it renders the training set.
gpu-bundle: release
	strip -o target/easel-synth target/release/easel
	@ls -l target/easel-synth

# PyTorch for the trainer (training/), its tests and the PyTorch
# baseline of bench/compare.sh; reinstalled when pyproject.toml changes.
train-venv: $(TRAIN_STAMP)
$(TRAIN_STAMP): training/pyproject.toml
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install --quiet --disable-pip-version-check -e 'training[test]'
	touch $@

test-train: train-venv release
	cd training && EASEL_BIN=$(abspath target/release/easel) $(abspath $(TRAIN_VENV))/bin/python -m pytest -q

# Debian's SLURM and munge for the SLURM tests, installed once (nothing is
# started: each test starts a private cluster and stops it).
slurm:
	@command -v slurmd >/dev/null && command -v munged >/dev/null || { $(SUDO) apt-get install -y -q slurm-wlm munge || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q slurm-wlm munge; }; }

# deploy/slurm's scripts on a private single-node SLURM (tests/slurm; as root).
test-slurm: slurm train-venv release
	ORT_DYLIB_PATH=$(abspath $(ORT_LIB)) $(TRAIN_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/slurm

compare: release train-venv
	TORCH_PYTHON=$(TRAIN_VENV)/bin/python bench/compare.sh

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(TRAIN_VENV) $(GPU_VENV) $(K8S_VENV) frontend/node_modules tests/browser/node_modules
