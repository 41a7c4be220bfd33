"""WebSocket client for the BACnet end-to-end test: every update of the watched channels.

Usage: python bacnet_watch.py PORT PATTERN MARKER READY [LIMIT_S]

Subscribes to PATTERN on the hub at 127.0.0.1:PORT, creates the file READY once the snapshot
arrived, then records every update (channel, version, value, ts) until the file MARKER exists
(or LIMIT_S seconds pass, default 120). Prints {"snapshot": [...], "updates": [...],
"closed": bool} as JSON.
"""

import json
import os
import sys
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def main(port, pattern, marker, ready, limit="120"):
    deadline = time.monotonic() + float(limit)
    updates = []
    closed = False
    with connect(f"ws://127.0.0.1:{port}/ws{pattern}", max_size=None) as ws:
        snapshot = None
        while snapshot is None and time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=10))
            if message["type"] == "snapshot":
                snapshot = message
        open(ready, "w").close()
        while not os.path.exists(marker) and time.monotonic() < deadline:
            try:
                message = json.loads(ws.recv(timeout=0.2))
            except TimeoutError:
                continue
            except ConnectionClosed:
                closed = True
                break
            if message["type"] == "update":
                updates.append(
                    {k: message[k] for k in ("channel", "version", "value", "ts")}
                )
    return {"snapshot": snapshot, "updates": updates, "closed": closed}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), *sys.argv[2:])))
