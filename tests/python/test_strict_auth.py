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
