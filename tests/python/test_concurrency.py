"""Concurrent writers: one CreateFunction of a name wins, the rest get a conflict."""

from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from conftest import create


def test_concurrent_create_has_exactly_one_winner(server):
    def attempt(i):
        client = server.client()
        try:
            create(client, "raced", Description=f"writer {i}")
            return "won"
        except ClientError as e:
            return e.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(attempt, range(24)))
    assert results.count("won") == 1
    assert results.count("ResourceConflictException") == 23
    functions = server.client().list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == ["raced"]
