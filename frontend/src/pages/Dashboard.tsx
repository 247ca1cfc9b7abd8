import { useSearchParams } from "react-router-dom";
import { Card, CardHeader, makeStyles, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, Title2, Title3 } from "@fluentui/react-components";
import { Link } from "react-router-dom";
import { get } from "../api/client";
import { useApi } from "../api/hooks";
import { CountryPie, HorizontalBars, TrendChart } from "../charts/Charts";
import { BanTable, Country, Pager } from "../components/BanTable";
import { DataState } from "../components/DataState";
import { Filters, useFilters } from "../components/Filters";
import { chosenZone, formatTime } from "../time";

const useStyles = makeStyles({
  grid: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(360px, 1fr))", gap: "16px" },
  card: { padding: "16px", minWidth: 0 },
});

const POLL = 15_000;

export default function Dashboard() {
  const s = useStyles();
  const [f] = useFilters();
  const [params, setParams] = useSearchParams();
  const page = Number(params.get("page") ?? "1") || 1;
  const q = { range: f.range, from: f.from, to: f.to, origin: f.origin, jail: f.jail, tz: chosenZone() };
  const key = JSON.stringify(q);
  const bans = useApi(() => get("/dashboard/bans", {}, { ...q, page, page_size: 25 }), key + page, POLL);
  const trend = useApi(() => get("/dashboard/trend", {}, { ...q, series: "origin" }), key, POLL);
  const countries = useApi(() => get("/dashboard/by-country", {}, { ...q, page_size: 1 }), key, POLL);
  const jails = useApi(() => get("/dashboard/by-jail", {}, q), key, POLL);
  const asns = useApi(() => get("/dashboard/by-asn", {}, { ...q, limit: 10 }), key, POLL);
  const offenders = useApi(() => get("/dashboard/repeat-offenders", {}, { ...q, limit: 10 }), key, POLL);
  const repeat = new Set((offenders.data?.items ?? []).map((o) => o.ip));
  const setPage = (p: number) => {
    const next = new URLSearchParams(params);
    next.set("page", String(p));
    setParams(next, { replace: true });
  };
  return (
    <>
      <Title2 as="h1">Dashboard</Title2>
      <Filters />
      <Card className={s.card}>
        <CardHeader header={<Title3 as="h2">Bans over time</Title3>} description={trend.data && <Text>{trend.data.buckets.reduce((n, b) => n + b.total, 0).toLocaleString()} bans</Text>} />
        <DataState label="the trend" {...trend} onRetry={trend.reload} empty={(t) => t.buckets.every((b) => b.total === 0)}>
          {(t) => <TrendChart trend={t} />}
        </DataState>
      </Card>
      <div className={s.grid}>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Top countries</Title3>} />
          <DataState label="countries" {...countries} onRetry={countries.reload} empty={(c) => c.items.length === 0}>
            {(c) => (
              <>
                <CountryPie items={c.items} />
                <HorizontalBars rows={c.items.slice(0, 20).map((x) => ({ name: x.name, value: x.bans }))} />
              </>
            )}
          </DataState>
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Bans per jail</Title3>} />
          <DataState label="jails" {...jails} onRetry={jails.reload} empty={(j) => j.items.length === 0}>
            {(j) => <HorizontalBars rows={j.items.map((x) => ({ name: x.jail, value: x.bans }))} />}
          </DataState>
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Top autonomous systems</Title3>} />
          <DataState label="ASNs" {...asns} onRetry={asns.reload} empty={(a) => a.items.length === 0}>
            {(a) => (
              <Table size="small" aria-label="Top ASNs">
                <TableHeader>
                  <TableRow>
                    <TableHeaderCell>ASN</TableHeaderCell>
                    <TableHeaderCell>Organisation</TableHeaderCell>
                    <TableHeaderCell>Bans</TableHeaderCell>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {a.items.map((x) => (
                    <TableRow key={x.asn ?? 0}>
                      <TableCell>{x.asn ? `AS${x.asn}` : "unknown"}</TableCell>
                      <TableCell>{x.org ?? "—"}</TableCell>
                      <TableCell>{x.bans.toLocaleString()}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </DataState>
        </Card>
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">Repeat offenders</Title3>} />
          <DataState label="repeat offenders" {...offenders} onRetry={offenders.reload} empty={(o) => o.items.length === 0} emptyText="No IP was banned twice in this range.">
            {(o) => (
              <Table size="small" aria-label="Repeat offenders">
                <TableHeader>
                  <TableRow>
                    <TableHeaderCell>IP</TableHeaderCell>
                    <TableHeaderCell>Bans</TableHeaderCell>
                    <TableHeaderCell>Country</TableHeaderCell>
                    <TableHeaderCell>Last</TableHeaderCell>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {o.items.map((x) => (
                    <TableRow key={x.ip}>
                      <TableCell>
                        <Link to={`/history/${encodeURIComponent(x.ip)}`}>{x.ip}</Link>
                      </TableCell>
                      <TableCell>{x.bans}</TableCell>
                      <TableCell>
                        <Country code={x.country} name={x.country_name} />
                      </TableCell>
                      <TableCell>{formatTime(x.last_at)}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </DataState>
        </Card>
      </div>
      <Card className={s.card}>
        <CardHeader header={<Title3 as="h2">Bans</Title3>} />
        <DataState label="bans" {...bans} onRetry={bans.reload} empty={(b) => b.items.length === 0}>
          {(b) => (
            <>
              <BanTable rows={b.items} highlight={(ip) => repeat.has(ip)} />
              <Pager page={b.page} pageSize={b.page_size} total={b.total} exact={b.total_exact} onPage={setPage} />
            </>
          )}
        </DataState>
      </Card>
    </>
  );
}
