"""Fixtures that run the real `lambox` binary and point real AWS clients at it."""

import io
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::111111111111:role/lambda-role"


def lambox_bin() -> str:
    path = os.environ.get("LAMBOX_BIN") or str(ROOT / "target" / "debug" / "lambox")
    if not Path(path).exists():
        raise RuntimeError(f"{path} does not exist: build it first (cargo build -p lambox-server)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lambox:
    """One lambox server process with its own data directory."""

    def __init__(self, data_dir: Path, extra_env=None, config_file=None, listen_host="127.0.0.1"):
        self.data_dir = data_dir
        self.listen_host = listen_host
        self.port = free_port()
        self.extra_env = extra_env or {}
        self.config_file = config_file
        self.proc = None
        self.log_path = data_dir.parent / f"lambox-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAMBOX_") and not k.startswith("AWS_")}
        # Retries of asynchronous events in tenths of seconds rather than minutes.
        env["LAMBOX_ASYNC_EVENTS__RETRY_BASE_SECONDS"] = "0.2"
        # Changes take effect at once, so that a test may update a function right after creating
        # it; test_fidelity.py runs with AWS-like transitions (the default) on purpose.
        env["LAMBOX_STATE_TRANSITION_MS"] = "0"
        env.update(self.extra_env)
        env.setdefault("RUST_LOG", "info")
        args = [lambox_bin()]
        if self.config_file:
            args += ["--config", str(self.config_file)]
        args += ["serve", "--listen", f"{self.listen_host}:{self.port}", "--data-dir", str(self.data_dir)]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lambox exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_lambox/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("lambox did not become ready")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start()

    def client(self, account="111111111111", region="us-east-1", secret="test", **kw):
        return boto3.client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=account,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, **kw),
        )


@pytest.fixture
def server(tmp_path):
    s = Lambox(tmp_path / "data").start()
    yield s
    s.stop()


@pytest.fixture
def lam(server):
    return server.client()


def make_zip(files=None) -> bytes:
    files = files or {"handler.py": "def handler(event, context):\n    return event\n"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def create(client, name, zip_bytes=None, **kw):
    """CreateFunction of a python function; a keyword given as None leaves that parameter out."""
    args = dict(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": zip_bytes or make_zip()},
    )
    args.update(kw)
    return client.create_function(**{k: v for k, v in args.items() if v is not None})


def admin_get(server, path, account="111111111111", region="us-east-1"):
    """GETs lambox's admin API as `account` (lambox accepts any signature outside strict mode)."""
    req = urllib.request.Request(
        f"{server.endpoint}{path}",
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/lambda/aws4_request, "
            "SignedHeaders=host, Signature=0"
        },
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def wait_for_logs(server, function, predicate, timeout=20.0, account="111111111111"):
    """Polls a function's invocation logs until `predicate(list_of_texts)` holds; returns them."""
    deadline = time.monotonic() + timeout
    texts = []
    while time.monotonic() < deadline:
        page = admin_get(server, f"/_lambox/admin/logs?FunctionName={function}&Limit=1000", account=account)
        texts = [i["Log"] for i in page["Invocations"]]
        if predicate(texts):
            return texts
        time.sleep(0.1)
    raise AssertionError(f"logs of {function} never matched; last seen: {texts}")


def error_of(excinfo):
    """(code, HTTP status, message) of a botocore ClientError."""
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Message"]
