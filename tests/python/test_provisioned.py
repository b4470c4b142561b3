"""Provisioned concurrency with boto3: sandboxes started ahead, READY, warm first invokes,
replacement, restarts, and AWS's errors."""

import base64
import concurrent.futures
import json
import os
import signal
import time

import pytest
from botocore.exceptions import ClientError

from conftest import create, error_of, make_zip

ARN = "arn:aws:lambda:us-east-1:111111111111:function"

HANDLER = '''
import os, time

time.sleep(0.2)  # a noticeable init

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {
        "init": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "agent": os.getppid(),
        "version": context.function_version,
    }
'''


def published(lam, name):
    create(lam, name, make_zip({"main.py": HANDLER}), Handler="main.handler", Timeout=10)
    return lam.publish_version(FunctionName=name)["Version"]


def wait_ready(lam, name, qualifier, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        c = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if c["Status"] == "READY":
            return c
        assert c["Status"] == "IN_PROGRESS", c
        assert time.monotonic() < deadline, c
        time.sleep(0.1)


def invoke(lam, name, event=None):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), LogType="Tail")
    assert "FunctionError" not in r
    return json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode()


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def two_at_once(lam, name):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda _: invoke(lam, name, {"sleep": 0.5}), range(2)))


def test_sandboxes_start_ahead_and_serve_warm(server):
    lam = server.client()
    v = published(lam, "pc")
    put = lam.put_provisioned_concurrency_config(FunctionName="pc", Qualifier=v, ProvisionedConcurrentExecutions=2)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert (put["Status"], put["RequestedProvisionedConcurrentExecutions"], put["AllocatedProvisionedConcurrentExecutions"]) == (
        "IN_PROGRESS", 2, 0)
    ready = wait_ready(lam, "pc", v)
    assert (ready["AllocatedProvisionedConcurrentExecutions"], ready["AvailableProvisionedConcurrentExecutions"]) == (2, 2)
    listed = lam.list_provisioned_concurrency_configs(FunctionName="pc")["ProvisionedConcurrencyConfigs"]
    assert [(c["FunctionArn"], c["Status"]) for c in listed] == [(f"{ARN}:pc:{v}", "READY")]

    # Both provisioned sandboxes answer at once, initialized ahead: no Init Duration.
    results = two_at_once(lam, f"pc:{v}")
    agents = {body["agent"] for body, _ in results}
    assert len(agents) == 2
    for body, log in results:
        assert body["init"] == "provisioned-concurrency"
        assert "REPORT RequestId" in log and "Init Duration" not in log, log
    # $LATEST is not provisioned: its first invoke is cold.
    body, log = invoke(lam, "pc")
    assert body["init"] == "on-demand" and "Init Duration" in log

    # A provisioned sandbox that dies is replaced.
    dead = agents.pop()
    os.kill(dead, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(dead) and time.monotonic() < deadline:
        time.sleep(0.05)
    invoke(lam, f"pc:{v}")  # finds the dead one unreachable, and runs on the other
    deadline = time.monotonic() + 30
    while True:
        results = two_at_once(lam, f"pc:{v}")
        now = {body["agent"] for body, _ in results}
        if len(now) == 2 and dead not in now and all("Init Duration" not in log for _, log in results):
            break
        assert time.monotonic() < deadline, results
        time.sleep(0.2)

    # Deleting the config stops its sandboxes.
    lam.delete_provisioned_concurrency_config(FunctionName="pc", Qualifier=v)
    deadline = time.monotonic() + 10
    while any(alive(a) for a in now) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(a) for a in now)
    with pytest.raises(ClientError) as e:
        lam.get_provisioned_concurrency_config(FunctionName="pc", Qualifier=v)
    assert error_of(e) == (
        "ProvisionedConcurrencyConfigNotFoundException", 404, "No Provisioned Concurrency Config found for this function")


def test_provisioned_sandboxes_come_back_after_a_restart(server):
    lam = server.client()
    v = published(lam, "pcr")
    lam.create_alias(FunctionName="pcr", Name="live", FunctionVersion=v)
    lam.put_provisioned_concurrency_config(FunctionName="pcr", Qualifier="live", ProvisionedConcurrentExecutions=1)
    wait_ready(lam, "pcr", "live")
    server.restart(signal.SIGKILL)
    lam = server.client()
    ready = wait_ready(lam, "pcr", "live")
    assert ready["AllocatedProvisionedConcurrentExecutions"] == 1
    body, log = invoke(lam, "pcr:live")
    assert (body["init"], body["version"]) == ("provisioned-concurrency", v)
    assert "Init Duration" not in log
    # The alias moves to a new version: the provisioned sandboxes follow it.
    lam.update_function_configuration(FunctionName="pcr", Description="v2")
    v2 = lam.publish_version(FunctionName="pcr")["Version"]
    lam.update_alias(FunctionName="pcr", Name="live", FunctionVersion=v2)
    deadline = time.monotonic() + 30
    while True:
        body, log = invoke(lam, "pcr:live")
        if body["init"] == "provisioned-concurrency":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert body["version"] == v2
    # Deleting the alias deletes its config.
    lam.delete_alias(FunctionName="pcr", Name="live")
    with pytest.raises(ClientError) as e:
        lam.get_provisioned_concurrency_config(FunctionName="pcr", Qualifier="live")
    assert error_of(e) == ("ResourceNotFoundException", 404, f"Cannot find alias arn: {ARN}:pcr:live")
    assert lam.list_provisioned_concurrency_configs(FunctionName="pcr")["ProvisionedConcurrencyConfigs"] == []


def test_provisioned_concurrency_errors(server):
    lam = server.client()
    unchecked = server.client(parameter_validation=False)
    v = published(lam, "pce")

    def refused(call, **kw):
        with pytest.raises(ClientError) as e:
            call(**kw)
        return error_of(e)

    put = lam.put_provisioned_concurrency_config
    assert refused(put, FunctionName="pce", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1) == (
        "InvalidParameterValueException", 400,
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
    assert refused(lam.get_provisioned_concurrency_config, FunctionName="pce", Qualifier="$LATEST") == (
        "InvalidParameterValueException", 400, "The function resource provided must be an alias or a published version.")
    assert refused(unchecked.put_provisioned_concurrency_config, FunctionName="pce", Qualifier=v,
                   ProvisionedConcurrentExecutions=0) == (
        "ValidationException", 400,
        "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1")
    assert refused(put, FunctionName="pce", Qualifier="10", ProvisionedConcurrentExecutions=1) == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}:pce:10")
    assert refused(put, FunctionName="pce", Qualifier="noalias", ProvisionedConcurrentExecutions=1) == (
        "ResourceNotFoundException", 404, f"Cannot find alias arn: {ARN}:pce:noalias")
    assert refused(put, FunctionName="doesnotexist", Qualifier="1", ProvisionedConcurrentExecutions=1) == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}:doesnotexist:1")
    assert refused(lam.list_provisioned_concurrency_configs, FunctionName="doesnotexist") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}:doesnotexist")
    assert refused(put, FunctionName="pce", Qualifier=v, ProvisionedConcurrentExecutions=1001) == (
        "InvalidParameterValueException", 400,
        "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [1000].")
    assert refused(put, FunctionName="pce", Qualifier=v, ProvisionedConcurrentExecutions=950) == (
        "InvalidParameterValueException", 400,
        "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its "
        "minimum value of [100].")
    lam.put_function_concurrency(FunctionName="pce", ReservedConcurrentExecutions=1)
    assert refused(put, FunctionName="pce", Qualifier=v, ProvisionedConcurrentExecutions=2)[0:2] == (
        "InvalidParameterValueException", 400)
    lam.delete_function_concurrency(FunctionName="pce")

    # A version and an alias pointing at it cannot both be provisioned.
    lam.create_alias(FunctionName="pce", Name="live", FunctionVersion=v)
    put(FunctionName="pce", Qualifier=v, ProvisionedConcurrentExecutions=1)
    assert refused(put, FunctionName="pce", Qualifier="live", ProvisionedConcurrentExecutions=1) == (
        "ResourceConflictException", 409,
        "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
    lam.delete_provisioned_concurrency_config(FunctionName="pce", Qualifier=v)
    put(FunctionName="pce", Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert refused(put, FunctionName="pce", Qualifier=v, ProvisionedConcurrentExecutions=1) == (
        "ResourceConflictException", 409, "Version is pointed by a Provisioned Concurrency alias")
    # Deleting a config that is not there is not an error.
    lam.delete_provisioned_concurrency_config(FunctionName="pce", Qualifier=v)
    # Deleting the function deletes its configs.
    lam.delete_function(FunctionName="pce")
    published(lam, "pce")
    assert lam.list_provisioned_concurrency_configs(FunctionName="pce")["ProvisionedConcurrencyConfigs"] == []
