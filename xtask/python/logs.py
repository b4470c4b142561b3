"""Client side of `cargo xtask bench logs`: functions that write logs, and timed FilterLogEvents."""

import argparse
import io
import json
import time
import zipfile

import boto3
from botocore.config import Config

from common import ROLE, client

HANDLERS = {
    "quiet": "def handler(event, context):\n    return event\n",
    "chatty": "LINE = 'x' * 1024\n\ndef handler(event, context):\n    print(LINE)\n    return event\n",
    "flood": (
        "import sys\n\n"
        "def handler(event, context):\n"
        "    out = []\n"
        "    for i in range(event['lines']):\n"
        "        out.append('needle %d' % i if i % event['every'] == 0 else 'line %d of a flood' % i)\n"
        "    sys.stdout.write('\\n'.join(out) + '\\n')\n"
        "    return len(out)\n"
    ),
}


def package(code):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("handler.py", code)
    return buf.getvalue()


def logs_client(endpoint):
    return boto3.client(
        "logs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="111111111111",
        aws_secret_access_key="bench", config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def setup(endpoint):
    c = client(endpoint)
    for name, code in HANDLERS.items():
        c.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                          Code={"ZipFile": package(code)}, Timeout=60, MemorySize=512)
    return {"created": list(HANDLERS)}


def populate(endpoint, events, per_invoke, every):
    c = client(endpoint)
    t0 = time.perf_counter()
    for _ in range(events // per_invoke):
        r = c.invoke(FunctionName="flood", Payload=json.dumps({"lines": per_invoke, "every": every}).encode())
        assert "FunctionError" not in r, r["Payload"].read()
    # Wait until every needle is stored (a bounded wait: the store may keep fewer).
    logs = logs_client(endpoint)
    wanted = events // every
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = logs.filter_log_events(logGroupName="/aws/lambda/flood", filterPattern="needle")["events"]
        if len(found) >= wanted:
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"only {len(found)} of {wanted} needles were stored")
    return {"events": events, "needles": wanted, "seconds": time.perf_counter() - t0}


def filter_timing(endpoint, n):
    logs = logs_client(endpoint)
    ms, counts = [], set()
    for _ in range(n):
        t = time.perf_counter()
        r = logs.filter_log_events(logGroupName="/aws/lambda/flood", filterPattern="needle")
        ms.append((time.perf_counter() - t) * 1000.0)
        counts.add(len(r["events"]))
    return {"ms": ms, "matches": sorted(counts)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["setup", "populate", "filter"])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--per-invoke", type=int, default=10_000)
    p.add_argument("--every", type=int, default=1000)
    p.add_argument("--n", type=int, default=20)
    a = p.parse_args()
    if a.mode == "setup":
        out = setup(a.endpoint)
    elif a.mode == "populate":
        out = populate(a.endpoint, a.events, a.per_invoke, a.every)
    else:
        out = filter_timing(a.endpoint, a.n)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
