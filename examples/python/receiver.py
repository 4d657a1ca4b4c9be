"""An HTTP receiver for an avatarbus route: verifies the Standard Webhooks signature, parses the
CloudEvent, drops repeats by webhook-id, answers 204 (or 401 for a request not signed with the
route's secret). The Python twin of examples/node/receiver.js.

    WEBHOOK_SECRET=whsec_... LISTEN=127.0.0.1:8090 python receiver.py
"""
import os
import sys
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cloudevents.http import from_http

from verify import secret_key, verify

MAX_BODY = 1 << 20
SEEN_MAX = 10_000

if not os.environ.get("WEBHOOK_SECRET"):
    sys.exit("set WEBHOOK_SECRET to the route's whsec_ secret")
KEY = secret_key(os.environ["WEBHOOK_SECRET"])
seen: OrderedDict[str, None] = OrderedDict()  # a real service keeps these where it keeps its work


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, text=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.answer(413, b"too large\n")
        body = self.rfile.read(length)
        reason = verify(KEY, self.headers, body)
        msg_id = self.headers.get("webhook-id")
        if reason is not None:
            print(f"rejected {msg_id or '(no webhook-id)'}: {reason}", flush=True)
            return self.answer(401, b"invalid signature\n")
        if msg_id in seen:
            print(f"duplicate webhook-id={msg_id}", flush=True)
            return self.answer(204)
        try:
            event = from_http({"content-type": self.headers.get("Content-Type", "")}, body)
        except Exception as err:  # signed but not a CloudEvent: a retry would not help
            print(f"verified webhook-id={msg_id} but not a CloudEvent: {err}", flush=True)
            return self.answer(204)
        print(f"verified webhook-id={msg_id} type={event['type']} subject={event.get('subject')} "
              f"id={event['id']}", flush=True)
        seen[msg_id] = None
        if len(seen) > SEEN_MAX:
            seen.popitem(last=False)
        self.answer(204)

    def log_message(self, *args):  # the lines above are the log
        pass


if __name__ == "__main__":
    host, _, port = os.environ.get("LISTEN", "127.0.0.1:8090").rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print(f"receiver listening on {server.server_address[0]}:{server.server_address[1]}", flush=True)
    server.serve_forever()
