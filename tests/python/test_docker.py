"""The Docker backend: functions in real containers on this machine's engine.

The invocation suite of the process backend runs here unchanged (imported below), then what only
containers have: images of their own, reaping after a crash, and recovery from a container killed
behind lambox's back.
"""

import json
import os
import signal
import time

import pytest

from conftest import ROLE, create, make_zip
from docker_support import (
    RUNTIME_IMAGE,
    containers,
    docker,
    requires_docker,
    start_docker_lambox,
)
from test_invoke import (  # noqa: F401 - collected here again, against the Docker backend
    test_dry_run_oversized_and_non_json_payloads,
    test_environment_change_reaches_the_next_invoke,
    test_event_invocation_is_delivered,
    test_handler_exception_is_a_function_error,
    test_import_error_is_reported_as_lambda_does,
    test_node_async_and_callback_handlers,
    test_os_exit_then_next_invoke_succeeds,
    test_python_result_context_and_log_tail,
    test_qualified_invoke_runs_the_published_version,
    test_reserved_concurrency_zero_throttles,
    test_timeout_kills_and_the_next_invoke_starts_fresh,
    test_twenty_parallel_invokes_never_share_a_sandbox,
)
from test_layers import (  # noqa: F401
    test_a_deleted_layer_version_stays_with_the_functions_that_use_it,
    test_later_layers_win_and_changes_reach_the_next_invoke,
    test_layers_survive_restarts,
    test_python_node_executables_and_libraries_from_layers,
)
from test_provisioned import (  # noqa: F401
    test_provisioned_sandboxes_come_back_after_a_restart,
)
from test_runtime_clients import (  # noqa: F401
    test_lambda_runtime_crate_runs_a_provided_al2023_function,
    test_lambda_runtime_crate_streams_through_a_url_and_invoke_with_response_stream,
)
from test_streaming import (  # noqa: F401
    test_chunks_arrive_as_the_handler_writes_them,
    test_errors_and_timeouts_end_the_stream_as_aws_ends_it,
    test_streaming_urls_send_status_headers_then_each_write,
)
from test_urls import (  # noqa: F401
    test_the_event_and_the_answers,
)
from test_versions import (  # noqa: F401
    test_versions_keep_their_code_configuration_and_sandboxes,
    test_weighted_routing_and_shifting_traffic,
)

pytestmark = requires_docker


@pytest.fixture
def server(tmp_path):
    s = start_docker_lambox(tmp_path)
    yield s
    s.stop()


def our_containers(function):
    return containers(f"lambox.function=arn:aws:lambda:us-east-1:111111111111:function:{function}")


def test_containers_carry_lambox_labels_and_go_on_delete(server, lam):
    create(lam, "dk-labels")
    assert json.loads(lam.invoke(FunctionName="dk-labels", Payload=b'{"x": 1}')["Payload"].read()) == {"x": 1}
    ids = our_containers("dk-labels")
    assert len(ids) == 1
    labels = json.loads(docker("inspect", "--format", "{{json .Config.Labels}}", ids[0]).stdout)
    assert labels["lambox.function"] == "arn:aws:lambda:us-east-1:111111111111:function:dk-labels"
    assert labels["lambox.installation"] and labels["lambox.deploy-id"] and labels["lambox.sandbox"]
    lam.delete_function(FunctionName="dk-labels")
    deadline = time.monotonic() + 10
    while our_containers("dk-labels") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert our_containers("dk-labels") == []


IMAGE_APP = """
import os

def handler(event, context):
    return {"cwd": os.getcwd(), "handler": os.environ.get("_HANDLER"), "which": "handler", "event": event}

def other(event, context):
    return {"cwd": os.getcwd(), "handler": os.environ.get("_HANDLER"), "which": "other"}
"""


@pytest.fixture
def app_image(tmp_path):
    from conftest import ROOT

    context = tmp_path / "image"
    context.mkdir()
    (context / "app.py").write_text(IMAGE_APP)
    (context / "runtime.py").write_text((ROOT / "runtimes" / "python" / "bootstrap.py").read_text())
    (context / "Dockerfile").write_text(
        f"FROM {RUNTIME_IMAGE}\n"
        "COPY runtime.py /runtime/bootstrap.py\n"
        "COPY app.py /var/task/app.py\n"
        "WORKDIR /var/task\n"
        'ENTRYPOINT ["python3", "/runtime/bootstrap.py"]\n'
        'CMD ["app.handler"]\n'
    )
    tag = f"lambox-test/app:{tmp_path.name.lower()[-20:]}"
    docker("build", "-q", "-t", tag, str(context))
    yield tag
    docker("rmi", "-f", tag, check=False)


def test_image_function_runs_its_image_with_image_config(server, lam, app_image):
    lam.create_function(FunctionName="dk-image", Role=ROLE, PackageType="Image", Code={"ImageUri": app_image})
    body = json.loads(lam.invoke(FunctionName="dk-image", Payload=b'{"i": 1}')["Payload"].read())
    assert body == {"cwd": "/var/task", "handler": "app.handler", "which": "handler", "event": {"i": 1}}
    lam.update_function_configuration(
        FunctionName="dk-image",
        ImageConfig={
            "EntryPoint": ["python3", "/runtime/bootstrap.py"],
            "Command": ["app.other"],
            "WorkingDirectory": "/tmp",
        },
    )
    body = json.loads(lam.invoke(FunctionName="dk-image", Payload=b"{}")["Payload"].read())
    assert body == {"cwd": "/tmp", "handler": "app.other", "which": "other"}


def test_a_killed_container_is_replaced_on_the_next_invoke(server, lam):
    create(lam, "dk-failover")
    assert lam.invoke(FunctionName="dk-failover", Payload=b"{}")["StatusCode"] == 200
    [first] = our_containers("dk-failover")
    docker("kill", first)
    r = lam.invoke(FunctionName="dk-failover", Payload=b'{"after": "kill"}')
    assert "FunctionError" not in r
    assert json.loads(r["Payload"].read()) == {"after": "kill"}
    assert first not in our_containers("dk-failover")


def test_sigkill_then_restart_reaps_our_containers_only(server, lam):
    create(lam, "dk-reap")
    lam.invoke(FunctionName="dk-reap", Payload=b"{}")
    [ours] = our_containers("dk-reap")
    foreign = docker(
        "create", "--label", "lambox.installation=another-installation", "--label", "lambox.sandbox=foreign",
        RUNTIME_IMAGE, "true",
    ).stdout.strip()
    try:
        server.stop(signal.SIGKILL)
        assert ours in our_containers("dk-reap"), "containers outlive a killed lambox until it restarts"
        started = time.monotonic()
        server.start()
        while ours in containers("lambox.sandbox") and time.monotonic() - started < 10:
            time.sleep(0.1)
        assert ours not in containers("lambox.sandbox")
        assert foreign[:12] in containers("lambox.installation=another-installation")
    finally:
        docker("rm", "-f", foreign, check=False)
    assert json.loads(lam.invoke(FunctionName="dk-reap", Payload=b'{"again": 1}')["Payload"].read()) == {"again": 1}


CALLS_LAMBOX = """
import json, os, urllib.request

def handler(event, context):
    # The function calls lambox back, as code in Lambda calls Lambda: through AWS_ENDPOINT_URL.
    url = os.environ["AWS_ENDPOINT_URL"] + "/2015-03-31/functions/dk-callee/invocations"
    auth = ("AWS4-HMAC-SHA256 Credential=" + os.environ["AWS_ACCESS_KEY_ID"]
            + "/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0")
    req = urllib.request.Request(url, data=b'{"from": "caller"}', headers={"Authorization": auth}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return {"endpoint": os.environ["AWS_ENDPOINT_URL"], "callee": json.loads(r.read())}
"""


def test_functions_in_containers_reach_lambox_through_aws_endpoint_url(tmp_path):
    from conftest import make_zip

    server = start_docker_lambox(tmp_path, listen_host="0.0.0.0")
    try:
        lam = server.client()
        create(lam, "dk-callee")
        create(lam, "dk-caller", make_zip({"handler.py": CALLS_LAMBOX}), Timeout=15)
        r = lam.invoke(FunctionName="dk-caller", Payload=b"{}")
        body = json.loads(r["Payload"].read())
        assert "FunctionError" not in r, body
        assert body["endpoint"] == f"http://host.docker.internal:{server.port}"
        assert body["callee"] == {"from": "caller"}
    finally:
        server.stop()


def test_a_containers_agent_refuses_pushes_without_its_secret(server, lam):
    import urllib.error
    import urllib.request

    create(lam, "dk-guarded")
    assert json.loads(lam.invoke(FunctionName="dk-guarded", Payload=b"1")["Payload"].read()) == 1
    (cid,) = our_containers("dk-guarded")
    ports = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}", cid).stdout)
    (binding,) = ports["8080/tcp"]
    assert binding["HostIp"] == "127.0.0.1", "a local engine publishes on loopback only"
    ip = docker("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", cid).stdout.strip()
    for url in (f"http://127.0.0.1:{binding['HostPort']}", f"http://{ip}:8080"):
        req = urllib.request.Request(f"{url}/2015-03-31/functions/function/invocations", data=b"2")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert e.value.code == 403
    # The runtime does not see the agent's secret.
    env = docker("inspect", "--format", "{{json .Config.Env}}", cid).stdout
    assert "LAMBOX_AGENT_SECRET" in env
    src = "import os\ndef handler(event, context):\n    return sorted(k for k in os.environ if 'SECRET' in k)\n"
    create(lam, "dk-env", make_zip({"handler.py": src}))
    seen = json.loads(lam.invoke(FunctionName="dk-env")["Payload"].read())
    assert "LAMBOX_AGENT_SECRET" not in seen and "AWS_SECRET_ACCESS_KEY" in seen


@pytest.mark.skipif(
    os.environ.get("LAMBOX_DOCKER_ENGINE") == "podman",
    reason="building images is the Docker engine's part; Podman runs the backend's suite",
)
def test_the_agent_as_an_images_entry_point_in_place_of_the_rie(tmp_path):
    """docs/examples/agent-image: built with `docker build` from a local image, run, invoked on
    the RIE's path."""
    import shutil
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    context = tmp_path / "context"
    shutil.copytree(root / "docs/examples/agent-image", context)
    shutil.copy(os.environ["LAMBOX_STATIC_AGENT"], context / "lambox-agent")
    shutil.copy(root / "runtimes/python/bootstrap.py", context / "bootstrap.py")
    tag = "lambox-test/agent-image:example"
    docker("build", "--quiet", "--build-arg", f"BASE={RUNTIME_IMAGE}", "-t", tag, str(context))
    cid = docker("run", "-d", "-p", "127.0.0.1::8080", tag).stdout.strip()
    try:
        port = docker("port", cid, "8080/tcp").stdout.split(":")[-1].strip()
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        deadline = time.monotonic() + 20
        while True:
            try:
                req = urllib.request.Request(url, data=b'{"name": "image"}')
                with urllib.request.urlopen(req, timeout=10) as r:
                    answer = json.loads(r.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert answer["hello"] == "image"
        assert len(answer["request_id"]) == 36
        logs = docker("logs", cid).stdout
        assert "START RequestId: " in logs and "REPORT RequestId: " in logs
    finally:
        docker("rm", "-f", cid, check=False)
        docker("rmi", "-f", tag, check=False)
