"""Client side of `cargo xtask bench control-plane`: boto3 timings against one endpoint.

Prints one JSON document on stdout; the xtask computes medians and ratios.
"""

import argparse
import base64
import http.client
import io
import json
import os
import threading
import time
import zipfile
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from common import ROLE, client


def small_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


OPS = ("CreateFunction", "GetFunction", "GetFunctionConfiguration", "ListFunctions", "PublishVersion",
       "ListVersionsByFunction", "CreateAlias", "GetAlias", "AddPermission", "GetPolicy", "DeleteFunction")


def ops(endpoint, n, warmup):
    """Per iteration, one function's life: create it, read it, list, publish a version, list its
    versions, create and read an alias, add a permission and read the policy, delete it. An
    operation an older baseline does not have gets no samples."""
    c = client(endpoint)
    z = small_zip()
    samples = {op: [] for op in OPS}
    prefix = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    missing = set()
    for i in range(warmup + n):
        name = f"{prefix}-{i}"
        calls = [
            ("CreateFunction", lambda: c.create_function(
                FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                Code={"ZipFile": z})),
            ("GetFunction", lambda: c.get_function(FunctionName=name)),
            ("GetFunctionConfiguration", lambda: c.get_function_configuration(FunctionName=name)),
            ("ListFunctions", lambda: c.list_functions()),
            ("PublishVersion", lambda: c.publish_version(FunctionName=name)),
            ("ListVersionsByFunction", lambda: c.list_versions_by_function(FunctionName=name)),
            ("CreateAlias", lambda: c.create_alias(FunctionName=name, Name="live", FunctionVersion="1")),
            ("GetAlias", lambda: c.get_alias(FunctionName=name, Name="live")),
            ("AddPermission", lambda: c.add_permission(
                FunctionName=name, StatementId="s1", Action="lambda:InvokeFunction",
                Principal="123456789012")),
            ("GetPolicy", lambda: c.get_policy(FunctionName=name)),
            ("DeleteFunction", lambda: c.delete_function(FunctionName=name)),
        ]
        times = {}
        for op, call in calls:
            if op in missing:
                continue
            t = time.perf_counter()
            try:
                call()
            except ClientError as e:
                if e.response["Error"]["Code"] != "UnknownOperationException":
                    raise
                missing.add(op)
                continue
            times[op] = time.perf_counter() - t
        if i >= warmup:
            for op, dt in times.items():
                samples[op].append(dt * 1000.0)
    return samples


def alias_setup(endpoint, name):
    """A function with versions 1 and 2, alias `live` routing half of its invokes to 2, and alias
    `plain` pointing at 1 alone."""
    c = client(endpoint)
    c.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                      Code={"ZipFile": small_zip()}, Timeout=30)
    # As a user of Lambda does: a change is refused until the last one has taken effect.
    c.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    c.publish_version(FunctionName=name)
    c.update_function_configuration(FunctionName=name, Description="two")
    c.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    c.publish_version(FunctionName=name)
    c.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                   RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    c.create_alias(FunctionName=name, Name="plain", FunctionVersion="1")
    return {"alias": f"{name}:live"}


def big_zip(endpoint, megabytes, runs):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
        z.writestr("payload.bin", os.urandom(megabytes * 1024 * 1024 - 4096))
    data = buf.getvalue()
    c = client(endpoint)
    seconds = []
    for r in range(runs):
        name = f"big-{r}-{time.monotonic_ns()}"
        t0 = time.perf_counter()
        c.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                          Code={"ZipFile": data})
        seconds.append(time.perf_counter() - t0)
        c.delete_function(FunctionName=name)
    return {"zip_bytes": len(data), "seconds": seconds}


def populate(endpoint, count, threads):
    url = urlparse(endpoint)
    body_zip = base64.b64encode(small_zip()).decode()
    next_index = iter(range(count))
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            body = json.dumps({"FunctionName": f"fn-{i:05}", "Runtime": "python3.12", "Role": ROLE,
                               "Handler": "handler.handler", "Code": {"ZipFile": body_zip}})
            conn.request("POST", "/2015-03-31/functions", body=body,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 201, r.status

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"created": count}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["ops", "bigzip", "populate", "alias-setup"])
    p.add_argument("--name", default="bench-alias")
    p.add_argument("--endpoint", required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--mb", type=int, default=45)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=8)
    a = p.parse_args()
    if a.mode == "ops":
        out = ops(a.endpoint, a.n, a.warmup)
    elif a.mode == "alias-setup":
        out = alias_setup(a.endpoint, a.name)
    elif a.mode == "bigzip":
        out = big_zip(a.endpoint, a.mb, a.runs)
    else:
        out = populate(a.endpoint, a.n, a.threads)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
