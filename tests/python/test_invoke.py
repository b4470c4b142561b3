"""Running functions on the process backend, driven by boto3 as against real Lambda."""

import base64
import json
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import admin_get, create, error_of, lambox_bin, make_zip, wait_for_logs

PY_HANDLER = '''
import json, os, sys, time

def handler(event, context):
    print("event:", json.dumps(event))
    if event.get("fail"):
        raise ValueError("Handler fails: " + str(event["fail"]))
    if "sleep" in event:
        started = time.time()
        time.sleep(event["sleep"])
        return {"sandbox": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"], "start": started, "end": time.time()}
    if "exit" in event:
        sys.stdout.flush()
        os._exit(event["exit"])
    cc = context.client_context
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_custom": cc.custom if cc else None,
        "stage": os.environ.get("STAGE"),
        "region": os.environ.get("AWS_REGION"),
        "handler_env": os.environ.get("_HANDLER"),
    }
'''


def py_function(lam, name, **kw):
    kw.setdefault("Timeout", 10)
    return create(lam, name, make_zip({"app/main.py": PY_HANDLER}), Handler="app/main.handler", **kw)


def invoke_json(lam, name, event=None, **kw):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}).encode(), **kw)
    return r, json.loads(r["Payload"].read() or b"null")


def test_python_result_context_and_log_tail(lam):
    py_function(lam, "py-fn", MemorySize=256, Environment={"Variables": {"STAGE": "one"}})
    custom = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    r, body = invoke_json(lam, "py-fn", {"hello": "world"}, LogType="Tail", ClientContext=custom)
    assert r["StatusCode"] == 200
    assert r["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in r
    assert body["event"] == {"hello": "world"}
    assert body["request_id"] == r["ResponseMetadata"]["RequestId"]
    assert body["function_name"] == "py-fn"
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == "arn:aws:lambda:us-east-1:111111111111:function:py-fn"
    assert body["memory_limit_in_mb"] == "256"
    assert body["log_group_name"] == "/aws/lambda/py-fn"
    assert "[$LATEST]" in body["log_stream_name"]
    assert 0 < body["remaining_ms"] <= 10_000
    assert body["client_custom"] == {"k": "v"}
    assert body["stage"] == "one" and body["region"] == "us-east-1"
    assert body["handler_env"] == "app/main.handler"
    log = base64.b64decode(r["LogResult"]).decode()
    lines = log.strip().split("\n")
    assert lines[0] == f"START RequestId: {body['request_id']} Version: $LATEST"
    assert 'event: {"hello": "world"}' in log
    assert lines[-2] == f"END RequestId: {body['request_id']}"
    assert lines[-1].startswith(f"REPORT RequestId: {body['request_id']}\tDuration: ")
    assert "Memory Size: 256 MB" in lines[-1] and "Init Duration:" in lines[-1]
    # Warm: the same sandbox, no init.
    r2, body2 = invoke_json(lam, "py-fn", {}, LogType="Tail")
    assert body2["log_stream_name"] == body["log_stream_name"]
    assert "Init Duration" not in base64.b64decode(r2["LogResult"]).decode()


def test_qualified_invoke_runs_the_published_version(lam):
    py_function(lam, "py-ver", Environment={"Variables": {"STAGE": "v1"}}, Publish=True)
    lam.update_function_configuration(FunctionName="py-ver", Environment={"Variables": {"STAGE": "latest"}})
    r, body = invoke_json(lam, "py-ver", {}, Qualifier="1")
    assert r["ExecutedVersion"] == "1"
    assert body["stage"] == "v1" and body["function_version"] == "1"
    assert body["invoked_function_arn"].endswith(":py-ver:1")
    _, latest = invoke_json(lam, "py-ver", {})
    assert latest["stage"] == "latest"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="py-ver", Qualifier="9", Payload=b"{}")
    assert error_of(e) == (
        "ResourceNotFoundException",
        404,
        "Function not found: arn:aws:lambda:us-east-1:111111111111:function:py-ver:9",
    )


def test_handler_exception_is_a_function_error(lam):
    py_function(lam, "py-err")
    r, body = invoke_json(lam, "py-err", {"fail": 42}, LogType="Tail")
    assert r["StatusCode"] == 200
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "Handler fails: 42"
    assert body["requestId"] == r["ResponseMetadata"]["RequestId"]
    assert any("raise ValueError" in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: Handler fails: 42" in base64.b64decode(r["LogResult"]).decode()


def test_timeout_kills_and_the_next_invoke_starts_fresh(lam):
    py_function(lam, "py-timeout", Timeout=1)
    r, body = invoke_json(lam, "py-timeout", {"sleep": 5})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"] == (
        f"RequestId: {r['ResponseMetadata']['RequestId']} Error: Task timed out after 1.00 seconds"
    )
    r2, body2 = invoke_json(lam, "py-timeout", {"x": 1})
    assert "FunctionError" not in r2
    assert body2["event"] == {"x": 1}


def test_os_exit_then_next_invoke_succeeds(lam):
    py_function(lam, "py-exit")
    r, body = invoke_json(lam, "py-exit", {"exit": 3})
    assert r["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {r['ResponseMetadata']['RequestId']} Error: Runtime exited with error: exit status 3",
    }
    r2, body2 = invoke_json(lam, "py-exit", {"after": True})
    assert "FunctionError" not in r2 and body2["event"] == {"after": True}


def test_import_error_is_reported_as_lambda_does(lam):
    create(lam, "py-import", make_zip({"main.py": "import no_such_module\n"}), Handler="main.handler")
    r, body = invoke_json(lam, "py-import", {})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'main': No module named 'no_such_module'"
    create(lam, "py-nohandler", make_zip({"main.py": "x = 1\n"}), Handler="main.handler")
    _, body = invoke_json(lam, "py-nohandler", {})
    assert body["errorType"] == "Runtime.HandlerNotFound"


def test_environment_change_reaches_the_next_invoke(lam):
    py_function(lam, "py-env", Environment={"Variables": {"STAGE": "before"}})
    assert invoke_json(lam, "py-env")[1]["stage"] == "before"
    lam.update_function_configuration(FunctionName="py-env", Environment={"Variables": {"STAGE": "after"}})
    assert invoke_json(lam, "py-env")[1]["stage"] == "after"
    lam.update_function_code(
        FunctionName="py-env", ZipFile=make_zip({"app/main.py": "def handler(e, c):\n    return 'new code'\n"})
    )
    assert invoke_json(lam, "py-env")[1] == "new code"


def test_twenty_parallel_invokes_never_share_a_sandbox(server, lam):
    py_function(lam, "py-par", Timeout=30)
    client = server.client()

    def one(i):
        return invoke_json(client, "py-par", {"sleep": 0.5, "i": i})

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))
    assert all("FunctionError" not in r for r, _ in results)
    by_sandbox = {}
    for _, body in results:
        by_sandbox.setdefault(body["sandbox"], []).append((body["start"], body["end"]))
    assert 1 < len(by_sandbox) <= 10  # the per-function cap
    for spans in by_sandbox.values():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end, "a sandbox ran two invocations at once"


def test_reserved_concurrency_zero_throttles(lam):
    py_function(lam, "py-throttle")
    put = lam.put_function_concurrency(FunctionName="py-throttle", ReservedConcurrentExecutions=0)
    assert put["ReservedConcurrentExecutions"] == 0
    assert lam.get_function_concurrency(FunctionName="py-throttle")["ReservedConcurrentExecutions"] == 0
    assert lam.get_function(FunctionName="py-throttle")["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="py-throttle", Payload=b"{}")
    assert error_of(e) == ("TooManyRequestsException", 429, "Rate Exceeded.")
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    lam.delete_function_concurrency(FunctionName="py-throttle")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="py-throttle")
    assert "FunctionError" not in invoke_json(lam, "py-throttle")[0]
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName="py-throttle", ReservedConcurrentExecutions=901)
    assert error_of(e) == (
        "InvalidParameterValueException",
        400,
        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
        "below its minimum value of [100].",
    )


def test_dry_run_oversized_and_non_json_payloads(lam):
    py_function(lam, "py-payload")
    assert lam.invoke(FunctionName="py-payload", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="py-payload", Payload=b'"' + b"x" * 6_291_456 + b'"')
    assert error_of(e) == (
        "RequestEntityTooLargeException",
        413,
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    )
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="py-payload", InvocationType="Event", Payload=b'"' + b"x" * 1_048_576 + b'"')
    assert error_of(e)[0:2] == ("RequestEntityTooLargeException", 413)
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="py-payload", Payload=b"{not json")
    code, status, message = error_of(e)
    assert (code, status) == ("InvalidRequestContentException", 400)
    assert message.startswith("Could not parse request body into json: Could not parse payload into json:")
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="nope", Payload=b"{}")
    assert error_of(e)[0:2] == ("ResourceNotFoundException", 404)


def test_event_invocation_is_delivered(server, lam):
    py_function(lam, "py-event")
    r = lam.invoke(FunctionName="py-event", InvocationType="Event", Payload=b'{"async": "yes"}')
    assert r["StatusCode"] == 202
    request_id = r["ResponseMetadata"]["RequestId"]
    logs = wait_for_logs(server, "py-event", lambda t: any(request_id in x for x in t))
    assert any('event: {"async": "yes"}' in x for x in logs)
    assert lam.invoke_async(FunctionName="py-event", InvokeArgs=b'{"legacy": 1}')["Status"] == 202
    wait_for_logs(server, "py-event", lambda t: any('"legacy": 1' in x for x in t))


def test_event_survives_a_sigkill_right_after_the_202(server, lam):
    slow_init = "import time\ntime.sleep(1.5)\n" + PY_HANDLER
    create(lam, "py-durable", make_zip({"app/main.py": slow_init}), Handler="app/main.handler", Timeout=10)
    r = lam.invoke(FunctionName="py-durable", InvocationType="Event", Payload=b'{"survives": "kill"}')
    assert r["StatusCode"] == 202
    server.stop(signal.SIGKILL)
    server.start()
    # Raises unless the event accepted before the kill runs after the restart.
    wait_for_logs(server, "py-durable", lambda t: any('"survives": "kill"' in x for x in t), timeout=30)


def test_retries_then_failure_destination_and_success_records(server, lam):
    py_function(lam, "py-dest-target")
    py_function(lam, "py-always-fails")
    lam.put_function_event_invoke_config(
        FunctionName="py-always-fails",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:lambda:us-east-1:111111111111:function:py-dest-target"}},
    )
    r = lam.invoke(FunctionName="py-always-fails", InvocationType="Event", Payload=b'{"fail": "always"}')
    request_id = r["ResponseMetadata"]["RequestId"]
    attempts = wait_for_logs(server, "py-always-fails", lambda t: sum(request_id in x for x in t) >= 2)
    assert sum(request_id in x for x in attempts) == 2  # the first attempt and one retry
    dest_logs = wait_for_logs(server, "py-dest-target", lambda t: any(request_id in x for x in t))
    record_line = next(line for x in dest_logs for line in x.split("\n") if line.startswith("event: "))
    record = json.loads(record_line[len("event: "):])
    assert record["version"] == "1.0"
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"] == "arn:aws:lambda:us-east-1:111111111111:function:py-always-fails:$LATEST"
    assert record["requestPayload"] == {"fail": "always"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"

    sqs = "arn:aws:sqs:us-east-1:111111111111:results"
    lam.put_function_event_invoke_config(FunctionName="py-dest-target", DestinationConfig={"OnSuccess": {"Destination": sqs}})
    ok = lam.invoke(FunctionName="py-dest-target", InvocationType="Event", Payload=b'{"fine": true}')
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        records = admin_get(server, "/_lambox/admin/destination-records")["Records"]
        kept = [x for x in records if x["Record"]["requestContext"]["requestId"] == ok["ResponseMetadata"]["RequestId"]]
        if kept:
            break
        time.sleep(0.1)
    assert kept[0]["Destination"] == sqs
    assert kept[0]["Condition"] == "Success"
    assert kept[0]["Record"]["responsePayload"]["event"] == {"fine": True}


def test_event_invoke_config_operations(lam):
    py_function(lam, "py-eic")
    py_function(lam, "py-eic-dest")
    arn = "arn:aws:lambda:us-east-1:111111111111:function:py-eic"
    with pytest.raises(ClientError) as e:
        lam.get_function_event_invoke_config(FunctionName="py-eic")
    assert error_of(e) == ("ResourceNotFoundException", 404, f"The function {arn}:$LATEST doesn't have an EventInvokeConfig")
    put = lam.put_function_event_invoke_config(FunctionName="py-eic", MaximumRetryAttempts=0)
    assert put["FunctionArn"] == f"{arn}:$LATEST"
    assert put["MaximumRetryAttempts"] == 0
    updated = lam.update_function_event_invoke_config(FunctionName="py-eic", MaximumEventAgeInSeconds=120)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (0, 120)
    replaced = lam.put_function_event_invoke_config(FunctionName="py-eic", MaximumEventAgeInSeconds=300)
    assert "MaximumRetryAttempts" not in replaced
    listed = lam.list_function_event_invoke_configs(FunctionName="py-eic")["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{arn}:$LATEST"]
    for kw, expected in [
        ({}, "You must specify at least one of error handling or destination setting."),
        ({"DestinationConfig": {"OnSuccess": {"Destination": arn}}}, "You can't specify the function as a destination for itself."),
        (
            {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:lambda:us-east-1:111111111111:function:doesnotexist"}}},
            "The destination ARN arn:aws:lambda:us-east-1:111111111111:function:doesnotexist is invalid.",
        ),
    ]:
        with pytest.raises(ClientError) as e:
            lam.put_function_event_invoke_config(FunctionName="py-eic", **kw)
        assert error_of(e) == ("InvalidParameterValueException", 400, expected)
    lam.delete_function_event_invoke_config(FunctionName="py-eic")
    assert lam.list_function_event_invoke_configs(FunctionName="py-eic")["FunctionEventInvokeConfigs"] == []


NODE_ASYNC = """
export const handler = async (event, context) => {
  console.log("node event", JSON.stringify(event));
  if (event.fail) { throw new TypeError("node fails"); }
  return {
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    memory: context.memoryLimitInMB,
    remaining: context.getRemainingTimeInMillis(),
    arn: context.invokedFunctionArn,
  };
};
"""

NODE_CALLBACK = """
exports.nested = {
  handler: function (event, context, callback) {
    setTimeout(() => callback(null, { callback: event, id: context.awsRequestId }), 10);
  },
};
"""


def test_node_async_and_callback_handlers(lam):
    create(lam, "node-async", make_zip({"index.mjs": NODE_ASYNC}), Runtime="nodejs22.x", Handler="index.handler")
    r, body = invoke_json(lam, "node-async", {"n": 1}, LogType="Tail")
    assert body["event"] == {"n": 1}
    assert body["requestId"] == r["ResponseMetadata"]["RequestId"]
    assert body["functionName"] == "node-async" and body["memory"] == "128"
    assert 0 < body["remaining"] <= 3000
    log = base64.b64decode(r["LogResult"]).decode()
    assert f"\t{body['requestId']}\tINFO\tnode event {{\"n\":1}}" in log
    r, err = invoke_json(lam, "node-async", {"fail": True})
    assert r["FunctionError"] == "Unhandled"
    assert err["errorType"] == "TypeError" and err["errorMessage"] == "node fails"
    assert err["trace"][0] == "TypeError: node fails"
    create(lam, "node-cb", make_zip({"lib/cb.js": NODE_CALLBACK}), Runtime="nodejs20.x", Handler="lib/cb.nested.handler")
    _, body = invoke_json(lam, "node-cb", {"c": 2})
    assert body["callback"] == {"c": 2}


def cli_env(server):
    """The environment `lambox invoke`/`lambox logs` reach `server` with, as account 111111111111."""
    return {"AWS_ACCESS_KEY_ID": "111111111111", "AWS_ENDPOINT_URL": server.endpoint, "PATH": "/usr/bin:/bin"}


def test_lambox_invoke_and_logs_commands(server, lam):
    py_function(lam, "py-cli")
    env = cli_env(server)
    out = subprocess.run([lambox_bin(), "invoke", "py-cli", "--payload", '{"from": "cli"}'], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["event"] == {"from": "cli"}
    assert "REPORT RequestId: " in out.stderr, "the log tail goes to stderr"
    failed = subprocess.run([lambox_bin(), "invoke", "py-cli", "--payload", '{"fail": 1}'], env=env,
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errorType"] == "ValueError"
    wait_for_logs(server, "py-cli", lambda t: len(t) >= 2)
    logs = subprocess.run([lambox_bin(), "logs", "py-cli"], env=env, capture_output=True, text=True, timeout=60)
    assert logs.returncode == 0, logs.stderr
    assert 'event: {"from": "cli"}' in logs.stdout
    assert logs.stdout.count("REPORT RequestId: ") == 2
    # An ARN names the function too.
    by_arn = subprocess.run([lambox_bin(), "logs", "arn:aws:lambda:us-east-1:111111111111:function:py-cli"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert by_arn.returncode == 0 and by_arn.stdout == logs.stdout, by_arn.stderr
    # A function that is not there is AWS's error and a failure, not an empty page.
    missing = subprocess.run([lambox_bin(), "logs", "no-such-fn"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0
    assert "Function not found: arn:aws:lambda:us-east-1:111111111111:function:no-such-fn" in missing.stderr
    # The region comes from AWS_DEFAULT_REGION, or the profile's region in the AWS CLI's config,
    # as the AWS CLI picks it: py-cli lives in us-east-1 only.
    elsewhere = subprocess.run([lambox_bin(), "logs", "py-cli"], env=env | {"AWS_DEFAULT_REGION": "eu-west-1"},
                               capture_output=True, text=True, timeout=60)
    assert elsewhere.returncode != 0 and "eu-west-1" in elsewhere.stderr
    config = server.data_dir.parent / "aws-config"
    config.write_text("[default]\nregion = us-east-1\n[profile far]\nregion = ap-south-1\n")
    profiled = subprocess.run([lambox_bin(), "logs", "py-cli"],
                              env=env | {"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "far"},
                              capture_output=True, text=True, timeout=60)
    assert profiled.returncode != 0 and "ap-south-1" in profiled.stderr
    defaulted = subprocess.run([lambox_bin(), "logs", "py-cli"], env=env | {"AWS_CONFIG_FILE": str(config)},
                               capture_output=True, text=True, timeout=60)
    assert defaulted.returncode == 0 and defaulted.stdout == logs.stdout


def running(pid):
    """Whether `pid` is a live process (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sandboxes_die_with_a_killed_lambox_and_restart_cleans_up(server, lam):
    py_function(lam, "py-reap")
    invoke_json(lam, "py-reap")
    sandboxes = list((server.data_dir / "sandboxes").iterdir())
    assert len(sandboxes) == 1
    pids = [int((sandboxes[0] / f).read_text().split()[0]) for f in ("agent.pid", "runtime.pid")]
    assert all(running(p) for p in pids)
    server.stop(signal.SIGKILL)
    # The agent watches its control pipe: when lambox is gone, it stops the runtime and exits.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.05)
    assert not any(running(p) for p in pids), "sandboxes outlive a SIGKILLed lambox"
    server.start()
    assert list((server.data_dir / "sandboxes").iterdir()) == []
    assert invoke_json(server.client(), "py-reap")[1]["event"] == {}


def test_updates_and_deletes_stop_stale_sandboxes(server, lam):
    py_function(lam, "py-stale")
    first = invoke_json(lam, "py-stale")[1]["log_stream_name"]
    sandboxes = server.data_dir / "sandboxes"

    def live():
        return sorted(p.name for p in sandboxes.iterdir())

    assert len(live()) == 1
    # A description is not baked into the sandbox: it stays warm.
    lam.update_function_configuration(FunctionName="py-stale", Description="cosmetic")
    assert invoke_json(lam, "py-stale")[1]["log_stream_name"] == first
    # Memory is: the old sandbox is stopped and a new one serves.
    lam.update_function_configuration(FunctionName="py-stale", MemorySize=256)
    assert invoke_json(lam, "py-stale")[1]["log_stream_name"] != first
    deadline = time.monotonic() + 10
    while len(live()) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(live()) == 1
    lam.delete_function(FunctionName="py-stale")
    deadline = time.monotonic() + 10
    while live() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live() == []


def test_unpacked_code_of_deleted_functions_is_removed_at_start(server, lam):
    py_function(lam, "py-code-a")
    create(lam, "py-code-b", make_zip({"handler.py": "def handler(e, c):\n    return 'b'\n"}))
    invoke_json(lam, "py-code-a")
    invoke_json(lam, "py-code-b")
    code = server.data_dir / "code"
    assert len(list(code.iterdir())) == 2
    lam.delete_function(FunctionName="py-code-b")
    server.restart()
    deadline = time.monotonic() + 5
    while len(list(code.iterdir())) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(code.iterdir())) == 1
    assert invoke_json(server.client(), "py-code-a")[1]["function_name"] == "py-code-a"


def test_lambox_logs_follow_prints_new_invocations(server, lam):
    py_function(lam, "py-follow")
    follower = subprocess.Popen([lambox_bin(), "logs", "py-follow", "--follow"], env=cli_env(server),
                                stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        invoke_json(lam, "py-follow", {"followed": 1})
        seen = []
        reader = threading.Thread(target=lambda: seen.extend(follower.stdout), daemon=True)
        reader.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(s.startswith("REPORT RequestId: ") for s in seen):
            time.sleep(0.05)
        assert any('event: {"followed": 1}' in s for s in seen), seen
    finally:
        follower.kill()
        follower.wait()
