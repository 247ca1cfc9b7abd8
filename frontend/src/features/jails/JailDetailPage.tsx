import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { Button, Card, CardHeader, Field, Input, makeStyles, Switch, Text, Title2, Title3 } from "@fluentui/react-components";
import { api, unwrap } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState, Pager } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { fieldMessage } from "../../components/fieldError";
import { useSession } from "../../session";
import { formatDuration, formatTime } from "../../time";
import { IpLink } from "../bans/BanTable";
import { useCommand } from "../commands/useCommand";
import { useCommandForm } from "../commands/useCommandForm";
import { StopDialog, useJailActions } from "./actions";
import { JailState } from "./JailsPage";
import { RequestId } from "../../components/RequestId";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  grid: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 320px), 1fr))", gap: "16px" },
  counters: { display: "flex", gap: "8px 24px", flexWrap: "wrap", alignItems: "center" },
  actions: { display: "flex", gap: "8px", flexWrap: "wrap", marginTop: "12px" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", wordBreak: "break-all" },
  ignoreRow: { display: "flex", gap: "8px", alignItems: "center", flexWrap: "wrap" },
  addForm: { display: "flex", gap: "8px", alignItems: "start", flexWrap: "wrap" },
});

const ESCALATION = ["bantime.increment", "bantime.factor", "bantime.formula", "bantime.multipliers", "bantime.maxtime", "bantime.rndtime", "bantime.overalljails"];

function list(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "string" && v) return v.split("\n").filter(Boolean);
  return [];
}

export default function JailDetail() {
  const s = useStyles();
  const { name = "" } = useParams();
  const { can } = useSession();
  const operator = can("operator");
  const run = useCommand();
  const actions = useJailActions();
  const [params, setParams] = useSearchParams();
  const page = Number(params.get("page") ?? "1") || 1;
  const q = params.get("q") ?? "";
  const jail = useApiQuery(["jails", name], () => unwrap(api.GET("/jails/{name}", { params: { path: { name } } })), { pollMs: 10_000 });
  const bans = useApiQuery(["jails", name, "bans", page, q], () => unwrap(api.GET("/jails/{name}/bans", { params: { path: { name }, query: { page, page_size: 50, q: q || undefined } } })), {
    pollMs: 10_000,
  });
  const ignore = useApiQuery(["jails", name, "ignore"], () => unwrap(api.GET("/jails/{name}/ignore", { params: { path: { name } } })), { pollMs: 10_000 });
  const { text: newIgnore, setText: setNewIgnore, error: ignoreError, input: ignoreInput, submit: sendIgnore } = useCommandForm();
  const [stopping, setStopping] = useState(false);
  const setParam = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== "page") next.delete("page");
    setParams(next, { replace: true });
  };
  const settings = (jail.data?.settings ?? {}) as Record<string, unknown>;
  const addIgnore = async () => {
    const ip = newIgnore.trim();
    await sendIgnore({ label: `Ignore ${ip} in ${name}`, send: (wait) => api.POST("/jails/{name}/ignore", { params: { path: { name }, query: { wait } }, body: { ip } }) });
  };
  const ignoreMessage = fieldMessage(ignoreError, "ip") ?? ignoreError?.message;
  return (
    <>
      <Title2 as="h1">Jail {name}</Title2>
      <DataState label="the jail" {...jail} onRetry={jail.reload}>
        {(j) => (
          <Card className={s.card}>
            <div className={s.counters}>
              <JailState jail={j} />
              <Text>
                <strong>{j.currently_banned.toLocaleString()}</strong> banned now
              </Text>
              <Text>{j.total_banned.toLocaleString()} banned in total</Text>
              <Text>{j.currently_failed.toLocaleString()} failing now</Text>
              <Text>{j.total_failed.toLocaleString()} failures in total</Text>
              <Text>ban time {formatDuration(j.bantime)}</Text>
              <Text>find time {formatDuration(j.findtime)}</Text>
              <Text>max retry {j.maxretry ?? "—"}</Text>
            </div>
            {operator && (
              <div className={s.actions}>
                {j.running ? (
                  <Button onClick={() => setStopping(true)}>Stop…</Button>
                ) : (
                  <Button appearance="primary" onClick={() => void actions.start(name)}>
                    Start
                  </Button>
                )}
                <Button onClick={() => void actions.reload(name)}>Reload</Button>
                {j.running && <Button onClick={() => void actions.idle(name, !j.idle)}>{j.idle ? "Idle off" : "Idle on"}</Button>}
              </div>
            )}
            <StopDialog jail={stopping ? j : undefined} onClose={() => setStopping(false)} />
          </Card>
        )}
      </DataState>
      <Card className={s.card}>
        <CardHeader header={<Title3 as="h2">Banned IPs</Title3>} />
        <Field label="Search IPs (start of the address)">
          <Input value={q} onChange={(_, d) => setParam("q", d.value)} placeholder="203.0.113." />
        </Field>
        <DataState label="bans" {...bans} onRetry={bans.reload} empty={(b) => b.items.length === 0} emptyText={q ? "No banned IP starts with that." : "No IP is banned in this jail."}>
          {(b) => (
            <>
              <DataTable
                label={`Bans in ${name}`}
                rows={b.items}
                rowKey={(x) => x.ip}
                columns={[
                  { key: "ip", header: "IP", primary: true, cell: (x) => <IpLink ip={x.ip} /> },
                  ...(operator
                    ? [
                        {
                          key: "action",
                          header: "Action",
                          primary: true,
                          cell: (x: (typeof b.items)[number]) => (
                            <Button
                              size="small"
                              onClick={() => void run({ label: `Unban ${x.ip} from ${name}`, send: (wait) => api.POST("/bans/unban", { body: { ips: [x.ip], jail: name }, params: { query: { wait } } }) })}
                            >
                              Unban
                            </Button>
                          ),
                        },
                      ]
                    : []),
                  { key: "at", header: "Banned at", cell: (x) => formatTime(x.banned_at) },
                  { key: "expires", header: "Expires", cell: (x) => (x.expires_at ? formatTime(x.expires_at) : "never") },
                  { key: "bancount", header: "Ban count", numeric: true, cell: (x) => x.bancount },
                  { key: "failures", header: "Failures", numeric: true, cell: (x) => x.failures ?? "—" },
                ]}
              />
              <Pager page={b.page} pageSize={b.page_size} total={b.total} onPage={(p) => setParam("page", String(p))} />
            </>
          )}
        </DataState>
      </Card>
      <div className={s.grid}>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Ignore list</Title3>} />
          <DataState label="the ignore list" {...ignore} onRetry={ignore.reload}>
            {(ig) => (
              <>
                <Switch
                  label="Ignore this host's own addresses (ignoreself)"
                  checked={ig.ignoreself}
                  disabled={!operator}
                  onChange={(_, d) =>
                    void run({ label: `ignoreself ${d.checked ? "on" : "off"} in ${name}`, send: (wait) => api.PUT("/jails/{name}/ignoreself", { params: { path: { name }, query: { wait } }, body: { on: d.checked } }) })
                  }
                />
                {ig.ignoreip.length === 0 && <Text>Nothing is ignored.</Text>}
                <ul aria-label="Ignored addresses" style={{ listStyle: "none", padding: 0, margin: 0 }}>
                  {ig.ignoreip.map((ip) => (
                    <li key={ip} className={s.ignoreRow}>
                      <Text className={s.code}>{ip}</Text>
                      {operator && (
                        <Button
                          size="small"
                          appearance="subtle"
                          aria-label={`Stop ignoring ${ip}`}
                          onClick={() => void run({ label: `Stop ignoring ${ip} in ${name}`, send: (wait) => api.DELETE("/jails/{name}/ignore", { params: { path: { name }, query: { ip, wait } } }) })}
                        >
                          Remove
                        </Button>
                      )}
                    </li>
                  ))}
                </ul>
                {operator && (
                  <form
                    className={s.addForm}
                    onSubmit={(e) => {
                      e.preventDefault();
                      void addIgnore();
                    }}
                  >
                    <Field label="Add an IP or CIDR" validationMessage={ignoreMessage} validationState={ignoreError ? "error" : "none"}>
                      <Input ref={ignoreInput} value={newIgnore} onChange={(_, d) => setNewIgnore(d.value)} placeholder="198.51.100.0/24" />
                    </Field>
                    <Button type="submit" disabled={!newIgnore.trim()} style={{ marginTop: 26 }}>
                      Add
                    </Button>
                    {ignoreError?.requestId && <RequestId id={ignoreError.requestId} />}
                  </form>
                )}
              </>
            )}
          </DataState>
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Filter and logs</Title3>} />
          <Text weight="semibold">Log paths</Text>
          {list(settings.logpath).map((l) => (
            <Text key={l} className={s.code}>
              {l}
            </Text>
          ))}
          <Text weight="semibold">failregex</Text>
          {list(settings.failregex).map((l) => (
            <Text key={l} className={s.code}>
              {l}
            </Text>
          ))}
          <Text weight="semibold">ignoreregex</Text>
          {list(settings.ignoreregex).length === 0 ? (
            <Text>none</Text>
          ) : (
            list(settings.ignoreregex).map((l) => (
              <Text key={l} className={s.code}>
                {l}
              </Text>
            ))
          )}
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Ban time escalation</Title3>} />
          <dl style={{ display: "grid", gridTemplateColumns: "max-content minmax(0, 1fr)", gap: "4px 16px", margin: 0 }}>
            {ESCALATION.map((k) => (
              <div key={k} style={{ display: "contents" }}>
                <dt>{k}</dt>
                <dd className={s.code} style={{ margin: 0 }}>
                  {settings[k] === undefined || settings[k] === null ? "—" : String(settings[k])}
                </dd>
              </div>
            ))}
          </dl>
        </Card>
      </div>
      <Link to="/jails">All jails</Link>
    </>
  );
}
