"""The README's quickstart, run exactly as written (every block of its section, in order) against
a lambox started as the README starts it: defaults, a fresh directory, port 4566.

And what a new user met on the way: `lambox config` showing the values in effect, a missing
configuration file, a stray `LAMBOX_*` variable, colour codes in a log that is not a terminal,
and `lambox invoke` finding the region as the AWS CLI does and taking an ARN of any region."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, Lambox, create, lambox_bin

VENV_BIN = str(Path(sys.executable).parent)


def quickstart_blocks():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    section = section.split("### ", 1)[0]
    return re.findall(r"```(sh|python)\n(.*?)```", section, re.S)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBOX_", "AWS_"))}
    # As the README says: `lambox` on PATH, and here the AWS CLI of the test environment.
    env["PATH"] = os.pathsep.join([str(Path(lambox_bin()).parent), VENV_BIN, env.get("PATH", "")])
    env.update(extra)
    return env


def test_the_quickstart_runs_as_written(tmp_path):
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 4566)) == 0:
            pytest.fail("port 4566 is taken: the quickstart needs lambox's default address")
    serve_dir, work = tmp_path / "serve", tmp_path / "work"
    serve_dir.mkdir()
    work.mkdir()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([lambox_bin(), "serve"], cwd=serve_dir, env=clean_env(), stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen("http://127.0.0.1:4566/_lambox/health", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.05)
        blocks = quickstart_blocks()
        assert [kind for kind, _ in blocks] == ["sh", "python", "sh"]
        # One shell, as a reader would use (the first block's exports hold for the last), the
        # python block run from it; a marker line after each block.
        script = ""
        for i, (kind, code) in enumerate(blocks):
            if kind == "sh":
                script += code
            else:
                script += f"{sys.executable} - <<'PYTHON_BLOCK'\n{code}PYTHON_BLOCK\n"
            script += f"echo '=== block {i} done' >&2\n"
        out = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=clean_env(), capture_output=True,
                             text=True, timeout=180)
        assert out.returncode == 0, f"the quickstart failed:\n{script}\n{out.stdout}\n{out.stderr}"
        assert out.stderr.count("=== block") == 3
        outputs = [out.stdout, out.stdout, out.stdout + out.stderr]
        assert '"FunctionName": "hello"' in outputs[0]
        assert "\nActive\n" in "\n" + outputs[1], "the boto3 block's print"
        assert "START RequestId:" in outputs[2] and "REPORT RequestId:" in outputs[2]
        assert '{"hi": 1}' in outputs[2]
        assert (serve_dir / ".lambox" / "lambox.db").exists(), "the state went where the README says"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
    assert "\x1b[" not in (tmp_path / "serve.log").read_text(), "no colour codes in a log file"


def run_lambox(*args, cwd, **env):
    return subprocess.run([lambox_bin(), *args], cwd=cwd, env=clean_env(**env), capture_output=True,
                          text=True, timeout=60)


def test_config_shows_values_in_effect_and_refuses_a_missing_file(tmp_path):
    out = run_lambox("config", cwd=tmp_path, LAMBOX_BOGUS="1")
    assert out.returncode == 0, out.stderr
    assert 'public_url = "http://127.0.0.1:4566"' in out.stdout
    assert f'agent = "{Path(lambox_bin()).resolve()}"' in out.stdout or f'agent = "{lambox_bin()}"' in out.stdout
    assert 'agent = ""' not in out.stdout
    assert "LAMBOX_BOGUS" in out.stderr, "a stray variable is warned about"
    missing = run_lambox("--config", str(tmp_path / "nope.toml"), "config", cwd=tmp_path)
    assert missing.returncode != 0 and "nope.toml does not exist" in missing.stderr
    missing = run_lambox("config", cwd=tmp_path, LAMBOX_CONFIG=str(tmp_path / "gone.toml"))
    assert missing.returncode != 0 and "gone.toml does not exist" in missing.stderr
    (tmp_path / "lambox.toml").write_text("no_such_setting = 1\n")
    bad = run_lambox("config", cwd=tmp_path)
    assert bad.returncode != 0 and "no_such_setting" in bad.stderr


def test_a_stray_variable_does_not_stop_the_server(tmp_path):
    s = Lambox(tmp_path / "data", extra_env={"LAMBOX_BOGUS": "1"}).start()
    try:
        assert s.client().list_functions()["Functions"] == []
    finally:
        s.stop()
    assert "LAMBOX_BOGUS names no setting" in s.log_path.read_text()


def test_lambox_invoke_finds_the_region_as_the_aws_cli_does(tmp_path):
    s = Lambox(tmp_path / "data").start()
    try:
        create(s.client(region="eu-west-1"), "west")
        config = tmp_path / "aws-config"
        config.write_text("[default]\nregion = eu-west-1\n")
        base = dict(AWS_ACCESS_KEY_ID="111111111111", AWS_ENDPOINT_URL=s.endpoint)
        by_default_region = run_lambox("invoke", "west", "--payload", '{"a": 1}', cwd=tmp_path,
                                       AWS_DEFAULT_REGION="eu-west-1", **base)
        assert by_default_region.returncode == 0, by_default_region.stderr
        by_profile = run_lambox("invoke", "west", cwd=tmp_path, AWS_CONFIG_FILE=str(config), **base)
        assert by_profile.returncode == 0, by_profile.stderr
        arn = "arn:aws:lambda:eu-west-1:111111111111:function:west"
        by_arn = run_lambox("invoke", arn, "--payload", '{"b": 2}', cwd=tmp_path, AWS_REGION="us-east-1", **base)
        assert by_arn.returncode == 0, by_arn.stderr
        assert '"b": 2' in by_arn.stdout or '"b":2' in by_arn.stdout
        # The logs are stored a moment after the invocation answered.
        deadline = time.monotonic() + 20
        while True:
            logs = run_lambox("logs", arn, cwd=tmp_path, AWS_REGION="us-east-1", **base)
            assert logs.returncode == 0, logs.stderr
            if "REPORT RequestId:" in logs.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert "REPORT RequestId:" in logs.stdout
    finally:
        s.stop()
