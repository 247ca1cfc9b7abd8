# BanGUI's warm fail2ban-client (scheduler/src/fail2ban/control.rs).
#
# Runs the real fail2ban-client, its own code unchanged, without paying for a Python
# interpreter and fail2ban's imports on every call: this process loads the program once
# (its imports included), then forks once per request; the child runs the program's own
# exec_command_line(argv) with its output on a pipe, exactly as the program would on the
# command line, and exits. The parent never runs fail2ban code itself, so nothing one
# call sets up (logging, globals) leaks into the next.
#
# argv[1]: the program (a Python script); argv[2], optional: a driver's source, whose
# load(program) runs once here and whose run(program, args) runs in each child instead of
# the program's exec_command_line (the regex tester's). Protocol on stdin/stdout, one
# JSON document per line: first {"ready": true} (or {"ready": false, "why": ...} and exit
# when the program is not one this can run), then for each request {"argv": [...],
# "timeout": seconds} an answer {"code": N, "output": "..."} (N negative: the signal that
# ended the call, -14 its timeout).
import json
import os
import runpy
import signal
import sys


def say(doc):
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def load(program, driver=None):
    if driver is not None:
        space = {"__name__": "bangui_driver"}
        exec(compile(driver, "bangui-driver", "exec"), space)
        space["load"](program)
        return lambda argv: space["run"](program, argv[1:])
    space = runpy.run_path(program, run_name="bangui_warm_client")
    run = space.get("exec_command_line")
    if not callable(run):
        raise RuntimeError("%s has no exec_command_line" % program)
    # What a call imports lazily, loaded here once (missing ones in older versions are
    # simply imported by the child).
    for name in ("fail2ban.client.configurator", "fail2ban.client.csocket",
                 "fail2ban.client.beautifier", "fail2ban.client.jailsreader",
                 "fail2ban.client.fail2banreader"):
        try:
            __import__(name)
        except Exception:
            pass
    return run


def call(run, argv, timeout):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 255
        try:
            os.close(read_end)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            sys.argv = list(argv)
            # The caller's timeout, enforced here too: a stuck call ends on its own.
            signal.alarm(max(1, int(timeout)))
            try:
                run(list(argv))
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException as e:
                sys.stderr.write("ERROR %s\n" % e)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as out:
        while True:
            chunk = out.read(65536)
            if not chunk:
                break
            # Only the start is kept by the caller; the rest is read so the child never
            # blocks on a full pipe.
            if sum(len(c) for c in chunks) < 32 << 20:
                chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    return {"code": code, "output": b"".join(chunks).decode("utf-8", "replace")}


def main():
    try:
        run = load(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    except BaseException as e:
        say({"ready": False, "why": "%s: %s" % (type(e).__name__, e)})
        return
    say({"ready": True})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        say(call(run, request["argv"], request.get("timeout", 60)))


main()
