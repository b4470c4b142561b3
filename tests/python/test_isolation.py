"""One lambox, many accounts: what one account must never reach of another's."""

import json
import os
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import admin_get, create, error_of, make_zip, wait_for_logs


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


def listening_ports(pid):
    """The TCP ports process `pid` listens on (from /proc: its socket inodes in LISTEN state)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_an_agent_refuses_pushes_without_its_secret(server):
    lam = server.client()
    # The marker goes to the sandbox's own /tmp (its directory `tmp` on this machine).
    handler = ("import os, tempfile\ndef handler(event, context):\n"
               "    open(os.path.join(tempfile.gettempdir(), 'ran'), 'a').write('x')\n    return 1\n")
    create(lam, "guarded", make_zip({"handler.py": handler}))
    assert json.loads(lam.invoke(FunctionName="guarded")["Payload"].read()) == 1
    (sandbox,) = list((server.data_dir / "sandboxes").iterdir())
    marker = sandbox / "tmp" / "ran"
    assert marker.read_text() == "x"
    agent_pid = int((sandbox / "agent.pid").read_text().split()[0])
    ports = listening_ports(agent_pid)
    assert len(ports) == 2, ports  # the push endpoint and the Runtime API
    path = "/2015-03-31/functions/function/invocations"
    answers = []
    for port in ports:
        for headers in ({}, {"lambox-agent-secret": "guess"}):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"{}", headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    answers.append(r.status)
            except urllib.error.HTTPError as e:
                answers.append(e.code)
    # The push endpoint refuses (403); the Runtime API has no such path (404).
    assert sorted(answers) == [403, 403, 404, 404]
    assert marker.read_text() == "x", "the function ran for a push without the secret"
    assert json.loads(lam.invoke(FunctionName="guarded")["Payload"].read()) == 1
    assert marker.read_text() == "xx"


RECORDER = "import json\ndef handler(event, context):\n    print('event: ' + json.dumps(event))\n    return event\n"


def test_a_destination_in_another_account_is_refused(server):
    a = server.client(account="111111111111")
    b = server.client(account="222222222222")
    create(a, "a-private", make_zip({"handler.py": RECORDER}))
    create(b, "b-source", make_zip({"handler.py": RECORDER}))
    target = "arn:aws:lambda:us-east-1:111111111111:function:a-private"
    for config in ({"OnSuccess": {"Destination": target}}, {"OnFailure": {"Destination": target}}):
        with pytest.raises(ClientError) as e:
            b.put_function_event_invoke_config(FunctionName="b-source", DestinationConfig=config)
        assert error_of(e) == (
            "InvalidParameterValueException",
            400,
            f"The function execution role does not have permissions to call InvokeFunction on {target}",
        )
    with pytest.raises(ClientError) as e:
        b.get_function_event_invoke_config(FunctionName="b-source")
    assert error_of(e)[0] == "ResourceNotFoundException"
    # An Event invoke of B's function reaches nothing of A's.
    b.invoke(FunctionName="b-source", InvocationType="Event", Payload=b'{"from": "b"}')
    wait_for_logs(server, "b-source", lambda t: len(t) == 1, account="222222222222")
    time.sleep(0.5)
    assert admin_get_logs(server, "a-private", "111111111111") == []


def test_a_partial_arn_destination_is_delivered_in_the_callers_account(server):
    b = server.client(account="222222222222")
    create(b, "b-dest", make_zip({"handler.py": RECORDER}))
    create(b, "b-src", make_zip({"handler.py": RECORDER}))
    b.put_function_event_invoke_config(
        FunctionName="b-src", DestinationConfig={"OnSuccess": {"Destination": "arn:aws:lambda:us-east-1:function:b-dest"}}
    )
    stored = b.get_function_event_invoke_config(FunctionName="b-src")["DestinationConfig"]["OnSuccess"]
    assert stored["Destination"] == "arn:aws:lambda:us-east-1:222222222222:function:b-dest"
    r = b.invoke(FunctionName="b-src", InvocationType="Event", Payload=b'{"partial": true}')
    request_id = r["ResponseMetadata"]["RequestId"]
    logs = wait_for_logs(server, "b-dest", lambda t: any(request_id in x for x in t), account="222222222222")
    assert any('"partial": true' in x for x in logs)


def admin_get_logs(server, function, account):
    return admin_get(server, f"/_lambox/admin/logs?FunctionName={function}", account=account)["Invocations"]
