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
    stale, failures, answered = [], [], []
    stop = threading.Event()

    def invoke_forever():
        client = server.client()
        while not stop.is_set():
            floor = acknowledged[0]
            try:
                ran = json.loads(client.invoke(FunctionName="racer")["Payload"].read())
            except Exception as e:  # noqa: BLE001 - reported below, not lost in the thread
                failures.append(repr(e))
                continue
            answered.append(floor)
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
    assert failures == [], failures[:3]
    # Answers to invokes that started in many different windows between updates: they raced.
    assert len(set(answered)) >= 5, f"the invokers must have raced the updates: {sorted(set(answered))}"
    assert stale == [], f"stale answers (ran, acknowledged): {stale[:5]}"
    assert json.loads(lam.invoke(FunctionName="racer")["Payload"].read()) == 24


def test_no_invoke_after_a_delete_runs_the_function(server):
    lam = server.client()
    for round_ in range(5):
        create(lam, "doomed", versioned(round_), Timeout=10)
        deleted = threading.Event()
        ran_after, unexpected, answered = [], [], []
        stop = threading.Event()

        def invoke_forever():
            client = server.client()
            while not stop.is_set():
                after = deleted.is_set()
                try:
                    client.invoke(FunctionName="doomed")
                    answered.append(after)
                    if after:
                        ran_after.append(round_)
                except ClientError as e:
                    if e.response["Error"]["Code"] != "ResourceNotFoundException":
                        unexpected.append(e.response["Error"]["Code"])

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
        assert unexpected == [], unexpected[:3]
        assert answered, "the invokers must have run before the delete"
        assert ran_after == [], "a deleted function ran"
