"""The Runtime API as real clients nobody here wrote use it: AWS's awslambdaric (PyPI) and a
provided.al2023 function built with AWS's lambda_runtime crate."""

import io
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, create, make_zip


def zip_with_bootstrap(bootstrap: bytes, files=None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, bootstrap)
        for name, data in (files or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


AWSLAMBDARIC_HANDLER = """
import os

def handler(event, context):
    print("handled by awslambdaric")
    if event.get("fail"):
        raise RuntimeError("awslambdaric saw a failure")
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "remaining": context.get_remaining_time_in_millis(),
        "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"],
    }
"""


def vendored(*distributions) -> dict:
    """The files of installed distributions, as `pip install --target` would lay them out in a
    deployment package (what Lambda users do with awslambdaric)."""
    import importlib.metadata as metadata

    files = {}
    for name in distributions:
        dist = metadata.distribution(name)
        for f in dist.files or []:
            if "__pycache__" in f.parts or f.parts[0].endswith(".dist-info"):
                continue
            files[str(f)] = Path(dist.locate_file(f)).read_bytes()
    return files


def test_awslambdaric_runs_a_python_function(lam):
    # The package carries awslambdaric and its dependencies, and the bootstrap runs the
    # interpreter they were built for (the venv's own path may be under /tmp, which a sandbox
    # never sees).
    python = os.path.realpath(sys.executable)
    bootstrap = (f'#!/bin/sh\nPYTHONPATH="$LAMBDA_TASK_ROOT" exec {python} -m awslambdaric '
                 f'handler.handler\n').encode()
    files = {"handler.py": AWSLAMBDARIC_HANDLER, **vendored("awslambdaric", "simplejson", "snapshot-restore-py")}
    create(
        lam,
        "ric-fn",
        zip_with_bootstrap(bootstrap, files),
        Runtime="provided.al2023",
        Handler="handler.handler",
        Timeout=10,
    )
    r = lam.invoke(FunctionName="ric-fn", Payload=b'{"via": "awslambdaric"}', LogType="Tail")
    body = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, body
    assert body["event"] == {"via": "awslambdaric"}
    assert body["request_id"] == r["ResponseMetadata"]["RequestId"]
    assert body["function_name"] == "ric-fn"
    assert 0 < body["remaining"] <= 10_000
    import base64

    assert "handled by awslambdaric" in base64.b64decode(r["LogResult"]).decode()
    failed = lam.invoke(FunctionName="ric-fn", Payload=b'{"fail": true}')
    error = json.loads(failed["Payload"].read())
    assert failed["FunctionError"] == "Unhandled"
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "awslambdaric saw a failure"
    assert error["requestId"] == failed["ResponseMetadata"]["RequestId"]


def rust_bootstrap() -> Path:
    path = Path(os.environ.get("LAMBOX_RS_BOOTSTRAP") or ROOT / "target" / "debug" / "bootstrap")
    if not path.exists():
        pytest.fail(f"{path} is missing: cargo build -p lambox-fixture-lambda-rs")
    return path


def test_lambda_runtime_crate_runs_a_provided_al2023_function(lam):
    create(
        lam,
        "rust-fn",
        zip_with_bootstrap(rust_bootstrap().read_bytes()),
        Runtime="provided.al2023",
        Handler="bootstrap",
        MemorySize=512,
    )
    r = lam.invoke(FunctionName="rust-fn", Payload=b'{"via": "lambda_runtime"}')
    body = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, body
    assert body["event"] == {"via": "lambda_runtime"}
    assert body["request_id"] == r["ResponseMetadata"]["RequestId"]
    assert body["invoked_function_arn"] == "arn:aws:lambda:us-east-1:111111111111:function:rust-fn"
    assert body["function_name"] == "rust-fn"
    assert body["memory"] == 512
    failed = lam.invoke(FunctionName="rust-fn", Payload=b'{"fail": 1}')
    error = json.loads(failed["Payload"].read())
    assert failed["FunctionError"] == "Unhandled"
    assert error["errorMessage"] == "the Rust handler was asked to fail"


def test_lambda_runtime_crate_streams_through_a_url_and_invoke_with_response_stream(lam):
    import http.client
    import time
    import urllib.parse

    create(lam, "rust-stream", zip_with_bootstrap(rust_bootstrap().read_bytes()),
           Runtime="provided.al2023", Handler="bootstrap")
    events = lam.invoke_with_response_stream(FunctionName="rust-stream", Payload=b'{"stream": true}')["EventStream"]
    chunks, complete = [], None
    for e in events:
        if "PayloadChunk" in e:
            chunks.append((time.monotonic(), e["PayloadChunk"]["Payload"]))
        elif "InvokeComplete" in e:
            complete = e["InvokeComplete"]
    whole = b"".join(c for _, c in chunks)
    # The bytes as the runtime sent them: its prelude, eight NULs, then the two writes.
    prelude, body = whole.split(b"\0" * 8, 1)
    assert json.loads(prelude)["statusCode"] == 202 and body == b"rs-1;rs-2;"
    assert chunks[-1][0] - chunks[0][0] > 0.3, "the second write came half a second later"
    assert complete is not None and "ErrorCode" not in complete

    url = lam.create_function_url_config(FunctionName="rust-stream", AuthType="NONE",
                                         InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    lam.add_permission(FunctionName="rust-stream", StatementId="public", Action="lambda:InvokeFunctionUrl",
                       Principal="*", FunctionUrlAuthType="NONE")
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", u.port, timeout=30)
    conn.request("GET", "/stream", headers={"Host": u.netloc})
    r = conn.getresponse()
    # The prelude's status, headers and cookie; then each write as it comes.
    assert (r.status, r.getheader("x-lambda-rs"), r.getheader("set-cookie")) == (202, "streamed", "rs=1")
    assert r.getheader("content-type") == "text/plain"
    first = r.read1(64)
    first_at = time.monotonic()
    assert first + r.read() == b"rs-1;rs-2;" and first == b"rs-1;"
    assert time.monotonic() - first_at > 0.3
    conn.close()


def test_provided_runtime_without_bootstrap_fails_like_lambda(lam):
    create(lam, "no-bootstrap", make_zip({"README": "no bootstrap here"}), Runtime="provided.al2023", Handler="x")
    r = lam.invoke(FunctionName="no-bootstrap", Payload=b"{}")
    error = json.loads(r["Payload"].read())
    assert r["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert "Couldn't find valid bootstrap(s)" in error["errorMessage"]

