// The instance at a glance: the scheduler's leader and standbys (holder, token, renewal,
// expiry), each job's runs in the last hour, the fail2ban connection, the schema, the
// versions of both binaries, and what browsers reported going wrong, grouped by message.
import { Badge, Card, Subtitle2, Text } from "@fluentui/react-components";
import { api, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { RequestId } from "../../components/RequestId";
import { ago, formatTime } from "../../time";
import { AdminPage, useAdminStyles } from "./common";

type System = Schemas["SystemView"];

function Facts({ items }: { items: [string, React.ReactNode][] }) {
  return (
    <dl style={{ display: "grid", gridTemplateColumns: "max-content minmax(0, 1fr)", gap: "4px 16px", margin: 0 }}>
      {items.map(([k, v]) => (
        <div key={k} style={{ display: "contents" }}>
          <dt style={{ opacity: 0.8 }}>{k}</dt>
          <dd style={{ margin: 0, overflowWrap: "anywhere" }}>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Overview({ sys }: { sys: System }) {
  const s = useAdminStyles();
  const f = sys.fail2ban;
  const versions = Array.from(new Set(sys.schedulers.map((p) => p.version)));
  return (
    <Card className={s.card}>
      <Subtitle2 as="h2">Overview</Subtitle2>
      <Facts
        items={[
          ["fail2ban", f.reachable ? <Badge color="success">reachable · v{f.version}</Badge> : <Badge color="danger">unreachable</Badge>],
          ["Socket", <span className={s.code}>{f.socket ?? "—"}</span>],
          ["Last answer", f.last_ok_at ? `${formatTime(f.last_ok_at)} (${ago(f.last_ok_at)})` : "never"],
          ...(f.error ? ([["Error", f.error]] as [string, React.ReactNode][]) : []),
          ["Leader", sys.has_leader ? <Badge color="success">yes · token {sys.last_token}</Badge> : <Badge color="danger">no scheduler leads</Badge>],
          ["bangui-api", sys.api_version],
          ["bangui-scheduler", versions.length ? versions.join(", ") : "not running"],
          [
            "Schema",
            <>
              <span className={s.code}>{sys.schema.version ?? "none"}</span> ({sys.schema.applied} migrations)
              {sys.schema.pending.length > 0 && <Badge color="warning"> {sys.schema.pending.length} pending</Badge>}
              {sys.schema.unknown.length > 0 && <Badge color="warning"> migrated by a newer build</Badge>}
            </>,
          ],
        ]}
      />
    </Card>
  );
}

export default function SystemPage() {
  const s = useAdminStyles();
  const sys = useApiQuery(["system"], () => unwrap(api.GET("/system")), { pollMs: 5_000 });
  return (
    <AdminPage tab="system">
      <DataState label="the system's state" {...sys} onRetry={sys.reload}>
        {(d) => (
          <>
            <Overview sys={d} />
            <Card className={s.card}>
              <Subtitle2 as="h2">Schedulers</Subtitle2>
              {d.schedulers.length === 0 ? (
                <Text>No scheduler process has been seen in the last minute: is bangui-scheduler running?</Text>
              ) : (
                <DataTable
                  label="Scheduler processes"
                  rows={d.schedulers}
                  rowKey={(p) => p.holder}
                  columns={[
                    { key: "holder", header: "Process", primary: true, truncate: "22em", text: (p) => p.holder, cell: (p) => <span className={s.code}>{p.holder}</span> },
                    { key: "role", header: "Role", primary: true, cell: (p) => <Badge color={p.role === "leader" ? "brand" : "informative"}>{p.role}</Badge> },
                    { key: "token", header: "Token", numeric: true, cell: (p) => p.token ?? "—" },
                    { key: "renewed", header: "Renewed", cell: (p) => (p.renewed_at ? ago(p.renewed_at) : "—") },
                    { key: "expires", header: "Lease expires", cell: (p) => (p.expires_at ? formatTime(p.expires_at) : "—") },
                    { key: "version", header: "Version", cell: (p) => p.version },
                    { key: "started", header: "Started", cell: (p) => formatTime(p.started_at) },
                    { key: "seen", header: "Seen", cell: (p) => ago(p.seen_at) },
                  ]}
                />
              )}
            </Card>
            <Card className={s.card}>
              <Subtitle2 as="h2">Jobs in the last hour</Subtitle2>
              <DataTable
                label="Job runs"
                rows={d.jobs}
                rowKey={(j) => j.job}
                columns={[
                  { key: "job", header: "Job", primary: true, cell: (j) => <span className={s.code}>{j.job}</span> },
                  { key: "state", header: "Last run", primary: true, cell: (j) => (j.last_ok ? <Badge color="success">ok</Badge> : <Badge color="danger">failed</Badge>) },
                  { key: "runs", header: "Runs", numeric: true, cell: (j) => j.runs },
                  { key: "failures", header: "Failures", numeric: true, cell: (j) => j.failures },
                  { key: "last", header: "Last", cell: (j) => `${ago(j.last_started_at)} · ${j.last_duration_ms} ms` },
                  { key: "avg", header: "Average", numeric: true, cell: (j) => `${Math.round(j.avg_ms)} ms` },
                  { key: "max", header: "Longest", numeric: true, cell: (j) => `${j.max_ms} ms` },
                  { key: "error", header: "Last error", truncate: "22em", text: (j) => j.last_error ?? "", cell: (j) => (j.last_error ? `${j.last_error} (${ago(j.last_error_at)})` : "—") },
                ]}
              />
            </Card>
            <Card className={s.card}>
              <Subtitle2 as="h2">Browser errors this week</Subtitle2>
              {d.client_errors.length === 0 ? (
                <Text>No browser reported an error.</Text>
              ) : (
                <DataTable
                  label="Browser errors"
                  rows={d.client_errors}
                  rowKey={(g) => `${g.kind}:${g.message}`}
                  columns={[
                    { key: "message", header: "Message", primary: true, truncate: "28em", text: (g) => g.message, cell: (g) => g.message },
                    { key: "kind", header: "Kind", cell: (g) => <Badge appearance="outline">{g.kind}</Badge> },
                    { key: "count", header: "Times", numeric: true, cell: (g) => g.count },
                    { key: "users", header: "Users", numeric: true, cell: (g) => g.users },
                    { key: "last", header: "Last", cell: (g) => ago(g.last_at) },
                    { key: "page", header: "Page", truncate: "12em", text: (g) => g.last_url, cell: (g) => g.last_url },
                    { key: "request", header: "Request", cell: (g) => (g.last_request_id ? <RequestId id={g.last_request_id} /> : "—") },
                  ]}
                />
              )}
            </Card>
          </>
        )}
      </DataState>
    </AdminPage>
  );
}
