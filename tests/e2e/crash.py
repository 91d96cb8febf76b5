"""Killing a process group the way a crash does, without leaving its semaphores behind.

A SIGKILL of a whole group takes multiprocessing's resource tracker with it, and nobody is left
to remove the named semaphores (``/dev/shm/sem.mp-*``) its processes used: on a machine that
runs the crash tests again and again they pile up (610 of them were found on the test machine).
``kill_group`` notes which semaphores the group's processes have mapped before the kill (by
inode: a creator maps the file under a temporary name it has since removed) and removes them
once the group is dead. The names are random per semaphore, so no other process uses them.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

SHM = Path("/dev/shm")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            todo += [int(p) for p in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def semaphore_inodes(pids: list[int]) -> set[int]:
    """The inodes of the POSIX semaphores (``/dev/shm/sem.*``) these processes have mapped."""
    inodes = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for line in maps.splitlines():
            fields = line.split()
            if len(fields) >= 6 and fields[5].startswith(f"{SHM}/sem."):
                inodes.add(int(fields[4]))
    return inodes


def kill_group(leader: int) -> None:
    """SIGKILL the process group led by ``leader``, then remove the semaphores it leaves."""
    inodes = semaphore_inodes(descendants(leader))
    try:
        os.killpg(leader, signal.SIGKILL)
    except ProcessLookupError:
        return
    for path in SHM.glob("sem.mp-*"):
        try:
            if path.stat().st_ino in inodes:
                path.unlink()
        except FileNotFoundError:
            pass
