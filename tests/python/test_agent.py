"""The statically linked agent on its own, as a container would run it: the RIE-compatible push
path with no lambox headers, the runtime found as Lambda finds it, timeouts."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, free_port


def static_agent() -> str:
    path = os.environ.get("LAMBOX_STATIC_AGENT")
    if not path or not Path(path).exists():
        pytest.fail("LAMBOX_STATIC_AGENT is not set: run the suite with `cargo xtask test`")
    return path


def start_agent(task: Path, command, timeout="1"):
    invoke, api = free_port(), free_port()
    env = {
        "PATH": os.environ["PATH"],
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": "handler.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "standalone",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": timeout,
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [static_agent(), "--invoke", f"127.0.0.1:{invoke}", "--runtime-api", f"127.0.0.1:{api}", *command],
        env=env, cwd=task, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    ready = proc.stdout.readline()
    assert ready.startswith(f"lambox-agent ready invoke=127.0.0.1:{invoke} runtime-api=127.0.0.1:{api}"), ready
    return proc, invoke


def push(port, event):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations",
        data=json.dumps(event).encode(), method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers, json.loads(r.read())


HANDLER = """
import time
def handler(event, context):
    print("standalone got", event)
    time.sleep(event.get("sleep", 0))
    return {"echo": event, "arn": context.invoked_function_arn}
"""


def test_static_agent_serves_rie_style_pushes(tmp_path):
    (tmp_path / "handler.py").write_text(HANDLER)
    bootstrap = ["--", sys.executable, str(ROOT / "runtimes" / "python" / "bootstrap.py")]
    proc, port = start_agent(tmp_path, bootstrap)
    try:
        headers, body = push(port, {"a": 1})
        assert body == {"echo": {"a": 1}, "arn": "arn:aws:lambda:us-east-1:000000000000:function:standalone"}
        assert "x-amz-function-error" not in headers
        headers, body = push(port, {"sleep": 3})
        assert headers["x-amz-function-error"] == "Unhandled"
        assert body["errorType"] == "Sandbox.Timedout"
        assert body["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
        assert push(port, {"b": 2})[1]["echo"] == {"b": 2}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out.count("START RequestId: ") == 3
    assert out.count("REPORT RequestId: ") == 3
    assert "standalone got {'a': 1}" in out


def test_static_agent_finds_the_functions_bootstrap(tmp_path):
    (tmp_path / "handler.py").write_text(HANDLER)
    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_text(f"#!/bin/sh\nexec {sys.executable} {ROOT / 'runtimes' / 'python' / 'bootstrap.py'}\n")
    bootstrap.chmod(0o755)
    proc, port = start_agent(tmp_path, [])
    try:
        assert push(port, {"via": "bootstrap"})[1]["echo"] == {"via": "bootstrap"}
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
