"""The function control plane through boto3, as a user of real Lambda drives it."""

import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import ROLE, create, error_of, make_zip


def test_lifecycle_matches_aws_shapes(lam):
    created = create(lam, "fn-life", MemorySize=256, Timeout=5)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] == "Pending"
    assert created["StateReasonCode"] == "Creating"
    assert "LastUpdateStatus" not in created
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:111111111111:function:fn-life"
    assert created["Version"] == "$LATEST"
    assert created["PackageType"] == "Zip"
    assert created["Architectures"] == ["x86_64"]
    assert created["EphemeralStorage"] == {"Size": 512}
    assert created["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/fn-life"}
    assert created["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
    assert created["TracingConfig"] == {"Mode": "PassThrough"}
    assert created["CodeSize"] == len(make_zip())
    assert "Environment" not in created
    assert created["LastModified"].endswith("+0000")
    assert created["ResponseMetadata"]["RequestId"]

    lam.get_waiter("function_active_v2").wait(FunctionName="fn-life", WaiterConfig={"Delay": 1})
    got = lam.get_function(FunctionName="fn-life")
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert got["Configuration"]["RevisionId"] != created["RevisionId"], "it advances with Pending -> Active"
    assert got["Code"]["RepositoryType"] == "S3"
    assert "Tags" not in got

    updated = lam.update_function_configuration(
        FunctionName="fn-life", Description="Changed", Environment={"Variables": {"ENV_A": "a"}}, MemorySize=512
    )
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["RevisionId"] != created["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn-life", WaiterConfig={"Delay": 1})
    conf = lam.get_function_configuration(FunctionName="fn-life")
    assert conf["Description"] == "Changed"
    assert conf["Environment"] == {"Variables": {"ENV_A": "a"}}
    assert conf["MemorySize"] == 512
    assert conf["Timeout"] == 5

    new_zip = make_zip({"handler.py": "def handler(e, c):\n    return 2\n"})
    code = lam.update_function_code(FunctionName="fn-life", ZipFile=new_zip)
    assert code["CodeSha256"] != created["CodeSha256"]
    assert code["Description"] == "Changed"
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn-life", WaiterConfig={"Delay": 1})

    deleted = lam.delete_function(FunctionName="fn-life")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="fn-life")
    assert error_of(e) == (
        "ResourceNotFoundException",
        404,
        "Function not found: arn:aws:lambda:us-east-1:111111111111:function:fn-life",
    )


def test_code_location_downloads_the_zip(lam):
    z = make_zip({"handler.py": "x = 1\n", "lib/util.py": "y = 2\n"})
    create(lam, "fn-code", z)
    location = lam.get_function(FunctionName="fn-code")["Code"]["Location"]
    with urllib.request.urlopen(location) as r:
        assert r.read() == z


def test_names_arns_and_partial_arns_address_the_same_function(lam):
    create(lam, "fn-arn")
    for ref in [
        "fn-arn",
        "111111111111:function:fn-arn",
        "arn:aws:lambda:us-east-1:111111111111:function:fn-arn",
        "fn-arn:$LATEST",
    ]:
        assert lam.get_function_configuration(FunctionName=ref)["FunctionName"] == "fn-arn"
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="arn:aws:lambda:eu-west-1:111111111111:function:fn-arn")
    assert error_of(e) == (
        "ResourceNotFoundException",
        404,
        "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
    )
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="fn-arn:1", Qualifier="2")
    assert error_of(e) == (
        "InvalidParameterValueException",
        400,
        "The derived qualifier from the function name does not match the specified qualifier.",
    )


def test_list_functions_pages_with_marker(lam):
    names = [f"fn-page-{i:02}" for i in range(7)]
    for n in names:
        create(lam, n)
    seen, marker = [], None
    while True:
        kw = {"MaxItems": 3}
        if marker:
            kw["Marker"] = marker
        page = lam.list_functions(**kw)
        assert len(page["Functions"]) <= 3
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == names
    assert "State" not in lam.list_functions()["Functions"][0]
    paginated = [f["FunctionName"] for p in lam.get_paginator("list_functions").paginate() for f in p["Functions"]]
    assert paginated == names


def test_publish_creates_versions(lam):
    created = create(lam, "fn-ver", Publish=True)
    assert created["Version"] == "1"
    v1 = lam.get_function_configuration(FunctionName="fn-ver", Qualifier="1")
    assert v1["FunctionArn"].endswith(":fn-ver:1")
    updated = lam.update_function_code(FunctionName="fn-ver", ZipFile=make_zip({"handler.py": "v = 2\n"}), Publish=True)
    assert updated["Version"] == "2"
    everything = lam.list_functions(FunctionVersion="ALL")["Functions"]
    assert [f["Version"] for f in everything] == ["$LATEST", "1", "2"]
    assert everything[0]["FunctionArn"].endswith(":fn-ver:$LATEST")
    lam.delete_function(FunctionName="fn-ver", Qualifier="1")
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="fn-ver", Qualifier="1")
    assert error_of(e)[0:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="fn-ver", Qualifier="$LATEST")
    assert error_of(e) == (
        "InvalidParameterValueException",
        400,
        "$LATEST version cannot be deleted without deleting the function.",
    )


def test_update_code_revision_precondition_and_dry_run(lam):
    created = create(lam, "fn-rev")
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="fn-rev", ZipFile=make_zip({"a.py": ""}), RevisionId="stale")
    assert error_of(e) == (
        "PreconditionFailedException",
        412,
        "The Revision Id provided does not match the latest Revision Id. "
        "Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
    )
    dry = lam.update_function_code(FunctionName="fn-rev", ZipFile=make_zip({"b.py": ""}), DryRun=True)
    assert dry["CodeSha256"] != created["CodeSha256"]
    assert lam.get_function(FunctionName="fn-rev")["Configuration"]["CodeSha256"] == created["CodeSha256"]
    current = lam.get_function(FunctionName="fn-rev")["Configuration"]["RevisionId"]
    ok = lam.update_function_code(FunctionName="fn-rev", ZipFile=make_zip({"c.py": ""}), RevisionId=current)
    assert ok["RevisionId"] != current
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName="fn-rev", Timeout=9, RevisionId=current)
    assert error_of(e)[0:2] == ("PreconditionFailedException", 412)
    assert lam.get_function_configuration(FunctionName="fn-rev")["Timeout"] == 3


def test_tags(lam, server):
    create(lam, "fn-tags", Tags={"key_a": "value_a"})
    arn = "arn:aws:lambda:us-east-1:111111111111:function:fn-tags"
    assert lam.list_tags(Resource=arn)["Tags"] == {"key_a": "value_a"}
    lam.tag_resource(Resource=arn, Tags={"key_b": "value_b", "key_c": "value_c"})
    lam.untag_resource(Resource=arn, TagKeys=["key_a", "key_c"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"key_b": "value_b"}
    assert lam.get_function(FunctionName="fn-tags")["Tags"] == {"key_b": "value_b"}
    with pytest.raises(ClientError) as e:
        lam.tag_resource(Resource=arn + ":1", Tags={"a": "b"})
    assert error_of(e) == (
        "InvalidParameterValueException",
        400,
        "Tags on function aliases and versions are not supported. Please specify a function ARN.",
    )
    with pytest.raises(ClientError) as e:
        lam.tag_resource(Resource=arn, Tags={f"k{i}": "v" for i in range(50)})
    assert error_of(e) == ("InvalidParameterValueException", 400, "Number of tags exceeds resource tag limit.")
    assert lam.list_tags(Resource=arn)["Tags"] == {"key_b": "value_b"}
    with pytest.raises(ClientError) as e:
        lam.list_tags(Resource="arn:aws:lambda:us-east-1:111111111111:function:nope")
    assert error_of(e) == (
        "ResourceNotFoundException",
        404,
        "Function not found: arn:aws:lambda:us-east-1:111111111111:function:nope",
    )
    with pytest.raises(ClientError) as e:
        lam.list_tags(Resource="arn:aws:something")
    assert error_of(e)[0:2] == ("ValidationException", 400)


def test_account_settings_count_usage(lam):
    before = lam.get_account_settings()
    assert before["AccountLimit"]["CodeSizeZipped"] == 52428800
    assert before["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert before["AccountUsage"]["FunctionCount"] == 0
    z = make_zip()
    create(lam, "fn-usage", z)
    after = lam.get_account_settings()
    assert after["AccountUsage"] == {"FunctionCount": 1, "TotalCodeSize": len(z)}


def test_image_function_keeps_image_config(lam):
    created = lam.create_function(
        FunctionName="fn-image",
        Role=ROLE,
        PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest"},
        ImageConfig={"EntryPoint": ["sh"], "Command": ["-c", "echo test"], "WorkingDirectory": "/app1"},
    )
    assert created["PackageType"] == "Image"
    assert "Runtime" not in created and "Handler" not in created
    got = lam.get_function(FunctionName="fn-image")
    assert got["Code"]["RepositoryType"] == "ECR"
    assert got["Code"]["ImageUri"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest"
    assert got["Code"]["ResolvedImageUri"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:")
    assert got["Configuration"]["ImageConfigResponse"]["ImageConfig"] == {
        "EntryPoint": ["sh"],
        "Command": ["-c", "echo test"],
        "WorkingDirectory": "/app1",
    }
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="fn-image", ZipFile=make_zip())
    assert error_of(e) == (
        "InvalidParameterValueException",
        400,
        "Please provide ImageUri when updating a function with packageType Image.",
    )


def test_unknown_route_answers_aws_style(server):
    req = urllib.request.Request(f"{server.endpoint}/2015-03-31/nothing-here", method="GET")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 404
    assert e.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert e.value.headers["Content-Type"] == "application/json"
    assert e.value.headers["x-amzn-RequestId"]
