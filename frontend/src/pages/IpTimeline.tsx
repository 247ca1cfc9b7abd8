import { useParams } from "react-router-dom";
import {
  Badge,
  Button,
  Card,
  CardHeader,
  Dropdown,
  makeStyles,
  MessageBar,
  MessageBarBody,
  Option,
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
import { useState } from "react";
import { get } from "../api/client";
import { useApi } from "../api/hooks";
import { Country, OriginBadge, StateBadge } from "../components/BanTable";
import { useCommand } from "../components/commands";
import { DataState } from "../components/DataState";
import { useSession } from "../session";
import { chosenZone, formatDuration, formatTime } from "../time";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  facts: { display: "flex", gap: "24px", flexWrap: "wrap", alignItems: "center" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", wordBreak: "break-all", display: "block" },
});

export default function IpTimeline() {
  const s = useStyles();
  const { ip = "" } = useParams();
  const { can } = useSession();
  const operator = can("operator");
  const run = useCommand();
  const timeline = useApi(() => get("/history/{ip}", { ip }, { tz: chosenZone(), limit: 200 }), ip, 15_000);
  const jails = useApi(() => get("/jails"), "jails");
  const [jail, setJail] = useState("");
  const names = (jails.data?.items ?? []).map((j) => j.name);
  const act = async (label: string, path: string, body: unknown) => {
    try {
      await run(label, "POST", path, body);
    } finally {
      timeline.reload();
    }
  };
  const notSeen = timeline.error?.code === "ip_not_seen";
  return (
    <>
      <Title2 as="h1">IP {ip}</Title2>
      {operator && (
        <Card className={s.card}>
          <div className={s.facts}>
            <Dropdown placeholder="Jail" aria-label="Jail" value={jail} selectedOptions={[jail]} onOptionSelect={(_, d) => setJail(d.optionValue ?? "")}>
              {names.map((n) => (
                <Option key={n}>{n}</Option>
              ))}
            </Dropdown>
            <Button appearance="primary" disabled={!jail} onClick={() => act(`Ban ${ip} in ${jail}`, "/bans", { jail, ips: [ip] })}>
              Ban
            </Button>
            <Button onClick={() => act(`Unban ${ip} everywhere`, "/bans/unban", { ips: [ip] })}>Unban everywhere</Button>
            <Button disabled={!jail} onClick={() => act(`Allow ${ip} in ${jail}`, `/jails/${encodeURIComponent(jail)}/ignore`, { ip })}>
              Allowlist in jail
            </Button>
          </div>
        </Card>
      )}
      {notSeen ? (
        <MessageBar intent="info">
          <MessageBarBody>BanGUI has never seen {ip} banned.</MessageBarBody>
        </MessageBar>
      ) : (
        <DataState label="the timeline" {...timeline} onRetry={timeline.reload}>
          {(t) => (
            <>
              <Card className={s.card}>
                <div className={s.facts}>
                  <Country code={t.geo?.country} name={t.geo?.country_name} />
                  <Text>{t.geo?.asn ? `AS${t.geo.asn} · ${t.geo.asn_org ?? ""}` : "ASN unknown"}</Text>
                  <Text>
                    <strong>{t.total_bans}</strong> bans
                  </Text>
                  <Text>{t.total_failures} failures</Text>
                  <Text>{t.total_matches} matched log lines</Text>
                  <Text>first {formatTime(t.first_at)}</Text>
                  <Text>last {formatTime(t.last_at)}</Text>
                  {t.banned_in.length > 0 ? (
                    <Badge color="danger">banned now in {t.banned_in.join(", ")}</Badge>
                  ) : (
                    <Badge color="success">not banned now</Badge>
                  )}
                  {t.geo && <Text size={200}>geo: {t.geo.source}, {formatTime(t.geo.resolved_at)}</Text>}
                </div>
              </Card>
              <Card className={s.card}>
                <CardHeader header={<Title3 as="h2">Timeline</Title3>} />
                <Table size="small" aria-label="Bans of this IP">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Start</TableHeaderCell>
                      <TableHeaderCell>Jail</TableHeaderCell>
                      <TableHeaderCell>Origin</TableHeaderCell>
                      <TableHeaderCell>Lasted</TableHeaderCell>
                      <TableHeaderCell>How it ended</TableHeaderCell>
                      <TableHeaderCell>Failures</TableHeaderCell>
                      <TableHeaderCell>Matched lines</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {t.bans.map((b, i) => (
                      <TableRow key={`${b.start}-${b.jail}-${i}`}>
                        <TableCell>{formatTime(b.start)}</TableCell>
                        <TableCell>{b.jail}</TableCell>
                        <TableCell>
                          <OriginBadge origin={b.origin} />
                        </TableCell>
                        <TableCell>{formatDuration(b.lasted_s)}</TableCell>
                        <TableCell>
                          <StateBadge state={b.state} /> {b.ended_at && formatTime(b.ended_at)}
                        </TableCell>
                        <TableCell>{b.failures ?? "—"}</TableCell>
                        <TableCell>
                          {b.matches.length === 0 ? "—" : b.matches.map((m, k) => <span key={k} className={s.code}>{m}</span>)}
                        </TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              </Card>
            </>
          )}
        </DataState>
      )}
    </>
  );
}
