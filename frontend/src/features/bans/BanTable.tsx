import { Link } from "react-router-dom";
import { Badge } from "@fluentui/react-components";
import type { Schemas } from "../../api/client";
import { DataTable, type Column } from "../../components/DataTable";
import { flag, flagEmojiSupported, formatTime } from "../../time";

const ORIGIN_COLOR = { auto: "brand", manual: "important", blocklist: "informative" } as const;
const STATE_COLOR = { banned: "danger", expired: "informative", unbanned: "success" } as const;

export function OriginBadge({ origin }: { origin: Schemas["Origin"] }) {
  return (
    <Badge appearance="tint" color={ORIGIN_COLOR[origin]}>
      {origin === "auto" ? "automatic" : origin}
    </Badge>
  );
}

export function StateBadge({ state }: { state: Schemas["BanState"] }) {
  return (
    <Badge appearance="outline" color={STATE_COLOR[state]}>
      {state}
    </Badge>
  );
}

// Without flag emoji the code stands in, boxed like a tiny flag.
const CODE_BOX = {
  display: "inline-block",
  minWidth: "2.4em",
  padding: "0 3px",
  border: "1px solid currentColor",
  borderRadius: "2px",
  fontSize: "0.75em",
  fontFamily: "monospace",
  textAlign: "center",
  lineHeight: "1.4",
} as const;

export function Country({ code, name }: { code?: string | null; name?: string | null }) {
  return (
    <span title={name ?? code ?? "unknown"} style={{ whiteSpace: "nowrap" }}>
      {flagEmojiSupported() ? (
        <span aria-hidden>{flag(code)}</span>
      ) : (
        <span aria-hidden style={CODE_BOX}>
          {code?.toUpperCase() ?? "??"}
        </span>
      )}{" "}
      {name ?? "Unknown"}
    </span>
  );
}

export function IpLink({ ip }: { ip: string }) {
  return (
    <Link to={`/history/${encodeURIComponent(ip)}`} style={{ whiteSpace: "nowrap" }}>
      {ip}
    </Link>
  );
}

function asnText(r: Schemas["BanRecord"]): string {
  return r.asn ? `AS${r.asn}${r.asn_org ? ` · ${r.asn_org}` : ""}` : "—";
}

export function BanTable({ rows, highlight, label = "Bans" }: { rows: Schemas["BanRecord"][]; highlight?: (ip: string) => boolean; label?: string }) {
  const columns: Column<Schemas["BanRecord"]>[] = [
    {
      key: "ip",
      header: "IP",
      primary: true,
      cell: (r) => (
        <>
          <IpLink ip={r.ip} />
          {highlight?.(r.ip) && (
            <Badge size="small" color="warning" style={{ marginLeft: 6 }}>
              repeat
            </Badge>
          )}
        </>
      ),
    },
    { key: "time", header: "Time", primary: true, cell: (r) => formatTime(r.at) },
    { key: "jail", header: "Jail", cell: (r) => r.jail, truncate: "14em", text: (r) => r.jail },
    { key: "origin", header: "Origin", cell: (r) => <OriginBadge origin={r.origin} /> },
    {
      key: "place",
      header: "Country / network",
      // Two lines in one column: the table keeps to the width of a laptop screen.
      cell: (r) => (
        <>
          <Country code={r.country} name={r.country_name} />
          <span style={{ display: "block", fontSize: 12, opacity: 0.8, overflow: "hidden", textOverflow: "ellipsis" }}>{asnText(r)}</span>
        </>
      ),
      truncate: "16em",
      text: (r) => `${r.country_name ?? "Unknown"} · ${asnText(r)}`,
    },
    { key: "failures", header: "Failures", numeric: true, cell: (r) => r.failures ?? "—" },
    { key: "bancount", header: "Ban count", numeric: true, cell: (r) => r.bancount },
    { key: "state", header: "State", cell: (r) => <StateBadge state={r.state} /> },
  ];
  return <DataTable label={label} rows={rows} columns={columns} rowKey={(r) => r.id} />;
}
