"""Function URLs through boto3 and plain HTTP: the configuration operations with AWS's answers and
errors, the payload 2.0 event a function receives, the mapping of its result to an HTTP answer,
AuthType NONE and AWS_IAM with resource policies, CORS, alias URLs and URLs that outlive restarts."""

import base64
import http.client
import json
import urllib.parse

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import create, error_of, make_zip

HANDLER = '''
import base64, json

def handler(event, context):
    path = event["rawPath"]
    if path == "/status":
        return {"statusCode": "418", "headers": {"X-Custom": "Custom Value"},
                "cookies": ["a=1", "b=2; Path=/"], "body": "teapot"}
    if path == "/string":
        return "hello"
    if path == "/list":
        return ["hello", 3, True]
    if path == "/binary":
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
    if path == "/fail":
        raise RuntimeError("boom")
    return {"statusCode": 200, "body": json.dumps({"event": event, "request_id": context.aws_request_id,
                                                   "arn": context.invoked_function_arn})}
'''

PUBLIC = dict(StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")


def url_function(lam, name="web", **kw):
    create(lam, name, make_zip({"handler.py": HANDLER}), **kw)
    return name


def request(url, method="GET", path="", body=None, headers=None, host=None):
    """(status, headers as a list of pairs, body bytes) of one HTTP request to a function URL.
    A `*.localhost` host is reached on loopback, as curl and browsers reach it (glibc's resolver
    does not know it)."""
    u = urllib.parse.urlsplit(url)
    hostname = "127.0.0.1" if u.hostname.endswith(".localhost") else u.hostname
    conn = http.client.HTTPConnection(hostname, u.port, timeout=30)
    target = u.path.rstrip("/") + path if path else u.path
    headers = dict(headers or {})
    if host or hostname != u.hostname:
        headers["Host"] = host or u.netloc
    conn.request(method, target, body=body, headers=headers)
    r = conn.getresponse()
    out = (r.status, r.getheaders(), r.read())
    conn.close()
    return out


def header(headers, name):
    values = [v for k, v in headers if k.lower() == name.lower()]
    return values[0] if values else None


def echoed(url, **kw):
    status, headers, body = request(url, **kw)
    assert status == 200, body
    return json.loads(body), headers


def test_configuration_lifecycle_and_errors(lam):
    url_function(lam)
    created = lam.create_function_url_config(FunctionName="web", AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"].endswith(":function:web")
    assert created["FunctionUrl"].endswith("/") and created["AuthType"] == "NONE"
    assert "LastModifiedTime" not in created and "InvokeMode" not in created, "AWS leaves them out of Create"
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName="web", AuthType="NONE")
    assert error_of(e) == ("ResourceConflictException", 409,
                           "Failed to create function url config for [functionArn = "
                           "arn:aws:lambda:us-east-1:111111111111:function:web]. Error message:  "
                           "FunctionUrlConfig exists for this Lambda function")
    got = lam.get_function_url_config(FunctionName="web")
    assert got["FunctionUrl"] == created["FunctionUrl"]
    assert got["InvokeMode"] == "BUFFERED" and "LastModifiedTime" in got
    cors = {"AllowOrigins": ["http://app.localhost:8000"], "AllowMethods": ["GET"], "MaxAge": 60}
    updated = lam.update_function_url_config(FunctionName="web", Cors=cors)
    assert updated["Cors"] == cors and updated["AuthType"] == "NONE"
    assert lam.get_function_url_config(FunctionName="web")["Cors"] == cors

    lam.publish_version(FunctionName="web")
    lam.create_alias(FunctionName="web", Name="live", FunctionVersion="1")
    alias_url = lam.create_function_url_config(FunctionName="web", Qualifier="live", AuthType="AWS_IAM",
                                               InvokeMode="BUFFERED")
    assert alias_url["FunctionArn"].endswith(":function:web:live") and alias_url["InvokeMode"] == "BUFFERED"
    assert alias_url["FunctionUrl"] != created["FunctionUrl"]
    listed = lam.list_function_url_configs(FunctionName="web")["FunctionUrlConfigs"]
    assert sorted(u["FunctionArn"].rsplit(":", 1)[-1] for u in listed) == ["live", "web"]
    first = lam.list_function_url_configs(FunctionName="web", MaxItems=1)
    second = lam.list_function_url_configs(FunctionName="web", Marker=first["NextMarker"])
    assert len(first["FunctionUrlConfigs"]) == 1 and len(second["FunctionUrlConfigs"]) == 1
    assert "NextMarker" not in second
    assert first["FunctionUrlConfigs"][0]["FunctionUrl"] != second["FunctionUrlConfigs"][0]["FunctionUrl"]

    for q in ("1", "$LATEST"):
        with pytest.raises(ClientError) as e:
            lam.get_function_url_config(FunctionName="web", Qualifier=q)
        assert error_of(e) == ("ValidationException", 400,
                               f"1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy "
                               r"constraint: Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)")
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName="nope", AuthType="NONE")
    assert error_of(e) == ("ResourceNotFoundException", 404, "Function does not exist")
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName="web", Qualifier="v1", AuthType="NONE")
    assert error_of(e) == ("ResourceNotFoundException", 404, "Function does not exist")
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName="web", AuthType="NONE", InvokeMode="UNKNOWN")
    assert error_of(e)[:2] == ("ValidationException", 400)
    assert "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]" in error_of(e)[2]

    assert lam.delete_function_url_config(FunctionName="web")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.get_function_url_config(FunctionName="web")
    assert error_of(e) == ("ResourceNotFoundException", 404, "The resource you requested does not exist.")
    # The alias's URL stays; deleting the alias takes it.
    assert lam.get_function_url_config(FunctionName="web", Qualifier="live")["AuthType"] == "AWS_IAM"
    lam.delete_alias(FunctionName="web", Name="live")
    assert lam.list_function_url_configs(FunctionName="web")["FunctionUrlConfigs"] == []


def test_the_event_and_the_answers(lam):
    url_function(lam)
    url = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    # AuthType NONE still needs a statement, as on AWS.
    status, headers, body = request(url)
    assert status == 403 and header(headers, "x-amzn-ErrorType") == "AccessDeniedException"
    assert json.loads(body)["Message"].startswith("Forbidden. For troubleshooting Function URL authorization")
    lam.add_permission(FunctionName="web", **PUBLIC)

    out, headers = echoed(url, method="POST", path="/items/a%20b?multi=foo&multi=%2Fbar&x=1",
                          body=b'{"k": 1}', headers={"Content-Type": "application/json",
                                                     "ExTrA-HeadErs": "With WeiRd CapS",
                                                     "Cookie": "c1=v1; c2=v2", "User-Agent": "lambox-test"})
    e = out["event"]
    assert (e["version"], e["routeKey"], e["rawPath"]) == ("2.0", "$default", "/items/a%20b")
    assert e["rawQueryString"] == "multi=foo&multi=%2Fbar&x=1"
    assert e["queryStringParameters"] == {"multi": "foo,/bar", "x": "1"}
    assert e["headers"]["extra-headers"] == "With WeiRd CapS"
    assert e["cookies"] == ["c1=v1", "c2=v2"]
    assert (e["body"], e["isBase64Encoded"]) == ('{"k": 1}', False)
    ctx = e["requestContext"]
    assert ctx["http"] == {"method": "POST", "path": "/items/a b", "protocol": "HTTP/1.1",
                           "sourceIp": "127.0.0.1", "userAgent": "lambox-test"}
    assert ctx["accountId"] == "anonymous" and "authorizer" not in ctx
    assert ctx["apiId"] == ctx["domainPrefix"] and len(ctx["apiId"]) == 32
    assert ctx["requestId"] == out["request_id"] == header(headers, "x-amzn-RequestId")
    assert isinstance(ctx["timeEpoch"], int) and ctx["time"].endswith(" +0000")
    assert e["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert out["arn"].endswith(":function:web")

    # A body of another type reaches the function in base64; no body, no key.
    out, _ = echoed(url, method="PUT", body=bytes(range(5)), headers={"Content-Type": "application/octet-stream"})
    assert out["event"]["isBase64Encoded"] is True
    assert base64.b64decode(out["event"]["body"]) == bytes(range(5))
    out, _ = echoed(url)
    assert "body" not in out["event"] and out["event"]["isBase64Encoded"] is False
    assert "queryStringParameters" not in out["event"] and out["event"]["rawQueryString"] == ""

    status, headers, body = request(url, path="/status")
    assert (status, body) == (418, b"teapot")
    assert header(headers, "x-custom") == "Custom Value"
    assert header(headers, "content-type") == "application/json"
    assert [v for k, v in headers if k.lower() == "set-cookie"] == ["a=1", "b=2; Path=/"]
    assert request(url, path="/string")[::2] == (200, b"hello")
    assert request(url, path="/list")[::2] == (200, b'["hello",3,true]')
    status, headers, body = request(url, path="/binary")
    assert (status, body) == (200, bytes(range(256)))
    assert request(url, path="/fail")[::2] == (502, b"Internal Server Error")
    # A body within the limit whose event is not (JSON escapes each NUL in six bytes): AWS's 413.
    status, headers, body = request(url, method="POST", body=b"\0" * 1_200_000,
                                    headers={"Content-Type": "text/plain"})
    assert status == 413 and header(headers, "x-amzn-ErrorType") == "RequestEntityTooLargeException"
    assert b"Request must be smaller than 6291456 bytes" in body
    assert request(url, path="/string")[::2] == (200, b"hello")

    # The URL is AWS's host form below localhost; the same URL answers by path, for clients
    # that cannot resolve it.
    u = urllib.parse.urlsplit(url)
    url_id, rest = u.hostname.split(".", 1)
    assert rest == "lambda-url.us-east-1.localhost" and len(url_id) == 32
    assert out["event"]["requestContext"]["domainName"] == u.hostname
    base = f"http://127.0.0.1:{u.port}/"
    out, _ = echoed(f"{base}lambda-url/{url_id}/", path="/by-path?q=1")
    assert (out["event"]["rawPath"], out["event"]["rawQueryString"]) == ("/by-path", "q=1")
    # On lambox's own origin a URL's cookies stay below its prefix and its pages are sandboxed:
    # another account's URL on the same origin sees neither.
    status, headers, _ = request(f"{base}lambda-url/{url_id}/", path="/status")
    assert [v for k, v in headers if k.lower() == "set-cookie"] == [
        f"a=1; Path=/lambda-url/{url_id}/", f"b=2; Path=/lambda-url/{url_id}/"]
    assert header(headers, "content-security-policy").startswith("sandbox")

    # A URL no one has, and one whose function is gone, reveal nothing.
    status, headers, body = request(base + "lambda-url/0123456789abcdefghijklmnopqrstuv/")
    assert (status, body) == (403, b'{"Message":null}')
    lam.delete_function(FunctionName="web")
    assert request(url)[::2] == (403, b'{"Message":null}')


def signed(url, account, method="GET", body=b"", path=""):
    """Headers of a SigV4 request (service lambda) by `account`'s key, as a client of AWS_IAM
    URLs signs it."""
    full = url.rstrip("/") + path if path else url
    req = AWSRequest(method=method, url=full, data=body)
    SigV4Auth(Credentials(account, "test"), "lambda", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def test_aws_iam_urls_need_a_signature_and_a_grant_for_other_accounts(server):
    owner, other = server.client(), server.client(account="222222222222")
    url_function(owner)
    url = owner.create_function_url_config(FunctionName="web", AuthType="AWS_IAM")["FunctionUrl"]
    status, _, body = request(url)
    assert status == 403 and b"Forbidden" in body, "unsigned"
    out, _ = echoed(url, headers=signed(url, "111111111111"))
    iam = out["event"]["requestContext"]["authorizer"]["iam"]
    assert iam["accountId"] == "111111111111" and iam["userArn"] == "arn:aws:iam::111111111111:root"
    assert out["event"]["requestContext"]["accountId"] == "111111111111"
    # Another account needs the owner's grant; the public NONE statement does not cover AWS_IAM.
    owner.add_permission(FunctionName="web", **PUBLIC)
    assert request(url, headers=signed(url, "222222222222"))[0] == 403
    owner.add_permission(FunctionName="web", StatementId="other", Action="lambda:InvokeFunctionUrl",
                         Principal="222222222222", FunctionUrlAuthType="AWS_IAM")
    out, _ = echoed(url, method="POST", body=b"{}", headers=signed(url, "222222222222", "POST", b"{}"))
    assert out["event"]["requestContext"]["authorizer"]["iam"]["accountId"] == "222222222222"
    # The grant is the owner's to give: the other account cannot see or change the URL.
    with pytest.raises(ClientError) as e:
        other.get_function_url_config(FunctionName="arn:aws:lambda:us-east-1:111111111111:function:web")
    assert error_of(e)[:2] == ("AccessDeniedException", 403)


def test_cors_preflights_are_answered_without_the_function(lam):
    url_function(lam)
    url = lam.create_function_url_config(
        FunctionName="web", AuthType="NONE",
        Cors={"AllowOrigins": ["http://app.localhost:8000"], "AllowMethods": ["GET", "POST"],
              "AllowHeaders": ["content-type"], "ExposeHeaders": ["x-custom"], "MaxAge": 300})["FunctionUrl"]
    lam.add_permission(FunctionName="web", **PUBLIC)
    status, headers, body = request(url, method="OPTIONS", path="/fail",
                                    headers={"Origin": "http://app.localhost:8000",
                                             "Access-Control-Request-Method": "POST"})
    # /fail would answer 502 had the function run.
    assert (status, body) == (200, b"")
    assert header(headers, "access-control-allow-origin") == "http://app.localhost:8000"
    assert header(headers, "access-control-allow-methods") == "GET,POST"
    assert header(headers, "access-control-max-age") == "300"
    status, headers, _ = request(url, path="/status", headers={"Origin": "http://app.localhost:8000"})
    assert status == 418
    assert header(headers, "access-control-allow-origin") == "http://app.localhost:8000"
    assert header(headers, "access-control-expose-headers") == "x-custom"
    status, headers, _ = request(url, path="/status", headers={"Origin": "http://evil.localhost"})
    assert status == 418 and header(headers, "access-control-allow-origin") is None


def test_alias_urls_run_the_alias_and_survive_a_restart(server):
    lam = server.client()
    url_function(lam)
    lam.publish_version(FunctionName="web")
    lam.create_alias(FunctionName="web", Name="live", FunctionVersion="1")
    url = lam.create_function_url_config(FunctionName="web", Qualifier="live", AuthType="NONE")["FunctionUrl"]
    # The function's own statement does not open the alias's URL: the alias's policy decides.
    lam.add_permission(FunctionName="web", **PUBLIC)
    assert request(url)[0] == 403
    lam.add_permission(FunctionName="web", Qualifier="live", **PUBLIC)
    out, _ = echoed(url)
    assert out["arn"].endswith(":function:web:live")

    server.restart()
    lam = server.client()
    out, _ = echoed(url)
    assert out["arn"].endswith(":function:web:live")
    assert lam.get_function_url_config(FunctionName="web", Qualifier="live")["FunctionUrl"] == url
    lam.delete_alias(FunctionName="web", Name="live")
    # AWS's answer to the URL of a deleted alias (recorded): its "Forbidden" message.
    status, _, body = request(url)
    assert status == 403 and json.loads(body)["Message"].startswith("Forbidden.")
    with pytest.raises(ClientError) as e:
        lam.get_function_url_config(FunctionName="web", Qualifier="live")
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)
    lam.delete_function(FunctionName="web")
    assert request(url)[::2] == (403, b'{"Message":null}')
