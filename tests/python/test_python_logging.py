"""How lambox's python runtime client sets up logging, seen from a function: as AWS's runtime
does, before the handler's module runs, so that libraries that inspect the root logger when they
are imported behave as on Lambda (aws-lambda-powertools from PyPI prints each line once)."""

import base64
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import create

POWERTOOLS = "aws-lambda-powertools==3.37.0"

POWERTOOLS_HANDLER = """
from aws_lambda_powertools import Logger

logger = Logger(service="orders")

def handler(event, context):
    logger.info("powertools says hello", extra={"order": 7})
    return {"ok": True}
"""

PLAIN_LOGGING_HANDLER = """
import logging

logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("app")

def handler(event, context):
    log.info("plain logging line")
    return {"request_id": context.aws_request_id}
"""


@pytest.fixture(scope="session")
def powertools_dir(tmp_path_factory):
    """aws-lambda-powertools and its dependencies, installed from PyPI as a deployment package's
    contents."""
    target = tmp_path_factory.mktemp("powertools")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", "--target", str(target), POWERTOOLS],
        check=True, timeout=300,
    )
    return target


def package(files, tree: Path = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if tree is not None:
            for path in sorted(tree.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    z.write(path, path.relative_to(tree).as_posix())
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def tail(lam, name):
    r = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    assert "FunctionError" not in r, r["Payload"].read()
    return json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode()


def test_powertools_logger_prints_each_line_once_as_json(lam, powertools_dir):
    create(lam, "pt", package({"app.py": POWERTOOLS_HANDLER}, powertools_dir), Handler="app.handler", Timeout=30)
    for _ in range(2):
        _, log = tail(lam, "pt")
        lines = [l for l in log.splitlines() if "powertools says hello" in l]
        assert len(lines) == 1, log
        record = json.loads(lines[0])
        assert (record["level"], record["service"], record["order"]) == ("INFO", "orders", 7)


def test_plain_logging_goes_through_lambdas_root_handler(lam):
    create(lam, "pl", package({"app.py": PLAIN_LOGGING_HANDLER}), Handler="app.handler")
    body, log = tail(lam, "pl")
    lines = [l for l in log.splitlines() if "plain logging line" in l]
    assert len(lines) == 1, log
    level, stamp, request_id, message = lines[0].split("\t")
    assert (level, request_id, message) == ("[INFO]", body["request_id"], "plain logging line")
    assert stamp.endswith("Z") and "T" in stamp
