import { Link } from "react-router-dom";
import {
  Badge,
  Button,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
} from "@fluentui/react-components";
import type { Schemas } from "../api/client";
import { flag, flagEmojiSupported, formatTime } from "../time";

const ORIGIN_COLOR = { auto: "brand", manual: "important", blocklist: "informative" } as const;
const STATE_COLOR = { banned: "danger", expired: "informative", unbanned: "success" } as const;

export function OriginBadge({ origin }: { origin: string }) {
  const label = origin === "auto" ? "automatic" : origin;
  return (
    <Badge appearance="tint" color={ORIGIN_COLOR[origin as keyof typeof ORIGIN_COLOR] ?? "informative"}>
      {label}
    </Badge>
  );
}

export function StateBadge({ state }: { state: string }) {
  return (
    <Badge appearance="outline" color={STATE_COLOR[state as keyof typeof STATE_COLOR] ?? "informative"}>
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
    <span title={code ?? "unknown"} style={{ whiteSpace: "nowrap" }}>
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

export function Pager({ page, pageSize, total, exact, onPage }: { page: number; pageSize: number; total: number; exact?: boolean; onPage: (p: number) => void }) {
  const last = Math.max(1, Math.ceil(total / pageSize));
  return (
    <div style={{ display: "flex", gap: 8, alignItems: "center", justifyContent: "flex-end" }}>
      <Text>
        {total.toLocaleString()}
        {exact === false ? "+" : ""} bans · page {page} of {last.toLocaleString()}
        {exact === false ? "+" : ""}
      </Text>
      <Button size="small" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </Button>
      <Button size="small" disabled={page >= last} onClick={() => onPage(page + 1)}>
        Next
      </Button>
    </div>
  );
}

export function BanTable({ rows, highlight }: { rows: Schemas["BanRecord"][]; highlight?: (ip: string) => boolean }) {
  return (
    <div style={{ overflowX: "auto" }}>
      <Table size="small" aria-label="Bans">
        <TableHeader>
          <TableRow>
            <TableHeaderCell>Time</TableHeaderCell>
            <TableHeaderCell>IP</TableHeaderCell>
            <TableHeaderCell>Jail</TableHeaderCell>
            <TableHeaderCell>Origin</TableHeaderCell>
            <TableHeaderCell>Country</TableHeaderCell>
            <TableHeaderCell>ASN / organisation</TableHeaderCell>
            <TableHeaderCell>Failures</TableHeaderCell>
            <TableHeaderCell>Ban count</TableHeaderCell>
            <TableHeaderCell>State</TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {rows.map((r) => (
            <TableRow key={r.id}>
              <TableCell>{formatTime(r.at)}</TableCell>
              <TableCell style={{ wordBreak: "break-all" }}>
                <Link to={`/history/${encodeURIComponent(r.ip)}`}>{r.ip}</Link>
                {highlight?.(r.ip) && (
                  <Badge size="small" color="warning" style={{ marginLeft: 6 }}>
                    repeat
                  </Badge>
                )}
              </TableCell>
              <TableCell>{r.jail}</TableCell>
              <TableCell>
                <OriginBadge origin={r.origin} />
              </TableCell>
              <TableCell>
                <Country code={r.country} name={r.country_name} />
              </TableCell>
              <TableCell>{r.asn ? `AS${r.asn}${r.asn_org ? ` · ${r.asn_org}` : ""}` : "—"}</TableCell>
              <TableCell>{r.failures ?? "—"}</TableCell>
              <TableCell>{r.bancount}</TableCell>
              <TableCell>
                <StateBadge state={r.state} />
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </div>
  );
}
