"""The AWS CLI, unchanged, against lambox."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROLE, make_zip

AWS = str(Path(sys.executable).with_name("aws"))


def aws(server, *args, account="111111111111", region="us-east-1", use_env_endpoint=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=region,
               AWS_MAX_ATTEMPTS="1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    cmd = [AWS]
    if use_env_endpoint:
        env["AWS_ENDPOINT_URL"] = server.endpoint
    else:
        cmd += ["--endpoint-url", server.endpoint]
    return subprocess.run(cmd + ["lambda", *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_create_get_list_delete(server, tmp_path):
    zip_path = tmp_path / "fn.zip"
    zip_path.write_bytes(make_zip())
    r = aws(server, "create-function", "--function-name", "cli-fn", "--runtime", "python3.12",
            "--role", ROLE, "--handler", "handler.handler", "--zip-file", f"fileb://{zip_path}",
            "--tags", "team=cli")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["FunctionName"] == "cli-fn"
    r = aws(server, "wait", "function-active-v2", "--function-name", "cli-fn")
    assert r.returncode == 0, r.stderr
    r = aws(server, "get-function", "--function-name", "cli-fn", use_env_endpoint=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["Configuration"]["State"] == "Active"
    assert got["Tags"] == {"team": "cli"}
    r = aws(server, "list-functions")
    assert [f["FunctionName"] for f in json.loads(r.stdout)["Functions"]] == ["cli-fn"]
    r = aws(server, "delete-function", "--function-name", "cli-fn")
    assert r.returncode == 0, r.stderr


def test_cli_prints_aws_errors(server):
    r = aws(server, "get-function", "--function-name", "missing")
    assert r.returncode == 255
    assert (
        "An error occurred (ResourceNotFoundException) when calling the GetFunction operation: "
        "Function not found: arn:aws:lambda:us-east-1:111111111111:function:missing"
    ) in r.stderr
