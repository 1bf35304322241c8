"""Shared test configuration: the tiers (markers) and the --update-golden flag.

Tiers, so that a developer can pick one (``make test-fast`` runs the unmarked tests):

* ``bridge``: builds or imports real PyTorch / Keras / ONNX models (the framework oracles);
* ``browser``: drives Debian's Chromium;
* ``train``: trains models;
* ``slow``: the long sweeps (one process per hostile command line, ...).

A module's tier is given here, by its file name, in one table; a test that uses the
``browser`` fixture is a browser test wherever it is.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("KERAS_BACKEND", "torch")
if "CONVSCOPE_TEST_HOME" not in os.environ:
    # Tests run as root in CI and must write nothing outside temporary folders: the caches
    # and settings that libraries keep in the home folder (matplotlib's font cache, Keras's
    # keras.json, torch's and IPython's folders, the trainer's mnist1d cache) go to one
    # folder made for this run, inherited by the pytest-xdist workers and every subprocess,
    # and removed at the end.
    home = tempfile.mkdtemp(prefix="convscope-tests-home-")
    os.environ.update(CONVSCOPE_TEST_HOME=home, HOME=home, XDG_CACHE_HOME=f"{home}/.cache",
                      XDG_CONFIG_HOME=f"{home}/.config", MPLCONFIGDIR=f"{home}/.matplotlib")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # ``make test`` runs one pytest worker per core (pytest-xdist): one thread each, so the
    # workers do not fight over the cores (set before anything imports torch)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest

MARKERS = {
    "bridge": "builds or imports real PyTorch / Keras / ONNX models",
    "browser": "drives Debian's Chromium through Playwright",
    "train": "trains models",
    "slow": "a long sweep; part of make test, not of make test-fast",
}

TIERS = {
    "test_torch_import.py": "bridge", "test_torch_build.py": "bridge", "test_memory.py": "bridge",
    "test_keras.py": "bridge", "test_onnx.py": "bridge", "test_layers_vs_torch.py": "bridge",
    "test_recurrent.py": "bridge", "test_fuzz_keras_onnx.py": "bridge",
    "test_timm_import.py": "bridge", "test_torchvision_all.py": "bridge",
    "test_keras_applications.py": "bridge", "test_round_trip_keras.py": "bridge",
    "test_round_trip_onnx.py": "bridge", "test_round_trip_pytorch.py": "bridge",
    "test_notebook_torch.py": "bridge", "test_profile.py": "bridge",
    "test_trainer.py": "train", "test_hostile_files.py": "train",
    "test_zoo.py": "bridge", "test_teach.py": "bridge", "test_memory_amp.py": "bridge",
    "test_web_editor.py": "bridge", "test_attention.py": "bridge",
    "test_channels_last.py": "bridge", "test_mha_import.py": "bridge",
    "test_verify_imports.py": "bridge", "test_meta_rules.py": "bridge",
    "test_graph_of.py": "bridge", "test_rf_locality.py": "bridge",
    "test_rms_norm_import.py": "bridge", "test_token_import.py": "bridge",
    "test_axis_flow.py": "bridge",
    "test_hostile_corpus.py": "slow", "test_web_hostile.py": "slow",
}


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = TIERS.get(item.path.name)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files of the snapshot tests")


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")


# ------------------------------------------------ the web tests' shared fixtures ---
# (a module that needs another app, test_web_hostile.py, defines its own client / server)
@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """Where screenshots go: the folder named by CONVSCOPE_ARTIFACTS, else a temporary one."""
    from pathlib import Path

    chosen = os.environ.get("CONVSCOPE_ARTIFACTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def client():
    """The app through Starlette's test client, with the Host a browser sends to a server on
    127.0.0.1 (others are refused); the ``with`` runs the app's lifespan, which starts and
    then stops its worker processes."""
    from starlette.testclient import TestClient

    from convscope.web.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture(scope="module")
def server():
    """A real uvicorn server on 127.0.0.1: its base URL with a trailing slash."""
    from convscope.web.app import create_app
    from webserver import running

    with running(create_app()) as base:
        yield f"{base}/"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a browser download)."""
    from webserver import chromium

    with chromium() as b:
        yield b
