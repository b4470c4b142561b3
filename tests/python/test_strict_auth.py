"""Strict mode: SigV4 signatures are verified against configured credentials."""

import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import Lambox, create, error_of


@pytest.fixture
def strict(tmp_path):
    config = tmp_path / "lambox.toml"
    config.write_text(
        "[auth]\nstrict = true\n"
        '[[auth.credentials]]\naccess_key_id = "AKIDSTRICT"\nsecret_access_key = "right-secret"\naccount = "333333333333"\n'
        '[[auth.credentials]]\naccess_key_id = "444444444444"\nsecret_access_key = "other"\n'
    )
    s = Lambox(tmp_path / "data", config_file=config).start()
    yield s
    s.stop()


def test_valid_signatures_pass_and_pick_the_account(strict):
    c = strict.client(account="AKIDSTRICT", secret="right-secret")
    created = create(c, "signed")
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:333333333333:function:signed"
    # Labels with characters that need encoding are signed over the double-encoded path.
    assert c.get_function(FunctionName="signed:$LATEST")["Configuration"]["FunctionName"] == "signed"
    c.untag_resource(Resource=created["FunctionArn"], TagKeys=["a b", "c"])
    d = strict.client(account="444444444444", secret="other")
    assert d.list_functions()["Functions"] == []


def test_wrong_secret_is_refused(strict):
    with pytest.raises(ClientError) as e:
        strict.client(account="AKIDSTRICT", secret="wrong").list_functions()
    code, status, message = error_of(e)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith("The request signature we calculated does not match the signature you provided.")


def test_unknown_key_is_refused(strict):
    with pytest.raises(ClientError) as e:
        strict.client(account="AKIDUNKNOWN", secret="x").list_functions()
    assert error_of(e) == (
        "UnrecognizedClientException",
        403,
        "The security token included in the request is invalid.",
    )


def test_unsigned_request_is_refused(strict):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{strict.endpoint}/2015-03-31/functions")
    assert e.value.code == 403
    assert e.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def signed(strict, method, path, body, service="lambda", headers=None):
    """A request signed by botocore as AKIDSTRICT, as (url, headers) to send by hand."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method=method, url=f"{strict.endpoint}{path}", data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials("AKIDSTRICT", "right-secret"), service, "us-east-1").add_auth(req)
    return req.url, dict(req.headers.items())


def send(url, method, headers, body):
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_a_captured_request_cannot_carry_another_body(strict):
    import json

    c = strict.client(account="AKIDSTRICT", secret="right-secret")
    create(c, "target")
    path = "/2015-03-31/functions/target/configuration"
    body = json.dumps({"Description": "harmless"}).encode()
    url, headers = signed(strict, "PUT", path, body)
    status, _, _ = send(url, "PUT", headers, body)
    assert status == 200
    # The same signature and headers, another body.
    evil = json.dumps({"Timeout": 900}).encode()
    headers["Content-Length"] = str(len(evil))
    status, h, answer = send(url, "PUT", headers, evil)
    assert (status, h["x-amzn-ErrorType"]) == (403, "InvalidSignatureException"), answer
    assert c.get_function_configuration(FunctionName="target")["Timeout"] == 3
    # A signed hash header that does not match the body is no way around it either.
    import hashlib

    url, headers = signed(
        strict, "PUT", path, body, headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    )
    headers["Content-Length"] = str(len(evil))
    status, _, _ = send(url, "PUT", headers, evil)
    assert status == 403
    assert c.get_function_configuration(FunctionName="target")["Timeout"] == 3


def test_unsigned_payload_is_signed_as_the_literal(strict):
    import json

    c = strict.client(account="AKIDSTRICT", secret="right-secret")
    create(c, "unsigned-body")
    path = "/2015-03-31/functions/unsigned-body/configuration"
    body = json.dumps({"Description": "any body"}).encode()
    url, headers = signed(strict, "PUT", path, body, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    status, _, answer = send(url, "PUT", headers, body)
    assert status == 200, answer
    assert c.get_function_configuration(FunctionName="unsigned-body")["Description"] == "any body"


def test_the_scope_must_name_lambda_and_the_request_date(strict):
    import datetime

    url, headers = signed(strict, "GET", "/2015-03-31/functions", b"", service="logs")
    status, h, answer = send(url, "GET", headers, None)
    assert (status, h["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    assert json_message(answer) == "Credential should be scoped to correct service: 'lambda'. "
    # A credential scope of another day than the X-Amz-Date.
    url, headers = signed(strict, "GET", "/2015-03-31/functions", b"")
    today = headers["X-Amz-Date"][:8]
    other = (datetime.datetime.strptime(today, "%Y%m%d") - datetime.timedelta(days=1)).strftime("%Y%m%d")
    headers["Authorization"] = headers["Authorization"].replace(f"/{today}/", f"/{other}/")
    status, h, answer = send(url, "GET", headers, None)
    assert (status, h["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    assert json_message(answer) == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        f"'{other}' != '{today}', from '{headers['X-Amz-Date']}'."
    )


def json_message(answer):
    import json

    body = json.loads(answer)
    return body.get("message") or body.get("Message")
