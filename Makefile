# Two commands do everything: `make demo` and `make test`. Both create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, pinned: this machine carries a local CPU wheel of exactly 2.13.0, and a looser
# spec (asked for directly or by a dependency) would pull gigabytes of CUDA packages.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/svglm demo

# The browser tests need Debian's chromium and chromium-driver, the OCR judge its tesseract-ocr:
# installed here when missing.
test: $(STAMP)
	scripts/ensure-system.sh
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check svglm tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .hypothesis
