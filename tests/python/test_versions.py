"""Versions and aliases with boto3: publishing, listing, weighted routing, isolation, restarts."""

import collections
import json
import signal

import pytest
from botocore.exceptions import ClientError

from conftest import create, error_of, make_zip, wait_for_logs

ARN = "arn:aws:lambda:us-east-1:111111111111:function"

HANDLER = '''
import os

def handler(event, context):
    print("ran version", context.function_version, "as", context.invoked_function_arn)
    return {
        "stage": os.environ.get("STAGE"),
        "version": context.function_version,
        "invoked": context.invoked_function_arn,
        "sandbox": context.log_stream_name,
    }
'''


def function(lam, name, stage="one", **kw):
    return create(
        lam,
        name,
        make_zip({"main.py": HANDLER}),
        Handler="main.handler",
        Environment={"Variables": {"STAGE": stage}},
        Timeout=10,
        **kw,
    )


def set_stage(lam, name, stage):
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": stage}})


def two_versions(lam, name):
    """A function with version 1 (STAGE one) and version 2 (STAGE two)."""
    function(lam, name)
    lam.publish_version(FunctionName=name)
    set_stage(lam, name, "two")
    lam.publish_version(FunctionName=name)


def call(lam, name, **kw):
    r = lam.invoke(FunctionName=name, Payload=b"{}", **kw)
    assert "FunctionError" not in r, r["Payload"].read()
    return r["ExecutedVersion"], json.loads(r["Payload"].read())


def test_publish_list_and_preconditions(lam):
    created = function(lam, "pv", Description="latest text")
    sha = created["CodeSha256"]
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName="pv", CodeSha256="somenonexistentsha256")
    assert error_of(e) == (
        "InvalidParameterValueException",
        400,
        f"CodeSHA256 (somenonexistentsha256) is different from current CodeSHA256 in $LATEST ({sha}). "
        "Please try again with the CodeSHA256 in $LATEST.",
    )
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName="pv", RevisionId="not-the-revision")
    assert error_of(e)[0:2] == ("PreconditionFailedException", 412)
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName="missing")
    assert error_of(e) == ("ResourceNotFoundException", 404, f"Function not found: {ARN}:missing")

    latest = lam.get_function(FunctionName="pv")["Configuration"]
    v1 = lam.publish_version(
        FunctionName="pv", CodeSha256=sha, RevisionId=latest["RevisionId"], Description="first"
    )
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (v1["Version"], v1["FunctionArn"], v1["Description"]) == ("1", f"{ARN}:pv:1", "first")
    assert (v1["State"], v1["LastUpdateStatus"]) == ("Active", "Successful")
    # Nothing changed since version 1: AWS answers with version 1 again.
    again = lam.publish_version(FunctionName="pv", Description="other text")
    assert (again["Version"], again["RevisionId"]) == ("1", v1["RevisionId"])
    # $LATEST keeps its own description.
    assert lam.get_function_configuration(FunctionName="pv")["Description"] == "latest text"
    # A change of $LATEST's description alone is a change: the next publish is a new version.
    lam.update_function_configuration(FunctionName="pv", Description="changed text")
    v2 = lam.publish_version(FunctionName="pv")
    assert (v2["Version"], v2["Description"]) == ("2", "changed text")
    assert lam.publish_version(FunctionName="pv")["Version"] == "2"

    set_stage(lam, "pv", "two")
    v3 = lam.publish_version(FunctionName="pv")
    assert v3["Version"] == "3"
    assert v3["Description"] == "changed text"
    lam.delete_function(FunctionName="pv", Qualifier="2")

    versions = lam.list_versions_by_function(FunctionName="pv")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "3"]
    assert [v["FunctionArn"] for v in versions] == [f"{ARN}:pv:$LATEST", f"{ARN}:pv:1", f"{ARN}:pv:3"]
    assert all("State" not in v for v in versions)
    assert versions[1]["Environment"]["Variables"]["STAGE"] == "one"
    assert versions[2]["Environment"]["Variables"]["STAGE"] == "two"

    seen, marker = [], None
    while True:
        page = lam.list_versions_by_function(FunctionName="pv", MaxItems=1, **({"Marker": marker} if marker else {}))
        seen += [v["Version"] for v in page["Versions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == ["$LATEST", "1", "3"]
    paginator = lam.get_paginator("list_versions_by_function")
    assert [v["Version"] for p in paginator.paginate(FunctionName="pv", PaginationConfig={"PageSize": 2}) for v in p["Versions"]] == ["$LATEST", "1", "3"]

    # Publish on update: a new version with the new code.
    updated = lam.update_function_code(
        FunctionName="pv", ZipFile=make_zip({"main.py": HANDLER + "\n# v3\n"}), Publish=True
    )
    # Numbers are never reused: 2 was deleted, 3 is taken.
    assert updated["Version"] == "4"
    assert lam.get_function(FunctionName="pv", Qualifier="4")["Configuration"]["CodeSha256"] != sha
    assert lam.get_function(FunctionName="pv", Qualifier="1")["Configuration"]["CodeSha256"] == sha


def test_versions_keep_their_code_configuration_and_sandboxes(lam):
    function(lam, "iso", stage="one")
    lam.publish_version(FunctionName="iso")
    set_stage(lam, "iso", "two")
    lam.publish_version(FunctionName="iso")
    set_stage(lam, "iso", "three")

    ran, body = call(lam, "iso:1")
    assert (ran, body["stage"], body["version"]) == ("1", "one", "1")
    assert body["invoked"] == f"{ARN}:iso:1"
    ran, body2 = call(lam, "iso", Qualifier="2")
    assert (ran, body2["stage"], body2["version"]) == ("2", "two", "2")
    ran, body3 = call(lam, f"{ARN}:iso")
    assert (ran, body3["stage"]) == ("$LATEST", "three")
    ran, _ = call(lam, "111111111111:function:iso:1")
    assert ran == "1"
    # InvokeAsync (deprecated) takes the qualifier in the name.
    assert lam.invoke_async(FunctionName="iso:2", InvokeArgs=b"{}")["Status"] == 202
    with pytest.raises(ClientError) as e:
        lam.invoke_async(FunctionName="iso:9", InvokeArgs=b"{}")
    assert error_of(e)[0:2] == ("ResourceNotFoundException", 404)
    # Each version runs in sandboxes of its own.
    assert len({body["sandbox"], body2["sandbox"], body3["sandbox"]}) == 3
    # A qualifier in the name and a different Qualifier parameter disagree.
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="iso:1", Qualifier="2", Payload=b"{}")
    assert error_of(e)[0:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="iso:7", Payload=b"{}")
    assert error_of(e) == ("ResourceNotFoundException", 404, f"Function not found: {ARN}:iso:7")


def test_alias_life_cycle_and_errors(lam):
    two_versions(lam, "al")

    created = lam.create_alias(
        FunctionName="al", Name="live", FunctionVersion="1", Description="d",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["AliasArn"] == f"{ARN}:al:live"
    assert created["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}
    got = lam.get_alias(FunctionName="al", Name="live")
    assert {k: got[k] for k in ("Name", "FunctionVersion", "Description", "RevisionId")} == {
        "Name": "live", "FunctionVersion": "1", "Description": "d", "RevisionId": created["RevisionId"]
    }

    def refused(call, *args, **kw):
        with pytest.raises(ClientError) as e:
            call(*args, **kw)
        return error_of(e)

    assert refused(lam.create_alias, FunctionName="al", Name="live", FunctionVersion="1") == (
        "ResourceConflictException", 409, f"Alias already exists: {ARN}:al:live")
    assert refused(lam.create_alias, FunctionName="al", Name="x", FunctionVersion="10") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}:al:10")
    assert refused(lam.create_alias, FunctionName="nope", Name="x", FunctionVersion="1") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}:nope:1")
    assert refused(lam.create_alias, FunctionName="al", Name="x", FunctionVersion="1",
                   RoutingConfig={"AdditionalVersionWeights": {"2": 0.5, "3": 0.1}}) == (
        "InvalidParameterValueException", 400, "Number of items in AdditionalVersionWeights cannot be greater than 1")
    assert refused(lam.create_alias, FunctionName="al", Name="x", FunctionVersion="1",
                   RoutingConfig={"AdditionalVersionWeights": {"2": 2.0}}) == (
        "ValidationException", 400,
        "1 validation error detected: Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to "
        "satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to "
        "1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
    assert refused(lam.create_alias, FunctionName="al", Name="x", FunctionVersion="1",
                   RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}}) == (
        "InvalidParameterValueException", 400,
        "Invalid function version 1. Function version 1 is already included in routing configuration.")
    assert refused(lam.create_alias, FunctionName="al", Name="x", FunctionVersion="$LATEST",
                   RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}}) == (
        "InvalidParameterValueException", 400, "$LATEST is not supported for an alias pointing to more than 1 version")
    assert refused(lam.create_alias, FunctionName="al", Name="2024", FunctionVersion="1") == (
        "ValidationException", 400,
        "1 validation error detected: Value '2024' at 'name' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
    assert refused(lam.get_alias, FunctionName="al", Name="nothere") == (
        "ResourceNotFoundException", 404, f"Cannot find alias arn: {ARN}:al:nothere")
    assert refused(lam.update_alias, FunctionName="al", Name="nothere", FunctionVersion="1") == (
        "ResourceNotFoundException", 404, f"Alias not found: {ARN}:al:nothere")
    assert refused(lam.update_alias, FunctionName="al", Name="live", RevisionId="stale")[0:2] == (
        "PreconditionFailedException", 412)
    # None of the refusals changed anything.
    assert [a["Name"] for a in lam.list_aliases(FunctionName="al")["Aliases"]] == ["live"]

    lam.create_alias(FunctionName="al", Name="edge", FunctionVersion="$LATEST")
    lam.create_alias(FunctionName="al", Name="stable", FunctionVersion="2")
    assert [a["Name"] for a in lam.list_aliases(FunctionName="al")["Aliases"]] == ["edge", "live", "stable"]
    assert [a["Name"] for a in lam.list_aliases(FunctionName="al", FunctionVersion="2")["Aliases"]] == ["live", "stable"]
    page = lam.list_aliases(FunctionName="al", MaxItems=2)
    assert len(page["Aliases"]) == 2 and page["NextMarker"]
    rest = lam.list_aliases(FunctionName="al", Marker=page["NextMarker"])
    assert [a["Name"] for a in rest["Aliases"]] == ["stable"] and "NextMarker" not in rest

    # Get operations by alias show the alias's version under the alias's ARN.
    cfg = lam.get_function(FunctionName="al", Qualifier="stable")["Configuration"]
    assert (cfg["FunctionArn"], cfg["Version"], cfg["Environment"]["Variables"]["STAGE"]) == (
        f"{ARN}:al:stable", "2", "two")
    assert lam.get_function_configuration(FunctionName=f"{ARN}:al:edge")["Version"] == "$LATEST"
    assert refused(lam.get_function, FunctionName="al", Qualifier="gone") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN}:al:gone")

    # A version an alias points at cannot be deleted; $LATEST never alone.
    assert refused(lam.delete_function, FunctionName="al", Qualifier="2") == (
        "ResourceConflictException", 409,
        "Unable to delete version because the following aliases reference it: [live, stable]")
    assert refused(lam.delete_function, FunctionName="al", Qualifier="$LATEST")[0] == "InvalidParameterValueException"
    updated = lam.update_alias(FunctionName="al", Name="live", RoutingConfig={"AdditionalVersionWeights": {}},
                               RevisionId=got["RevisionId"])
    assert "RoutingConfig" not in updated and updated["RevisionId"] != got["RevisionId"]
    assert lam.delete_alias(FunctionName="al", Name="stable")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.delete_alias(FunctionName="al", Name="stable")["ResponseMetadata"]["HTTPStatusCode"] == 204
    lam.delete_function(FunctionName="al", Qualifier="2")
    # Deleting a version that is not there is not an error.
    lam.delete_function(FunctionName="al", Qualifier="2")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="al")["Versions"]] == ["$LATEST", "1"]
    # Tags belong to the function, not to its aliases.
    assert refused(lam.tag_resource, Resource=f"{ARN}:al:live", Tags={"a": "b"})[0] == "InvalidParameterValueException"


def test_weighted_routing_and_shifting_traffic(server):
    lam = server.client()
    two_versions(lam, "wr")
    lam.create_alias(FunctionName="wr", Name="live", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
    counts = collections.Counter()
    for _ in range(300):
        ran, body = call(lam, "wr:live")
        assert body["stage"] == {"1": "one", "2": "two"}[ran]
        assert body["invoked"] == f"{ARN}:wr:live"
        counts[ran] += 1
    # 30% of 300 is 90, with a standard deviation of about 8: a wide band, never flaky.
    assert set(counts) == {"1", "2"}
    assert 50 <= counts["2"] <= 135, counts
    # Shifting all traffic: the very next invoke follows.
    lam.update_alias(FunctionName="wr", Name="live", FunctionVersion="2", RoutingConfig={"AdditionalVersionWeights": {}})
    assert {call(lam, "wr:live")[0] for _ in range(20)} == {"2"}
    lam.update_alias(FunctionName="wr", Name="live", FunctionVersion="1")
    assert call(lam, "wr", Qualifier="live")[0] == "1"
    # Event invokes through the alias run the alias's version too.
    lam.invoke(FunctionName="wr:live", InvocationType="Event", Payload=b"{}")
    wait_for_logs(server, "wr", lambda logs: any(f"ran version 1 as {ARN}:wr:live" in t for t in logs))


def test_aliases_and_versions_survive_sigkill(server):
    lam = server.client()
    two_versions(lam, "keep")
    lam.create_alias(FunctionName="keep", Name="live", FunctionVersion="2",
                     RoutingConfig={"AdditionalVersionWeights": {"1": 0.0}})
    lam.put_function_event_invoke_config(FunctionName="keep", Qualifier="live", MaximumRetryAttempts=0)
    assert call(lam, "keep:live")[0] == "2"
    server.restart(signal.SIGKILL)
    lam = server.client()
    alias = lam.get_alias(FunctionName="keep", Name="live")
    assert (alias["FunctionVersion"], alias["RoutingConfig"]) == ("2", {"AdditionalVersionWeights": {"1": 0.0}})
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="keep")["Versions"]] == ["$LATEST", "1", "2"]
    assert lam.get_function_event_invoke_config(FunctionName="keep", Qualifier="live")["MaximumRetryAttempts"] == 0
    ran, body = call(lam, "keep:live")
    assert (ran, body["stage"]) == ("2", "two")
    # Deleting the function deletes its aliases and versions with it.
    lam.delete_function(FunctionName="keep")
    function(lam, "keep")
    assert lam.list_aliases(FunctionName="keep")["Aliases"] == []
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="keep")["Versions"]] == ["$LATEST"]


def test_stored_settings(lam):
    function(lam, "st")
    assert lam.get_function_code_signing_config(FunctionName="st")["CodeSigningConfigArn"] == ""
    csc = "arn:aws:lambda:us-east-1:111111111111:code-signing-config:csc-0123456789abcdefg"
    put = lam.put_function_code_signing_config(FunctionName="st", CodeSigningConfigArn=csc)
    assert (put["CodeSigningConfigArn"], put["FunctionName"]) == (csc, "st")
    assert lam.get_function_code_signing_config(FunctionName="st")["CodeSigningConfigArn"] == csc
    lam.delete_function_code_signing_config(FunctionName="st")
    assert lam.get_function_code_signing_config(FunctionName="st")["CodeSigningConfigArn"] == ""
    with pytest.raises(ClientError) as e:
        lam.put_function_code_signing_config(FunctionName="st", CodeSigningConfigArn="bad")
    assert error_of(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        lam.get_function_code_signing_config(FunctionName="nope")
    assert error_of(e) == ("ResourceNotFoundException", 404, f"Function not found: {ARN}:nope")

    assert lam.get_function_recursion_config(FunctionName="st")["RecursiveLoop"] == "Terminate"
    assert lam.put_function_recursion_config(FunctionName="st", RecursiveLoop="Allow")["RecursiveLoop"] == "Allow"
    assert lam.get_function_recursion_config(FunctionName="st")["RecursiveLoop"] == "Allow"
    with pytest.raises(ClientError) as e:
        lam.put_function_recursion_config(FunctionName="st", RecursiveLoop="InvalidValue")
    assert error_of(e) == (
        "ValidationException", 400,
        "1 validation error detected: Value 'InvalidValue' at 'recursiveLoop' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Terminate, Allow]")

    rm = lam.get_runtime_management_config(FunctionName="st")
    assert (rm["UpdateRuntimeOn"], rm["FunctionArn"]) == ("Auto", f"{ARN}:st")
    lam.publish_version(FunctionName="st")
    put = lam.put_runtime_management_config(FunctionName="st", Qualifier="1", UpdateRuntimeOn="FunctionUpdate")
    assert (put["UpdateRuntimeOn"], put["FunctionArn"]) == ("FunctionUpdate", f"{ARN}:st:1")
    assert lam.get_runtime_management_config(FunctionName="st", Qualifier="1")["UpdateRuntimeOn"] == "FunctionUpdate"
    assert lam.get_runtime_management_config(FunctionName="st")["UpdateRuntimeOn"] == "Auto"
    with pytest.raises(ClientError) as e:
        lam.get_runtime_management_config(FunctionName="st", Qualifier="9")
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_put_function_concurrency_on_a_missing_function_names_latest(lam):
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName="ghost", ReservedConcurrentExecutions=1)
    assert error_of(e) == ("ResourceNotFoundException", 404, f"Function not found: {ARN}:ghost:$LATEST")


def test_terraform_read_path_with_an_alias(lam):
    """The calls terraform's AWS provider makes for a function with an alias, in its order."""
    # create
    function(lam, "tf", Publish=True)
    lam.get_waiter("function_active_v2").wait(FunctionName="tf")
    lam.get_function(FunctionName="tf")
    versions = lam.list_versions_by_function(FunctionName="tf")["Versions"]
    assert versions[-1]["Version"] == "1"
    lam.get_function_code_signing_config(FunctionName="tf")
    alias = lam.create_alias(FunctionName="tf", Name="live", FunctionVersion="1")
    lam.get_alias(FunctionName="tf", Name="live")
    # read (refresh)
    lam.get_function(FunctionName="tf")
    lam.list_versions_by_function(FunctionName="tf")
    lam.get_function_code_signing_config(FunctionName="tf")
    lam.get_function_concurrency(FunctionName="tf")
    lam.get_alias(FunctionName="tf", Name="live")
    # update: new code, published, alias moved
    lam.update_function_code(FunctionName="tf", ZipFile=make_zip({"main.py": HANDLER + "\n# 2\n"}))
    lam.get_waiter("function_updated_v2").wait(FunctionName="tf")
    v2 = lam.publish_version(FunctionName="tf")
    lam.get_waiter("published_version_active").wait(FunctionName="tf", Qualifier=v2["Version"])
    lam.update_alias(FunctionName="tf", Name="live", FunctionVersion=v2["Version"], RevisionId=alias["RevisionId"])
    assert call(lam, "tf:live")[0] == "2"
    # destroy
    lam.delete_alias(FunctionName="tf", Name="live")
    lam.delete_function(FunctionName="tf")
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="tf")
    assert error_of(e)[0] == "ResourceNotFoundException"
