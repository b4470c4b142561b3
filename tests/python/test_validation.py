"""Every validation error: AWS's code, HTTP status and message, and nothing written."""

import io
import json
import urllib.error
import urllib.request
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import create, error_of, make_zip

SUPPORTED = (
    "[nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java25, "
    "python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, java17, nodejs16.x, "
    "dotnet10, dotnet8, java11, dotnet6, nodejs18.x, provided.al2, java8.al2]"
)
NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
NAMESPACED_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)


@pytest.fixture
def lam(server):
    """A client that leaves validation to the server, as the AWS CLI with bad input would reach it."""
    return server.client(parameter_validation=False)


ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"


def refused(lam, expected, **kw):
    """Asserts that CreateFunction of `fn-bad` with `kw` fails as `expected` and writes nothing."""
    with pytest.raises(ClientError) as e:
        create(lam, kw.pop("FunctionName", "fn-bad"), **kw)
    code, status, message = error_of(e)
    assert (code, status) == expected[:2]
    if len(expected) > 2:
        assert message == expected[2], message
    assert lam.list_functions()["Functions"] == []
    return message


CASES = {
    "role": (
        dict(Role="r1"),
        ("ValidationException", 400,
         f"1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: "
         f"Member must satisfy regular expression pattern: {ROLE_PATTERN}"),
    ),
    "unknown runtime": (
        dict(Runtime="non-existent-runtime"),
        ("InvalidParameterValueException", 400,
         f"Value non-existent-runtime at 'runtime' failed to satisfy constraint: Member must satisfy "
         f"enum value set: {SUPPORTED} or be a valid ARN"),
    ),
    "uppercase runtime": (
        dict(Runtime="PYTHON3.9"),
        ("InvalidParameterValueException", 400,
         f"Value PYTHON3.9 at 'runtime' failed to satisfy constraint: Member must satisfy "
         f"enum value set: {SUPPORTED} or be a valid ARN"),
    ),
    "deprecated runtime": (
        dict(Runtime="python3.7"),
        ("InvalidParameterValueException", 400,
         "The runtime parameter of python3.7 is no longer supported for creating or updating AWS Lambda "
         "functions. We recommend you use a supported runtime while creating or updating functions."),
    ),
    "memory too small": (
        dict(MemorySize=127),
        ("ValidationException", 400,
         "1 validation error detected: Value '127' at 'memorySize' failed to satisfy constraint: "
         "Member must have value greater than or equal to 128"),
    ),
    "memory too large": (
        dict(MemorySize=10241),
        ("ValidationException", 400,
         "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: "
         "Member must have value less than or equal to 10240"),
    ),
    "timeout too large": (
        dict(Timeout=901),
        ("ValidationException", 400,
         "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
         "Member must have value less than or equal to 900"),
    ),
    "two errors at once": (
        dict(Timeout=901, MemorySize=64),
        ("ValidationException", 400,
         "2 validation errors detected: Value '901' at 'timeout' failed to satisfy constraint: Member must "
         "have value less than or equal to 900; Value '64' at 'memorySize' failed to satisfy constraint: "
         "Member must have value greater than or equal to 128"),
    ),
    "handler with space": (
        dict(Handler="a b"),
        ("ValidationException", 400,
         "1 validation error detected: Value 'a b' at 'handler' failed to satisfy constraint: "
         r"Member must satisfy regular expression pattern: [^\s]+"),
    ),
    "multiple architectures": (
        dict(Architectures=["x86_64", "arm64"]),
        ("ValidationException", 400,
         "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to satisfy "
         "constraint: Member must have length less than or equal to 1"),
    ),
    "uppercase architecture": (
        dict(Architectures=["X86_64"]),
        ("ValidationException", 400,
         "1 validation error detected: Value '[X86_64]' at 'architectures' failed to satisfy constraint: "
         "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], "
         "Member must not be null]"),
    ),
    "six layers": (
        dict(Layers=[f"arn:aws:lambda:us-east-1:111111111111:layer:l{i}:1" for i in range(6)]),
        ("InvalidParameterValueException", 400, "Cannot reference more than 5 layers."),
    ),
    "missing layer": (
        dict(Layers=["arn:aws:lambda:us-east-1:111111111111:layer:doesnotexist:1"]),
        ("InvalidParameterValueException", 400,
         "Layer version arn:aws:lambda:us-east-1:111111111111:layer:doesnotexist:1 does not exist."),
    ),
    "reserved env key": (
        dict(Environment={"Variables": {"AWS_REGION": "x"}}),
        ("InvalidParameterValueException", 400,
         "Lambda was unable to configure your environment variables because the environment variables you "
         "have provided contains reserved keys that are currently not supported for modification. Reserved "
         "keys used in this request: AWS_REGION"),
    ),
    "name too long": (
        dict(FunctionName="a" * 65),
        ("InvalidParameterValueException", 400,
         f"1 validation error detected: Value '{'a' * 65}' at 'functionName' failed to satisfy constraint: "
         "Member must have length less than or equal to 64"),
    ),
    "invalid name": (
        dict(FunctionName="invalid:function:name"),
        ("ValidationException", 400,
         "1 validation error detected: Value 'invalid:function:name' at 'functionName' failed to satisfy "
         f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}"),
    ),
    "arn too long": (
        dict(FunctionName="arn:aws:lambda:us-east-1:111111111111:function:" + "a" * 100),
        ("ValidationException", 400,
         f"1 validation error detected: Value 'arn:aws:lambda:us-east-1:111111111111:function:{'a' * 100}' "
         "at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140"),
    ),
    "arn of another region": (
        dict(FunctionName="arn:aws:lambda:ap-southeast-1:111111111111:function:f"),
        ("ResourceNotFoundException", 404,
         "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')"),
    ),
    "no runtime for zip": (
        dict(Runtime=None),
        ("InvalidParameterValueException", 400,
         "Runtime and Handler are mandatory parameters for functions created with deployment packages."),
    ),
    "code from s3": (
        dict(Code={"S3Bucket": "b", "S3Key": "k"}),
        ("InvalidParameterValueException", 400,
         "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket "
         "does not exist"),
    ),
    "too many tags": (
        dict(Tags={f"k{i}": "v" for i in range(51)}),
        ("InvalidParameterValueException", 400, "Number of tags exceeds resource tag limit."),
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_create_refusals(lam, case):
    kw, expected = CASES[case]
    refused(lam, expected, **kw)


def test_environment_limit_is_measured_as_compact_json(lam):
    near = "x" * (4096 - len('{"LARGE_VAR":""}'))
    create(lam, "fn-env-ok", Environment={"Variables": {"LARGE_VAR": near}})
    lam.delete_function(FunctionName="fn-env-ok")
    message = refused(
        lam,
        ("InvalidParameterValueException", 400),
        Environment={"Variables": {"SMALL_VAR": "ok", "LARGE_VAR": near}},
    )
    assert message == (
        "Lambda was unable to configure your environment variables because the environment variables you have "
        f'provided exceeded the 4KB limit. String measured: {{"SMALL_VAR":"ok","LARGE_VAR":"{near}"}}'
    )


UNZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."


def test_corrupt_zip(lam):
    refused(lam, ("InvalidParameterValueException", 400, UNZIP), zip_bytes=b"this is not a zip file")


@pytest.mark.parametrize("name", ["../escape.py", "a/../../escape.py", "/etc/cron.d/x"])
def test_path_traversal_zip(lam, name):
    refused(lam, ("InvalidParameterValueException", 400, UNZIP), zip_bytes=make_zip({"ok.py": "x", name: "x"}))


def test_zip_bomb_is_refused_by_inflated_size(lam):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("zeros.bin", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(251):
                f.write(chunk)
    bomb = buf.getvalue()
    assert len(bomb) < 1 << 20
    refused(
        lam,
        ("InvalidParameterValueException", 400, "Unzipped size must be smaller than 262144000 bytes"),
        zip_bytes=bomb,
    )


def test_zip_over_50mb_is_413(lam, server):
    big = b"P" * (52428800 + 1)  # the size is checked before the archive is read
    message = refused(lam, ("RequestEntityTooLargeException", 413), zip_bytes=big)
    assert message == "Zipped size must be smaller than 52428800 bytes"


def test_request_over_limit_is_413(server):
    body = json.dumps({"FunctionName": "f", "Code": {"ZipFile": "A" * 70167212}}).encode()
    req = urllib.request.Request(f"{server.endpoint}/2015-03-31/functions", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 413
    assert e.value.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"
    assert json.loads(e.value.read()) == {
        "message": "Request must be smaller than 70167211 bytes for the CreateFunction operation"
    }


def test_duplicate_create_is_a_conflict(lam):
    create(lam, "fn-dup")
    with pytest.raises(ClientError) as e:
        create(lam, "fn-dup")
    assert error_of(e) == ("ResourceConflictException", 409, "Function already exist: fn-dup")


@pytest.mark.parametrize(
    "name,qualifier,expected",
    [
        ("my-function!", None,
         ("ValidationException", 400,
          "1 validation error detected: Value 'my-function!' at 'functionName' failed to satisfy constraint: "
          f"Member must satisfy regular expression pattern: {NAMESPACED_PATTERN}")),
        ("f", "invalid!",
         ("ValidationException", 400,
          "1 validation error detected: Value 'invalid!' at 'qualifier' failed to satisfy constraint: "
          r"Member must satisfy regular expression pattern: \$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+")),
        ("a" * 65, None,
         ("ResourceNotFoundException", 404,
          f"Function not found: arn:aws:lambda:us-east-1:111111111111:function:{'a' * 65}")),
        ("arn:aws:lambda:us-east-1:111111111111:function", None,
         ("ResourceNotFoundException", 404,
          "Function not found: arn:aws:lambda:us-east-1:111111111111:function:function")),
        ("arn:aws:lambda:us-east-1:111111111111:function:f:$LATES", None, ("ValidationException", 400)),
    ],
)
def test_get_function_name_rules(lam, name, qualifier, expected):
    kw = {"FunctionName": name}
    if qualifier:
        kw["Qualifier"] = qualifier
    with pytest.raises(ClientError) as e:
        lam.get_function(**kw)
    assert error_of(e)[: len(expected)] == expected


def test_update_configuration_refusals_change_nothing(lam):
    create(lam, "fn-upd", Timeout=7)
    for kw, code in [
        (dict(Role="r1"), "ValidationException"),
        (dict(Runtime="go1.x"), "InvalidParameterValueException"),
        (dict(Timeout=0), "ValidationException"),
        (dict(Environment={"Variables": {"1BAD": "x"}}), "ValidationException"),
    ]:
        with pytest.raises(ClientError) as e:
            lam.update_function_configuration(FunctionName="fn-upd", **kw)
        assert error_of(e)[0] == code
    conf = lam.get_function_configuration(FunctionName="fn-upd")
    assert conf["Timeout"] == 7 and conf["Runtime"] == "python3.12"
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="fn-upd", ZipFile=b"garbage")
    assert error_of(e) == ("InvalidParameterValueException", 400, UNZIP)


def test_malformed_json_body(server):
    req = urllib.request.Request(f"{server.endpoint}/2015-03-31/functions", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400
    assert e.value.headers["x-amzn-ErrorType"] == "SerializationException"


def test_list_functions_bad_function_version(server):
    req = urllib.request.Request(f"{server.endpoint}/2015-03-31/functions?FunctionVersion=invalid")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400
    assert json.loads(e.value.read())["message"] == (
        "1 validation error detected: Value 'invalid' at 'functionVersion' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ALL]"
    )
