"""lambox's Lambda runtime client for Python, standard library only.

Runs where a sandbox has no /var/runtime/bootstrap: resolves the handler from _HANDLER, then
loops over the Runtime API at AWS_LAMBDA_RUNTIME_API (next, response, error, init/error).
HTTP is spoken over a plain socket: http.client alone would add milliseconds to every start.
"""

import json
import os
import socket
import sys
import time

_HOST, _PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
_BASE = "/2018-06-01/runtime"


class _Api:
    """A keep-alive HTTP/1.1 client for the Runtime API."""

    def __init__(self):
        self.sock = None
        self.reader = None

    def _connect(self):
        self.sock = socket.create_connection((_HOST, int(_PORT)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def request(self, method, path, body=b"", headers=None):
        if self.sock is None:
            self._connect()
        head = [f"{method} {path} HTTP/1.1", f"Host: {_HOST}", f"Content-Length: {len(body)}"]
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        status = int(self.reader.readline().split(b" ", 2)[1])
        headers, length = {}, 0
        while True:
            line = self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            headers[name] = value
            if name == "content-length":
                length = int(value)
        return status, headers, self.reader.read(length) if length else b""


_api = _Api()


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]


class ClientContext:
    __slots__ = ["client", "custom", "env"]


def _client_context(text):
    if not text:
        return None
    data = json.loads(text)
    ctx = ClientContext()
    ctx.custom = data.get("custom")
    ctx.env = data.get("env")
    ctx.client = None
    client = data.get("client")
    if client:
        ctx.client = Client()
        ctx.client.installation_id = client.get("installation_id")
        ctx.client.app_title = client.get("app_title")
        ctx.client.app_version_name = client.get("app_version_name")
        ctx.client.app_version_code = client.get("app_version_code")
        ctx.client.app_package_name = client.get("app_package_name")
    return ctx


def _identity(text):
    identity = CognitoIdentity()
    data = json.loads(text) if text else {}
    identity.cognito_identity_id = data.get("cognitoIdentityId")
    identity.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")
    return identity


class LambdaContext:
    def __init__(self, request_id, deadline_ms, invoked_arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.client_context = _client_context(client_context)
        self.identity = _identity(identity)
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


def _error(error_type, message, stack=None, request_id=""):
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack or []}


def _exception_error(exc, request_id=""):
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    stack = traceback.format_list(frames[1:] if len(frames) > 1 else frames)
    return _error(type(exc).__name__, str(exc), stack, request_id)


# The function's log format (LoggingConfig.LogFormat), as Lambda tells its runtimes.
_JSON_LOGS = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def _log_error(error):
    if _JSON_LOGS:
        line = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "log_level": "ERROR",
            "errorMessage": error["errorMessage"],
            "errorType": error["errorType"],
            "requestId": error.get("requestId", ""),
            "stackTrace": error["stackTrace"],
        }
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(s.rstrip("\n") for s in error["stackTrace"])
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def _post_error(path, error):
    _log_error(error)
    _api.request(
        "POST",
        path,
        json.dumps(error).encode(),
        {"Lambda-Runtime-Function-Error-Type": error["errorType"], "Content-Type": "application/json"},
    )


def _init_failed(error):
    _post_error(f"{_BASE}/init/error", error)
    sys.exit(1)


def _invocation_failed(request_id, error):
    _post_error(f"{_BASE}/invocation/{request_id}/error", error)


def _load_handler(spec):
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as e:
        _init_failed(_error("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {e}"))
    modname = modname.replace("/", ".")
    if modname.startswith(".") or not modname:
        _init_failed(_error("Runtime.MalformedHandlerName", f"Bad handler '{spec}': cannot import a relative module"))
    try:
        module = __import__(modname, fromlist=["_"])
    except ImportError as e:
        _init_failed(_error("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}"))
    except SyntaxError as e:
        _init_failed(_exception_error(e) | {"errorType": "Runtime.UserCodeSyntaxError",
                                            "errorMessage": f"Syntax error in module '{modname}': {e}"})
    except Exception as e:  # noqa: BLE001 - any failure of user code at import is an init error
        _init_failed(_exception_error(e))
    handler = getattr(module, fname, None)
    if handler is None:
        _init_failed(_error("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'"))
    return handler


class _RequestIdFilter:
    """Adds the request id to log records, as Lambda's runtime does."""

    request_id = ""

    def filter(self, record):
        record.aws_request_id = self.request_id
        return True


_request_ids = None


def _json_formatter(logging):
    """Lambda's JSON log records: timestamp, level, message, logger, the exception's fields,
    requestId and any extra fields, in that order, leaving out what is None."""
    import traceback

    reserved = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "aws_request_id"}

    class JsonFormatter(logging.Formatter):
        def format(self, record):
            line = {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                "level": logging.getLevelName(record.levelno // 10 * 10),
                "message": record.getMessage(),
                "logger": record.name,
            }
            if record.exc_info and record.exc_info[0] is not None:
                line["stackTrace"] = traceback.format_tb(record.exc_info[2])
                line["errorType"] = record.exc_info[0].__name__
                line["errorMessage"] = str(record.exc_info[1])
            line["requestId"] = getattr(record, "aws_request_id", "")
            if record.exc_info:
                line["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
            for key, value in vars(record).items():
                if key not in reserved:
                    line[key] = value
            return json.dumps({k: v for k, v in line.items() if v is not None}, default=str, ensure_ascii=False)

    return JsonFormatter()


def _setup_logging(logging):
    """Lambda's root log handler: what logging.* calls of the function print, and how (the
    function's log format and, for JSON, its application log level)."""
    global _request_ids
    handler = logging.StreamHandler(sys.stdout)
    if _JSON_LOGS:
        handler.setFormatter(_json_formatter(logging))
        level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper()
        level = "DEBUG" if level == "TRACE" else level
        if isinstance(logging.getLevelName(level), int):
            logging.getLogger().setLevel(level)
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
        handler.formatter.converter = time.gmtime
    _request_ids = _RequestIdFilter()
    handler.addFilter(_request_ids)
    logging.getLogger().addHandler(handler)


class _LoggingOnImport:
    """Installs Lambda's root log handler the moment the function's code first imports logging,
    before that code goes on: libraries that look at the root logger when they are imported
    (aws-lambda-powertools' Logger filters its records out of the root handlers it finds) see it
    as on AWS, whose runtime sets it up before importing the handler. Code that never imports
    logging does not pay for importing it."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec("logging")
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _setup_logging(module)

        spec.loader.exec_module = exec_module
        return spec


def main():
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    if "logging" in sys.modules:
        _setup_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _LoggingOnImport())
    handler = _load_handler(os.environ.get("_HANDLER", ""))
    while True:
        status, h, body = _api.request("GET", f"{_BASE}/invocation/next")
        if status != 200:
            sys.exit(f"runtime API answered {status} to next")
        request_id = h.get("lambda-runtime-aws-request-id", "")
        if _request_ids is not None:
            _request_ids.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = h.get("lambda-runtime-trace-id", "")
        context = LambdaContext(
            request_id,
            int(h.get("lambda-runtime-deadline-ms", "0")),
            h.get("lambda-runtime-invoked-function-arn"),
            h.get("lambda-runtime-client-context"),
            h.get("lambda-runtime-cognito-identity"),
        )
        try:
            event = json.loads(body) if body else {}
            result = handler(event, context)
        except Exception as e:  # noqa: BLE001 - every failure of the handler is reported
            _invocation_failed(request_id, _exception_error(e, request_id))
            continue
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as e:
            _invocation_failed(
                request_id, _error("Runtime.MarshalError", f"Unable to marshal response: {e}", request_id=request_id)
            )
            continue
        _api.request("POST", f"{_BASE}/invocation/{request_id}/response", payload)


if __name__ == "__main__":
    main()
