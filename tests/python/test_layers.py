"""Layers end to end with boto3: publishing, reading and sharing them with AWS's shapes and errors,
and functions that really find their layers' files at /opt (python modules, node packages,
executables on PATH and at their literal path, shared libraries), in order, across updates,
deletions and restarts. The Docker backend runs the function tests again (test_docker.py)."""

import base64
import os
import hashlib
import json
import shutil
import signal
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ROLE, Lambox, create, error_of, make_zip

A, B, C = "111111111111", "222222222222", "333333333333"

PROBE = r'''
import ctypes, json, os, shutil, subprocess, sys

def handler(event, context):
    out = {"task_root": os.environ["LAMBDA_TASK_ROOT"], "sandbox": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]}
    try:
        import layered
        out["module"] = layered.WHO
    except ImportError as e:
        out["module"] = "missing: %s" % e
    out["which_tool"] = shutil.which("tool")
    try:
        out["tool_on_path"] = subprocess.run(["tool"], capture_output=True, text=True).stdout.strip()
    except OSError as e:
        out["tool_on_path"] = "failed: %s" % e
    try:
        out["tool_at_opt"] = subprocess.run(["/opt/bin/tool"], capture_output=True, text=True).stdout.strip()
    except OSError as e:
        out["tool_at_opt"] = "failed: %s" % e
    if event.get("lib"):
        out["lib"] = ctypes.CDLL("libanswer.so").answer()
    return out
'''


def zip_of(files, modes=None):
    """A zip of {name: text}; `modes` gives unix permissions per name."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def tool(text):
    return f"#!/bin/sh\necho {text}\n"


def publish(lam, name, files, modes=None, **kw):
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": zip_of(files, modes)}, **kw)


def invoke(lam, name, payload=None):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}))
    body = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, body
    return body


def shared_library(tmp_path):
    """libanswer.so, built here with the machine's C compiler: answer() returns 42."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a shared library with")
    src = tmp_path / "answer.c"
    src.write_text("int answer(void) { return 42; }\n")
    out = tmp_path / "libanswer.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)], check=True)
    return out.read_bytes()


def test_layer_versions_with_aws_shapes_and_errors(server, lam):
    content = zip_of({"python/layered.py": "WHO = 'one'\n"})
    v1 = lam.publish_layer_version(
        LayerName="deps",
        Description="first",
        LicenseInfo="MIT",
        Content={"ZipFile": content},
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["x86_64"],
    )
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert v1["Version"] == 1
    assert v1["LayerArn"] == f"arn:aws:lambda:us-east-1:{A}:layer:deps"
    assert v1["LayerVersionArn"] == f"arn:aws:lambda:us-east-1:{A}:layer:deps:1"
    assert v1["Content"]["CodeSha256"] == base64.b64encode(hashlib.sha256(content).digest()).decode()
    assert v1["Content"]["CodeSize"] == len(content)
    assert (v1["Description"], v1["LicenseInfo"]) == ("first", "MIT")
    assert v1["CompatibleRuntimes"] == ["python3.12"] and v1["CompatibleArchitectures"] == ["x86_64"]
    assert v1["CreatedDate"].endswith("+0000")
    with urllib.request.urlopen(v1["Content"]["Location"]) as r:
        assert r.read() == content
    tampered = v1["Content"]["Location"].replace("Signature=", "Signature=0")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered)
    assert e.value.code == 403

    v2 = publish(lam, "deps", {"nodejs/node_modules/x/index.js": "module.exports = 2;"},
                 CompatibleRuntimes=["nodejs20.x"])
    assert v2["Version"] == 2 and "LicenseInfo" not in v2
    assert "CompatibleArchitectures" not in v2, "not given, not shown (AWS's answer)"
    empty = lam.publish_layer_version(LayerName="empty-lists", Content={"ZipFile": content},
                                      CompatibleRuntimes=[], CompatibleArchitectures=[])
    assert (empty["CompatibleRuntimes"], empty["CompatibleArchitectures"]) == ([], [])
    old = lam.publish_layer_version(LayerName="deprecated", Content={"ZipFile": content},
                                    CompatibleRuntimes=["python3.7", "nodejs12.x", "java8", "go1.x", "provided"])
    assert old["CompatibleRuntimes"][-1] == "provided", "AWS accepts deprecated runtimes"
    got = lam.get_layer_version(LayerName="deps", VersionNumber=1)
    assert got["LayerVersionArn"] == v1["LayerVersionArn"] and got["Description"] == "first"
    by_arn = lam.get_layer_version_by_arn(Arn=v2["LayerVersionArn"])
    assert by_arn["Version"] == 2
    listed = lam.list_layer_versions(LayerName="deps")["LayerVersions"]
    assert [v["Version"] for v in listed] == [2, 1], "newest first"
    assert "Content" not in listed[0]
    py = lam.list_layer_versions(LayerName="deps", CompatibleRuntime="python3.12")["LayerVersions"]
    assert [v["Version"] for v in py] == [1]
    page = lam.list_layer_versions(LayerName="deps", MaxItems=1)
    rest = lam.list_layer_versions(LayerName="deps", Marker=page["NextMarker"])
    assert [v["Version"] for v in page["LayerVersions"] + rest["LayerVersions"]] == [2, 1]
    publish(lam, "other", {"a.txt": "a"})
    layers = lam.list_layers()["Layers"]
    assert [(l["LayerName"], l["LatestMatchingVersion"]["Version"]) for l in layers] == [
        ("deprecated", 1), ("deps", 2), ("empty-lists", 1), ("other", 1)]
    assert layers[1]["LayerArn"] == v1["LayerArn"]
    only_py = lam.list_layers(CompatibleRuntime="python3.12")["Layers"]
    assert [(l["LayerName"], l["LatestMatchingVersion"]["Version"]) for l in only_py] == [("deps", 1)]
    assert lam.list_layer_versions(LayerName="nothing")["LayerVersions"] == []

    # Deleting is idempotent, and a number is never given again.
    for _ in range(2):
        assert lam.delete_layer_version(LayerName="deps", VersionNumber=2)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert publish(lam, "deps", {"a.txt": "a"})["Version"] == 3

    def refused(call, **kw):
        with pytest.raises(ClientError) as e:
            call(**kw)
        return error_of(e)

    assert refused(lam.get_layer_version, LayerName="deps", VersionNumber=2) == (
        "ResourceNotFoundException", 404, "The resource you requested does not exist.")
    assert refused(lam.get_layer_version, LayerName="nope", VersionNumber=1)[1] == 404
    assert refused(lam.get_layer_version, LayerName="deps", VersionNumber=0) == (
        "InvalidParameterValueException", 400, "Layer Version Cannot be less than 1")
    assert refused(lam.delete_layer_version, LayerName="deps", VersionNumber=-1)[2] == "Layer Version Cannot be less than 1"
    # Another region's layer is not reachable from this one.
    assert refused(lam.get_layer_version_by_arn, Arn=v1["LayerVersionArn"].replace("us-east-1", "eu-west-1"))[:2] == (
        "AccessDeniedException", 403)
    code, status, msg = refused(lam.get_layer_version_by_arn, Arn=v1["LayerArn"])
    assert (code, status) == ("ValidationException", 400)
    assert msg.startswith(f"1 validation error detected: Value '{v1['LayerArn']}' at 'arn' failed to satisfy constraint")
    code, _, msg = refused(lam.publish_layer_version, LayerName="deps", Content={"ZipFile": content},
                           CompatibleRuntimes=["invalidruntime"], CompatibleArchitectures=["invalidarch"])
    assert code == "ValidationException"
    assert msg.startswith("2 validation errors detected: Value '[invalidruntime]' at 'compatibleRuntimes'")
    assert "Value '[invalidarch]' at 'compatibleArchitectures' failed to satisfy constraint: Member must " \
           "satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]" in msg
    code, _, msg = refused(lam.list_layers, CompatibleRuntime="runtimedoesnotexist")
    assert code == "ValidationException" and "at 'compatibleRuntime'" in msg
    code, _, msg = refused(lam.list_layer_versions, LayerName="deps", CompatibleArchitecture="archdoesnotexist")
    assert msg.endswith("at 'compatibleArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]")
    assert refused(lam.publish_layer_version, LayerName="bad", Content={"ZipFile": b"not a zip"})[:2] == (
        "InvalidParameterValueException", 400)
    assert refused(lam.publish_layer_version, LayerName="bad name!", Content={"ZipFile": content})[0] == "ValidationException"
    assert lam.list_layer_versions(LayerName="bad")["LayerVersions"] == [], "nothing stored"


def test_layer_policies_with_aws_shapes_and_errors(lam):
    publish(lam, "shared", {"a.txt": "a"})
    arn = f"arn:aws:lambda:us-east-1:{A}:layer:shared:1"

    def refused(call, **kw):
        with pytest.raises(ClientError) as e:
            call(**kw)
        return error_of(e)

    assert refused(lam.get_layer_version_policy, LayerName="shared", VersionNumber=1) == (
        "ResourceNotFoundException", 404, "No policy is associated with the given resource.")
    added = lam.add_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="s1",
                                             Action="lambda:GetLayerVersion", Principal="*")
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"]) == {"Sid": "s1", "Effect": "Allow", "Principal": "*",
                                              "Action": "lambda:GetLayerVersion", "Resource": arn}
    second = lam.add_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="s2",
                                              Action="lambda:GetLayerVersion", Principal=B,
                                              RevisionId=added["RevisionId"])
    assert json.loads(second["Statement"])["Principal"] == {"AWS": f"arn:aws:iam::{B}:root"}
    policy = lam.get_layer_version_policy(LayerName="shared", VersionNumber=1)
    assert policy["RevisionId"] == second["RevisionId"] != added["RevisionId"]
    doc = json.loads(policy["Policy"])
    assert (doc["Version"], doc["Id"]) == ("2012-10-17", "default")
    assert [s["Sid"] for s in doc["Statement"]] == ["s1", "s2"]

    assert refused(lam.add_layer_version_permission, LayerName="shared", VersionNumber=1, StatementId="s1",
                   Action="lambda:GetLayerVersion", Principal="*") == (
        "ResourceConflictException", 409,
        "The statement id (s1) provided already exists. Please provide a new statement id, or remove the existing statement.")
    stale = ("PreconditionFailedException", 412, "The Revision Id provided does not match the latest Revision Id. "
             "Call the GetLayerPolicy API to retrieve the latest Revision Id")
    assert refused(lam.add_layer_version_permission, LayerName="shared", VersionNumber=1, StatementId="s3",
                   Action="lambda:GetLayerVersion", Principal="*", RevisionId=added["RevisionId"]) == stale
    assert refused(lam.remove_layer_version_permission, LayerName="shared", VersionNumber=1, StatementId="s1",
                   RevisionId="wrong") == stale
    assert refused(lam.add_layer_version_permission, LayerName="shared", VersionNumber=1, StatementId="s3",
                   Action="*", Principal="*") == (
        "ValidationException", 400, "1 validation error detected: Value '*' at 'action' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion")
    missing = f"arn:aws:lambda:us-east-1:{A}:layer:shared:2"
    for call, kw in [
        (lam.add_layer_version_permission, dict(StatementId="s", Action="lambda:GetLayerVersion", Principal="*")),
        (lam.get_layer_version_policy, {}),
        (lam.remove_layer_version_permission, dict(StatementId="s1")),
    ]:
        assert refused(call, LayerName="shared", VersionNumber=2, **kw) == (
            "ResourceNotFoundException", 404, f"Layer version {missing} does not exist.")
    assert refused(lam.remove_layer_version_permission, LayerName="shared", VersionNumber=1,
                   StatementId="doesnotexist") == (
        "ResourceNotFoundException", 404, "Statement doesnotexist is not found in resource policy.")
    lam.remove_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="s2")
    after = lam.get_layer_version_policy(LayerName="shared", VersionNumber=1)
    assert [s["Sid"] for s in json.loads(after["Policy"])["Statement"]] == ["s1"]
    assert after["RevisionId"] != policy["RevisionId"]


def function_with_layers(lam, name, layers, runtime="python3.12", **kw):
    create(lam, name, make_zip({"handler.py": PROBE}), Runtime=runtime, Layers=layers, Timeout=10, **kw)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def test_python_node_executables_and_libraries_from_layers(lam, tmp_path):
    py = publish(lam, "py", {"python/layered.py": "WHO = 'python layer'\n"})
    bins = publish(
        lam, "bins",
        {"bin/tool": tool("tool-from-layer"), "lib/libanswer.so": shared_library(tmp_path)},
        modes={"bin/tool": 0o755, "lib/libanswer.so": 0o755},
    )
    function_with_layers(lam, "probe", [py["LayerVersionArn"], bins["LayerVersionArn"]])
    config = lam.get_function_configuration(FunctionName="probe")
    assert [l["Arn"] for l in config["Layers"]] == [py["LayerVersionArn"], bins["LayerVersionArn"]]
    assert config["Layers"][1]["CodeSize"] == bins["Content"]["CodeSize"]
    out = invoke(lam, "probe", {"lib": True})
    assert out["module"] == "python layer"
    assert out["tool_on_path"] == "tool-from-layer"
    assert out["tool_at_opt"] == "tool-from-layer", "the literal /opt path"
    assert out["which_tool"] == "/opt/bin/tool"
    assert out["lib"] == 42
    assert out["task_root"] == "/var/task"

    node = publish(lam, "nodemods", {
        "nodejs/node_modules/greeting/index.js": "module.exports = (n) => 'hello ' + n + ' from a layer';\n",
    })
    handler = ("const greeting = require('greeting');\n"
               "exports.handler = async (event) => ({greeting: greeting(event.name)});\n")
    create(lam, "node-layer", make_zip({"index.js": handler}), Runtime="nodejs20.x",
           Handler="index.handler", Layers=[node["LayerVersionArn"]])
    r = lam.invoke(FunctionName="node-layer", Payload=json.dumps({"name": "ada"}))
    assert json.loads(r["Payload"].read()) == {"greeting": "hello ada from a layer"}


def test_later_layers_win_and_changes_reach_the_next_invoke(lam):
    one = publish(lam, "one", {"python/layered.py": "WHO = 'one'\n", "bin/tool": tool("one")}, modes={"bin/tool": 0o755})
    two = publish(lam, "two", {"python/layered.py": "WHO = 'two'\n"})
    function_with_layers(lam, "order", [one["LayerVersionArn"], two["LayerVersionArn"]])
    first = invoke(lam, "order")
    assert first["module"] == "two", "the later layer's file replaces the earlier one's"
    assert first["tool_on_path"] == "one", "files only the earlier layer has stay"
    assert invoke(lam, "order")["sandbox"] == first["sandbox"], "warm"

    lam.update_function_configuration(FunctionName="order", Layers=[two["LayerVersionArn"], one["LayerVersionArn"]])
    lam.get_waiter("function_updated_v2").wait(FunctionName="order")
    swapped = invoke(lam, "order")
    assert swapped["module"] == "one"
    assert swapped["sandbox"] != first["sandbox"], "a sandbox of the old layer set never serves again"

    newer = publish(lam, "one", {"python/layered.py": "WHO = 'one, version 2'\n"})
    assert newer["Version"] == 2
    lam.update_function_configuration(FunctionName="order", Layers=[newer["LayerVersionArn"]])
    assert invoke(lam, "order")["module"] == "one, version 2"
    lam.update_function_configuration(FunctionName="order", Layers=[])
    assert invoke(lam, "order")["module"].startswith("missing")
    assert "Layers" not in lam.get_function_configuration(FunctionName="order")


def test_a_deleted_layer_version_stays_with_the_functions_that_use_it(server, lam):
    v = publish(lam, "gone", {"python/layered.py": "WHO = 'kept'\n"})
    function_with_layers(lam, "keeper", [v["LayerVersionArn"]])
    lam.publish_version(FunctionName="keeper")
    lam.delete_layer_version(LayerName="gone", VersionNumber=1)
    with pytest.raises(ClientError) as e:
        lam.get_layer_version(LayerName="gone", VersionNumber=1)
    assert error_of(e)[1] == 404
    # A restart: no warm sandbox, nothing unpacked is trusted; the content comes from the store.
    server.restart(signal.SIGKILL)
    lam = server.client()
    assert invoke(lam, "keeper")["module"] == "kept"
    assert invoke(lam, "keeper:1")["module"] == "kept"
    assert lam.get_function(FunctionName="keeper")["Configuration"]["Layers"][0]["Arn"] == v["LayerVersionArn"]
    # New functions cannot take it any more.
    with pytest.raises(ClientError) as e:
        function_with_layers(lam, "late", [v["LayerVersionArn"]])
    assert error_of(e) == ("InvalidParameterValueException", 400,
                           f"Layer version {v['LayerVersionArn']} does not exist.")


def test_layers_survive_restarts(server, lam):
    v = publish(lam, "durable", {"python/layered.py": "WHO = 'durable'\n"})
    function_with_layers(lam, "survivor", [v["LayerVersionArn"]])
    assert invoke(lam, "survivor")["module"] == "durable"
    server.restart(signal.SIGKILL)
    lam = server.client()
    assert invoke(lam, "survivor")["module"] == "durable"
    assert lam.get_layer_version(LayerName="durable", VersionNumber=1)["Version"] == 1
    assert publish(lam, "durable", {"a.txt": "x"})["Version"] == 2


def test_another_account_uses_a_layer_only_once_granted(server):
    owner, user, stranger = server.client(A), server.client(B), server.client(C)
    v = publish(owner, "team", {"python/layered.py": "WHO = 'shared by A'\n"})
    arn = v["LayerVersionArn"]
    denied = ("AccessDeniedException", 403,
              f"User: arn:aws:iam::{B}:root is not authorized to perform: lambda:GetLayerVersion on resource: "
              f"{arn} because no resource-based policy allows the lambda:GetLayerVersion action")
    with pytest.raises(ClientError) as e:
        function_with_layers(user, "borrower", [arn])
    assert error_of(e) == denied
    with pytest.raises(ClientError) as e:
        user.get_function(FunctionName="borrower")
    assert error_of(e)[1] == 404, "nothing was created"
    with pytest.raises(ClientError) as e:
        user.get_layer_version_by_arn(Arn=arn)
    assert error_of(e) == denied
    # Another account's layer that does not exist is refused the same way: nothing is revealed.
    with pytest.raises(ClientError) as e:
        user.get_layer_version_by_arn(Arn=arn[:-1] + "9")
    assert error_of(e)[:2] == ("AccessDeniedException", 403)

    owner.add_layer_version_permission(LayerName="team", VersionNumber=1, StatementId="b",
                                       Action="lambda:GetLayerVersion", Principal=B)
    assert user.get_layer_version_by_arn(Arn=arn)["LayerVersionArn"] == arn
    function_with_layers(user, "borrower", [arn])
    assert invoke(user, "borrower")["module"] == "shared by A"
    with pytest.raises(ClientError) as e:
        function_with_layers(stranger, "outsider", [arn])
    assert error_of(e)[:2] == ("AccessDeniedException", 403)
    # Only reading is shared: the layer's versions and policy stay the owner's.
    layer_arn = v["LayerArn"]
    for call, kw in [
        (user.list_layer_versions, dict(LayerName=layer_arn)),
        (user.delete_layer_version, dict(LayerName=layer_arn, VersionNumber=1)),
        (user.get_layer_version_policy, dict(LayerName=layer_arn, VersionNumber=1)),
    ]:
        with pytest.raises(ClientError) as e:
            call(**kw)
        assert error_of(e)[:2] == ("AccessDeniedException", 403)
    owner.add_layer_version_permission(LayerName="team", VersionNumber=1, StatementId="all",
                                       Action="lambda:GetLayerVersion", Principal="*")
    function_with_layers(stranger, "outsider", [arn])
    assert invoke(stranger, "outsider")["module"] == "shared by A"
    owner.remove_layer_version_permission(LayerName="team", VersionNumber=1, StatementId="all")
    owner.remove_layer_version_permission(LayerName="team", VersionNumber=1, StatementId="b")
    with pytest.raises(ClientError) as e:
        function_with_layers(user, "too-late", [arn])
    assert error_of(e) == denied
    # What was created with the grant keeps its layer, as on AWS.
    assert invoke(user, "borrower")["module"] == "shared by A"


def test_layer_limits_and_errors(tmp_path):
    s = Lambox(tmp_path / "data", extra_env={"LAMBOX_LIMITS__MAX_UNZIPPED_BYTES": "100000"}).start()
    try:
        lam = s.client()
        arns = [publish(lam, f"l{i}", {f"f{i}.txt": "x"})["LayerVersionArn"] for i in range(6)]

        def refused(**kw):
            with pytest.raises(ClientError) as e:
                function_with_layers(lam, "limited", **kw)
            return error_of(e)

        assert refused(layers=arns) == ("InvalidParameterValueException", 400, "Cannot reference more than 5 layers.")
        again = publish(lam, "l0", {"f.txt": "y"})["LayerVersionArn"]
        assert refused(layers=[arns[0], again]) == (
            "InvalidParameterValueException", 400,
            "Two different versions of the same layer are not allowed to be referenced in the same function. "
            f"{arns[0]} and {again} are versions of the same layer.")
        west = arns[0].replace("us-east-1", "eu-west-1")
        assert refused(layers=[west]) == (
            "InvalidParameterValueException", 400,
            "Layers are not in the same region as the function. Layers are expected to be in region us-east-1.")
        nope = arns[0].replace(":l0:", ":nope:")
        assert refused(layers=[nope]) == ("InvalidParameterValueException", 400, f"Layer version {nope} does not exist.")
        big = publish(lam, "big", {"big.bin": "x" * 60_000})["LayerVersionArn"]
        code_size = len(PROBE)
        with pytest.raises(ClientError) as e:
            create(lam, "toobig", make_zip({"handler.py": PROBE, "pad.bin": "y" * 50_000}), Layers=[big])
        assert error_of(e) == (
            "InvalidParameterValueException", 400,
            "Function code combined with layers exceeds the maximum allowed size of 100000 bytes. "
            f"The actual size is {60_000 + 50_000 + code_size} bytes.")
        create(lam, "fits", make_zip({"handler.py": PROBE}), Layers=[big])
        with pytest.raises(ClientError) as e:
            lam.update_function_code(FunctionName="fits", ZipFile=make_zip({"handler.py": PROBE, "pad.bin": "y" * 50_000}))
        assert "Function code combined with layers exceeds" in error_of(e)[2]
        create(lam, "small", make_zip({"handler.py": PROBE, "pad.bin": "y" * 50_000}))
        with pytest.raises(ClientError) as e:
            lam.update_function_configuration(FunctionName="small", Layers=[big])
        assert "Function code combined with layers exceeds" in error_of(e)[2]
        assert "Layers" not in lam.get_function_configuration(FunctionName="small"), "nothing changed"
        with pytest.raises(ClientError) as e:
            lam.create_function(FunctionName="img", Role=ROLE, PackageType="Image",
                                Code={"ImageUri": "repo/img:1"}, Layers=[arns[1]])
        assert error_of(e) == ("InvalidParameterValueException", 400,
                               "Lambda layers are not supported for functions created with container images.")
    finally:
        s.stop()


def test_process_sandboxes_have_lambdas_paths_and_their_own_tmp(lam):
    """Process backend: /var/task is read-only and /tmp is private to each sandbox."""
    probe = r'''
import os, time
def handler(event, context):
    mine = "/tmp/mark-%d" % os.getpid()
    open(mine, "w").write("x")
    time.sleep(event.get("hold", 0))
    try:
        open("/var/task/written", "w")
        task = "writable"
    except OSError as e:
        task = e.strerror
    return {"task": task, "tmp": sorted(os.listdir("/tmp")), "mine": os.path.basename(mine), "cwd": os.getcwd()}
'''
    create(lam, "paths", make_zip({"handler.py": probe}), Timeout=10)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: invoke(lam, "paths", {"hold": 1.0}), range(2)))
    assert results[0]["mine"] != results[1]["mine"], "two sandboxes"
    for r in results:
        assert r["task"] == "Read-only file system"
        assert r["cwd"] == "/var/task"
        assert r["tmp"] == [r["mine"]], "a sandbox sees its own /tmp only"


def test_without_namespaces_layers_still_load_from_per_sandbox_paths(tmp_path):
    s = Lambox(tmp_path / "data", extra_env={"LAMBOX_PROCESS__NAMESPACES": "false"}).start()
    try:
        lam = s.client()
        v = publish(lam, "fallback", {"python/layered.py": "WHO = 'found'\n", "bin/tool": tool("on-path")},
                    modes={"bin/tool": 0o755})
        function_with_layers(lam, "fallback", [v["LayerVersionArn"]])
        out = invoke(lam, "fallback")
        assert out["module"] == "found"
        assert out["tool_on_path"] == "on-path"
        assert out["task_root"] != "/var/task" and out["task_root"].startswith(str(tmp_path))
        assert out["tool_at_opt"].startswith("failed"), "no /opt without namespaces"
    finally:
        s.stop()


def test_the_data_directory_is_hidden_from_sandboxes():
    """With namespaces, no function sees lambox's data directory: other sandboxes' files, every
    account's code and layers, the database (the data directory here is outside /tmp, which a
    sandbox never sees anyway)."""
    import uuid

    from conftest import ROOT

    # Outside /tmp, which sandboxes never see: what is tested is the cover over the data
    # directory (a checkout under /tmp keeps its test data in /var/tmp).
    base = ROOT / "target" / "test-data"
    if base.resolve().is_relative_to("/tmp"):
        base = Path("/var/tmp") / "lambox-test-data"
    data = base / uuid.uuid4().hex
    data.mkdir(parents=True)
    s = Lambox(data / "data").start()
    try:
        lam = s.client()
        probe = ("import os\ndef handler(event, context):\n"
                 "    d = event['dir']\n"
                 "    return {'exists': os.path.isdir(d), 'entries': os.listdir(d) if os.path.isdir(d) else None}\n")
        create(lam, "snoop", make_zip({"handler.py": probe}))
        out = invoke(lam, "snoop", {"dir": str(data / "data")})
        assert out == {"exists": True, "entries": []}, "covered by an empty directory"
        assert (data / "data" / "lambox.db").exists(), "while lambox has it"
        out = invoke(lam, "snoop", {"dir": str(data)})
        assert out["entries"] == ["data"] or sorted(out["entries"]) == sorted(os.listdir(data))
    finally:
        s.stop()
        shutil.rmtree(data, ignore_errors=True)
