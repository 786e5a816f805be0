#!/usr/bin/env python3
"""Lists (and kills) what a `make check` run left behind.

usage: leftovers.py MARK TMPDIR
MARK is the value of IVC_CHECK_RUN that check.sh put in the environment of
everything it started, so a process that carries it and is not one of our
own ancestors was started by this run and outlived it: an ivc-simd, an
ivc-xenstored, a QEMU, a test program. Each is printed and SIGKILLed (so
that the run can still end), and so is each file left in TMPDIR (check.sh
pointed TMPDIR there, so every test's scratch directory is in it).
Exit 1 if anything was left.
"""
import os
import shutil
import signal
import sys


def ancestors():
    pid, seen = os.getpid(), set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return seen


def main():
    mark = ("IVC_CHECK_RUN=" + sys.argv[1]).encode()
    tmp = sys.argv[2]
    mine = ancestors()
    left = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in mine:
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or a kernel thread
        if mark in env and cmd:
            left.append((int(d), cmd))
    for pid, cmd in left:
        print(f"left running: pid {pid}: {cmd}")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    files = sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []
    for f in files:
        print(f"left in {tmp}: {f}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if left or files else 0


sys.exit(main())
