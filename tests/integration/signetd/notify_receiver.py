#!/usr/bin/env python3
"""A webhook receiver for notify.sh (issue 19): records every POST (time,
headers, body) as one JSON line in LOG and answers the n-th POST as the
n-th word of the file MODE says (the last word for every POST after):
"200", "500", "wait" (record, then hold the answer until a file
"release" appears next to LOG, at most 14 s, and answer 200), "kill"
(record, kill -9 the engine of the signetd whose pid is in the file
"signetd.pid" next to LOG, write that engine's pid to "killed", then
as "wait": the engine dies while the POST is held, however late the test
is), or "slow" (answer 200 after half a second).

usage: notify_receiver.py HOST PORT LOG MODE
"""
import base64
import json
import os
import signal
import subprocess
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
        seen = 0
        if os.path.exists(LOG):
            with open(LOG) as f:
                seen = sum(1 for _ in f)
        with open(MODE) as f:
            words = f.read().split() or ["200"]
        act = words[min(seen, len(words) - 1)]
        with open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        here = os.path.dirname(LOG) or "."
        if act == "kill":
            with open(os.path.join(here, "signetd.pid")) as f:
                ppid = f.read().strip()
            out = subprocess.run(["pgrep", "-P", ppid, "-f", "signet-engine"],
                                 capture_output=True, text=True).stdout.split()
            if out:
                os.kill(int(out[0]), signal.SIGKILL)
                with open(os.path.join(here, "killed.tmp"), "w") as f:
                    f.write(out[0] + "\n")
                os.rename(os.path.join(here, "killed.tmp"),
                          os.path.join(here, "killed"))
            act = "wait"
        if act == "wait":
            release = os.path.join(os.path.dirname(LOG) or ".", "release")
            end = time.time() + 14
            while not os.path.exists(release) and time.time() < end:
                time.sleep(0.05)
            act = "200"
        elif act == "slow":
            time.sleep(0.5)
            act = "200"
        code = int(act)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


HOST, PORT, LOG, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
HTTPServer((HOST, PORT), Hook).serve_forever()
