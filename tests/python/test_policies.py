"""Resource policies with boto3: AddPermission, GetPolicy, RemovePermission, and cross-account
access decided by them, in plain and strict mode."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Lambox, admin_get, create, error_of, make_zip

A, B, C = "111111111111", "222222222222", "333333333333"
ARN_A = f"arn:aws:lambda:us-east-1:{A}:function"

ECHO = {"handler.py": "def handler(event, context):\n    return {'event': event, 'arn': context.invoked_function_arn}\n"}


def refused(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e)


def denied(caller, action, resource):
    return (
        "AccessDeniedException",
        403,
        f"User: arn:aws:iam::{caller}:root is not authorized to perform: {action} on resource: {resource} "
        f"because no resource-based policy allows the {action} action",
    )


def test_add_get_remove_with_aws_shapes_and_errors(server):
    a = server.client(account=A)
    create(a, "pol")
    assert refused(a.get_policy, FunctionName="pol") == (
        "ResourceNotFoundException", 404, "The resource you requested does not exist.")
    added = a.add_permission(
        FunctionName="pol", StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::bucket", SourceAccount=A,
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"]) == {
        "Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": f"{ARN_A}:pol",
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}, "StringEquals": {"AWS:SourceAccount": A}},
    }
    a.add_permission(FunctionName="pol", StatementId="b", Action="lambda:GetFunction", Principal=B)
    got = a.get_policy(FunctionName="pol")
    policy = json.loads(got["Policy"])
    assert (policy["Version"], policy["Id"]) == ("2012-10-17", "default")
    assert [s["Sid"] for s in policy["Statement"]] == ["s3", "b"]
    assert policy["Statement"][1]["Principal"] == {"AWS": f"arn:aws:iam::{B}:root"}

    assert refused(a.add_permission, FunctionName="pol", StatementId="s3", Action="lambda:InvokeFunction", Principal="*") == (
        "ResourceConflictException", 409,
        "The statement id (s3) provided already exists. Please provide a new statement id, or remove the existing statement.")
    assert refused(a.add_permission, FunctionName="pol", StatementId="example.com", Action="lambda:InvokeFunction", Principal="*") == (
        "ValidationException", 400,
        "1 validation error detected: Value 'example.com' at 'statementId' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
    assert refused(a.add_permission, FunctionName="pol", StatementId="x", Action="lambda:InvokeFunction", Principal="nobody") == (
        "InvalidParameterValueException", 400, "The provided principal was invalid. Please check the principal and try again.")
    assert refused(a.add_permission, FunctionName="pol", Qualifier="$LATEST", StatementId="x", Action="lambda:InvokeFunction", Principal="*") == (
        "InvalidParameterValueException", 400, "We currently do not support adding policies for $LATEST.")
    assert refused(a.add_permission, FunctionName="pol:1", Qualifier="2", StatementId="x", Action="lambda:InvokeFunction", Principal="*") == (
        "InvalidParameterValueException", 400, "The derived qualifier from the function name does not match the specified qualifier.")
    assert refused(a.add_permission, FunctionName="nope", StatementId="x", Action="lambda:InvokeFunction", Principal="*") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN_A}:nope")
    assert refused(a.add_permission, FunctionName="pol", Qualifier="42", StatementId="x", Action="lambda:InvokeFunction", Principal="*") == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN_A}:pol:42")
    assert refused(a.add_permission, FunctionName="pol", Qualifier="nothere", StatementId="x", Action="lambda:InvokeFunction", Principal="*") == (
        "ResourceNotFoundException", 404, f"Cannot find alias arn: {ARN_A}:pol:nothere")
    assert refused(a.add_permission, FunctionName="pol", StatementId="x", Action="lambda:InvokeFunction", Principal="*",
                   RevisionId="stale")[0:2] == ("PreconditionFailedException", 412)
    # A policy over 20 KB is refused, and nothing of it is kept.
    assert refused(a.add_permission, FunctionName="pol", StatementId="big", Action="lambda:InvokeFunction",
                   Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::" + "b" * 20_500)[0:2] == (
        "PolicyLengthExceededException", 400)
    assert [s["Sid"] for s in json.loads(a.get_policy(FunctionName="pol")["Policy"])["Statement"]] == ["s3", "b"]

    assert refused(a.remove_permission, FunctionName="pol", StatementId="non-existent") == (
        "ResourceNotFoundException", 404, "Statement non-existent is not found in resource policy.")
    assert refused(a.remove_permission, FunctionName="nope", StatementId="s3") == (
        "ResourceNotFoundException", 404, f"No policy found for: {ARN_A}:nope")
    a.remove_permission(FunctionName="pol", StatementId="s3", RevisionId=got["RevisionId"])
    assert [s["Sid"] for s in json.loads(a.get_policy(FunctionName="pol")["Policy"])["Statement"]] == ["b"]
    a.remove_permission(FunctionName="pol", StatementId="b")
    assert refused(a.get_policy, FunctionName="pol")[0] == "ResourceNotFoundException"
    assert refused(a.remove_permission, FunctionName="pol", StatementId="b") == (
        "ResourceNotFoundException", 404, "No policy is associated with the given resource.")


def test_cross_account_invoke_and_get_follow_the_policy(server):
    a, b, c = server.client(account=A), server.client(account=B), server.client(account=C)
    create(a, "shared", make_zip(ECHO))
    arn = f"{ARN_A}:shared"

    def invoke(client, name=arn):
        r = client.invoke(FunctionName=name, Payload=b'{"n": 1}')
        return json.loads(r["Payload"].read())

    assert refused(b.invoke, FunctionName=arn, Payload=b"{}") == denied(B, "lambda:InvokeFunction", arn)
    assert refused(b.get_function, FunctionName=arn) == denied(B, "lambda:GetFunction", arn)
    # A function that does not exist is refused the same way: nothing is revealed.
    assert refused(b.invoke, FunctionName=f"{ARN_A}:ghost", Payload=b"{}") == denied(
        B, "lambda:InvokeFunction", f"{ARN_A}:ghost")
    # A name without an account is the caller's own: not found there.
    assert refused(b.invoke, FunctionName="shared", Payload=b"{}")[0] == "ResourceNotFoundException"

    a.add_permission(FunctionName="shared", StatementId="b-invoke", Action="lambda:InvokeFunction", Principal=B)
    assert invoke(b) == {"event": {"n": 1}, "arn": arn}
    assert invoke(b, f"{A}:function:shared")["event"] == {"n": 1}  # partial ARN
    # The grant is for InvokeFunction only, and for B only.
    assert refused(b.get_function, FunctionName=arn) == denied(B, "lambda:GetFunction", arn)
    assert refused(b.delete_function, FunctionName=arn) == denied(B, "lambda:DeleteFunction", arn)
    assert refused(c.invoke, FunctionName=arn, Payload=b"{}") == denied(C, "lambda:InvokeFunction", arn)
    # An Event invoke is accepted and runs.
    assert b.invoke(FunctionName=arn, InvocationType="Event", Payload=b'{"async": true}')["StatusCode"] == 202

    a.add_permission(FunctionName="shared", StatementId="b-read", Action="lambda:GetFunction", Principal=f"arn:aws:iam::{B}:root")
    assert b.get_function(FunctionName=arn)["Configuration"]["FunctionArn"] == arn
    # Removing the statement refuses the very next invoke.
    a.remove_permission(FunctionName="shared", StatementId="b-invoke")
    assert refused(b.invoke, FunctionName=arn, Payload=b"{}") == denied(B, "lambda:InvokeFunction", arn)
    # `*` lets every account in.
    a.add_permission(FunctionName="shared", StatementId="all", Action="lambda:*", Principal="*")
    assert invoke(c)["arn"] == arn
    assert c.get_function_configuration(FunctionName=arn)["FunctionName"] == "shared"
    # Nothing B or C did changed A's function.
    assert a.get_function(FunctionName="shared")["Configuration"]["Version"] == "$LATEST"


def test_a_statement_on_an_alias_grants_that_alias_only(server):
    a, b = server.client(account=A), server.client(account=B)
    create(a, "q", make_zip(ECHO))
    a.publish_version(FunctionName="q")
    a.create_alias(FunctionName="q", Name="live", FunctionVersion="1")
    a.add_permission(FunctionName="q", Qualifier="live", StatementId="b", Action="lambda:InvokeFunction", Principal=B)
    statement = json.loads(a.get_policy(FunctionName="q", Qualifier="live")["Policy"])["Statement"][0]
    assert statement["Resource"] == f"{ARN_A}:q:live"
    assert refused(a.get_policy, FunctionName="q")[0] == "ResourceNotFoundException"
    r = b.invoke(FunctionName=f"{ARN_A}:q:live", Payload=b"{}")
    assert r["ExecutedVersion"] == "1"
    assert refused(b.invoke, FunctionName=f"{ARN_A}:q", Payload=b"{}") == denied(B, "lambda:InvokeFunction", f"{ARN_A}:q")
    assert refused(b.invoke, FunctionName=f"{ARN_A}:q:1", Payload=b"{}") == denied(
        B, "lambda:InvokeFunction", f"{ARN_A}:q:1")
    # Deleting the alias deletes its policy with it.
    a.delete_alias(FunctionName="q", Name="live")
    a.create_alias(FunctionName="q", Name="live", FunctionVersion="1")
    assert refused(b.invoke, FunctionName=f"{ARN_A}:q:live", Payload=b"{}")[0] == "AccessDeniedException"


def test_destinations_in_another_account_follow_its_policy(server):
    a, b = server.client(account=A), server.client(account=B)
    create(a, "sink", make_zip(ECHO))
    create(b, "source", make_zip(ECHO))
    sink = f"{ARN_A}:sink"

    def put():
        return b.put_function_event_invoke_config(
            FunctionName="source", DestinationConfig={"OnSuccess": {"Destination": sink}})

    assert refused(put) == (
        "InvalidParameterValueException", 400,
        f"The function execution role does not have permissions to call InvokeFunction on {sink}")
    a.add_permission(FunctionName="sink", StatementId="b", Action="lambda:InvokeFunction", Principal=B)
    put()
    b.invoke(FunctionName="source", InvocationType="Event", Payload=b'{"from": "b"}')
    deadline = time.monotonic() + 20
    while True:
        logs = admin_get(server, "/_lambox/admin/logs?FunctionName=sink", account=A)["Invocations"]
        if logs:
            break
        assert time.monotonic() < deadline, "the record never reached the destination"
        time.sleep(0.1)
    # Without the statement, the next record is not delivered (checked again at delivery).
    a.remove_permission(FunctionName="sink", StatementId="b")
    b.invoke(FunctionName="source", InvocationType="Event", Payload=b'{"from": "b", "again": 1}')
    time.sleep(2)
    assert len(admin_get(server, "/_lambox/admin/logs?FunctionName=sink", account=A)["Invocations"]) == len(logs)


@pytest.fixture
def strict(tmp_path):
    config = tmp_path / "lambox.toml"
    config.write_text(
        "[auth]\nstrict = true\n"
        f'[[auth.credentials]]\naccess_key_id = "AKIDOWNER"\nsecret_access_key = "owner-secret"\naccount = "{A}"\n'
        f'[[auth.credentials]]\naccess_key_id = "AKIDOTHER"\nsecret_access_key = "other-secret"\naccount = "{B}"\n'
    )
    s = Lambox(tmp_path / "data", config_file=config).start()
    yield s
    s.stop()


def test_strict_mode_decides_on_the_verified_account(strict):
    owner = strict.client(account="AKIDOWNER", secret="owner-secret")
    other = strict.client(account="AKIDOTHER", secret="other-secret")
    create(owner, "guarded", make_zip(ECHO))
    arn = f"{ARN_A}:guarded"
    assert refused(other.invoke, FunctionName=arn, Payload=b"{}") == denied(B, "lambda:InvokeFunction", arn)
    owner.add_permission(FunctionName="guarded", StatementId="b", Action="lambda:InvokeFunction", Principal=B)
    assert json.loads(other.invoke(FunctionName=arn, Payload=b"{}")["Payload"].read())["arn"] == arn
    # Claiming to be the owner with the other's secret fails the signature.
    forged = strict.client(account="AKIDOWNER", secret="other-secret")
    assert refused(forged.invoke, FunctionName=arn, Payload=b"{}")[0] == "InvalidSignatureException"
