#!/usr/bin/env python3
"""Strict check of a /metrics scrape (Prometheus text format 0.0.4).

usage: metrics_check.py FILE            check; print one "series value"
                                        line per sample, labels sorted
Checks: prometheus_client's parser reads it (python3-prometheus-client,
tools/install-deps.sh: a missing parser fails, never skips), and on top
of it what that parser lets through: every sample line in the grammar,
HELP and TYPE once per family and before its samples, no series twice,
counters finite and not negative, histogram buckets cumulative with +Inf
equal to _count, and bounded labels: at most 500 series per family and
no label value that looks like a serial number (long hex) or a DNS name.
Exit 1 with the reason on stderr.
"""
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def die(msg):
    sys.stderr.write("metrics_check: %s\n" % msg)
    sys.exit(1)


def family_of(name, types):
    if name in types:
        return name
    for s in SUFFIXES:
        if name.endswith(s) and name[: -len(s)] in types:
            return name[: -len(s)]
    return None


def lines(text):
    helps, types, seen, out = set(), {}, set(), []
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                die("line %d: bad comment: %r" % (n, line))
            fam = parts[2]
            if parts[1] == "HELP":
                if fam in helps:
                    die("line %d: second HELP for %s" % (n, fam))
                helps.add(fam)
            else:
                if fam in types:
                    die("line %d: second TYPE for %s" % (n, fam))
                if parts[3] not in ("counter", "gauge", "histogram",
                                    "summary", "untyped"):
                    die("line %d: bad TYPE %r" % (n, parts[3]))
                types[fam] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            die("line %d: not a sample line: %r" % (n, line))
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        fam = family_of(name, types)
        if fam is None or fam not in helps:
            die("line %d: %s has no TYPE and HELP before it" % (n, name))
        try:
            v = float(value)
        except ValueError:
            die("line %d: bad value %r" % (n, value))
        pairs = sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                  labels))
        key = name + "{" + ",".join('%s="%s"' % p for p in pairs) + "}"
        if key in seen:
            die("line %d: series twice: %s" % (n, key))
        seen.add(key)
        if types[fam] == "counter" and (v < 0 or math.isnan(v) or math.isinf(v)):
            die("line %d: counter %s is %s" % (n, key, value))
        for k, val in pairs:
            if k in ("le", "quantile"):
                continue
            if re.search(r"[0-9a-fA-F]{16,}", val):
                die("line %d: label %s looks like a serial: %s" % (n, k, val))
            if re.search(r"[a-z0-9-]+\.[a-z0-9-]+\.[a-z]", val):
                die("line %d: label %s looks like a name: %s" % (n, k, val))
        out.append((fam, name, pairs, v, key))
    return types, out


def histograms(types, samples):
    groups = {}
    for fam, name, pairs, v, key in samples:
        if types[fam] != "histogram":
            continue
        rest = tuple(p for p in pairs if p[0] != "le")
        g = groups.setdefault((fam, rest), {"buckets": [], "count": None})
        if name.endswith("_bucket"):
            le = dict(pairs).get("le")
            if le is None:
                die("%s without le" % key)
            g["buckets"].append((float(le), v))
        elif name.endswith("_count"):
            g["count"] = v
    for (fam, rest), g in groups.items():
        b = sorted(g["buckets"])
        if not b or not math.isinf(b[-1][0]):
            die("%s %s: no +Inf bucket" % (fam, rest))
        for (_, a), (_, c) in zip(b, b[1:]):
            if c < a:
                die("%s %s: buckets not cumulative" % (fam, rest))
        if g["count"] != b[-1][1]:
            die("%s %s: _count %s != +Inf %s" % (fam, rest, g["count"], b[-1][1]))


def main():
    if len(sys.argv) != 2:
        die("usage: metrics_check.py FILE")
    text = open(sys.argv[1]).read()
    if not text.endswith("\n"):
        die("the exposition does not end with a newline")
    try:
        fams = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own verdict
        die("prometheus_client refuses it: %s" % e)
    if not fams:
        die("no metric families")
    types, samples = lines(text)
    histograms(types, samples)
    per = {}
    for fam, *_ in samples:
        per[fam] = per.get(fam, 0) + 1
    for fam, n in per.items():
        if n > 500:
            die("%s has %d series" % (fam, n))
    for _, _, _, v, key in sorted(samples, key=lambda s: s[4]):
        print("%s %s" % (key, "%d" % v if v.is_integer() else repr(v)))


main()
