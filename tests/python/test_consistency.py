"""What another client reads right after a write was acknowledged, while other writers write."""

import threading

import pytest
from botocore.exceptions import ClientError

from conftest import create, error_of


def test_a_read_by_another_client_sees_each_acknowledged_write(server):
    failures = []

    def life(w):
        writer, reader = server.client(), server.client()
        try:
            for i in range(12):
                name = f"c{w}-{i}"
                create(writer, name)
                assert reader.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
                writer.update_function_configuration(FunctionName=name, Description=f"d{i}")
                assert reader.get_function_configuration(FunctionName=name)["Description"] == f"d{i}"
                assert reader.list_functions(MaxItems=1000)  # a page among the other writers' changes
                writer.publish_version(FunctionName=name)
                versions = reader.list_versions_by_function(FunctionName=name)["Versions"]
                assert [v["Version"] for v in versions] == ["$LATEST", "1"]
                writer.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
                assert reader.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
                writer.add_permission(FunctionName=name, StatementId="s", Action="lambda:InvokeFunction",
                                      Principal="222222222222")
                assert '"Sid":"s"' in reader.get_policy(FunctionName=name)["Policy"]
                writer.delete_function(FunctionName=name)
                with pytest.raises(ClientError) as e:
                    reader.get_function(FunctionName=name)
                assert error_of(e)[0] == "ResourceNotFoundException"
        except Exception as e:  # reported by the test's thread below
            failures.append(f"writer {w}: {e!r}")

    threads = [threading.Thread(target=life, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
