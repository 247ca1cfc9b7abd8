// The Log tab: the tail of fail2ban's own log as the scheduler read it, each entry with its
// level in colour, filtered by level and text, as many lines as asked, refreshed every few
// seconds while the tab is visible (the query layer pauses polling in a hidden tab).
import { useState } from "react";
import { Badge, Card, Dropdown, Field, Input, makeStyles, Option, Switch, Text, Title2, tokens } from "@fluentui/react-components";
import { api, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { formatTime } from "../../time";
import { ConfigTabs } from "./ConfigPage";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  filters: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 180px), 1fr))", gap: "12px 16px", alignItems: "end" },
  list: { listStyle: "none", margin: 0, padding: 0, display: "flex", flexDirection: "column", gap: "2px" },
  entry: {
    display: "grid",
    gridTemplateColumns: "minmax(0, auto) minmax(0, auto) minmax(0, 1fr)",
    gap: "8px",
    alignItems: "baseline",
    padding: "2px 4px",
    borderBottom: `1px solid ${tokens.colorNeutralStroke3}`,
    "@media (max-width: 600px)": { gridTemplateColumns: "minmax(0, 1fr)" },
  },
  time: { fontFamily: "ui-monospace, monospace", fontSize: "12px", color: tokens.colorNeutralForeground3, whiteSpace: "nowrap" },
  message: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", wordBreak: "break-word", minWidth: 0 },
  logger: { color: tokens.colorNeutralForeground3 },
  level: { justifySelf: "start" },
});

type Level = NonNullable<Schemas["LogLevel"]>;
const LEVELS: { value: Level | ""; label: string }[] = [
  { value: "", label: "Every level" },
  { value: "info", label: "Info and above" },
  { value: "notice", label: "Notice and above" },
  { value: "warning", label: "Warnings and errors" },
  { value: "error", label: "Errors only" },
];
const COUNTS = ["100", "200", "500", "1000", "5000"];

function LevelBadge({ level }: { level: string | null | undefined }) {
  if (!level) return <Badge appearance="outline">—</Badge>;
  const color = level === "ERROR" || level === "CRITICAL" ? "danger" : level === "WARNING" ? "warning" : level === "NOTICE" ? "brand" : "informative";
  return <Badge color={color}>{level}</Badge>;
}

export default function LogPage() {
  const s = useStyles();
  const [level, setLevel] = useState<Level | "">("");
  const [q, setQ] = useState("");
  const [lines, setLines] = useState("200");
  const [live, setLive] = useState(true);
  const log = useApiQuery(
    ["config", "log", level, q, lines],
    () => unwrap(api.GET("/config/log", { params: { query: { lines: Number(lines), level: level || undefined, q: q.trim() || undefined } } })),
    { pollMs: live ? 5_000 : undefined },
  );
  return (
    <>
      <Title2 as="h1">Configuration</Title2>
      <ConfigTabs selected="log" />
      <Card className={s.card}>
        <div className={s.filters}>
          <Field label="Level">
            <Dropdown value={LEVELS.find((l) => l.value === level)?.label} selectedOptions={[level]} onOptionSelect={(_, d) => setLevel((d.optionValue ?? "") as Level | "")}>
              {LEVELS.map((l) => (
                <Option key={l.value} value={l.value}>
                  {l.label}
                </Option>
              ))}
            </Dropdown>
          </Field>
          <Field label="Search">
            <Input value={q} onChange={(_, d) => setQ(d.value)} placeholder="sshd or 203.0.113.7" maxLength={200} />
          </Field>
          <Field label="Lines">
            <Dropdown value={lines} selectedOptions={[lines]} onOptionSelect={(_, d) => setLines(d.optionValue ?? "200")}>
              {COUNTS.map((c) => (
                <Option key={c} value={c}>
                  {c}
                </Option>
              ))}
            </Dropdown>
          </Field>
          <Switch checked={live} onChange={(_, d) => setLive(d.checked)} label="Refresh every 5 s" />
        </div>
        <DataState label="fail2ban's log" {...log} onRetry={log.reload} empty={(l) => l.lines.length === 0} emptyText={log.data && !log.data.readable ? `fail2ban logs to ${log.data.target ?? "a target BanGUI has not learned yet"}, which BanGUI does not read: set logtarget to a file or SYSTEMD-JOURNAL to see it here.` : q || level ? "No entry matches." : "Nothing logged yet."}>
          {(l) => (
            <>
              <Text size={200}>
                {l.target} {l.read_at && <>· read {formatTime(l.read_at)}</>} · {l.lines.length} entr{l.lines.length === 1 ? "y" : "ies"}
              </Text>
              {l.error && <Text role="alert">{l.error}</Text>}
              <ul className={s.list} aria-label="fail2ban's log">
                {[...l.lines].reverse().map((e) => (
                  <li key={e.id} className={s.entry}>
                    <span className={s.time}>{e.time ? formatTime(e.time) : "—"}</span>
                    <span className={s.level}>
                      <LevelBadge level={e.level} />
                    </span>
                    <span className={s.message}>
                      {e.logger && <span className={s.logger}>{e.logger} </span>}
                      {e.message}
                    </span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </DataState>
      </Card>
    </>
  );
}
