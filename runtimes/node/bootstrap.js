// lambox's Lambda runtime client for Node.js, standard library only.
//
// Runs where a sandbox has no /var/runtime/bootstrap: resolves the handler from _HANDLER
// (`file.export`, `dir/file.export`, `file.nested.export`; .js, .cjs or .mjs), then loops over
// the Runtime API at AWS_LAMBDA_RUNTIME_API. Async handlers and callback handlers both work, and
// handlers wrapped in `awslambda.streamifyResponse` stream their response as they write it.
"use strict";

const http = require("http");
const { Writable } = require("stream");
const path = require("path");
const fs = require("fs");
const util = require("util");
const { pathToFileURL } = require("url");

const [HOST, PORT] = (() => {
  const api = process.env.AWS_LAMBDA_RUNTIME_API;
  const i = api.lastIndexOf(":");
  return [api.slice(0, i), Number(api.slice(i + 1))];
})();
const BASE = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host: HOST,
        port: PORT,
        method,
        path: urlPath,
        agent,
        headers: Object.assign({ "Content-Length": data ? data.length : 0 }, headers || {}),
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      }
    );
    req.on("error", reject);
    req.setNoDelay(true);
    req.end(data);
  });
}

// Lambda's console formats. Text: `<time>\t<request id>\t<LEVEL>\t<message>`. JSON (the
// function's LogFormat, told by AWS_LAMBDA_LOG_FORMAT): one compact object per line,
// {timestamp, level, requestId, message}, with methods below AWS_LAMBDA_LOG_LEVEL silenced.
let currentRequestId = "undefined";
const JSON_LOGS = (process.env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";
const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

function errorFields(err) {
  return {
    errorType: (err.constructor && err.constructor.name) || err.name || "Error",
    errorMessage: err.message,
    stackTrace: typeof err.stack === "string" ? err.stack.split("\n") : [],
  };
}

function jsonLine(level, args) {
  const line = { timestamp: new Date().toISOString(), level };
  if (currentRequestId !== "undefined") line.requestId = currentRequestId;
  if (args.length === 1) {
    line.message = args[0] instanceof Error ? errorFields(args[0]) : args[0];
  } else {
    line.message = util.format(...args);
    const err = args.find((a) => a instanceof Error);
    if (err) Object.assign(line, errorFields(err));
  }
  let text;
  try {
    text = JSON.stringify(line);
  } catch (e) {
    text = JSON.stringify({ ...line, message: util.format(...args) });
  }
  return text.replace(/\n/g, "\r");
}

function patchConsole() {
  const threshold = JSON_LOGS
    ? Math.max(0, LEVELS.indexOf((process.env.AWS_LAMBDA_LOG_LEVEL || "INFO").toUpperCase()))
    : 0;
  const write = (stream, level) => {
    if (LEVELS.indexOf(level) < threshold && level !== "FATAL") return () => {};
    return (...args) => {
      if (JSON_LOGS) {
        stream.write(jsonLine(level, args) + "\n");
        return;
      }
      const message = util.format(...args).replace(/\n/g, "\r");
      stream.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}\n`);
    };
  };
  console.log = write(process.stdout, "INFO");
  console.info = write(process.stdout, "INFO");
  console.debug = write(process.stdout, "DEBUG");
  console.trace = write(process.stdout, "TRACE");
  console.warn = write(process.stderr, "WARN");
  console.error = write(process.stderr, "ERROR");
  console.fatal = write(process.stderr, "FATAL");
}

function logInvokeError(requestId, body) {
  if (JSON_LOGS) {
    process.stderr.write(
      JSON.stringify({
        timestamp: new Date().toISOString(),
        level: "ERROR",
        requestId,
        message: { errorType: body.errorType, errorMessage: body.errorMessage, stackTrace: body.trace },
      }) + "\n",
    );
    return;
  }
  process.stderr.write(`${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(body)}\n`);
}

function errorJson(err, fallbackType) {
  if (err instanceof Error) {
    return {
      errorType: err.name && err.name !== "Error" ? err.name : (err.constructor && err.constructor.name) || "Error",
      errorMessage: err.message,
      trace: typeof err.stack === "string" ? err.stack.split("\n") : [],
    };
  }
  return { errorType: fallbackType || "string", errorMessage: String(err), trace: [] };
}

async function initFailed(errorType, message, err) {
  const body = { errorType, errorMessage: message, trace: err && err.stack ? err.stack.split("\n") : [] };
  process.stderr.write(`${new Date().toISOString()}\tundefined\tERROR\t${JSON.stringify(body)}\n`);
  await request("POST", `${BASE}/init/error`, JSON.stringify(body), {
    "Lambda-Runtime-Function-Error-Type": errorType,
    "Content-Type": "application/json",
  });
  process.exit(1);
}

async function loadHandler() {
  const spec = process.env._HANDLER || "";
  const root = process.env.LAMBDA_TASK_ROOT || "/var/task";
  const slash = spec.lastIndexOf("/");
  const dir = spec.slice(0, slash + 1);
  const rest = spec.slice(slash + 1);
  const dot = rest.indexOf(".");
  if (dot <= 0 || dot === rest.length - 1) {
    return initFailed("Runtime.MalformedHandlerName", `Bad handler ${spec}`);
  }
  const file = path.join(root, dir + rest.slice(0, dot));
  const exportPath = rest.slice(dot + 1).split(".");
  let mod;
  try {
    const candidates = [".js", ".mjs", ".cjs"].map((ext) => file + ext);
    const found = candidates.find((c) => fs.existsSync(c));
    if (!found) {
      const e = new Error(`Cannot find module '${dir + rest.slice(0, dot)}'`);
      return initFailed("Runtime.ImportModuleError", `Error: ${e.message}`, e);
    }
    mod = found.endsWith(".mjs") ? await import(pathToFileURL(found).href) : require(found);
  } catch (e) {
    if (e instanceof SyntaxError) {
      return initFailed("Runtime.UserCodeSyntaxError", `${e.name}: ${e.message}`, e);
    }
    return initFailed("Runtime.ImportModuleError", `${e.name}: ${e.message}`, e);
  }
  let handler = mod;
  for (const part of exportPath) {
    handler = handler == null ? undefined : handler[part];
  }
  if (handler === undefined && mod && mod.default) {
    handler = exportPath.reduce((h, p) => (h == null ? undefined : h[p]), mod.default);
  }
  if (typeof handler !== "function") {
    return initFailed("Runtime.HandlerNotFound", `${rest} is undefined or not exported`);
  }
  return handler;
}

// Response streaming, as Lambda's Node.js runtimes offer it on the global `awslambda`.
const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
const HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response";

globalThis.awslambda = {
  streamifyResponse(handler, options) {
    handler[STREAMING] = "response";
    if (options && options.highWaterMark) handler.highWaterMark = options.highWaterMark;
    return handler;
  },
  HttpResponseStream: {
    // Status, headers and cookies go first, as JSON and eight NUL bytes, on the first write.
    from(stream, metadata) {
      stream.setContentType(HTTP_INTEGRATION);
      stream._beforeFirstWrite = () => Buffer.concat([Buffer.from(JSON.stringify(metadata || {})), Buffer.alloc(8)]);
      return stream;
    },
  },
};

// The response stream handed to a streaming handler: each write goes out as a chunk of the
// POST to /response as it is made; an error goes in its trailers.
function responseStream(requestId, highWaterMark) {
  let req = null;
  let contentType = "application/octet-stream";
  let answered;
  const open = () => {
    if (req) return req;
    req = http.request({
      host: HOST,
      port: PORT,
      method: "POST",
      path: `${BASE}/invocation/${requestId}/response`,
      agent,
      headers: {
        "Lambda-Runtime-Function-Response-Mode": "streaming",
        "Transfer-Encoding": "chunked",
        Trailer: ["Lambda-Runtime-Function-Error-Type", "Lambda-Runtime-Function-Error-Body"],
        "Content-Type": contentType,
      },
    });
    req.setNoDelay(true);
    answered = new Promise((resolve, reject) => {
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      req.on("error", reject);
    });
    return req;
  };
  const stream = new Writable({
    highWaterMark,
    write(chunk, encoding, callback) {
      const r = open();
      if (stream._beforeFirstWrite) {
        const prelude = stream._beforeFirstWrite();
        stream._beforeFirstWrite = null;
        r.write(prelude);
      }
      r.write(chunk, callback);
    },
    final(callback) {
      open().end(callback);
    },
  });
  stream.setContentType = (type) => {
    if (req) throw new Error("Cannot set content-type, too late.");
    contentType = type;
  };
  // Ends the response with the handler's error in the trailers.
  stream.fail = (body) => {
    const r = open();
    r.addTrailers({
      "Lambda-Runtime-Function-Error-Type": body.errorType,
      "Lambda-Runtime-Function-Error-Body": Buffer.from(JSON.stringify(body)).toString("base64"),
    });
    r.end();
  };
  stream.answered = () => answered;
  return stream;
}

async function runStreaming(handler, event, context, requestId) {
  const stream = responseStream(requestId, handler.highWaterMark);
  try {
    await handler(event, stream, context);
    if (!stream.writableEnded) throw new Error("Response stream is not finished.");
    if (!stream.writableFinished) await new Promise((resolve) => stream.on("finish", resolve));
  } catch (err) {
    const body = errorJson(err);
    logInvokeError(requestId, body);
    // Once the response has ended, an error can only be logged.
    if (!stream.writableEnded) {
      stream.destroy();
      stream.fail(body);
    }
  }
  await stream.answered();
}

function makeContext(headers) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"] || 0);
  const parse = (v) => (v ? JSON.parse(v) : undefined);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parse(headers["lambda-runtime-cognito-identity"]),
    clientContext: parse(headers["lambda-runtime-client-context"]),
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (err) => callback(err === undefined || err === null ? "handled" : err);
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === "function") {
        returned.then((r) => callback(null, r), (e) => callback(e === undefined || e === null ? new Error(String(e)) : e));
      } else if (handler.length < 3) {
        callback(null, returned);
      }
    } catch (e) {
      callback(e);
    }
  });
}

async function main() {
  patchConsole();
  const handler = await loadHandler();
  for (;;) {
    const next = await request("GET", `${BASE}/invocation/next`);
    if (next.status !== 200) {
      process.stderr.write(`runtime API answered ${next.status} to next\n`);
      process.exit(1);
    }
    const requestId = next.headers["lambda-runtime-aws-request-id"];
    currentRequestId = requestId;
    process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"] || "";
    const context = makeContext(next.headers);
    if (handler[STREAMING] === "response") {
      let event;
      try {
        event = next.body.length ? JSON.parse(next.body.toString("utf8")) : {};
      } catch (err) {
        event = {};
      }
      await runStreaming(handler, event, context, requestId);
      continue;
    }
    let result;
    try {
      const event = next.body.length ? JSON.parse(next.body.toString("utf8")) : {};
      result = await runHandler(handler, event, context);
    } catch (err) {
      const body = errorJson(err);
      logInvokeError(requestId, body);
      await request("POST", `${BASE}/invocation/${requestId}/error`, JSON.stringify(body), {
        "Lambda-Runtime-Function-Error-Type": body.errorType,
        "Content-Type": "application/json",
      });
      continue;
    }
    let payload;
    try {
      payload = JSON.stringify(result === undefined ? null : result);
    } catch (err) {
      const body = { errorType: "Runtime.MarshalError", errorMessage: `Unable to stringify response body: ${err.message}`, trace: [] };
      await request("POST", `${BASE}/invocation/${requestId}/error`, JSON.stringify(body), {
        "Lambda-Runtime-Function-Error-Type": body.errorType,
      });
      continue;
    }
    await request("POST", `${BASE}/invocation/${requestId}/response`, payload, { "Content-Type": "application/json" });
  }
}

main().catch((e) => {
  process.stderr.write(`lambox runtime client failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
