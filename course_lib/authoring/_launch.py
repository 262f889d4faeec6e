"""Start a student's kernel under limits: ``python _launch.py AS CPU NPROC FSIZE FORK UID LIFELINE -- command...``.

Run as a script (it imports nothing of course_lib, so it starts in milliseconds), by the grader,
inside the sandbox where there is one. It sets the limits on itself with ``setrlimit`` (inherited by
the kernel and everything the kernel starts), then runs the command: as a child it waits for when
FORK is 1 (so that the kernel's parent is this process and not the grader: a notebook that kills its
parent ends its own row, not the grader; and ipykernel, which stops when its parent is PID 1, keeps
running in bubblewrap's PID namespace), by ``exec`` when FORK is 0. A UID other than 0 is the user the kernel
runs as (the sandbox's ``nobody`` when the grader is root, who is exempt from the process limit).
A limit of 0 means "not limited". LIFELINE, if not -1, is the reading end of a pipe whose
writing end only the grader holds: when it closes (the grader ended, however it ended), the kernel is
killed and this process exits, which takes bubblewrap's sandbox and all in it along.
Used by course_lib.authoring.sandbox.
"""

import ctypes
import os
import resource
import signal
import sys
import threading


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent ends (Linux): a grader that is killed takes its kernels along.
    A parent gone already (before this call) ends this process at once."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def watch(lifeline: int, child: int) -> None:
    """Kill ``child`` and end this process once the grader's end of the lifeline is closed."""
    while True:
        try:
            if not os.read(lifeline, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    try:
        os.kill(child, signal.SIGKILL)
    finally:
        os._exit(137)


def main(argv: list) -> int:
    parent = os.getppid()
    limits, command = argv[:7], argv[8:]
    memory, cpu, nproc, fsize, fork, uid, lifeline = (int(value) for value in limits)
    for which, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, cpu),
                         (resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_FSIZE, fsize)):
        if value > 0:
            resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files in the work folder
    if uid:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    die_with_parent(parent)
    if not fork:
        os.execvp(command[0], command)
    me = os.getpid()
    child = os.fork()
    if child == 0:
        die_with_parent(me)
        if lifeline >= 0:
            os.close(lifeline)
        os.execvp(command[0], command)
    if lifeline >= 0:
        threading.Thread(target=watch, args=(lifeline, child), daemon=True).start()
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # the grader's stop reaches the kernel
        signal.signal(number, lambda signum, frame: os.kill(child, signum))
    while True:
        try:
            _, status = os.waitpid(child, 0)
        except InterruptedError:
            continue
        return os.waitstatus_to_exitcode(status) % 256


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
