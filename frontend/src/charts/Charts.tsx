// Charts (Recharts), in the dashboard's own chunk. Colours come from a palette with
// enough contrast on both the light and the dark background.
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { tokens } from "@fluentui/react-components";
import type { Schemas } from "../api/client";
import { chosenZone } from "../time";

export const PALETTE = ["#0f6cbd", "#c50f1f", "#107c10", "#8764b8", "#ca5010", "#038387", "#986f0b", "#e3008c", "#4f6bed", "#7a7574"];

const axis = { stroke: tokens.colorNeutralForeground3, fontSize: 12 };

function bucketLabel(iso: string, seconds: number): string {
  const d = new Date(iso);
  const tz = chosenZone();
  const opts: Intl.DateTimeFormatOptions =
    seconds < 86400 ? { hour: "2-digit", minute: "2-digit", day: "2-digit", timeZone: tz } : { month: "short", day: "2-digit", timeZone: tz };
  return new Intl.DateTimeFormat(undefined, opts).format(d);
}

export function TrendChart({ trend }: { trend: Schemas["Trend"] }) {
  const rows = trend.buckets.map((b, i) => {
    const row: Record<string, number | string> = { label: bucketLabel(b.start, trend.bucket_seconds), total: b.total };
    for (const s of trend.series) row[s.name] = s.counts[i] ?? 0;
    return row;
  });
  const lines = trend.series.length ? trend.series.map((s) => s.name) : ["total"];
  return (
    <ResponsiveContainer width="100%" height={260}>
      <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
        <CartesianGrid stroke={tokens.colorNeutralStroke2} strokeDasharray="3 3" />
        <XAxis dataKey="label" tick={axis} interval="preserveStartEnd" minTickGap={24} />
        <YAxis tick={axis} allowDecimals={false} width={48} />
        <Tooltip contentStyle={{ background: tokens.colorNeutralBackground1, border: `1px solid ${tokens.colorNeutralStroke1}` }} />
        {lines.length > 1 && <Legend />}
        {lines.map((name, i) => (
          <Line key={name} type="monotone" dataKey={name} stroke={PALETTE[i % PALETTE.length]} strokeWidth={2} dot={false} isAnimationActive={false} />
        ))}
      </LineChart>
    </ResponsiveContainer>
  );
}

export function CountryPie({ items }: { items: Schemas["CountryCount"][] }) {
  const top = items.slice(0, 4).map((c) => ({ name: c.name, value: c.bans }));
  const other = items.slice(4).reduce((n, c) => n + c.bans, 0);
  if (other > 0) top.push({ name: "Other", value: other });
  return (
    <ResponsiveContainer width="100%" height={240}>
      <PieChart>
        <Pie data={top} dataKey="value" nameKey="name" innerRadius={50} outerRadius={90} isAnimationActive={false} label={(e) => e.name}>
          {top.map((_, i) => (
            <Cell key={i} fill={PALETTE[i % PALETTE.length]} />
          ))}
        </Pie>
        <Tooltip />
      </PieChart>
    </ResponsiveContainer>
  );
}

export function HorizontalBars({ rows, height }: { rows: { name: string; value: number }[]; height?: number }) {
  return (
    <ResponsiveContainer width="100%" height={height ?? Math.max(120, rows.length * 26 + 30)}>
      <BarChart data={rows} layout="vertical" margin={{ top: 4, right: 24, bottom: 4, left: 8 }}>
        <CartesianGrid stroke={tokens.colorNeutralStroke2} strokeDasharray="3 3" horizontal={false} />
        <XAxis type="number" tick={axis} allowDecimals={false} />
        <YAxis type="category" dataKey="name" tick={axis} width={140} />
        <Tooltip />
        <Bar dataKey="value" name="bans" fill={PALETTE[0]} isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}
