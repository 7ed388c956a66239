#!/usr/bin/env python3
"""A webhook receiver for notify.sh (issue 19): records every POST (time,
headers, body) as one JSON line in LOG and answers as the file MODE says
at that moment: "200", "500", or "hang SECONDS" (record, wait, then 200).

usage: notify_receiver.py HOST PORT LOG MODE
"""
import base64
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        rec = {"t": time.time(), "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": base64.b64encode(body).decode()}
        with open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        with open(MODE) as f:
            mode = f.read().split()
        if mode and mode[0] == "hang":
            time.sleep(float(mode[1]))
            mode = ["200"]
        code = int(mode[0]) if mode else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


HOST, PORT, LOG, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
HTTPServer((HOST, PORT), Hook).serve_forever()
