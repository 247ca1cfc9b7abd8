# BanGUI's regex tester (scheduler/src/regex_test.rs): fail2ban-regex's own code, line by
# line. It parses fail2ban-regex's own options, loads the filter with fail2ban-regex's own
# readRegex and processes the log with its own process(), and records how each tested
# line ended (the counts are fail2ban-regex's own counters), as one JSON document.
#
#   regex_test.py PROGRAM -- [fail2ban-regex options...] LOG REGEX [IGNOREREGEX]
#
# or loaded by the warm process (fail2ban/warm_client.py): load(PROGRAM) once, then
# run(PROGRAM, args) per test. PROGRAM is the fail2ban-regex in use: a checkout's bin/
# folder puts its fail2ban first on the path, as the program itself would run. The JSON
# follows a marker line, after anything fail2ban printed on the way.
import json
import os
import sys


MARKER = "@@bangui-regex-test@@"


def load(program):
    program = os.path.realpath(program)
    source = os.path.dirname(os.path.dirname(program))
    if os.path.isfile(os.path.join(source, "fail2ban", "__init__.py")):
        sys.path.insert(0, source)
    from fail2ban.client import fail2banregex
    return fail2banregex


def run(program, args):
    f2r = load(program)

    # fail2ban-regex prints its report through this function; keep it for errors only.
    said = []
    f2r.output = lambda text: said.append(str(text))
    parser = f2r.get_opt_parser()
    opts, args = parser.parse_args(args)
    records = []

    class Recording(f2r.Fail2banRegex):
        def testRegex(self, line, date=None):
            stats = self._line_stats
            missed_before = stats.missed
            text, ret, ignored = f2r.Fail2banRegex.testRegex(self, line, date)
            # Multi-line filters: earlier lines fail2ban counted as missed become matched
            # when a later line completes the match; follow its counters.
            moved = missed_before - stats.missed
            for r in reversed(records):
                if moved <= 0:
                    break
                if r["status"] == "missed":
                    r["status"] = "matched"
                    moved -= 1
            if isinstance(line, tuple):
                line = "".join(line[0])
            line = line.rstrip("\r\n")
            if ignored:
                status = "ignored"
            elif ret:
                status = "matched"
            else:
                status = "missed"
            record = {"line": line, "status": status, "host": None, "time": None,
                      "regex": None, "user": None}
            if ret:
                first = ret[0]
                record["regex"] = first[0]
                record["host"] = None if first[1] is None else str(first[1])
                record["time"] = first[2]
                data = first[3] if len(first) > 3 and isinstance(first[3], dict) else {}
                user = data.get("user")
                record["user"] = None if user is None else str(user)
            records.append(record)
            return text, ret, ignored

    runner = Recording(opts)
    ok = runner.start(args)
    # What fail2ban-regex said before giving up (its report is not needed: the counts and
    # lines are taken from its counters).
    errors = [] if ok else [s for s in said if s.startswith(("ERROR", "Wrong", "Error"))]
    stats = runner._line_stats
    sys.stdout.write("\n" + MARKER + "\n")
    sys.stdout.write(json.dumps({
        "ok": bool(ok),
        "errors": errors,
        "matched": stats.matched,
        "ignored": stats.ignored,
        "missed": stats.missed,
        "lines": records,
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[sys.argv.index("--") + 1:])
