"""Client side of `cargo xtask bench urls`: creates the functions and function URLs measured, and
prints their URL ids."""

import argparse
import io
import json
import zipfile

from common import ROLE, client

CONSTANT = 'def handler(event, context):\n    return {"statusCode": 200, "body": "ok"}\n'

# Writes its own clock (epoch milliseconds, sub-millisecond) as its first bytes, then, after a
# pause, `megabytes` MB in 64 KB writes that wait for the stream to drain.
STREAMING = """
import { once } from "node:events";
export const handler = awslambda.streamifyResponse(async (event, stream) => {
  const rawPath = event.rawPath || "/";
  const megabytes = Number((event.queryStringParameters || {}).mb || 0);
  stream.write(JSON.stringify({ t: performance.timeOrigin + performance.now() }) + "\\n");
  await new Promise((r) => setTimeout(r, 50));
  const chunk = Buffer.alloc(65536, 120);
  for (let i = 0; i < megabytes * 16; i++) {
    if (!stream.write(chunk)) await once(stream, "drain");
  }
  stream.end(rawPath);
});
"""


def zipped(name, source):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, source)
    return buf.getvalue()


def url_id(c, name, mode):
    url = c.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode=mode)["FunctionUrl"]
    c.add_permission(FunctionName=name, StatementId="public", Action="lambda:InvokeFunctionUrl",
                     Principal="*", FunctionUrlAuthType="NONE")
    return url.split("//", 1)[1].split(".", 1)[0]


def setup(endpoint, tag):
    c = client(endpoint)
    constant, streaming = f"constant-{tag}", f"streaming-{tag}"
    c.create_function(FunctionName=constant, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                      Code={"ZipFile": zipped("handler.py", CONSTANT)}, Timeout=30)
    c.create_function(FunctionName=streaming, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                      Code={"ZipFile": zipped("index.mjs", STREAMING)}, Timeout=120)
    return {
        "constant": constant,
        "constant_url": url_id(c, constant, "BUFFERED"),
        "streaming_url": url_id(c, streaming, "RESPONSE_STREAM"),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--tag", required=True)
    a = p.parse_args()
    print(json.dumps(setup(a.endpoint, a.tag)))


if __name__ == "__main__":
    main()
