"""Client side of `cargo xtask bench invoke`: creates functions (with layers) and times boto3 invokes."""

import argparse
import io
import json
import time
import zipfile

from common import ROLE, client

ECHO = "def handler(event, context):\n    return event\n"


def echo_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("handler.py", ECHO)
    return buf.getvalue()


def create(endpoint, names, layers):
    c = client(endpoint)
    z = echo_zip()
    for name in names:
        c.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                          Code={"ZipFile": z}, Timeout=30, Layers=layers)
    return {"created": names}


def layer_zip(tag, megabytes):
    """A layer of python packages: 200 files per MB of incompressible bytes, as real ones are."""
    import random

    rng = random.Random(tag)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(200 * megabytes):
            z.writestr(f"python/{tag}_pkg{i // 50}/mod{i}.py", "# " + rng.randbytes(5000).hex()[:5240] + "\n")
    return buf.getvalue()


def publish_layers(endpoint, names, megabytes):
    c = client(endpoint)
    arns = [c.publish_layer_version(LayerName=n, Content={"ZipFile": layer_zip(n, megabytes)})["LayerVersionArn"]
            for n in names]
    return {"arns": arns}


def boto3_latency(endpoint, name, n, warmup):
    c = client(endpoint)
    payload = json.dumps({"hello": "world"}).encode()
    samples = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        r = c.invoke(FunctionName=name, Payload=payload)
        r["Payload"].read()
        dt = time.perf_counter() - t0
        if "FunctionError" in r:
            raise SystemExit(f"invoke failed: {r}")
        if i >= warmup:
            samples.append(dt * 1000.0)
    return {"ms": samples}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["create", "boto3", "layers"])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--name", action="append", default=[])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--layer", action="append", default=[])
    p.add_argument("--megabytes", type=int, default=3)
    a = p.parse_args()
    if a.mode == "create":
        out = create(a.endpoint, a.name, a.layer)
    elif a.mode == "layers":
        out = publish_layers(a.endpoint, a.name, a.megabytes)
    else:
        out = boto3_latency(a.endpoint, a.name[0], a.n, a.warmup)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
