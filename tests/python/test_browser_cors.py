"""A function URL called by headless Chromium from a page of another origin: the browser's own
CORS checks (a preflight for a JSON POST, then the answer's headers) pass for an origin the URL
allows and fail for one it does not. The page reports what fetch() gave in its DOM, which
Chromium prints (--dump-dom)."""

import http.server
import os
import shutil
import subprocess
import threading

import pytest

from conftest import create, make_zip

HANDLER = """
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-answer": "yes"},
            "body": json.dumps({"method": event["requestContext"]["http"]["method"],
                                "sent": json.loads(event["body"])})}
"""

PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
fetch("%s", {method: "POST", headers: {"content-type": "application/json"},
             body: JSON.stringify({from: location.origin})})
  .then(async (r) => { document.getElementById("out").textContent =
      "OK " + r.status + " " + r.headers.get("x-answer") + " " + (await r.text()); })
  .catch((e) => { document.getElementById("out").textContent = "FAILED " + e; });
</script></body></html>"""

chromium = shutil.which("chromium") or shutil.which("chromium-browser")
# `cargo xtask test` installs Chromium and asks for this test (LAMBOX_BROWSER_TESTS=1): there it
# fails rather than skip when Chromium is missing.
pytestmark = pytest.mark.skipif(chromium is None and os.environ.get("LAMBOX_BROWSER_TESTS") != "1",
                                reason="chromium is not installed (cargo xtask test installs it)")


def serve_page(page):
    """Serves `page["html"]` on an origin of its own (another port of loopback); returns (server,
    origin)."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def page_result(origin, tmp_path):
    """What the page at `origin` reported, once Chromium ran it."""
    out = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=10000", "--dump-dom",
         f"{origin}/page.html"],
        capture_output=True, text=True, timeout=120)
    start = out.stdout.find('<pre id="out">')
    assert start >= 0, out.stderr[-2000:]
    return out.stdout[start + len('<pre id="out">'):out.stdout.find("</pre>", start)]


def test_a_browser_calls_a_url_across_origins_as_its_cors_allows(lam, tmp_path):
    create(lam, "api", make_zip({"handler.py": HANDLER}))
    page = {"html": ""}
    allowed_server, allowed = serve_page(page)
    denied_server, denied = serve_page(page)
    try:
        url = lam.create_function_url_config(
            FunctionName="api", AuthType="NONE",
            Cors={"AllowOrigins": [allowed], "AllowMethods": ["POST"], "AllowHeaders": ["content-type"],
                  "ExposeHeaders": ["x-answer"], "MaxAge": 60})["FunctionUrl"]
        lam.add_permission(FunctionName="api", StatementId="public", Action="lambda:InvokeFunctionUrl",
                           Principal="*", FunctionUrlAuthType="NONE")
        # The URL as configurations show it: by host below localhost, which Chromium resolves.
        assert ".lambda-url.us-east-1.localhost:" in url
        page["html"] = PAGE % url
        result = page_result(allowed, tmp_path)
        assert result.startswith("OK 200 yes "), result
        assert f'"sent": {{"from": "{allowed}"}}' in result and '"method": "POST"' in result
        # The same page from an origin the URL does not list: the browser refuses the answer.
        assert page_result(denied, tmp_path).startswith("FAILED TypeError")
    finally:
        allowed_server.shutdown()
        denied_server.shutdown()
