"""docs/protocol.md's browser example in headless Debian Chromium (Playwright, told where
Chromium is; it never downloads one), against a running hub.

    example_page.py PAGE PORT CHANNEL

PAGE is the example's HTML as the test extracted it from the doc (its port set to PORT). As the
doc says, it is served from a web server — Python's, on another port of the gateway (127.0.0.1),
which the hub accepts as its own host — and opened in the browser. (A page handed to the browser
by Playwright itself has no address, and Chromium's local-network checks then refuse its
WebSocket to 127.0.0.1.) Prints one JSON object: the row CHANNEL showed first and the one it
showed after a later update, how many rows the table had, and the console's errors. Every wait
is bounded.
"""

import functools
import http.server
import json
import os
import sys
import threading

from playwright.sync_api import TimeoutError as PlaywrightTimeout, sync_playwright

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 20000

ROW = """(channel) => {
  for (const row of document.querySelectorAll("#values tr")) {
    if (row.cells[0]?.textContent === channel)
      return {value: row.cells[1].textContent, version: row.cells[2].textContent};
  }
  return null;
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the page's directory; no favicon (204, so the console stays clean), no log."""

    def do_GET(self):
        if self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def main(page_path, port, channel):
    handler = functools.partial(QuietHandler, directory=os.path.dirname(os.path.abspath(page_path)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{os.path.basename(page_path)}"
    seen = {"errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            page.set_default_timeout(WAIT_MS)
            page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on("websocket", lambda ws: seen.setdefault("websockets", []).append(ws.url))
            page.goto(url)
            seen["title"] = page.title()
            try:
                page.wait_for_function(f"({ROW})({json.dumps(channel)}) !== null")
                first = page.evaluate(ROW, channel)
                seen["first"] = first
                page.wait_for_function(
                    f"({ROW})({json.dumps(channel)}).version !== {json.dumps(first['version'])}"
                )
                seen["later"] = page.evaluate(ROW, channel)
            except PlaywrightTimeout as e:
                seen["timeout"] = str(e).splitlines()[0]
            seen["rows"] = page.evaluate("document.querySelectorAll('#values tr').length")
        finally:
            browser.close()
            server.shutdown()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
