#!/usr/bin/python3
"""Runs a command under the system call filter a systemd unit describes, without systemd.

    syscall_filter.py UNIT COMMAND [ARG...]

Reads UNIT's `SystemCallFilter=` lines (an allow-list of syscalls and @groups, then `~` lines
taking some away), `SystemCallErrorNumber=` and `MemoryDenyWriteExecute=`, expands the groups with
`systemd-analyze syscall-filter` (the same tables systemd uses), installs the equivalent seccomp
filters with libseccomp (Debian's python3-seccomp, for /usr/bin/python3) and execs COMMAND. As
systemd does, the two concerns are separate stacked filters, so the kernel applies the stricter
answer: the allow-list (anything else fails with the unit's errno, or kills the process without
one) and MemoryDenyWriteExecute (no mapping both writable and executable, no mprotect/pkey_mprotect
to executable, no shmat with SHM_EXEC), only for the native architecture
(`SystemCallArchitectures=native`: libseccomp kills calls of any other).

DeployTests uses it to check that the hub, its Lua scripts, NIO, SQLite and libmodbus need nothing
the shipped unit forbids (this machine does not run systemd as PID 1, so the unit itself cannot be
started here).
"""

import errno
import os
import subprocess
import sys

import seccomp


def expand(name, seen=None):
    """The syscalls of a group (recursively) or the name itself."""
    seen = set() if seen is None else seen
    if not name.startswith("@"):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True, check=True)
    calls = set()
    for line in out.stdout.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        calls |= expand(item, seen)
    return calls


def main():
    unit, command = sys.argv[1], sys.argv[2:]
    allowed, denied, error_number, mdwe = None, set(), None, False
    for raw in open(unit):
        line = raw.strip()
        if line.startswith("SystemCallFilter="):
            value = line.split("=", 1)[1].strip()
            names = value.lstrip("~").split()
            calls = set().union(*(expand(n) for n in names)) if names else set()
            if value.startswith("~"):
                denied |= calls
            elif allowed is None:
                allowed = calls
            else:
                allowed |= calls
        elif line.startswith("SystemCallErrorNumber="):
            error_number = getattr(errno, line.split("=", 1)[1].strip())
        elif line.startswith("MemoryDenyWriteExecute="):
            mdwe = line.split("=", 1)[1].strip() in ("yes", "true", "1")
    if allowed is None:
        sys.exit("syscall_filter.py: the unit has no SystemCallFilter= allow-list")
    deny = seccomp.ERRNO(error_number) if error_number is not None else seccomp.KILL_PROCESS

    # The guard first: once the allow-list is in force, loading another filter may be refused.
    filters = []
    allow_list = seccomp.SyscallFilter(defaction=deny)
    for call in sorted(allowed - denied):
        try:
            allow_list.add_rule(seccomp.ALLOW, call)
        except (RuntimeError, ValueError):
            pass  # not a syscall on this architecture
    if mdwe:
        eperm = seccomp.ERRNO(errno.EPERM)
        guard = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        write_exec = 0x2 | 0x4  # PROT_WRITE | PROT_EXEC
        guard.add_rule(eperm, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, write_exec, write_exec))
        guard.add_rule(eperm, "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, 0x4, 0x4))
        guard.add_rule(eperm, "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, 0x4, 0x4))
        guard.add_rule(eperm, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, 0o100000, 0o100000))  # SHM_EXEC
        filters.append(guard)
    filters.append(allow_list)
    for f in filters:
        f.load()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
