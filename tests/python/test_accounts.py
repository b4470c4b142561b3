"""Accounts and regions: one server, many tenants that never see each other."""

import pytest
from botocore.exceptions import ClientError

from conftest import create, error_of


def test_accounts_are_isolated(server):
    a = server.client(account="111111111111")
    b = server.client(account="222222222222")
    create(a, "shared-name", Description="a's")
    assert b.list_functions()["Functions"] == []
    with pytest.raises(ClientError) as e:
        b.get_function(FunctionName="shared-name")
    assert error_of(e) == (
        "ResourceNotFoundException",
        404,
        "Function not found: arn:aws:lambda:us-east-1:222222222222:function:shared-name",
    )
    created = create(b, "shared-name", Description="b's")
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:222222222222:function:shared-name"
    assert a.get_function(FunctionName="shared-name")["Configuration"]["Description"] == "a's"
    b.delete_function(FunctionName="shared-name")
    assert a.get_function(FunctionName="shared-name")["Configuration"]["Description"] == "a's"
    with pytest.raises(ClientError) as e:
        b.get_function(FunctionName="arn:aws:lambda:us-east-1:111111111111:function:shared-name")
    assert error_of(e)[0:2] == ("AccessDeniedException", 403)


def test_regions_are_separate(server):
    east = server.client(region="us-east-1")
    west = server.client(region="eu-west-1")
    create(east, "regional")
    assert west.list_functions()["Functions"] == []
    created = create(west, "regional")
    assert created["FunctionArn"] == "arn:aws:lambda:eu-west-1:111111111111:function:regional"
    assert len(east.list_functions()["Functions"]) == 1


def test_aws_style_keys_decode_to_their_account(server):
    c = server.client(account="AKIARZPUZDIKGB2VALC4")
    assert create(c, "decoded")["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:decoded"
    fallback = server.client(account="test")
    assert create(fallback, "default")["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:default"
