#!/usr/bin/env python3
# tools/dev/realign-renamed.py BASE [PATH...]: after a rename that made
# names longer (tools/dev/engine-rename.sed: ca_ -> eng_), puts the text
# after each run of tabs back at the column it had in BASE, on the lines
# the rename changed (those of `git diff -U0 -M BASE`, paired one for one
# in hunks that remove and add as many lines).  Only tabs between words
# change, so it is safe to re-run; a line whose text now reaches past its
# old column keeps one tab.  Issue 15.
import re
import subprocess
import sys


def col_after(text, col):
    for ch in text:
        col = (col // 8 + 1) * 8 if ch == '\t' else col + 1
    return col


def realign(old, new):
    o = re.split(r'(\t+)', old)
    n = re.split(r'(\t+)', new)
    if len(o) != len(n):
        return new
    co = cn = 0
    out = []
    for i, (so, sn) in enumerate(zip(o, n)):
        if i % 2 == 0:
            out.append(sn)
            co, cn = col_after(so, co), col_after(sn, cn)
            continue
        if co == 0 and cn == 0:
            out.append(sn)
            continue
        target = col_after(so, co)
        tabs, c = 0, cn
        while c < target or tabs == 0:
            c = (c // 8 + 1) * 8
            tabs += 1
        out.append('\t' * tabs)
        co, cn = target, c
    return ''.join(out)


def main():
    base, paths = sys.argv[1], sys.argv[2:] or ['*.c', '*.h']
    diff = subprocess.run(['git', 'diff', '-U0', '-M', base, '--'] + paths,
                          capture_output=True, text=True, check=True).stdout
    files, cur, hunk = {}, None, None
    for line in diff.splitlines():
        if line.startswith('+++ '):
            cur = line[6:] if line != '+++ /dev/null' else None
            continue
        m = re.match(r'@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@', line)
        if m:
            hunk = {'start': int(m.group(1)), 'old': [], 'new': []}
            if cur:
                files.setdefault(cur, []).append(hunk)
        elif hunk is not None and line.startswith('-') \
                and not line.startswith('---'):
            hunk['old'].append(line[1:])
        elif hunk is not None and line.startswith('+'):
            hunk['new'].append(line[1:])
    changed = 0
    for path, hunks in files.items():
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        for h in hunks:
            if len(h['old']) != len(h['new']):
                continue
            for i, (o, n) in enumerate(zip(h['old'], h['new'])):
                k = h['start'] - 1 + i
                fixed = realign(o, n)
                if lines[k] == n and fixed != n:
                    lines[k] = fixed
                    changed += 1
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines))
    print(f'realigned {changed} lines', file=sys.stderr)


if __name__ == '__main__':
    main()
