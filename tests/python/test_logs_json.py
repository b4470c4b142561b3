"""LoggingConfig LogFormat=JSON, read back through the CloudWatch Logs API with boto3: the
platform's JSON records (platform.initStart, platform.start, platform.report, and
platform.runtimeDone at DEBUG) filtered by SystemLogLevel, the runtimes' JSON application logs
(python's logging, node's console) filtered by ApplicationLogLevel, a custom LogGroup; and
PutRetentionPolicy/DeleteRetentionPolicy with their errors."""

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import create, make_zip

PY = '''import logging
logger = logging.getLogger("app")

def handler(event, context):
    print("a plain print")
    logger.debug("debug detail")
    logger.info("info line")
    logger.warning("careful", extra={"order": 7})
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    return "ok"
'''

NODE = '''exports.handler = async () => {
  console.debug("debug detail");
  console.log("info line", 1);
  console.warn({ shape: "object" });
  console.error(new TypeError("bad type"));
  return "ok";
};
'''


def logs_client(server):
    return boto3.client("logs", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="111111111111", aws_secret_access_key="test")


def lines_of(server, group, until, timeout=20.0):
    logs = logs_client(server)
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        try:
            lines = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        except ClientError:
            lines = []
        if until(lines):
            return lines
        time.sleep(0.1)
    raise AssertionError(f"{group}: {lines}")


def records(lines):
    out = []
    for line in lines:
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, dict):
            out.append(v)
    return out


def platform(lines, kind):
    return [r for r in records(lines) if r.get("type") == f"platform.{kind}"]


def test_python_json_logs_with_levels(server, lam):
    create(lam, "py-json", make_zip({"handler.py": PY}),
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO",
                          "LogGroup": "/custom/json-group"})
    r = lam.invoke(FunctionName="py-json")
    request_id = r["ResponseMetadata"]["RequestId"]
    assert json.loads(r["Payload"].read()) == "ok"
    lines = lines_of(server, "/custom/json-group", lambda ls: platform(ls, "report"))
    init = platform(lines, "initStart")[0]
    assert list(init) == ["time", "type", "record"] and init["time"].endswith("Z")
    assert init["record"]["initializationType"] == "on-demand" and init["record"]["phase"] == "init"
    assert init["record"]["runtimeVersion"].startswith("python:")
    assert init["record"]["functionName"] == "py-json"
    start = platform(lines, "start")[0]["record"]
    assert start["requestId"] == request_id and start["version"] == "$LATEST"
    report = platform(lines, "report")[0]["record"]
    assert report["status"] == "success"
    metrics = report["metrics"]
    assert set(metrics) >= {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs"}
    assert metrics["billedDurationMs"] >= metrics["durationMs"] + metrics["initDurationMs"], "init is billed"
    assert not platform(lines, "runtimeDone"), "DEBUG records are not written at INFO"
    assert not any(l.startswith(("START RequestId", "REPORT RequestId")) for l in lines)

    app = [rec for rec in records(lines) if "level" in rec and "type" not in rec]
    assert [a["message"] for a in app] == ["info line", "careful", "it failed"], "DEBUG is below INFO"
    info = app[0]
    assert list(info)[:4] == ["timestamp", "level", "message", "logger"]
    assert info["level"] == "INFO" and info["logger"] == "app" and info["requestId"] == request_id
    assert info["timestamp"].endswith("Z") and len(info["timestamp"]) == 20
    assert app[1]["level"] == "WARNING" and app[1]["order"] == 7, "extra fields are kept"
    failed = app[2]
    assert (failed["level"], failed["errorType"], failed["errorMessage"]) == ("ERROR", "ValueError", "boom")
    assert any("handler.py" in frame for frame in failed["stackTrace"])
    assert "a plain print" in lines, "print() stays plain text"


def test_system_and_application_levels(server, lam):
    create(lam, "py-quiet", make_zip({"handler.py": PY}),
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "ERROR", "SystemLogLevel": "WARN"})
    create(lam, "py-loud", make_zip({"handler.py": PY}),
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "DEBUG"})
    for name in ("py-quiet", "py-loud"):
        lam.invoke(FunctionName=name)
    loud = lines_of(server, "/aws/lambda/py-loud", lambda ls: platform(ls, "report"))
    done = platform(loud, "runtimeDone")
    assert done and done[0]["record"]["status"] == "success"
    assert "debug detail" in [r.get("message") for r in records(loud)]
    quiet = lines_of(server, "/aws/lambda/py-quiet", lambda ls: any("it failed" in l for l in ls))
    assert not platform(quiet, "start") and not platform(quiet, "report"), "nothing at WARN for a success"
    assert [r["message"] for r in records(quiet) if "level" in r] == ["it failed"]


def test_node_json_logs(server, lam):
    create(lam, "node-json", make_zip({"index.js": NODE}), Runtime="nodejs20.x", Handler="index.handler",
           LoggingConfig={"LogFormat": "JSON"})
    r = lam.invoke(FunctionName="node-json")
    request_id = r["ResponseMetadata"]["RequestId"]
    assert json.loads(r["Payload"].read()) == "ok"
    lines = lines_of(server, "/aws/lambda/node-json", lambda ls: platform(ls, "report"))
    app = [rec for rec in records(lines) if "level" in rec]
    assert [a["level"] for a in app] == ["INFO", "WARN", "ERROR"], "console.debug is below INFO"
    assert list(app[0]) == ["timestamp", "level", "requestId", "message"]
    assert app[0]["message"] == "info line 1" and app[0]["requestId"] == request_id
    assert app[1]["message"] == {"shape": "object"}
    assert app[2]["message"]["errorType"] == "TypeError" and app[2]["message"]["errorMessage"] == "bad type"


def test_retention_policies(server, lam):
    create(lam, "kept", make_zip())
    lam.invoke(FunctionName="kept")
    logs = logs_client(server)
    group = "/aws/lambda/kept"
    lines_of(server, group, lambda ls: any(l.startswith("REPORT") for l in ls))
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert described["retentionInDays"] == 7
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName=group, retentionInDays=8)
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidParameterException"
    assert "Value '8' at 'retentionInDays' failed to satisfy constraint" in err["Message"]
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName="/aws/lambda/none", retentionInDays=7)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]


def test_tail_follow_as_aws_cli_v2_polls(server, lam):
    """`aws logs tail --follow` (CLI v2) polls FilterLogEvents: from `--since`, following
    nextToken at once, then from the newest timestamp seen (inclusive), skipping event ids it
    has seen. Each invocation's lines must come out once, and the last page must carry no
    nextToken (or the CLI would never sleep)."""
    create(lam, "tailed", make_zip({"handler.py": "def handler(e, c):\n    print('line', e['n'])\n    return e\n"}))
    logs = logs_client(server)
    group = "/aws/lambda/tailed"
    since = int(time.time() * 1000) - 600_000
    seen_ids, printed, newest = set(), [], since

    def poll():
        nonlocal newest
        kwargs = {"logGroupName": group, "interleaved": True, "startTime": newest}
        while True:
            try:
                page = logs.filter_log_events(**kwargs)
            except ClientError:
                return
            for e in page["events"]:
                if e["eventId"] not in seen_ids:
                    seen_ids.add(e["eventId"])
                    printed.append(e["message"])
                newest = max(newest, e["timestamp"])
            if "nextToken" not in page:
                return
            kwargs["nextToken"] = page["nextToken"]

    for n in range(3):
        lam.invoke(FunctionName="tailed", Payload=json.dumps({"n": n}))
        deadline = time.monotonic() + 20
        while f"line {n}" not in printed and time.monotonic() < deadline:
            poll()
            time.sleep(0.1)
    assert [p for p in printed if p.startswith("line")] == ["line 0", "line 1", "line 2"]
    assert len(printed) == len(set(seen_ids)), "no line printed twice"
