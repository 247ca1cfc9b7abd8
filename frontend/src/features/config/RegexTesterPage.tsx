// The Regex tester tab: failregex/ignoreregex lines (or a filter of the configuration, one
// click from a jail) tested on pasted lines or the tail of a log, by fail2ban-regex's own
// code in the scheduler. Each tested line shows how it ended, with the captured host
// highlighted; the counts are fail2ban-regex's own.
import { useMemo, useState, type FormEvent, type ReactNode } from "react";
import { useSearchParams } from "react-router-dom";
import {
  Badge,
  Button,
  Card,
  Dropdown,
  Field,
  Input,
  makeStyles,
  Option,
  Radio,
  RadioGroup,
  Text,
  Textarea,
  ToggleButton,
  Title2,
  tokens,
} from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataTable } from "../../components/DataTable";
import { fieldMessage } from "../../components/fieldError";
import { useSession } from "../../session";
import { formatTime } from "../../time";
import { ConfigTabs } from "./ConfigPage";
import { RequestId } from "../../components/RequestId";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  grid: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 320px), 1fr))", gap: "12px 16px", alignItems: "start" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", wordBreak: "break-all" },
  actions: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center" },
  mark: { backgroundColor: tokens.colorPaletteYellowBackground2, color: tokens.colorNeutralForeground1, borderRadius: "2px" },
  counts: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center" },
});

type CommandView = Schemas["CommandView"];

interface LineResult {
  line: string;
  matched: boolean;
  ignored: boolean;
  host: string | null;
  time: string | null;
  regex: number | null;
  user: string | null;
}

interface TestResult {
  matched: number;
  ignored: number;
  missed: number;
  tested: number;
  filter: string | null;
  lines: LineResult[];
}

type Shown = "all" | "matched" | "ignored" | "missed";
const PAGE = 200;

function stateOf(l: LineResult): Exclude<Shown, "all"> {
  return l.ignored ? "ignored" : l.matched ? "matched" : "missed";
}

/** The line with every occurrence of the captured host marked. */
function Highlighted({ line, host, mark }: { line: string; host: string | null; mark: string }) {
  if (!host) return <>{line}</>;
  const parts: ReactNode[] = [];
  let at = 0;
  for (let i = line.indexOf(host); i >= 0; i = line.indexOf(host, at)) {
    parts.push(line.slice(at, i), <mark key={i} className={mark}>{host}</mark>);
    at = i + host.length;
  }
  parts.push(line.slice(at));
  return <>{parts}</>;
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "");
}

export default function RegexTesterPage() {
  const s = useStyles();
  const { can } = useSession();
  const operator = can("operator");
  const jails = useApiQuery(["config", "jails", "", "all"], () => unwrap(api.GET("/config/jails")), { pollMs: 60_000 });
  // `?filter=sshd` (from a filter's page) opens the tester on that filter.
  const [params] = useSearchParams();
  const [mode, setMode] = useState<"regex" | "filter">(params.get("filter") ? "filter" : "regex");
  const [filter, setFilter] = useState(params.get("filter") ?? "");
  const [failregex, setFailregex] = useState("");
  const [ignoreregex, setIgnoreregex] = useState("");
  const [datepattern, setDatepattern] = useState("");
  const [source, setSource] = useState<"lines" | "log">("lines");
  const [pasted, setPasted] = useState("");
  const [logPath, setLogPath] = useState("");
  const [maxLines, setMaxLines] = useState("1000");
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [failed, setFailed] = useState<CommandView>();
  const [result, setResult] = useState<TestResult>();
  const [shown, setShown] = useState<Shown>("all");
  const [limit, setLimit] = useState(PAGE);

  /** One click: the jail's filter, and its log when it names one file. */
  const loadJail = async (name: string) => {
    setMode("filter");
    const summary = jails.data?.items.find((j) => j.name === name);
    setFilter(summary?.filter ?? "");
    try {
      const jail = await unwrap(api.GET("/config/jails/{name}", { params: { path: { name } } }));
      const first = (jail.settings.logpath?.value ?? "").split("\n").map((l) => l.trim().split(/\s+/)[0]).find(Boolean);
      if (first) {
        setLogPath(first);
        setSource("log");
      }
    } catch {
      // The filter alone is still useful.
    }
  };

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy("Testing…");
    setError(undefined);
    setFailed(undefined);
    const body: Schemas["RegexTestRequest"] = {
      ...(mode === "filter" ? { filter: filter.trim() } : { failregex: lines(failregex), ignoreregex: lines(ignoreregex) }),
      datepattern: datepattern.trim() || undefined,
      ...(source === "lines" ? { lines: [pasted] } : { log: { path: logPath.trim(), max_lines: Number(maxLines) || 1000 } }),
    };
    try {
      let cmd = await unwrap(api.POST("/config/regex-test", { params: { query: { wait: "10s" } }, body }));
      while (cmd.status !== "succeeded" && cmd.status !== "failed") {
        setBusy(cmd.status === "running" ? "Running…" : "Queued…");
        await new Promise((r) => setTimeout(r, 500));
        cmd = await unwrap(api.GET("/commands/{id}", { params: { path: { id: cmd.id } } }));
      }
      if (cmd.status === "succeeded") {
        setResult(cmd.result as TestResult);
        setShown("all");
        setLimit(PAGE);
      } else {
        setFailed(cmd);
      }
    } catch (err) {
      setError(asApiError(err));
    }
    setBusy(undefined);
  };

  const rows = useMemo(() => (result?.lines ?? []).map((l, i) => ({ ...l, n: i + 1 })).filter((l) => shown === "all" || stateOf(l) === shown), [result, shown]);
  const field = (name: string) => ({ validationMessage: fieldMessage(error, name), validationState: error?.field === name ? ("error" as const) : ("none" as const) });
  const other = error && !["filter", "failregex", "ignoreregex", "datepattern", "lines", "log.path", "log.max_lines"].includes(error.field ?? "") ? error.message : undefined;

  return (
    <>
      <Title2 as="h1">Configuration</Title2>
      <ConfigTabs selected="regex" />
      {!operator && (
        <Card className={s.card}>
          <Text>Testing regexes runs fail2ban&apos;s code in the scheduler: it is for operators and admins.</Text>
        </Card>
      )}
      {operator && (
        <Card className={s.card}>
          <form onSubmit={run} aria-label="Test regexes" className={s.card} style={{ padding: 0 }}>
            <div className={s.grid}>
              <div className={s.card} style={{ padding: 0 }}>
                <RadioGroup layout="horizontal" value={mode} onChange={(_, d) => setMode(d.value as "regex" | "filter")} aria-label="What to test">
                  <Radio value="regex" label="Regexes" />
                  <Radio value="filter" label="A filter" />
                </RadioGroup>
                <Field label="Use a jail's filter and log">
                  <Dropdown placeholder="Pick a jail" onOptionSelect={(_, d) => d.optionValue && void loadJail(d.optionValue)}>
                    {(jails.data?.items ?? []).filter((j) => j.filter).map((j) => (
                      <Option key={j.name} value={j.name} text={j.name}>
                        {j.name} ({j.filter})
                      </Option>
                    ))}
                  </Dropdown>
                </Field>
                {mode === "filter" ? (
                  <Field label="Filter" hint="As a jail names it: sshd or sshd[mode=aggressive]" required {...field("filter")}>
                    <Input value={filter} onChange={(_, d) => setFilter(d.value)} placeholder="sshd" />
                  </Field>
                ) : (
                  <>
                    <Field label="failregex" hint="One per line, as in a filter file: <HOST>, <F-USER>…</F-USER>, %(__prefix_line)s; a literal % as %%" required {...field("failregex")}>
                      <Textarea textarea={{ className: s.code }} value={failregex} onChange={(_, d) => setFailregex(d.value)} rows={4} placeholder="^%(__prefix_line)sFailed password for .* from <HOST>" />
                    </Field>
                    <Field label="ignoreregex" hint="One per line; optional" {...field("ignoreregex")}>
                      <Textarea textarea={{ className: s.code }} value={ignoreregex} onChange={(_, d) => setIgnoreregex(d.value)} rows={2} />
                    </Field>
                  </>
                )}
                <Field label="datepattern" hint="Optional; fail2ban detects dates by itself" {...field("datepattern")}>
                  <Input className={s.code} value={datepattern} onChange={(_, d) => setDatepattern(d.value)} placeholder="{^LN-BEG}%%Y-%%m-%%d %%H:%%M:%%S" />
                </Field>
              </div>
              <div className={s.card} style={{ padding: 0 }}>
                <RadioGroup layout="horizontal" value={source} onChange={(_, d) => setSource(d.value as "lines" | "log")} aria-label="Lines to test">
                  <Radio value="lines" label="Pasted lines" />
                  <Radio value="log" label="A log's last lines" />
                </RadioGroup>
                {source === "lines" ? (
                  <Field label="Lines" hint="At most 10 000 lines and 1 MiB" required {...field("lines")}>
                    <Textarea textarea={{ className: s.code }} value={pasted} onChange={(_, d) => setPasted(d.value)} rows={8} placeholder="Dec  3 10:00:01 host sshd[123]: Failed password for root from 203.0.113.7 port 22 ssh2" />
                  </Field>
                ) : (
                  <>
                    <Field label="Log file" hint="A jail's logpath, or a file under BANGUI_LOG_ALLOW_DIRS" required {...field("log.path")}>
                      <Input className={s.code} value={logPath} onChange={(_, d) => setLogPath(d.value)} placeholder="/var/log/auth.log" />
                    </Field>
                    <Field label="Last lines" {...field("log.max_lines")}>
                      <Input type="number" min={1} max={10000} value={maxLines} onChange={(_, d) => setMaxLines(d.value)} />
                    </Field>
                  </>
                )}
              </div>
            </div>
            <div className={s.actions}>
              <Button type="submit" appearance="primary" disabled={Boolean(busy)}>
                Test
              </Button>
              {busy && <Text aria-live="polite">{busy}</Text>}
              {other && <Text role="alert">{other}</Text>}
              {error?.requestId && <RequestId id={error.requestId} />}
            </div>
          </form>
        </Card>
      )}
      {failed && (
        <Card className={s.card} role="alert">
          <Text weight="semibold">The test failed ({failed.error_code})</Text>
          <pre className={s.code} style={{ margin: 0 }}>{failed.error}</pre>
          {failed.request_id && <RequestId id={failed.request_id} />}
        </Card>
      )}
      {result && (
        <Card className={s.card}>
          <div className={s.counts} role="group" aria-label="Show">
            {(
              [
                ["all", `All ${result.tested}`],
                ["matched", `Matched ${result.matched}`],
                ["ignored", `Ignored ${result.ignored}`],
                ["missed", `Missed ${result.missed}`],
              ] as const
            ).map(([v, label]) => (
              <ToggleButton key={v} checked={shown === v} onClick={() => { setShown(v); setLimit(PAGE); }}>
                {label}
              </ToggleButton>
            ))}
          </div>
          <DataTable
            label="Tested lines"
            rows={rows.slice(0, limit)}
            rowKey={(l) => l.n}
            columns={[
              { key: "n", header: "#", cell: (l) => l.n },
              {
                key: "state",
                header: "Result",
                primary: true,
                cell: (l) => {
                  const st = stateOf(l);
                  return <Badge color={st === "matched" ? "danger" : st === "ignored" ? "warning" : "informative"}>{st}</Badge>;
                },
              },
              { key: "line", header: "Line", primary: true, cell: (l) => <span className={s.code}><Highlighted line={l.line} host={l.host} mark={s.mark} /></span> },
              { key: "host", header: "Host", cell: (l) => l.host ?? "—" },
              { key: "user", header: "User", cell: (l) => l.user ?? "—" },
              { key: "time", header: "Time", cell: (l) => (l.time ? formatTime(l.time) : "—") },
            ]}
          />
          {rows.length > limit && (
            <Button onClick={() => setLimit(limit + PAGE)}>
              Show {Math.min(PAGE, rows.length - limit)} more of {rows.length - limit}
            </Button>
          )}
        </Card>
      )}
    </>
  );
}
