"""Functions' logs through the CloudWatch Logs API, with boto3's `logs` client and the AWS CLI
pointed at lambox's endpoint."""

import json
import os
import re
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import create, error_of, make_zip

HANDLER = """
import json, os

def handler(event, context):
    print("hello from", os.environ["AWS_LAMBDA_LOG_STREAM_NAME"])
    print(json.dumps({"level": event.get("level", "INFO"), "n": event.get("n", 0)}))
    if event.get("error"):
        print("ERROR something broke: disk full")
    return {"stream": context.log_stream_name}
"""


def logs_client(server, account="111111111111", region="us-east-1"):
    return boto3.client(
        "logs", endpoint_url=server.endpoint, region_name=region, aws_access_key_id=account,
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def wait_events(logs, group, predicate, timeout=20.0, **kw):
    deadline = time.monotonic() + timeout
    while True:
        try:
            events = logs.filter_log_events(logGroupName=group, **kw)["events"]
            if predicate(events):
                return events
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        assert time.monotonic() < deadline, f"events of {group} never matched"
        time.sleep(0.1)


def test_groups_streams_events_and_filters(server, lam):
    logs = logs_client(server)
    create(lam, "lg", make_zip({"handler.py": HANDLER}))
    streams = set()
    for n, level in enumerate(["INFO", "ERROR", "INFO"]):
        r = lam.invoke(FunctionName="lg", Payload=json.dumps({"n": n, "level": level, "error": level == "ERROR"}).encode())
        streams.add(json.loads(r["Payload"].read())["stream"])
    group = "/aws/lambda/lg"
    events = wait_events(logs, group, lambda ev: sum(e["message"].startswith("REPORT") for e in ev) == 3)

    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    assert groups[0]["arn"] == "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/lg:*"

    described = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert {s["logStreamName"] for s in described} == streams
    for s in described:
        # Lambda's names: YYYY/MM/DD/[$LATEST]<32 hex digits of the sandbox>.
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", s["logStreamName"]), s
        assert s["firstEventTimestamp"] <= s["lastEventTimestamp"]
    by_time = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["lastEventTimestamp"] for s in by_time] == sorted((s["lastEventTimestamp"] for s in by_time), reverse=True)

    # Events carry millisecond timestamps, in order, START/END/REPORT and the function's lines.
    stream = next(iter(streams))
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    messages = [e["message"] for e in got["events"]]
    # A sandbox's stream opens with its init phase, as Lambda's does.
    assert messages[0].startswith("INIT_START Runtime Version: python:")
    assert messages[1].startswith("START RequestId: ")
    assert any(m.startswith("hello from " + stream) for m in messages)
    assert messages[-1].startswith("REPORT RequestId: ")
    stamps = [e["timestamp"] for e in got["events"]]
    assert stamps == sorted(stamps) and all(abs(t - time.time() * 1000) < 600_000 for t in stamps)
    # Reading on from the forward token gives nothing new, and the token stays.
    again = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=got["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == got["nextForwardToken"]
    # Paging one event at a time walks the same events.
    walked, token = [], None
    while True:
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=1,
                                   **({"nextToken": token} if token else {}))
        if not page["events"]:
            break
        walked += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
    assert walked == messages

    # Filter patterns: a term, a quoted phrase, alternatives, a JSON selector.
    def matching(pattern):
        return [e["message"] for e in logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]]

    assert matching("ERROR") == ['{"level": "ERROR", "n": 1}', "ERROR something broke: disk full"]
    assert matching('"disk full"') == ["ERROR something broke: disk full"]
    # START and REPORT of three invocations, and the INIT_START of each sandbox (a term matches
    # within a word too).
    found = matching("?REPORT ?START")
    assert len([m for m in found if not m.startswith("INIT_START")]) == 6
    assert all(m.startswith(("START", "REPORT", "INIT_START")) for m in found)
    assert matching('{ $.level = "ERROR" }') == ['{"level": "ERROR", "n": 1}']
    assert matching("{ $.n >= 1 }") == ['{"level": "ERROR", "n": 1}', '{"level": "INFO", "n": 2}']
    # Pagination of FilterLogEvents with nextToken.
    seen, token = [], None
    while True:
        page = logs.filter_log_events(logGroupName=group, filterPattern="RequestId", limit=2,
                                      **({"nextToken": token} if token else {}))
        seen += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    assert len(seen) == 9 and len({e["eventId"] for e in seen}) == 9

    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName="/aws/lambda/none")
    assert error_of(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=group, logStreamName="2020/01/01/[$LATEST]nothing")
    assert error_of(e)[0] == "ResourceNotFoundException"

    # Other accounts and regions see nothing of it.
    assert logs_client(server, account="222222222222").describe_log_groups()["logGroups"] == []
    assert logs_client(server, region="eu-west-1").describe_log_groups()["logGroups"] == []

    # The AWS CLI reads the same.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="111111111111", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "logs", "filter-log-events", "--endpoint-url", server.endpoint,
         "--log-group-name", group, "--filter-pattern", '"disk full"'],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert [e["message"] for e in json.loads(out.stdout)["events"]] == ["ERROR something broke: disk full"]
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "logs", "get-log-events", "--endpoint-url", server.endpoint,
         "--log-group-name", group, "--log-stream-name", stream, "--start-from-head"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert [e["message"] for e in json.loads(out.stdout)["events"]] == messages

    logs.delete_log_group(logGroupName=group)
    assert logs.describe_log_groups()["logGroups"] == []


def test_a_custom_log_group_receives_the_logs(server, lam):
    logs = logs_client(server)
    create(lam, "custom", make_zip({"handler.py": HANDLER}), LoggingConfig={"LogFormat": "Text", "LogGroup": "/team/api"})
    lam.invoke(FunctionName="custom", Payload=b"{}")
    wait_events(logs, "/team/api", lambda ev: any(e["message"].startswith("REPORT") for e in ev))
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/team/api"]
