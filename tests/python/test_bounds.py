"""Everything a function or a client can make lambox hold is bounded: logs, bodies, time."""

import json
import socket
import time

import pytest

from conftest import Lambox, admin_get, create, make_zip, wait_for_logs

NOISY = """
import sys
def handler(event, context):
    line = "y" * 1023 + "\\n"
    for _ in range(event["kb"] // 1):
        sys.stdout.write(line)
    if event.get("one_line_mb"):
        sys.stdout.write("z" * (event["one_line_mb"] << 20) + "\\n")
    sys.stdout.flush()
    return "done"
"""


def test_a_huge_log_is_stored_head_and_tail(server, lam):
    create(lam, "noisy", make_zip({"handler.py": NOISY}), Timeout=60, MemorySize=512)
    r = lam.invoke(FunctionName="noisy", Payload=json.dumps({"kb": 50 * 1024, "one_line_mb": 10}).encode())
    assert json.loads(r["Payload"].read()) == "done"
    request_id = r["ResponseMetadata"]["RequestId"]
    (log,) = wait_for_logs(server, "noisy", lambda t: any(request_id in x and "REPORT" in x for x in t))
    assert len(log) <= 1100 * 1024, f"stored {len(log)} bytes of a 60 MB log"
    assert log.startswith("START RequestId: " + request_id) or "\nSTART RequestId: " + request_id in log
    assert "bytes of this invocation's log were dropped here]" in log
    assert "[lambox: line truncated]" in log, "the 10 MB line is cut"
    assert log.rstrip("\n").split("\n")[-1].startswith("REPORT RequestId: " + request_id)


def all_logs(server, function):
    """Every stored log of `function`, page by page, and the largest page's size."""
    logs, after, largest = [], 0, 0
    while True:
        page = admin_get(server, f"/_lambox/admin/logs?FunctionName={function}&Limit=1000&After={after}")
        if not page["Invocations"]:
            return logs, largest
        logs += [i["Log"] for i in page["Invocations"]]
        largest = max(largest, sum(len(i["Log"]) for i in page["Invocations"]))
        after = page["NextAfter"]


def test_admin_log_pages_are_bounded(server, lam):
    create(lam, "pages", make_zip({"handler.py": NOISY}), Timeout=60)
    for _ in range(6):
        lam.invoke(FunctionName="pages", Payload=b'{"kb": 300}')
    deadline = time.monotonic() + 20
    while len(all_logs(server, "pages")[0]) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    logs, largest = all_logs(server, "pages")
    assert len(logs) == 6
    assert largest <= 1024 * 1024 + 310 * 1024, "a page holds about 1 MiB of text"


def raw_request(server, head: bytes, body: bytes = b"", wait=10.0):
    """Sends a raw HTTP/1.1 request and returns (seconds until lambox answered or closed, bytes)."""
    s = socket.create_connection(("127.0.0.1", server.port))
    s.settimeout(wait)
    started = time.monotonic()
    s.sendall(head + body)
    chunks = []
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except socket.timeout:
        pass
    finally:
        s.close()
    return time.monotonic() - started, b"".join(chunks)


@pytest.fixture
def impatient(tmp_path):
    s = Lambox(tmp_path / "data", extra_env={"LAMBOX_HTTP__READ_TIMEOUT_SECONDS": "1"}).start()
    yield s
    s.stop()


def test_a_body_that_never_arrives_is_not_waited_for(impatient):
    head = (
        b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    took, answer = raw_request(impatient, head, b'{"FunctionName": ', wait=10)
    assert took < 5, "lambox held the request open"
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert impatient.client().list_functions()["Functions"] == []


def test_headers_that_never_end_are_not_waited_for(impatient):
    took, answer = raw_request(impatient, b"GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n", wait=10)
    assert took < 5, "lambox held a connection whose headers never ended"


def test_an_oversized_body_is_refused_without_reading_it(server):
    head = (
        b"PUT /2015-03-31/functions/f/configuration HTTP/1.1\r\nHost: x\r\n"
        + f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
    )
    # The declared size is over the limit: the 413 comes at once, not after 200 MB (or never).
    took, answer = raw_request(server, head, wait=10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"RequestEntityTooLargeException" in answer
    assert took < 5
