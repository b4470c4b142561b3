"""One lambox, many accounts: what one account must never reach of another's."""

import urllib.error
import urllib.request

import pytest

from conftest import create, make_zip


def fetch(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_code_location_is_presigned_for_one_package(server):
    a = server.client(account="111111111111")
    b = server.client(account="222222222222")
    secret = make_zip({"handler.py": "SECRET = 'of account A'\n"})
    create(a, "private", secret)
    create(b, "mine", make_zip({"handler.py": "x = 1\n"}))
    url = a.get_function(FunctionName="private")["Code"]["Location"]
    assert fetch(url) == (200, secret)
    base, query = url.split("?", 1)
    # Without its signature, the path that names the package gives nothing.
    status, body = fetch(base)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    # B's own signed URL does not open A's package.
    b_url = b.get_function(FunctionName="mine")["Code"]["Location"]
    b_base, b_query = b_url.split("?", 1)
    status, body = fetch(f"{base}?{b_query}")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    # Nor does a signature with its expiry pushed out.
    params = dict(p.split("=", 1) for p in query.split("&"))
    params["Expires"] = str(int(params["Expires"]) + 86400)
    status, _ = fetch(base + "?" + "&".join(f"{k}={v}" for k, v in params.items()))
    assert status == 403
