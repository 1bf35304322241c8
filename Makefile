# Two commands for a fresh machine with only Python 3:
#   make run   -> a virtual environment with convscope, then the summary of LeNet-5
#   make test  -> the same environment with the test tools and PyTorch, then every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# PyTorch and torchvision for the tests (the versions this project is tested with)
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1

.PHONY: run test test-fast lint bench clean chromium

run: $(VENV)/.core
	$(BIN)/convscope summary lenet5

# every test, one pytest worker per core (pytest-xdist); TEST_WORKERS=0 runs them in one
# process
TEST_WORKERS ?= auto
test: $(VENV)/.dev chromium
	$(BIN)/python scripts/check_sizes.py
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# the quick tier: analysis, golden numbers, errors, formats (no browser, no training, no
# framework bridges, none of the slow sweeps); see the markers in tests/conftest.py
test-fast: $(VENV)/.dev
	$(BIN)/python -m pytest -m "not slow and not browser and not train and not bridge"

# Debian's Chromium for the browser tests (Playwright drives it; never a browser download).
# As root it is installed with apt-get; 'apt-get update' may fail its signature check on
# some images while the install from the shipped lists still works, so its failure is not
# fatal. Otherwise the command to run is named.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq || echo "apt-get update failed; installing from the current lists"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "the browser tests need Debian's chromium: run 'sudo apt-get install chromium'" >&2; \
	    exit 1; \
	  fi; }

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/mypy src --ignore-missing-imports

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/startup_and_speed.py

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.core
	$(BIN)/pip install -q -e '.[dev]' $(TORCH_PINS)
	touch $@

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
