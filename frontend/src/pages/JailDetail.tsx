import { useState } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import {
  Button,
  Card,
  CardHeader,
  Field,
  Input,
  makeStyles,
  Switch,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  Title2,
  Title3,
} from "@fluentui/react-components";
import { Link } from "react-router-dom";
import { get } from "../api/client";
import { useApi } from "../api/hooks";
import { Pager } from "../components/BanTable";
import { useCommand } from "../components/commands";
import { DataState } from "../components/DataState";
import { useSession } from "../session";
import { formatDuration, formatTime } from "../time";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  grid: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(320px, 1fr))", gap: "16px" },
  counters: { display: "flex", gap: "24px", flexWrap: "wrap" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", wordBreak: "break-all" },
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
  const [params, setParams] = useSearchParams();
  const page = Number(params.get("page") ?? "1") || 1;
  const q = params.get("q") ?? "";
  const jail = useApi(() => get("/jails/{name}", { name }), name, 10_000);
  const bans = useApi(() => get("/jails/{name}/bans", { name }, { page, page_size: 50, q }), `${name}|${page}|${q}`, 10_000);
  const ignore = useApi(() => get("/jails/{name}/ignore", { name }), name, 10_000);
  const [newIgnore, setNewIgnore] = useState("");
  const path = `/jails/${encodeURIComponent(name)}`;
  const act = async (label: string, method: "POST" | "PUT" | "DELETE", p: string, body?: unknown) => {
    try {
      await run(label, method, p, body);
    } finally {
      jail.reload();
      bans.reload();
      ignore.reload();
    }
  };
  const setParam = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== "page") next.delete("page");
    setParams(next, { replace: true });
  };
  const settings = (jail.data?.settings ?? {}) as Record<string, unknown>;
  return (
    <>
      <Title2 as="h1">Jail {name}</Title2>
      <DataState label="the jail" {...jail} onRetry={jail.reload}>
        {(j) => (
          <Card className={s.card}>
            <div className={s.counters}>
              <Text>
                <strong>{j.currently_banned}</strong> banned now
              </Text>
              <Text>{j.total_banned} banned in total</Text>
              <Text>{j.currently_failed} failing now</Text>
              <Text>{j.total_failed} failures in total</Text>
              <Text>ban time {formatDuration(j.bantime)}</Text>
              <Text>find time {formatDuration(j.findtime)}</Text>
              <Text>max retry {j.maxretry ?? "—"}</Text>
              <Text>{j.running ? (j.idle ? "idle" : "running") : "stopped"}</Text>
            </div>
          </Card>
        )}
      </DataState>
      <Card className={s.card}>
        <CardHeader header={<Title3 as="h2">Banned IPs</Title3>} />
        <Field label="Search IPs (start of the address)">
          <Input value={q} onChange={(_, d) => setParam("q", d.value)} placeholder="203.0.113." />
        </Field>
        <DataState label="bans" {...bans} onRetry={bans.reload} empty={(b) => b.items.length === 0} emptyText="No IP is banned in this jail.">
          {(b) => (
            <>
              <Table size="small" aria-label={`Bans in ${name}`}>
                <TableHeader>
                  <TableRow>
                    <TableHeaderCell>IP</TableHeaderCell>
                    <TableHeaderCell>Banned at</TableHeaderCell>
                    <TableHeaderCell>Expires</TableHeaderCell>
                    <TableHeaderCell>Ban count</TableHeaderCell>
                    <TableHeaderCell>Failures</TableHeaderCell>
                    {operator && <TableHeaderCell>Action</TableHeaderCell>}
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {b.items.map((x) => (
                    <TableRow key={x.ip}>
                      <TableCell>
                        <Link to={`/history/${encodeURIComponent(x.ip)}`}>{x.ip}</Link>
                      </TableCell>
                      <TableCell>{formatTime(x.banned_at)}</TableCell>
                      <TableCell>{x.expires_at ? formatTime(x.expires_at) : "never"}</TableCell>
                      <TableCell>{x.bancount}</TableCell>
                      <TableCell>{x.failures ?? "—"}</TableCell>
                      {operator && (
                        <TableCell>
                          <Button size="small" onClick={() => act(`Unban ${x.ip} from ${name}`, "POST", "/bans/unban", { ips: [x.ip], jail: name })}>
                            Unban
                          </Button>
                        </TableCell>
                      )}
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
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
                  onChange={(_, d) => act(`ignoreself ${d.checked ? "on" : "off"}`, "PUT", `${path}/ignoreself`, { on: d.checked })}
                />
                {ig.ignoreip.length === 0 && <Text>Nothing is ignored.</Text>}
                {ig.ignoreip.map((ip) => (
                  <div key={ip} style={{ display: "flex", gap: 8, alignItems: "center" }}>
                    <Text className={s.code}>{ip}</Text>
                    {operator && (
                      <Button size="small" appearance="subtle" onClick={() => act(`Stop ignoring ${ip}`, "DELETE", `${path}/ignore`, { ip })}>
                        Remove
                      </Button>
                    )}
                  </div>
                ))}
                {operator && (
                  <form
                    style={{ display: "flex", gap: 8, alignItems: "end" }}
                    onSubmit={(e) => {
                      e.preventDefault();
                      void act(`Ignore ${newIgnore}`, "POST", `${path}/ignore`, { ip: newIgnore.trim() }).then(() => setNewIgnore(""));
                    }}
                  >
                    <Field label="Add an IP or CIDR">
                      <Input value={newIgnore} onChange={(_, d) => setNewIgnore(d.value)} placeholder="198.51.100.0/24" />
                    </Field>
                    <Button type="submit" disabled={!newIgnore.trim()}>
                      Add
                    </Button>
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
          {list(settings.ignoreregex).length === 0 ? <Text>none</Text> : list(settings.ignoreregex).map((l) => <Text key={l} className={s.code}>{l}</Text>)}
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Ban time escalation</Title3>} />
          <Table size="small" aria-label="Escalation settings">
            <TableBody>
              {ESCALATION.map((k) => (
                <TableRow key={k}>
                  <TableCell>{k}</TableCell>
                  <TableCell className={s.code}>{settings[k] === undefined || settings[k] === null ? "—" : String(settings[k])}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      </div>
    </>
  );
}
