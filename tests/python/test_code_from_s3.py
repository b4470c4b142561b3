"""Code from S3: functions and layers whose packages boto3 uploaded to an S3 protocol peer
(moto_server from PyPI, on loopback), fetched by lambox from the endpoint its configuration names
(`s3.endpoint`), with AWS's errors for a missing bucket or key."""

import hashlib
import base64
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import ROLE, Lambox, error_of, free_port, make_zip


@pytest.fixture
def s3_endpoint(tmp_path):
    port = free_port()
    moto = Path(sys.executable).parent / "moto_server"
    log = open(tmp_path / "moto.log", "wb")
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/", timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "moto.log").read_text()
            time.sleep(0.1)
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def lam(tmp_path, s3_endpoint):
    server = Lambox(tmp_path / "data", extra_env={"LAMBOX_S3__ENDPOINT": s3_endpoint}).start()
    yield server.client()
    server.stop()


def handler_zip(text):
    return make_zip({"handler.py": f"def handler(event, context):\n    return {text!r}\n"})


def invoke(lam, name):
    return json.loads(lam.invoke(FunctionName=name)["Payload"].read())


def test_functions_from_s3_objects_and_their_versions(lam, s3):
    s3.create_bucket(Bucket="deploys")
    s3.put_bucket_versioning(Bucket="deploys", VersioningConfiguration={"Status": "Enabled"})
    first = handler_zip("first")
    v1 = s3.put_object(Bucket="deploys", Key="app/fn.zip", Body=first)["VersionId"]
    created = lam.create_function(FunctionName="from-s3", Runtime="python3.12", Role=ROLE,
                                  Handler="handler.handler",
                                  Code={"S3Bucket": "deploys", "S3Key": "app/fn.zip"})
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(first).digest()).decode()
    assert created["CodeSize"] == len(first)
    assert invoke(lam, "from-s3") == "first"
    s3.put_object(Bucket="deploys", Key="app/fn.zip", Body=handler_zip("second"))
    lam.update_function_code(FunctionName="from-s3", S3Bucket="deploys", S3Key="app/fn.zip")
    assert invoke(lam, "from-s3") == "second"
    # S3ObjectVersion picks an older object.
    lam.update_function_code(FunctionName="from-s3", S3Bucket="deploys", S3Key="app/fn.zip",
                             S3ObjectVersion=v1)
    assert invoke(lam, "from-s3") == "first"
    # The code is stored: it does not depend on the bucket any more.
    s3.delete_object(Bucket="deploys", Key="app/fn.zip")
    with urllib.request.urlopen(lam.get_function(FunctionName="from-s3")["Code"]["Location"]) as r:
        assert r.read() == first


def test_missing_buckets_keys_and_bad_packages_are_refused_as_aws_refuses_them(lam, s3):
    s3.create_bucket(Bucket="present")
    s3.put_object(Bucket="present", Key="broken.zip", Body=b"not a zip")

    def refused(**code):
        with pytest.raises(ClientError) as e:
            lam.create_function(FunctionName="nope", Runtime="python3.12", Role=ROLE,
                                Handler="handler.handler", Code=code)
        return error_of(e)

    assert refused(S3Bucket="absent", S3Key="k.zip") == (
        "InvalidParameterValueException", 400,
        "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified "
        "bucket does not exist")
    assert refused(S3Bucket="present", S3Key="missing.zip") == (
        "InvalidParameterValueException", 400,
        "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key "
        "does not exist.")
    assert refused(S3Bucket="present", S3Key="broken.zip") == (
        "InvalidParameterValueException", 400,
        "Could not unzip uploaded file. Please check your file, then try to upload again.")
    assert lam.list_functions()["Functions"] == [], "nothing was created"


def test_a_layer_from_s3(lam, s3):
    s3.create_bucket(Bucket="layers")
    layer = make_zip({"python/shared.py": "WHO = 'a layer from S3'\n"})
    s3.put_object(Bucket="layers", Key="shared.zip", Body=layer)
    v = lam.publish_layer_version(LayerName="shared", Content={"S3Bucket": "layers", "S3Key": "shared.zip"})
    assert v["Content"]["CodeSize"] == len(layer)
    lam.create_function(
        FunctionName="uses-s3-layer", Runtime="python3.12", Role=ROLE, Handler="handler.handler",
        Layers=[v["LayerVersionArn"]],
        Code={"ZipFile": make_zip({"handler.py": "import shared\ndef handler(e, c):\n    return shared.WHO\n"})})
    assert invoke(lam, "uses-s3-layer") == "a layer from S3"
