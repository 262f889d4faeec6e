"""The sandbox a student's kernel runs in while the grader grades it (`make grade`).

With bubblewrap (``bwrap``, Debian's ``bubblewrap``) each kernel gets:

* a read-only view of the system (``/usr``, ``/etc``, …), of Python and of course_lib, and nothing else
  of the grader's files (no home folder, no submissions, no other work folder);
* an empty writable work folder (its home and current folder) and a small ``/tmp`` in memory, both gone
  when the notebook is done;
* no network (a network namespace of its own, with only a loopback), its own PID namespace (the grader
  and every other process out of sight, ``/proc`` its own), no shared memory or host name of the host;
* a clean environment (what ``grade.kernel_env`` lists, no tokens or keys), no terminal (``--new-session``);
* the limits below, set with ``setrlimit`` inside the sandbox on the kernel and all it starts;
* an end: when the kernel stops or is killed, the PID namespace goes and every process in it
  (a child started with ``start_new_session=True`` too); if the grader dies, so does the sandbox.

When the grader runs as root, the kernel runs as a user id of its own inside the sandbox (Linux exempts
root from the process limit, and a user shared by two kernels would share their count). Without bubblewrap the kernel still gets the limits, the clean environment, its
own work folder, a process group killed at the end, and a parent of its own (so that killing its parent
ends its own row, not the grader); ``missing()`` says what it goes without.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import pathlib
import shutil
import subprocess
import sys

LAUNCH = pathlib.Path(__file__).with_name("_launch.py")

def kernel_user() -> int | None:
    """The user a sandboxed kernel runs as when the grader is root: a fresh unused user id for each kernel, so that
    each has its own process limit (root is exempt from RLIMIT_NPROC, and a shared user would share one count)
    and none can signal or read another's processes. None when the grader is not root (the kernel runs as it)."""
    if os.geteuid() != 0:
        return None
    return random.SystemRandom().randrange(3_000_000_000, 4_000_000_000)

# The parts of the system a kernel reads: programs, libraries, configuration (fonts, time zones, ld.so).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/var/cache/fontconfig")


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one notebook's kernel may use (0: not limited)."""

    memory_mb: int = 4096  # address space of each process (RLIMIT_AS), MiB
    cpu_s: int = 600  # processor time of each process (RLIMIT_CPU), seconds
    processes: int = 256  # processes and threads of the sandbox's user (RLIMIT_NPROC)
    file_mb: int = 256  # size of any one file written (RLIMIT_FSIZE), MiB
    tmp_mb: int = 256  # size of /tmp inside the sandbox (memory), MiB

    def rlimits(self, already: int = 0) -> list[str]:
        """The arguments of _launch.py; ``already``: the tasks the user runs now, which RLIMIT_NPROC counts too."""
        mib = 2**20
        processes = self.processes + already if self.processes else 0
        return [str(self.memory_mb * mib), str(self.cpu_s), str(processes), str(self.file_mb * mib)]


def user_tasks() -> int:
    """The processes and threads this user runs now (what RLIMIT_NPROC counts, outside a sandbox as nobody)."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[str | None, str]:
    """bubblewrap's path, if it is installed and can make the namespaces the sandbox needs here; else None and why."""
    path = shutil.which("bwrap")
    if path is None:
        return None, "is not installed"
    userns = [] if os.geteuid() == 0 else ["--unshare-user"]
    try:
        tried = subprocess.run([path, *userns, "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc",
                                "--dev", "/dev", "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"is installed but cannot run ({type(err).__name__})"
    if tried.returncode != 0:
        return None, f"is installed but cannot make a sandbox here ({tried.stderr.strip()[:200] or tried.returncode})"
    return path, ""


def bwrap() -> str | None:
    """The path of bubblewrap, or None where it is not installed or cannot make a sandbox on this machine
    (e.g. where unprivileged user namespaces are turned off); ``missing()`` says which."""
    return _probe()[0]


def missing() -> str:
    """What a kernel goes without when bubblewrap is missing, in one paragraph."""
    return (f"bubblewrap (bwrap) {_probe()[1]}, so the notebooks run without a sandbox: their code can read "
            "and write your files, use the network, see and signal your other processes (the grader too) and "
            "leave processes that left their process group behind. They still get a clean environment, a work "
            "folder of their own, the memory, CPU-time, process and file-size limits and a parent process of "
            "their own. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) or grade in a container "
            "or a throw-away account.")


def read_only_paths() -> list[str]:
    """The folders a sandboxed kernel needs to read: the system, Python, the virtual environment, course_lib."""
    package = pathlib.Path(__file__).resolve().parents[1]  # course_lib/
    paths = [path for path in SYSTEM if not os.path.islink(path)] + [sys.base_prefix, sys.prefix, str(package)]
    return list(dict.fromkeys(os.path.realpath(p) for p in paths if os.path.exists(p)))


def command(kernel: list[str], home: pathlib.Path, channels: tuple[pathlib.Path, ...], limits: Limits, *,
            sandbox: bool, user: int | None = None, lifeline: int = -1) -> list[str]:
    """The command that starts ``kernel`` in the sandbox (or, with ``sandbox=False``, only under the limits).
    ``home``: the notebook's writable work folder; ``channels``: the folders of the kernel's connection file
    and sockets;
    ``user``: the user id it runs as in the sandbox when the grader is root (``kernel_user()``);
    ``lifeline``: the reading end of a pipe the grader holds open while the kernel may live (passed to it)."""
    as_root = sandbox and user is not None
    already = 0 if as_root else user_tasks()
    launch = [sys.executable, "-I", str(LAUNCH), *limits.rlimits(already)]
    if not sandbox:
        return [*launch, "1", "0", str(lifeline), "--", *kernel]
    args = [bwrap() or "bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "grader"]
    if as_root:  # root is exempt from RLIMIT_NPROC: the kernel runs as ``user`` (dropped to by _launch.py)
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user"]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.tmp_mb * 2**20),
             "--tmpfs", "/tmp"]
    bound = read_only_paths()
    for name in ("bin", "lib", "lib64", "sbin"):  # merged-/usr systems: keep their links
        if os.path.islink(f"/{name}"):
            args += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
    writable = [str(home), *(str(path) for path in channels)]
    for parent in dict.fromkeys(str(a) for p in [*bound, *writable] for a in reversed(pathlib.Path(p).parents)):
        if parent not in ("/", "/tmp", "/proc", "/dev") and parent not in bound:
            args += ["--perms", "0755", "--dir", parent]  # bwrap makes the folders above a bind 0700
    for path in bound:
        args += ["--ro-bind-try", path, path]
    for path in writable:
        args += ["--bind", path, path]
    args += ["--chdir", str(home)]
    return [*args, "--", *launch, "1", str(user if as_root else 0), str(lifeline), "--", *kernel]
