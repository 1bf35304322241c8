# Two commands for a fresh machine with only Python 3:
#   make run   -> a virtual environment with convscope, then the summary of LeNet-5
#   make test  -> the same environment with the test tools and PyTorch, then every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# PyTorch and torchvision for the tests (the versions this project is tested with)
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1

.PHONY: run test lint bench clean

run: $(VENV)/.core
	$(BIN)/convscope summary lenet5

test: $(VENV)/.dev
	$(BIN)/python scripts/check_sizes.py
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/python -m pytest

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
