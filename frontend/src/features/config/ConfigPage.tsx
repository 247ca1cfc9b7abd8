// The Configuration page: fail2ban's configuration as the scheduler last read it. Its
// tabs live in the URL (/config/jails, …); the Jails tab lists every jail the
// configuration describes, enabled or not, with search and an enabled filter (both in
// the URL), where each is enabled, and whether BanGUI may write (read-only otherwise).
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { Badge, Card, Field, Input, makeStyles, MessageBar, MessageBarBody, MessageBarTitle, Tab, TabList, Text, Title2, ToggleButton } from "@fluentui/react-components";
import { api, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { formatTime } from "../../time";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  filters: { display: "flex", flexWrap: "wrap", gap: "8px 16px", alignItems: "end" },
  toggles: { display: "flex", gap: "4px", flexWrap: "wrap" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px" },
});

type Summary = Schemas["ConfigJailSummary"];

/** Where the configuration comes from, and why BanGUI will not change it when it cannot. */
export function SourceNotes({ source }: { source: Schemas["ConfigSource"] }) {
  return (
    <>
      {!source.writable && (
        <MessageBar intent="warning" layout="multiline">
          <MessageBarBody>
            <MessageBarTitle>Read-only</MessageBarTitle>
            The scheduler cannot write {source.root}/jail.d, so BanGUI shows the configuration but does not change it. Give bangui-scheduler write access to that folder to edit jails here.
          </MessageBarBody>
        </MessageBar>
      )}
      {source.error && (
        <MessageBar intent="error" layout="multiline">
          <MessageBarBody>
            <MessageBarTitle>The configuration could not be read</MessageBarTitle>
            <span style={{ whiteSpace: "pre-wrap" }}>{source.error}</span> — shown as it was at the last good read.
          </MessageBarBody>
        </MessageBar>
      )}
    </>
  );
}

/** The Configuration page's sections, each its own URL. */
export function ConfigTabs({ selected }: { selected: "jails" | "filters" | "actions" | "allowlist" | "regex" | "server" | "log" }) {
  const navigate = useNavigate();
  return (
    <TabList selectedValue={selected} onTabSelect={(_, d) => navigate(`/config/${String(d.value)}`)} aria-label="Configuration sections" style={{ flexWrap: "wrap" }}>
      <Tab value="jails">Jails</Tab>
      <Tab value="filters">Filters</Tab>
      <Tab value="actions">Actions</Tab>
      <Tab value="allowlist">Allowlist</Tab>
      <Tab value="regex">Regex tester</Tab>
      <Tab value="server">Server</Tab>
      <Tab value="log">Log</Tab>
    </TabList>
  );
}

export function EnabledBadges({ jail }: { jail: Pick<Summary, "enabled" | "running"> }) {
  return (
    <span style={{ display: "inline-flex", gap: 4 }}>
      {jail.enabled ? <Badge color="brand">enabled</Badge> : <Badge appearance="outline">disabled</Badge>}
      {jail.running ? <Badge color="success">running</Badge> : jail.enabled ? <Badge color="danger">not running</Badge> : null}
    </span>
  );
}

function shortFile(path: string | null | undefined, root: string): string {
  if (!path) return "default";
  return path.startsWith(root + "/") ? path.slice(root.length + 1) : path;
}

export default function ConfigPage() {
  const s = useStyles();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const shown = params.get("enabled") ?? "all";
  const enabled = shown === "enabled" ? true : shown === "disabled" ? false : undefined;
  const jails = useApiQuery(["config", "jails", q, shown], () => unwrap(api.GET("/config/jails", { params: { query: { q: q || undefined, enabled } } })), { pollMs: 10_000 });
  const setParam = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  return (
    <>
      <Title2 as="h1">Configuration</Title2>
      <ConfigTabs selected="jails" />
      <Card className={s.card}>
        <div className={s.filters}>
          <Field label="Search jails">
            <Input value={q} onChange={(_, d) => setParam("q", d.value)} placeholder="nginx" />
          </Field>
          <div className={s.toggles} role="group" aria-label="Show">
            {(["all", "enabled", "disabled"] as const).map((v) => (
              <ToggleButton key={v} checked={shown === v} onClick={() => setParam("enabled", v === "all" ? "" : v)}>
                {v === "all" ? "All" : v === "enabled" ? "Enabled" : "Disabled"}
              </ToggleButton>
            ))}
          </div>
        </div>
        <DataState label="the configuration" {...jails} onRetry={jails.reload} empty={(j) => j.items.length === 0} emptyText={q ? "No jail matches." : "No jail is configured."}>
          {(list) => (
            <>
              <SourceNotes source={list.source} />
              <Text size={200}>
                {list.items.length.toLocaleString()} jail{list.items.length === 1 ? "" : "s"} in {list.source.root}, read {formatTime(list.source.read_at)}
              </Text>
              <DataTable
                label="Configured jails"
                rows={list.items}
                rowKey={(j) => j.name}
                columns={[
                  { key: "name", header: "Jail", primary: true, cell: (j) => <Link to={`/config/jails/${encodeURIComponent(j.name)}`}>{j.name}</Link> },
                  { key: "state", header: "State", primary: true, cell: (j) => <EnabledBadges jail={j} /> },
                  { key: "filter", header: "Filter", truncate: "16em", text: (j) => j.filter ?? "", cell: (j) => <span className={s.code}>{j.filter || "—"}</span> },
                  { key: "maxretry", header: "Max retry", numeric: true, cell: (j) => j.maxretry ?? "—" },
                  { key: "findtime", header: "Find time", cell: (j) => j.findtime ?? "—" },
                  { key: "bantime", header: "Ban time", cell: (j) => j.bantime ?? "—" },
                  { key: "file", header: "Enabled in", truncate: "18em", text: (j) => shortFile(j.file, list.source.root), cell: (j) => <span className={s.code}>{shortFile(j.file, list.source.root)}</span> },
                  {
                    key: "notes",
                    header: "Notes",
                    cell: (j) =>
                      j.has_local || j.problems.length > 0 ? (
                        <span style={{ display: "inline-flex", gap: 4 }}>
                          {j.has_local && <Badge appearance="tint">override</Badge>}
                          {j.problems.length > 0 && (
                            <Badge color="warning" title={j.problems.join("\n")}>
                              {j.problems.length} problem{j.problems.length === 1 ? "" : "s"}
                            </Badge>
                          )}
                        </span>
                      ) : (
                        "—"
                      ),
                  },
                ]}
              />
            </>
          )}
        </DataState>
      </Card>
    </>
  );
}
