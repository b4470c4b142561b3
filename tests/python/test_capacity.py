"""The global sandbox cap: many functions share a bounded number of sandboxes and a memory
budget; the least recently used idle one makes room, and with none idle invocations are
throttled as account concurrency throttles on AWS."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from conftest import Lambox, create, error_of, make_zip

SLEEPY = make_zip(
    {"handler.py": "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return event\n"}
)


def live_sandboxes(server):
    """Sandbox directories of running sandboxes (each holds its agent's pid record)."""
    root = server.data_dir / "sandboxes"
    return [d for d in root.iterdir() if (d / "agent.pid").exists()] if root.exists() else []


def settle(server, at_most, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(live_sandboxes(server)) > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(live_sandboxes(server))


@pytest.fixture
def capped(tmp_path):
    s = Lambox(tmp_path / "data", extra_env={"LAMBOX_POOL__MAX_SANDBOXES": "3"}).start()
    yield s
    s.stop()


def test_many_functions_share_the_cap(capped):
    lam = capped.client()
    for i in range(8):
        create(lam, f"f{i}", SLEEPY, Timeout=10)
    for round_ in range(2):
        for i in range(8):
            r = lam.invoke(FunctionName=f"f{i}", Payload=b'{"n": 1}')
            assert "FunctionError" not in r and json.loads(r["Payload"].read()) == {"n": 1}
            assert settle(capped, 3) <= 3, f"round {round_}, function {i}"


def test_with_every_sandbox_busy_invokes_are_throttled(capped):
    lam = capped.client()
    for i in range(4):
        create(lam, f"g{i}", SLEEPY, Timeout=10)

    def slow(i):
        return capped.client().invoke(FunctionName=f"g{i}", Payload=b'{"sleep": 3}')

    with ThreadPoolExecutor(3) as pool:
        busy = [pool.submit(slow, i) for i in range(3)]
        time.sleep(1.5)
        with pytest.raises(ClientError) as e:
            lam.invoke(FunctionName="g3", Payload=b"{}")
        code, status, message = error_of(e)
        assert (code, status, message) == ("TooManyRequestsException", 429, "Rate Exceeded.")
        assert e.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
        for f in busy:
            assert f.result()["StatusCode"] == 200
    # Once they are idle again, one of them makes room.
    assert lam.invoke(FunctionName="g3", Payload=b"{}")["StatusCode"] == 200


def test_the_memory_budget_counts_memory_size(tmp_path):
    s = Lambox(tmp_path / "data", extra_env={"LAMBOX_POOL__MEMORY_BUDGET_MB": "1024"}).start()
    try:
        lam = s.client()
        for i in range(3):
            create(lam, f"m{i}", SLEEPY, Timeout=10, MemorySize=512)
        for i in range(3):
            assert lam.invoke(FunctionName=f"m{i}", Payload=b"{}")["StatusCode"] == 200
            assert settle(s, 2) <= 2
    finally:
        s.stop()
