import { useParams } from "react-router-dom";
import { Badge, Button, Card, CardHeader, Dropdown, makeStyles, MessageBar, MessageBarBody, Option, Text, Title2, Title3 } from "@fluentui/react-components";
import { useState } from "react";
import { api, asApiError, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { useSession } from "../../session";
import { chosenZone, formatDuration, formatTime, plural } from "../../time";
import { Country, OriginBadge } from "../bans/BanTable";
import { useJailNames } from "../bans/Filters";
import { useCommand } from "../commands/useCommand";
import { useNotices } from "../shell/notices";
import { RequestId } from "../../components/RequestId";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  facts: { display: "flex", gap: "8px 24px", flexWrap: "wrap", alignItems: "center" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", wordBreak: "break-all", display: "block" },
  title: { overflowWrap: "anywhere" },
});

type Ban = Schemas["TimelineBan"];

/** Where a ban stands, in words: held now, or how and when it ended. */
export function banOutcome(b: Pick<Ban, "state" | "ended_at">): string {
  switch (b.state) {
    case "banned":
      return "still banned";
    case "expired":
      return b.ended_at ? `expired ${formatTime(b.ended_at)}` : "expired";
    case "unbanned":
      return b.ended_at ? `unbanned ${formatTime(b.ended_at)}` : "unbanned";
  }
}

const OUTCOME_COLOR = { banned: "danger", expired: "informative", unbanned: "success" } as const;

export default function IpTimeline() {
  const s = useStyles();
  const { ip = "" } = useParams();
  const { can } = useSession();
  const operator = can("operator");
  const run = useCommand();
  const timeline = useApiQuery(["history", ip], () => unwrap(api.GET("/history/{ip}", { params: { path: { ip }, query: { tz: chosenZone(), limit: 200 } } })), { pollMs: 15_000 });
  const names = useJailNames();
  const [jail, setJail] = useState("");
  const notSeen = timeline.error?.code === "ip_not_seen";
  const { notify } = useNotices();
  // Unban everywhere, then keep it from being banned again: an allowlist entry for every
  // enabled jail, which the scheduler writes into the jails' overrides.
  const unbanAndAllow = async () => {
    const unbanned = await run({ label: `Unban ${ip} everywhere`, send: (wait) => api.POST("/bans/unban", { body: { ips: [ip] }, params: { query: { wait } } }) });
    if (!unbanned.ok) return;
    try {
      await unwrap(api.POST("/allowlist", { body: { entry: ip, note: "unbanned and allowed from its timeline" } }));
      notify({ id: `allow-${ip}`, intent: "success", title: `Allowed ${ip}`, text: "It is on the allowlist for every enabled jail." });
    } catch (e) {
      const error = asApiError(e);
      notify({ id: `allow-${ip}`, intent: error.code === "allowlist_exists" ? "warning" : "error", title: `Allow ${ip}: ${error.code === "allowlist_exists" ? "already allowed" : "refused"}`, text: error.message, requestId: error.requestId });
    }
  };
  return (
    <>
      <Title2 as="h1" className={s.title}>
        IP {ip}
      </Title2>
      {operator && (
        <Card className={s.card}>
          <div className={s.facts}>
            <Dropdown placeholder="Jail" aria-label="Jail" value={jail} selectedOptions={[jail]} onOptionSelect={(_, d) => setJail(d.optionValue ?? "")}>
              {names.map((n) => (
                <Option key={n}>{n}</Option>
              ))}
            </Dropdown>
            <Button appearance="primary" disabled={!jail} onClick={() => void run({ label: `Ban ${ip} in ${jail}`, send: (wait) => api.POST("/bans", { body: { jail, ips: [ip] }, params: { query: { wait } } }) })}>
              Ban
            </Button>
            <Button onClick={() => void run({ label: `Unban ${ip} everywhere`, send: (wait) => api.POST("/bans/unban", { body: { ips: [ip] }, params: { query: { wait } } }) })}>Unban everywhere</Button>
            <Button onClick={() => void unbanAndAllow()}>Unban and allow</Button>
            <Button
              disabled={!jail}
              onClick={() => void run({ label: `Ignore ${ip} in ${jail}`, send: (wait) => api.POST("/jails/{name}/ignore", { params: { path: { name: jail }, query: { wait } }, body: { ip } }) })}
            >
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
                  <Text>{plural(t.total_bans, "ban")}</Text>
                  <Text>{plural(t.total_failures, "failure")}</Text>
                  <Text>{plural(t.total_matches, "matched log line")}</Text>
                  <Text>first {formatTime(t.first_at)}</Text>
                  <Text>last {formatTime(t.last_at)}</Text>
                  {t.banned_in.length > 0 ? <Badge color="danger">banned now in {t.banned_in.join(", ")}</Badge> : <Badge color="success">not banned now</Badge>}
                  {t.geo && (
                    <Text size={200}>
                      geo: {t.geo.source}, {formatTime(t.geo.resolved_at)}
                    </Text>
                  )}
                </div>
              </Card>
              <Card className={s.card}>
                <CardHeader header={<Title3 as="h2">Timeline</Title3>} />
                <DataTable
                  label="Bans of this IP"
                  rows={t.bans}
                  rowKey={(b) => `${b.start}-${b.jail}`}
                  columns={[
                    { key: "start", header: "Banned", primary: true, cell: (b) => formatTime(b.start) },
                    { key: "jail", header: "Jail", primary: true, cell: (b) => b.jail },
                    {
                      key: "origin",
                      header: "By",
                      cell: (b) => (
                        <>
                          <OriginBadge origin={b.origin} />
                          {b.by ? ` ${b.by}` : ""}
                        </>
                      ),
                    },
                    { key: "lasted", header: "Lasted", cell: (b) => (b.state === "banned" ? `${formatDuration(b.lasted_s)} so far` : formatDuration(b.lasted_s)) },
                    {
                      key: "outcome",
                      header: "Status",
                      cell: (b) => (
                        <Badge appearance="outline" color={OUTCOME_COLOR[b.state]}>
                          {banOutcome(b)}
                          {b.ended_by ? ` by ${b.ended_by}` : ""}
                        </Badge>
                      ),
                    },
                    {
                      key: "request",
                      header: "Request",
                      cell: (b) =>
                        b.request_id || b.ended_request_id ? (
                          <span style={{ display: "flex", flexDirection: "column" }}>
                            {b.request_id && <RequestId id={b.request_id} />}
                            {b.ended_request_id && (
                              <span>
                                <Text size={200}>lifted: </Text>
                                <RequestId id={b.ended_request_id} />
                              </span>
                            )}
                          </span>
                        ) : (
                          "—"
                        ),
                    },
                    { key: "failures", header: "Failures", numeric: true, cell: (b) => b.failures ?? "—" },
                    {
                      key: "matches",
                      header: "Matched lines",
                      wrap: true,
                      cell: (b) =>
                        b.matches.length === 0
                          ? "—"
                          : b.matches.map((m, k) => (
                              <span key={k} className={s.code}>
                                {m}
                              </span>
                            )),
                    },
                  ]}
                />
              </Card>
            </>
          )}
        </DataState>
      )}
    </>
  );
}
