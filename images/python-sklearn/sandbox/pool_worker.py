"""Warm-pool worker: imports the scientific stack once, then runs exactly one script.

The runner starts this in a single-use container (stdin open, stdout and stderr attached):

1. Imports numpy, scipy, pandas, scikit-learn and joblib, then prints READY on stdout.
2. Waits at most --idle-seconds for one request line on stdin, a JSON object
   {"script": "/work/x.py", "args": [...], "cwd": "/work", "timeoutSeconds": 305}.
   No request in time, or stdin closed (the runner is gone): exits 75 without running anything.
3. fork()s; the child prints STARTED on stdout, then runs the script as `python3 script args`
   would: __name__ == "__main__", sys.argv, __file__, sys.path[0], cwd, stdin /dev/null, exit
   codes (sys.exit(n); an uncaught exception prints its traceback and exits 1). The parent waits,
   kills the child's process group at timeoutSeconds, and exits with the child's exit status
   (128+N when the child was killed by signal N).

The child ends as the interpreter would (non-daemon threads joined, atexit handlers run, the
script's objects collected, stdout and stderr flushed) but skips tearing down the imported
libraries' modules, which takes longer than a small experiment (Python does not promise to
finalize objects still alive at exit anyway).

The worker runs as the container's enforcer user (root with only SETUID, SETGID and KILL, like a cold
container's init and timeout(1)); the child drops to --user (uid:gid, no groups, no
capabilities) before the script exists, so the script cannot signal, stop or ptrace the parent
that enforces its deadline.

The container is destroyed after that one run, so nothing is ever shared between runs.
Only worker code writes the two marker lines, each before any script code exists; a fork that
fails exits 71 without STARTED (the runner then runs the script elsewhere).
"""
import atexit
import ctypes
import gc
import json
import os
import select
import signal
import sys
import time
import warnings

READY = "experiment-sandbox: pool worker ready"
STARTED = "experiment-sandbox: pool worker started"
EXIT_IDLE = 75  # EX_TEMPFAIL: nothing ran
EXIT_BAD_REQUEST = 64  # EX_USAGE
MAX_REQUEST_BYTES = 1 << 20

PRELOAD = (
    "numpy",
    "scipy",
    "pandas",
    "joblib",
    "sklearn",
    "sklearn.base",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.naive_bayes",
    "sklearn.neighbors",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.svm",
    "sklearn.tree",
)


def preload() -> None:
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in PRELOAD:
            importlib.import_module(name)
    # What exists now lives as long as the process: keep it out of the child's collections.
    gc.collect()
    gc.freeze()


def read_request(idle_seconds: float) -> "dict | None":
    """One line from stdin within the idle deadline; None when it does not come."""
    deadline = time.monotonic() + idle_seconds
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        readable, _, _ = select.select([0], [], [], remaining)
        if not readable:
            continue
        # One byte at a time up to the newline: nothing beyond the request is read.
        chunk = os.read(0, 1)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError("request line too long")
    return json.loads(data.decode("utf-8"))


def check_request(request: object) -> "tuple[str, list, str, float]":
    if not isinstance(request, dict):
        raise ValueError("request is not a JSON object")
    script = request.get("script")
    args = request.get("args", [])
    cwd = request.get("cwd", os.path.dirname(str(script)))
    timeout = request.get("timeoutSeconds")
    if not isinstance(script, str) or not os.path.isabs(script):
        raise ValueError("script must be an absolute path")
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise ValueError("args must be a list of strings")
    if not isinstance(cwd, str):
        raise ValueError("cwd must be a string")
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError("timeoutSeconds must be a positive number")
    return script, args, cwd, float(timeout)


def excepthook_for(script: str):
    """Print tracebacks as `python3 script` would: from the script's first frame on."""

    def hook(kind, value, tb):
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next
        if isinstance(value, BaseException):
            value.__traceback__ = tb  # the default hook prints the exception's own traceback
        sys.__excepthook__(kind, value, tb)

    return hook


def drop_privileges(user: "tuple[int, int] | None") -> None:
    """Become the script's user for good: groups cleared, real, effective and saved ids set."""
    if user is None:
        return
    uid, gid = user
    if os.getuid() == 0:
        os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise RuntimeError("could not drop privileges")


def run_child(script: str, args: list, cwd: str, user: "tuple[int, int] | None") -> None:
    """In the forked child: become `python3 script args`, then exit with its exit code."""
    import runpy

    try:
        os.setpgid(0, 0)
        drop_privileges(user)
    except Exception as exc:
        print(f"pool worker: could not become the script's user: {exc}", file=sys.stderr, flush=True)
        os._exit(71)
    sys.stdout.write(STARTED + "\n")
    sys.stdout.flush()
    for number in (signal.SIGALRM, signal.SIGCHLD, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.chdir(cwd)
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(script)
    sys.excepthook = excepthook_for(script)
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        code = system_exit_code(exit_.code)
    except BaseException:
        kind, value, tb = sys.exc_info()
        try:
            sys.excepthook(kind, value, tb)
        except BaseException:
            sys.__excepthook__(kind, value, tb)
        del kind, value, tb
        code = 1
    finish(code)


def system_exit_code(code: object) -> int:
    """The exit code Python gives SystemExit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code if -(2**31) <= code < 2**31 else -1
    try:
        sys.stderr.write(f"{code}\n")
    except Exception:
        pass
    return 1


def finish(code: int) -> None:
    """End the child as Py_FinalizeEx begins: threads, atexit, the script's objects, flushes."""
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
        atexit._run_exitfuncs()
        gc.collect()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            if code == 0:
                code = 120  # what Python exits with when it cannot flush stdout
    try:
        ctypes.CDLL(None).fflush(None)  # C-level stdio of extensions, as exit() would
    except Exception:
        pass
    os._exit(code)


def wait_for(pid: int, timeout: float) -> int:
    """Waits for the child; kills its process group at the deadline. Returns a shell-style exit code."""

    def on_deadline(_signum, _frame):
        # Without CAP_KILL the enforcer may not signal the script's user: it ends itself, and with
        # it the container (its init exits, which kills every process left, as in a cold run).
        kill_group(pid)
        os._exit(128 + signal.SIGKILL)

    signal.signal(signal.SIGALRM, on_deadline)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    _, status = os.waitpid(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    kill_group(pid)  # leftovers of the script's own children (they also go with the container)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def parse_args(argv: list) -> "tuple[float, tuple[int, int] | None]":
    idle_seconds = 600.0
    user = None
    for flag, value in zip(argv[::2], argv[1::2]):
        if flag == "--idle-seconds":
            idle_seconds = float(value)
        elif flag == "--user":
            uid, _, gid = value.partition(":")
            user = (int(uid), int(gid or uid))
        else:
            raise SystemExit(f"pool worker: unknown argument {flag}")
    return idle_seconds, user


def main() -> None:
    idle_seconds, user = parse_args(sys.argv[1:])
    try:
        preload()
    except Exception as exc:  # the image is broken: say so, nothing can run here
        print(f"pool worker: could not import the scientific stack: {exc!r}", file=sys.stderr, flush=True)
        os._exit(70)
    sys.stdout.write(READY + "\n")
    sys.stdout.flush()
    try:
        request = read_request(idle_seconds)
        if request is None:
            os._exit(EXIT_IDLE)
        script, args, cwd, timeout = check_request(request)
    except Exception as exc:
        print(f"pool worker: bad request: {exc}", file=sys.stderr, flush=True)
        os._exit(EXIT_BAD_REQUEST)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError as exc:
        print(f"pool worker: could not fork: {exc}", file=sys.stderr, flush=True)
        os._exit(71)  # EX_OSERR
    if pid == 0:
        run_child(script, args, cwd, user)
        os._exit(1)  # not reached: run_child exits
    os._exit(wait_for(pid, timeout))


if __name__ == "__main__":
    main()
