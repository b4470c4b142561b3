"""Deployment packages a hostile user crafts: links through links, setuid bits, and what a
legitimate package with links still gets."""

import base64
import hashlib
import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import create, error_of

UNZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."


def package(entries):
    """A zip of (name, data, unix mode) entries; a mode with S_IFLNK makes a symlink to `data`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = mode << 16
            z.writestr(info, data)
    return buf.getvalue()


def link(name, target):
    return (name, target, 0o120777)


def file(name, data, mode=0o100644):
    return (name, data, mode)


HANDLER = """
import os, stat
def handler(event, context):
    out = {}
    for p in event["paths"]:
        try:
            out[p] = {"mode": stat.S_IMODE(os.lstat(p).st_mode), "text": open(p).read()}
        except OSError as e:
            out[p] = {"error": type(e).__name__}
    return out
"""

# The probe's package: a link to a directory above, a link below it, and a file written through
# both, which an extractor following links writes outside its root.
CHAINED = [
    file("handler.py", HANDLER),
    link("p/q/L1", ".."),
    link("p/q/L1/L2", "../../../../../tmp/lambox-escape"),
    file("p/q/L1/L2/pwned.txt", "owned"),
]

# Lexically inside (a/b/L1/../../../etc is "etc"), but a/b/L1 is a link to a/, so the target
# leaves the root.
THROUGH_A_LINK = [
    file("handler.py", HANDLER),
    link("a/b/L1", ".."),
    link("c", "a/b/L1/../../../etc"),
]


@pytest.mark.parametrize("entries", [CHAINED, THROUGH_A_LINK], ids=["chained", "through-a-link"])
def test_links_that_lead_out_are_refused_and_nothing_is_created(lam, entries, tmp_path):
    with pytest.raises(ClientError) as e:
        create(lam, "escape", package(entries))
    assert error_of(e) == ("InvalidParameterValueException", 400, UNZIP)
    assert lam.list_functions()["Functions"] == []
    original = package([file("handler.py", HANDLER)])
    create(lam, "victim", original)
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="victim", ZipFile=package(entries))
    assert error_of(e) == ("InvalidParameterValueException", 400, UNZIP)
    sha = lam.get_function(FunctionName="victim")["Configuration"]["CodeSha256"]
    assert sha == base64.b64encode(hashlib.sha256(original).digest()).decode(), "the code is unchanged"


def test_links_inside_work_and_setuid_bits_are_dropped(lam):
    zip_bytes = package(
        [
            file("handler.py", HANDLER),
            file("lib/libx.so.1", "library"),
            link("lib/libx.so", "libx.so.1"),
            link("current", "lib"),
            file("bin/tool", "#!/bin/sh\n", 0o106755),
        ]
    )
    create(lam, "links", zip_bytes, Timeout=10)
    paths = ["lib/libx.so", "current/libx.so.1", "bin/tool"]
    r = lam.invoke(FunctionName="links", Payload=json.dumps({"paths": paths}).encode())
    body = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, body
    assert body["lib/libx.so"]["text"] == "library"
    assert body["current/libx.so.1"]["text"] == "library"
    assert body["bin/tool"]["mode"] & 0o7000 == 0, "setuid and setgid are dropped"
    assert body["bin/tool"]["mode"] & 0o111 == 0o111, "execute bits are kept"
