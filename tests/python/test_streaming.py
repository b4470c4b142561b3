"""Response streaming end to end: boto3's invoke_with_response_stream against a buffered python
function and streaming node functions (`awslambda.streamifyResponse`), chunks arriving as the
handler writes them, errors and timeouts mid-stream, the log tail, and the same functions
through Invoke."""

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import create, error_of, make_zip

STREAMING = """
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType("text/plain");
  responseStream.write("first;");
  await new Promise((r) => setTimeout(r, event.pause_ms || 0));
  if (event.fail) throw new TypeError("broke after the first write");
  if (event.hang) await new Promise(() => {});
  for (let i = 0; i < (event.more || 0); i++) responseStream.write(`more-${i};`);
  console.log("streamed for", context.awsRequestId);
  responseStream.end("last");
});
"""


def streaming_function(lam, name="streamer", timeout=10):
    create(lam, name, make_zip({"index.mjs": STREAMING}), Runtime="nodejs20.x", Handler="index.handler",
           Timeout=timeout)
    return name


def events_of(response):
    """(chunks with the monotonic time each arrived, InvokeComplete) of an event stream."""
    chunks, complete = [], None
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append((time.monotonic(), event["PayloadChunk"]["Payload"]))
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    return chunks, complete


def test_a_buffered_function_answers_with_its_whole_response(lam):
    create(lam, "echo")
    r = lam.invoke_with_response_stream(FunctionName="echo", Payload=b'{"a": 1}')
    assert r["StatusCode"] == 200 and r["ExecutedVersion"] == "$LATEST"
    assert r["ResponseStreamContentType"] == "application/json", "a whole answer"
    chunks, complete = events_of(r)
    assert json.loads(b"".join(c for _, c in chunks)) == {"a": 1}
    assert complete is not None and "ErrorCode" not in complete
    assert lam.invoke_with_response_stream(FunctionName="echo", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.invoke_with_response_stream(FunctionName="nope")
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)


def test_chunks_arrive_as_the_handler_writes_them(lam):
    streaming_function(lam)
    sent = time.monotonic()
    r = lam.invoke_with_response_stream(FunctionName="streamer", Payload=json.dumps({"pause_ms": 800, "more": 3}),
                                        LogType="Tail")
    assert r["ResponseStreamContentType"] == "text/plain", "the type the handler set"
    chunks, complete = events_of(r)
    body = b"".join(c for _, c in chunks)
    assert body == b"first;more-0;more-1;more-2;last"
    first_at, last_at = chunks[0][0], chunks[-1][0]
    assert chunks[0][1].startswith(b"first;")
    # The first write left lambox while the handler was still paused.
    assert last_at - first_at > 0.5, (first_at - sent, last_at - sent)
    assert "ErrorCode" not in complete
    log = base64.b64decode(complete["LogResult"]).decode()
    assert "streamed for" in log and "REPORT RequestId" in log

    # Through Invoke, the same function answers with the whole response.
    whole = lam.invoke(FunctionName="streamer", Payload=json.dumps({"more": 1}))
    assert whole["Payload"].read() == b"first;more-0;last" and "FunctionError" not in whole


def test_errors_and_timeouts_end_the_stream_as_aws_ends_it(lam):
    streaming_function(lam, timeout=2)
    chunks, complete = events_of(lam.invoke_with_response_stream(FunctionName="streamer",
                                                                 Payload=json.dumps({"fail": True})))
    assert b"".join(c for _, c in chunks) == b"first;"
    assert complete["ErrorCode"] == "TypeError"
    assert complete["ErrorDetails"] == "broke after the first write"

    chunks, complete = events_of(lam.invoke_with_response_stream(FunctionName="streamer",
                                                                 Payload=json.dumps({"hang": True})))
    assert b"".join(c for _, c in chunks) == b"first;"
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    # The sandbox was replaced: the next stream runs whole.
    chunks, complete = events_of(lam.invoke_with_response_stream(FunctionName="streamer", Payload=b"{}"))
    assert b"".join(c for _, c in chunks) == b"first;last" and "ErrorCode" not in complete


def test_streams_over_the_limit_end_with_aws_error(tmp_path):
    from conftest import Lambox
    server = Lambox(tmp_path / "data", extra_env={"LAMBOX_LIMITS__MAX_STREAMED_RESPONSE_BYTES": "100"}).start()
    try:
        lam = server.client()
        streaming_function(lam)
        chunks, complete = events_of(lam.invoke_with_response_stream(FunctionName="streamer",
                                                                     Payload=json.dumps({"more": 50})))
        assert len(b"".join(c for _, c in chunks)) <= 100
        assert complete["ErrorCode"] == "Function.ResponseSizeTooLarge"
    finally:
        server.stop()


HTTP_STREAMING = """
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.rawPath === "/fail") throw new Error("before any byte");
  const http = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201, headers: {"content-type": "text/plain", "x-stream": "yes"}, cookies: ["s=1"]});
  http.write("a;");
  await new Promise((r) => setTimeout(r, 800));
  http.write("b;");
  http.end();
});
"""

PUBLIC = dict(StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")


def url_of(lam, name, mode):
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode=mode)["FunctionUrl"]
    lam.add_permission(FunctionName=name, **PUBLIC)
    return url


def open_url(url, path="/"):
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", u.port, timeout=30)
    conn.request("GET", path, headers={"Host": u.netloc})
    return conn.getresponse()


def test_streaming_urls_send_status_headers_then_each_write(lam):
    create(lam, "web-stream", make_zip({"index.mjs": HTTP_STREAMING}), Runtime="nodejs20.x",
           Handler="index.handler")
    url = url_of(lam, "web-stream", "RESPONSE_STREAM")
    r = open_url(url)
    assert r.status == 201
    assert r.getheader("x-stream") == "yes" and r.getheader("content-type") == "text/plain"
    assert r.getheader("set-cookie") == "s=1"
    assert r.getheader("transfer-encoding") == "chunked" and r.getheader("content-length") is None
    first = r.read1(64)
    first_at = time.monotonic()
    rest = r.read()
    assert first + rest == b"a;b;"
    assert first == b"a;", "the first write arrives on its own"
    assert time.monotonic() - first_at > 0.5, "before the handler's pause ended"
    failed = open_url(url, "/fail")
    assert (failed.status, failed.read()) == (502, b"Internal Server Error")


def test_buffered_functions_behind_streaming_urls_send_their_result_as_it_is(lam):
    handler = 'def handler(event, context):\n    return {"statusCode": 418, "body": "tea"}\n'
    create(lam, "plain", make_zip({"handler.py": handler}))
    r = open_url(url_of(lam, "plain", "RESPONSE_STREAM"))
    assert r.status == 200
    assert json.loads(r.read()) == {"statusCode": 418, "body": "tea"}
    lam.update_function_url_config(FunctionName="plain", InvokeMode="BUFFERED")
    r = open_url(lam.get_function_url_config(FunctionName="plain")["FunctionUrl"])
    assert (r.status, r.read()) == (418, b"tea")


FLOOD = """
import { once } from "node:events";
export const handler = awslambda.streamifyResponse(async (event, stream) => {
  const chunk = Buffer.alloc(65536, 120);
  const chunks = event.rawPath === "/big" ? 800 : 1;
  for (let i = 0; i < chunks; i++) {
    if (!stream.write(chunk)) await once(stream, "drain");
  }
  stream.end();
});
"""


def test_a_client_that_stops_reading_does_not_hold_the_sandbox(lam):
    import socket
    import urllib.parse

    create(lam, "flood", make_zip({"index.mjs": FLOOD}), Runtime="nodejs20.x", Handler="index.handler", Timeout=1)
    lam.put_function_concurrency(FunctionName="flood", ReservedConcurrentExecutions=1)
    url = url_of(lam, "flood", "RESPONSE_STREAM")
    u = urllib.parse.urlsplit(url)
    # 50 MB asked for, nothing read: the function fills every buffer on the way and waits.
    stuck = socket.create_connection(("127.0.0.1", u.port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(f"GET /big HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n".encode())
    time.sleep(1.0)
    assert open_url(url).status == 429, "its one sandbox is taken"
    # Past the function's timeout (and lambox's margin for the agent), the sandbox is free again.
    deadline = time.monotonic() + 40
    status = None
    while time.monotonic() < deadline:
        r = open_url(url)
        status = r.status
        r.read()
        if status == 200:
            break
        time.sleep(1)
    stuck.close()
    assert status == 200
