#!/usr/bin/env python3
"""Totals meson's test logs (and extra results) into one closing line.

usage: summary.py [--extra NAME=pass|fail|skip ...] [--tap FILE] testlog.json ...
--tap FILE counts the `ok - ` / `not ok - ` lines of FILE (the Xen lab).
Prints per-log lines, then `N passed, N failed[, N skipped]`; exits 1 on
any failure or when no test ran at all.
"""
import json
import sys

passed = failed = skipped = 0
failures = []
args = sys.argv[1:]
skips = []
while args and args[0] in ("--extra", "--tap"):
    opt, val = args[0], args[1]
    args = args[2:]
    if opt == "--tap":
        try:
            with open(val) as f:
                for l in f:
                    if l.startswith("ok - "):
                        passed += 1
                    elif l.startswith("not ok - "):
                        failed += 1
                        failures.append("xen-lab: " + l[9:].strip())
        except OSError as e:
            print(f"summary: cannot read {val}: {e}")
            failed += 1
            failures.append(val)
        continue
    name, _, res = val.partition("=")
    if res == "pass":
        passed += 1
    elif res == "skip":
        skipped += 1
        skips.append(name)
    else:
        failed += 1
        failures.append(name)

for path in args:
    try:
        with open(path) as f:
            lines = [json.loads(l) for l in f if l.strip()]
    except OSError as e:
        print(f"summary: cannot read {path}: {e}")
        failed += 1
        failures.append(path)
        continue
    for t in lines:
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append(f"{path.split('/')[-3]}:{t.get('name')} ({r})")

for f in failures:
    print(f"failed: {f}")
for s in skips:
    print(f"skipped: {s}")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed == 0 else 0)
