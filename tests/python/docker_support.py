"""What the Docker backend's tests share: the engine, the local images, a lambox using them."""

import os
import subprocess

import pytest

from conftest import Lambox

RUNTIME_IMAGE = "lambox-local/runtime:bookworm"
SCRATCH_IMAGE = "lambox-local/provided:scratch"

requires_docker = pytest.mark.skipif(
    os.environ.get("LAMBOX_DOCKER_TESTS") != "1",
    reason="no Docker engine (or images not built): run the suite with `cargo xtask test`",
)


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120)


def docker_env():
    return {
        "LAMBOX_BACKEND": "docker",
        "LAMBOX_DOCKER__AGENT": os.environ["LAMBOX_STATIC_AGENT"],
        "LAMBOX_DOCKER__IMAGES__PYTHON": RUNTIME_IMAGE,
        "LAMBOX_DOCKER__IMAGES__NODEJS": RUNTIME_IMAGE,
        "LAMBOX_DOCKER__IMAGES__PROVIDED": SCRATCH_IMAGE,
    }


def containers(label_filter):
    out = docker("ps", "-aq", "--filter", f"label={label_filter}")
    return [c for c in out.stdout.split() if c]


def start_docker_lambox(tmp_path, listen_host="127.0.0.1"):
    return Lambox(tmp_path / "data", extra_env=docker_env(), listen_host=listen_host).start()
