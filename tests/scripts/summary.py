#!/usr/bin/env python3
"""Totals meson's test logs (and extra results) into one closing line.

usage: summary.py [--extra NAME=pass|fail|skip ...] [--time NAME=SECONDS ...]
                  [--tap FILE] testlog.json ...
--tap FILE counts the `ok - ` / `not ok - ` lines of FILE (the Xen lab).
Prints how long each step (--time) and each meson suite took, the
failures, then `N passed, N failed[, N skipped]`; exits 1 on any failure
or when no test ran at all.
"""
import json
import sys

passed = failed = skipped = 0
failures = []
args = sys.argv[1:]
skips = []
steps = []
while args and args[0] in ("--extra", "--tap", "--time"):
    opt, val = args[0], args[1]
    args = args[2:]
    if opt == "--time":
        name, _, secs = val.partition("=")
        steps.append((name, int(secs)))
        continue
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
    build = path.split("/")[-3]
    suites = {}
    for t in lines:
        # "project:suite / test": the first suite the test is in.
        suite = t.get("name", "?").split(" / ")[0].split(":")[-1].split("+")[0]
        n, secs = suites.get(suite, (0, 0.0))
        suites[suite] = (n + 1, secs + t.get("duration", 0.0))
    for suite, (n, secs) in sorted(suites.items(), key=lambda kv: -kv[1][1]):
        print(f"time: {build}: suite {suite}: {secs:.1f} s ({n} tests)")
    for t in lines:
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append(f"{path.split('/')[-3]}:{t.get('name')} ({r})")

for name, secs in steps:
    print(f"time: {name}: {secs // 60}m{secs % 60:02d}s")
for f in failures:
    print(f"failed: {f}")
for s in skips:
    print(f"skipped: {s}")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed == 0 else 0)
