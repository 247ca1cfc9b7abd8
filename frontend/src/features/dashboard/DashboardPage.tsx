// The dashboard: the trend, then the bans themselves (within the first screen), then what
// they break down into. Every breakdown filters the page when clicked.
import { useSearchParams } from "react-router-dom";
import { Card, CardHeader, makeStyles, Text, Title2, Title3 } from "@fluentui/react-components";
import { api, unwrap } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState, Pager } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { BanTable, Country, IpLink } from "../bans/BanTable";
import { filterQuery, Filters, useFilters } from "../bans/Filters";
import { formatTime, plural } from "../../time";
import { BarList, PALETTE, TrendChart } from "./charts";

const useStyles = makeStyles({
  grid: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 340px), 1fr))", gap: "16px" },
  card: { padding: "16px", minWidth: 0 },
});

const POLL = 15_000;

export default function Dashboard() {
  const s = useStyles();
  const [f, setFilter] = useFilters();
  const [params, setParams] = useSearchParams();
  const page = Number(params.get("page") ?? "1") || 1;
  const q = filterQuery(f);
  const bans = useApiQuery(["dashboard", "bans", q, page], () => unwrap(api.GET("/dashboard/bans", { params: { query: { ...q, page, page_size: 25 } } })), { pollMs: POLL });
  const trend = useApiQuery(["dashboard", "trend", q], () => unwrap(api.GET("/dashboard/trend", { params: { query: { ...q, series: "origin" } } })), { pollMs: POLL });
  // The counts only: one companion ban row is the least the endpoint sends.
  const countries = useApiQuery(["dashboard", "by-country", q], () => unwrap(api.GET("/dashboard/by-country", { params: { query: { ...q, country: undefined, page_size: 1 } } })), { pollMs: POLL });
  const jails = useApiQuery(["dashboard", "by-jail", q], () => unwrap(api.GET("/dashboard/by-jail", { params: { query: q } })), { pollMs: POLL });
  const asns = useApiQuery(["dashboard", "by-asn", q], () => unwrap(api.GET("/dashboard/by-asn", { params: { query: { ...q, limit: 10 } } })), { pollMs: POLL });
  const offenders = useApiQuery(["dashboard", "offenders", q], () => unwrap(api.GET("/dashboard/repeat-offenders", { params: { query: { ...q, limit: 10 } } })), { pollMs: POLL });
  const repeat = new Set((offenders.data?.items ?? []).map((o) => o.ip));
  const countryName = (code: string) => countries.data?.items.find((c) => c.country === code)?.name;
  const toggle = (key: "country" | "jail" | "asn", value: string) => setFilter({ [key]: String(f[key] ?? "") === value ? undefined : value });
  const setPage = (p: number) => {
    const next = new URLSearchParams(params);
    next.set("page", String(p));
    setParams(next, { replace: true });
  };
  const total = trend.data?.buckets.reduce((n, b) => n + b.total, 0);
  return (
    <>
      <Title2 as="h1">Dashboard</Title2>
      <Filters countryName={countryName} />
      <Card className={s.card}>
        <CardHeader header={<Title3 as="h2">Bans over time</Title3>} description={total === undefined ? undefined : <Text>{plural(total, "ban")}</Text>} />
        <DataState label="the trend" {...trend} onRetry={trend.reload} empty={(t) => t.buckets.every((b) => b.total === 0)} emptyText="No bans in this range.">
          {(t) => <TrendChart trend={t} onPick={(b) => setFilter({ from: b.start, to: b.end, range: undefined })} />}
        </DataState>
      </Card>
      <Card className={s.card}>
        <CardHeader header={<Title3 as="h2">Bans</Title3>} />
        <DataState label="bans" {...bans} onRetry={bans.reload} empty={(b) => b.items.length === 0} emptyText="No bans match these filters.">
          {(b) => (
            <>
              <BanTable rows={b.items} highlight={(ip) => repeat.has(ip)} />
              <Pager page={b.page} pageSize={b.page_size} total={b.total} exact={b.total_exact} onPage={setPage} />
            </>
          )}
        </DataState>
      </Card>
      <div className={s.grid}>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Top countries</Title3>} />
          <DataState label="countries" {...countries} onRetry={countries.reload} empty={(c) => c.items.length === 0}>
            {(c) => (
              <BarList
                label="Bans per country"
                picked={f.country}
                onPick={(k) => toggle("country", k)}
                rows={c.items.slice(0, 12).map((x) => ({ key: x.country ?? "unknown", name: x.country ? x.name : "Unknown country", value: x.bans }))}
              />
            )}
          </DataState>
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Bans per jail</Title3>} />
          <DataState label="jails" {...jails} onRetry={jails.reload} empty={(j) => j.items.length === 0}>
            {(j) => <BarList label="Bans per jail" colour={PALETTE[2]} picked={f.jail} onPick={(k) => toggle("jail", k)} rows={j.items.map((x) => ({ key: x.jail, name: x.jail, value: x.bans }))} />}
          </DataState>
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Top autonomous systems</Title3>} />
          <DataState label="ASNs" {...asns} onRetry={asns.reload} empty={(a) => a.items.length === 0}>
            {(a) => (
              <BarList
                label="Bans per autonomous system"
                colour={PALETTE[3]}
                picked={f.asn === undefined ? undefined : String(f.asn)}
                onPick={(k) => toggle("asn", k)}
                rows={a.items.map((x) => ({ key: String(x.asn ?? 0), name: x.asn ? `AS${x.asn}${x.org ? ` · ${x.org}` : ""}` : "Unknown AS", value: x.bans }))}
              />
            )}
          </DataState>
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Repeat offenders</Title3>} />
          <DataState label="repeat offenders" {...offenders} onRetry={offenders.reload} empty={(o) => o.items.length === 0} emptyText="No IP was banned twice in this range.">
            {(o) => (
              <DataTable
                label="Repeat offenders"
                rows={o.items}
                rowKey={(x) => x.ip}
                columns={[
                  { key: "ip", header: "IP", primary: true, cell: (x) => <IpLink ip={x.ip} /> },
                  { key: "bans", header: "Bans", primary: true, numeric: true, cell: (x) => x.bans },
                  { key: "country", header: "Country", cell: (x) => <Country code={x.country} name={x.country_name} />, truncate: "12em", text: (x) => x.country_name ?? "Unknown" },
                  { key: "last", header: "Last", cell: (x) => formatTime(x.last_at) },
                ]}
              />
            )}
          </DataState>
        </Card>
      </div>
    </>
  );
}
