"""Invokes racing updates and deletes: once a write is acknowledged, no invocation that starts
after it may run what it replaced."""

import json
import threading
import time

from botocore.exceptions import ClientError

from conftest import create, make_zip


def versioned(n):
    return make_zip({"handler.py": f"def handler(event, context):\n    return {n}\n"})


def test_no_invoke_after_an_update_runs_the_old_code(server):
    lam = server.client()
    create(lam, "racer", versioned(0), Timeout=10)
    acknowledged = [0]  # the newest version whose update has returned
    stale = []
    stop = threading.Event()

    def invoke_forever():
        client = server.client()
        while not stop.is_set():
            floor = acknowledged[0]
            ran = json.loads(client.invoke(FunctionName="racer")["Payload"].read())
            if not isinstance(ran, int) or ran < floor:
                stale.append((ran, floor))

    threads = [threading.Thread(target=invoke_forever) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for n in range(1, 25):
            lam.update_function_code(FunctionName="racer", ZipFile=versioned(n))
            acknowledged[0] = n
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert stale == [], f"stale answers (ran, acknowledged): {stale[:5]}"
    assert json.loads(lam.invoke(FunctionName="racer")["Payload"].read()) == 24


def test_no_invoke_after_a_delete_runs_the_function(server):
    lam = server.client()
    for round_ in range(5):
        create(lam, "doomed", versioned(round_), Timeout=10)
        deleted = threading.Event()
        ran_after = []
        stop = threading.Event()

        def invoke_forever():
            client = server.client()
            while not stop.is_set():
                after = deleted.is_set()
                try:
                    client.invoke(FunctionName="doomed")
                    if after:
                        ran_after.append(round_)
                except ClientError as e:
                    assert e.response["Error"]["Code"] == "ResourceNotFoundException"

        threads = [threading.Thread(target=invoke_forever) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        lam.delete_function(FunctionName="doomed")
        deleted.set()
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
        assert ran_after == [], "a deleted function ran"
