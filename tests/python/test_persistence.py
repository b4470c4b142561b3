"""State survives a clean stop and a SIGKILL: everything acknowledged is still there."""

import signal
import threading
import time
import urllib.request

from conftest import create, make_zip


def snapshot(client):
    functions = []
    for page in client.get_paginator("list_functions").paginate(FunctionVersion="ALL"):
        functions += page["Functions"]
    tags = {
        f["FunctionName"]: client.list_tags(Resource=f["FunctionArn"].rsplit(":", 1)[0])["Tags"]
        for f in functions
        if f["Version"] == "$LATEST"
    }
    return functions, tags


def populate(client, prefix):
    create(client, f"{prefix}-a", Tags={"team": "a"}, Environment={"Variables": {"KEY": "v"}}, Timeout=11)
    create(client, f"{prefix}-b", make_zip({"handler.py": "b = 1\n"}), Publish=True, MemorySize=1024)
    client.update_function_configuration(FunctionName=f"{prefix}-b", Description="after publish")
    client.tag_resource(
        Resource=f"arn:aws:lambda:us-east-1:111111111111:function:{prefix}-b", Tags={"stage": "prod"}
    )


def test_clean_restart_keeps_everything(server):
    client = server.client()
    populate(client, "clean")
    before = snapshot(client)
    code = client.get_function(FunctionName="clean-b")["Code"]["Location"]
    assert server.stop(signal.SIGTERM) == 0
    server.start()
    after = snapshot(server.client())
    assert after == before
    location = server.client().get_function(FunctionName="clean-b")["Code"]["Location"]
    digest = lambda url: url.split("?")[0].rsplit("/", 1)[1]  # noqa: E731
    assert digest(location) == digest(code)
    # The URL handed out before the restart still works: the signing key is kept.
    with urllib.request.urlopen(code) as r:
        assert r.read()[:2] == b"PK"


def test_sigterm_exits_cleanly(server):
    assert server.stop(signal.SIGTERM) == 0
    server.start()


def test_sigkill_loses_nothing_acknowledged(server):
    client = server.client()
    populate(client, "kill")
    acknowledged = []
    stop = threading.Event()

    failures = []

    def writer():
        c = server.client()
        i = 0
        while not stop.is_set():
            try:
                create(c, f"kill-burst-{i:04}")
                acknowledged.append(f"kill-burst-{i:04}")
            except Exception as e:
                # Only the kill may end the writes; a failure before it fails the test.
                if not killed.is_set():
                    failures.append(e)
                return
            i += 1

    killed = threading.Event()
    t = threading.Thread(target=writer)
    t.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 20 and not failures and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not failures, failures
    assert len(acknowledged) >= 20, "the writer did not get 20 creates acknowledged within 60 s"
    before = snapshot(client)
    killed.set()
    server.stop(signal.SIGKILL)
    stop.set()
    t.join()
    server.start()
    after_functions, after_tags = snapshot(server.client())
    names = {f["FunctionName"] for f in after_functions}
    assert set(acknowledged) <= names
    # Everything that existed before the kill is unchanged.
    by_key = {(f["FunctionName"], f["Version"]): f for f in after_functions}
    for f in before[0]:
        assert by_key[(f["FunctionName"], f["Version"])] == f
    for name, tags in before[1].items():
        assert after_tags[name] == tags
