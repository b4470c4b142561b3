"""Fidelity to AWS's recorded answers in operations lambox serves, seen from boto3: state
transitions and RevisionIds, DeleteFunction's edge cases, "Function not found" ARNs, error keys,
tags on other resources, and the answer of UpdateFunctionCode with Publish.

This suite runs lambox with its default transition window (the fixtures of the other suites switch
it off so that their tests may update a function right after creating it)."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import ROLE, Lambox, create, error_of, make_zip

ARN = "arn:aws:lambda:us-east-1:111111111111:function:"


@pytest.fixture
def aws_like(tmp_path):
    """lambox with its defaults: a change takes effect over a window, as on AWS."""
    s = Lambox(tmp_path / "data", extra_env={"LAMBOX_STATE_TRANSITION_MS": "250"})
    yield s.start()
    s.stop()


def refused(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response


def test_states_and_revisions_move_as_on_aws(aws_like):
    lam = aws_like.client()
    created = create(lam, "life")
    assert created["State"] == "Pending"
    got = lam.get_function_configuration(FunctionName="life")
    assert (got["State"], got["StateReasonCode"]) == ("Pending", "Creating")
    assert got["RevisionId"] == created["RevisionId"]
    r = refused(lam.update_function_configuration, FunctionName="life", Timeout=5)
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("ResourceConflictException", 409)
    assert r["Error"]["Message"] == ("The operation cannot be performed at this time. The function is currently "
                                     "in the following state: Pending")
    t = time.monotonic()
    lam.get_waiter("function_active_v2").wait(FunctionName="life")
    assert time.monotonic() - t < 5, "the waiter succeeds quickly"
    active = lam.get_function_configuration(FunctionName="life")
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert active["RevisionId"] != created["RevisionId"], "1 -> 2 as the function becomes Active"

    updated = lam.update_function_code(FunctionName="life", ZipFile=make_zip({"handler.py": "def handler(e, c):\n    return 2\n"}))
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["RevisionId"] not in (created["RevisionId"], active["RevisionId"])
    during = lam.get_function(FunctionName="life")["Configuration"]
    assert (during["LastUpdateStatus"], during["LastUpdateStatusReasonCode"]) == ("InProgress", "Creating")
    assert during["LastUpdateStatusReason"] == "The function is being created."
    r = refused(lam.update_function_configuration, FunctionName="life", Timeout=5)
    assert r["Error"]["Message"] == ("The operation cannot be performed at this time. An update is in progress "
                                     f"for resource: {ARN}life")
    assert r["message"] == r["Error"]["Message"], "the lower-case key AWS sends"
    lam.get_waiter("function_updated_v2").wait(FunctionName="life")
    settled = lam.get_function_configuration(FunctionName="life")
    assert settled["LastUpdateStatus"] == "Successful"
    assert settled["Timeout"] == 3, "the refused update changed nothing"
    assert settled["RevisionId"] != updated["RevisionId"], "3 -> 4 as the update settles"
    assert json.loads(lam.invoke(FunctionName="life")["Payload"].read()) == 2

    # Every TagResource and UntagResource gives a new RevisionId.
    seen = [settled["RevisionId"]]
    for change in (
        lambda: lam.tag_resource(Resource=ARN + "life", Tags={"a": "1"}),
        lambda: lam.tag_resource(Resource=ARN + "life", Tags={"a": "2"}),
        lambda: lam.untag_resource(Resource=ARN + "life", TagKeys=["a"]),
    ):
        change()
        seen.append(lam.get_function_configuration(FunctionName="life")["RevisionId"])
    assert len(set(seen)) == 4, seen


def test_update_function_code_with_publish_answers_with_the_version(aws_like):
    lam = aws_like.client()
    create(lam, "pub")
    lam.get_waiter("function_active_v2").wait(FunctionName="pub")
    v = lam.update_function_code(FunctionName="pub", ZipFile=make_zip({"handler.py": "def handler(e, c):\n    return 1\n"}),
                                 Publish=True)
    assert (v["FunctionArn"], v["Version"]) == (ARN + "pub:1", "1")
    assert (v["State"], v["StateReason"], v["StateReasonCode"]) == ("Pending", "The function is being created.", "Creating")
    assert not any(k.startswith("LastUpdateStatus") for k in v)


def test_vpc_config_shows_ipv6_for_dual_stack(lam):
    c = create(lam, "vpc", VpcConfig={"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]})
    assert c["VpcConfig"]["Ipv6AllowedForDualStack"] is False
    assert c["VpcConfig"]["SubnetIds"] == ["subnet-1"] and c["VpcConfig"]["VpcId"] == ""
    on = lam.update_function_configuration(FunctionName="vpc", VpcConfig={"SubnetIds": ["subnet-1"],
                                                                          "SecurityGroupIds": ["sg-1"],
                                                                          "Ipv6AllowedForDualStack": True})
    assert on["VpcConfig"]["Ipv6AllowedForDualStack"] is True


def test_delete_function_edge_cases(lam):
    r = refused(lam.delete_function, FunctionName=ARN + "missing:$LATEST", Qualifier="$LATEST")
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidParameterValueException", 400)
    assert r["message"] == "$LATEST version cannot be deleted without deleting the function."
    r = refused(lam.delete_function, FunctionName=ARN + "missing", Qualifier="$latest")
    assert (r["Error"]["Code"], r["Error"]["Message"]) == ("ResourceNotFoundException", f"Function not found: {ARN}missing")
    r = refused(lam.delete_function, FunctionName="missing", Qualifier="live")
    assert r["Error"]["Message"] == "Deletion of aliases is not currently supported."
    create(lam, "versions")
    for _ in range(2):
        assert lam.delete_function(FunctionName="versions", Qualifier="1233")["ResponseMetadata"]["HTTPStatusCode"] == 204
    lam.get_function(FunctionName="versions")
    r = refused(lam.delete_function, FunctionName="gone", Qualifier="1233")
    assert r["Error"]["Message"] == f"Function not found: {ARN}gone", "the qualifier is not named"


def test_missing_functions_and_limits_are_named_as_aws_names_them(server, lam):
    r = refused(lam.invoke, FunctionName="doesnotexist")
    assert r["Error"]["Message"] == f"Function not found: {ARN}doesnotexist:$LATEST"
    r = refused(lam.invoke, FunctionName="doesnotexist", Qualifier="7")
    assert r["Error"]["Message"] == f"Function not found: {ARN}doesnotexist:7"
    r = refused(lam.get_function, FunctionName="doesnotexist")
    assert r["Error"]["Message"] == f"Function not found: {ARN}doesnotexist"
    r = refused(lam.put_function_concurrency, FunctionName="doesnotexist", ReservedConcurrentExecutions=1)
    assert r["Error"]["Message"] == f"Function not found: {ARN}doesnotexist:$LATEST"
    create(lam, "limited")
    limit = lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    r = refused(lam.put_function_concurrency, FunctionName="limited", ReservedConcurrentExecutions=limit)
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidParameterValueException", 400)
    assert r["message"].startswith("Specified ReservedConcurrentExecutions for function decreases account's")
    assert "Type" not in r, "AWS sends the concurrency limits without Type"
    r = refused(lam.create_function, FunctionName="arn:aws:lambda:us-east-1:123456789012:function:theirs",
                Runtime="python3.12", Role=ROLE, Handler="handler.handler", Code={"ZipFile": make_zip()})
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 403)
    assert r["Error"]["Message"] is None, "AWS's answer has no message"


def test_tags_on_other_resources_that_do_not_exist(lam):
    esm = "arn:aws:lambda:us-east-1:111111111111:event-source-mapping:a6f1e1f0-0000-4000-8000-000000000000"
    cp = "arn:aws:lambda:us-east-1:111111111111:capacity-provider:nope"
    for resource, message in ((esm, f"Event source mapping not found: {esm}"), (cp, f"Capacity provider not found: {cp}")):
        for call, kw in ((lam.tag_resource, {"Tags": {"A": "B"}}), (lam.untag_resource, {"TagKeys": ["A"]}),
                         (lam.list_tags, {})):
            r = refused(call, Resource=resource, **kw)
            assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]) == (
                "ResourceNotFoundException", 404, message)
