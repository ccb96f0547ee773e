"""`python sandbox_exec.py UID GID -- CMD...`: become UID:GID with no supplementary groups and
no way to gain privileges back, then exec CMD. Used where util-linux's setpriv is missing.

Standard library only, run with `python -I -S`: it must not import anything of the runner's.
"""

import ctypes
import os
import sys

_PR_SET_NO_NEW_PRIVS = 38


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: sandbox_exec.py UID GID -- CMD...")
    uid, gid, cmd = int(argv[0]), int(argv[1]), argv[3:]
    program = _find(cmd[0])  # before the drop: later imports may be out of reach
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"sandbox_exec: prctl(NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
    os.execv(program, cmd)


def _find(name: str) -> str:
    if "/" in name:
        return name
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    sys.exit(f"sandbox_exec: {name}: command not found")


if __name__ == "__main__":
    main(sys.argv[1:])
