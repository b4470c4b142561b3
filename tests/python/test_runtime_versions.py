"""Which interpreter runs a runtime on the process backend, and what lambox says of it: the
version the runtime names where this machine has it, else the configured default, said in lambox's
log when the function is created and in the function's init log (INIT_START names the version
that really runs, as Lambda's does)."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import boto3
import pytest

from conftest import create, make_zip

VERSION = "import sys\ndef handler(event, context):\n    return '%d.%d' % sys.version_info[:2]\n"


def logs_client(server):
    return boto3.client("logs", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="111111111111", aws_secret_access_key="test")


def init_lines(server, function):
    logs = logs_client(server)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        lines = [e["message"] for e in events]
        if any(l.startswith("START RequestId") for l in lines):
            return [l for l in lines if l.startswith(("INIT_START", "lambox:"))]
        time.sleep(0.1)
    raise AssertionError(f"no log of {function}")


def default_python():
    out = subprocess.run(["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def has_python(version):
    if shutil.which(f"python{version}") and subprocess.run([f"python{version}", "-V"], capture_output=True).returncode == 0:
        return True
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    return any(p.name.startswith(f"{version}.") for p in pyenv.glob("*"))


def test_the_named_version_runs_where_the_machine_has_it(server, lam):
    present = default_python()
    create(lam, "present", make_zip({"handler.py": VERSION}), Runtime=f"python{present}")
    assert json.loads(lam.invoke(FunctionName="present")["Payload"].read()) == present
    lines = init_lines(server, "present")
    assert lines[0].startswith(f"INIT_START Runtime Version: python:{present}.")
    assert "\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:" in lines[0]
    assert not any(l.startswith("lambox:") for l in lines), "nothing to say"


def test_another_version_runs_where_it_is_missing_and_lambox_says_so(server, lam):
    absent = next((v for v in ("3.14", "3.13", "3.9") if not has_python(v)), None)
    if absent is None:
        pytest.skip("this machine has every python a runtime could name")
    create(lam, "absent", make_zip({"handler.py": VERSION}), Runtime=f"python{absent}")
    ran = json.loads(lam.invoke(FunctionName="absent")["Payload"].read())
    assert ran == default_python(), "the configured default runs it"
    lines = init_lines(server, "absent")
    assert lines[0].startswith(f"INIT_START Runtime Version: python:{ran}.")
    assert any(f"no interpreter for python{absent}" in l for l in lines), lines
    log = server.log_path.read_text()
    assert f"this machine has no interpreter for python{absent}" in log, "said when it was created"


def test_node_versions_are_named_too(server, lam):
    major = subprocess.run(["node", "-p", "process.versions.node.split('.')[0]"], capture_output=True,
                           text=True, check=True).stdout.strip()
    handler = "exports.handler = async () => process.versions.node;\n"
    create(lam, "node-version", make_zip({"index.js": handler}), Runtime=f"nodejs{major}.x", Handler="index.handler")
    ran = json.loads(lam.invoke(FunctionName="node-version")["Payload"].read())
    assert ran.split(".")[0] == major
    lines = init_lines(server, "node-version")
    assert lines[0].startswith(f"INIT_START Runtime Version: nodejs:{ran}\t")
