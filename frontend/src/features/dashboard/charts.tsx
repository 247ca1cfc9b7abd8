// The dashboard's charts, drawn in plain SVG and HTML (no chart library: the dashboard's
// first load stays small). Every mark can be clicked to filter by it; the trend is one
// tab stop whose buckets the arrow keys walk; long names are cut with the full text on
// hover; the current bucket, still filling, is drawn as partial rather than as a drop.
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { makeStyles, Text, tokens } from "@fluentui/react-components";
import type { Schemas } from "../../api/client";
import { chosenZone, plural } from "../../time";

export const PALETTE = ["#0f6cbd", "#c50f1f", "#107c10", "#8764b8", "#ca5010", "#038387", "#986f0b", "#e3008c", "#4f6bed", "#7a7574"];

const useStyles = makeStyles({
  wrap: { position: "relative", minWidth: 0 },
  svg: { display: "block", width: "100%", ":focus-visible": { outline: `2px solid ${tokens.colorStrokeFocus2}` } },
  readout: { minHeight: "20px", display: "block", color: tokens.colorNeutralForeground2 },
  legend: { display: "flex", flexWrap: "wrap", gap: "4px 14px", marginTop: "4px" },
  key: { display: "inline-flex", alignItems: "center", gap: "6px" },
  swatch: { width: "14px", height: "3px", display: "inline-block" },
  bars: { listStyle: "none", margin: 0, padding: 0, display: "flex", flexDirection: "column", gap: "2px" },
  bar: {
    position: "relative",
    display: "grid",
    gridTemplateColumns: "minmax(0, 1fr) auto",
    gap: "8px",
    alignItems: "center",
    width: "100%",
    padding: "4px 8px",
    border: "none",
    borderRadius: tokens.borderRadiusSmall,
    background: "transparent",
    color: tokens.colorNeutralForeground1,
    font: "inherit",
    textAlign: "left",
    cursor: "pointer",
    ":hover": { backgroundColor: tokens.colorNeutralBackground1Hover },
    ":focus-visible": { outline: `2px solid ${tokens.colorStrokeFocus2}` },
  },
  fill: { position: "absolute", left: 0, top: "3px", bottom: "3px", borderRadius: tokens.borderRadiusSmall, opacity: 0.28, pointerEvents: "none" },
  name: { position: "relative", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" },
  count: { position: "relative", fontVariantNumeric: "tabular-nums" },
  picked: { boxShadow: `inset 3px 0 0 ${tokens.colorBrandStroke1}`, fontWeight: 600 },
});

function useWidth<T extends HTMLElement>(): [React.RefObject<T>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => setWidth(Math.max(200, Math.floor(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

export function bucketLabel(iso: string, seconds: number): string {
  const opts: Intl.DateTimeFormatOptions =
    seconds < 86400 ? { hour: "2-digit", minute: "2-digit", day: "2-digit", month: "short", timeZone: chosenZone() } : { month: "short", day: "2-digit", timeZone: chosenZone() };
  return new Intl.DateTimeFormat(undefined, opts).format(new Date(iso));
}

/** A round step for the y axis that gives about four lines. */
export function niceStep(max: number): number {
  if (max <= 4) return 1;
  const raw = max / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

const HEIGHT = 220;
// Room per axis label: "Dec 01, 01:00 PM" is about 100 px at 11 px.
const LABEL_PX = 150;
const PAD = { top: 10, right: 12, bottom: 26, left: 44 };

export function TrendChart({ trend, onPick }: { trend: Schemas["Trend"]; onPick?: (b: Schemas["TrendBucket"]) => void }) {
  const s = useStyles();
  const [ref, width] = useWidth<HTMLDivElement>();
  const [at, setAt] = useState<number>();
  const n = trend.buckets.length;
  const lines = trend.series.length ? trend.series.map((x, i) => ({ name: x.name, counts: x.counts, colour: PALETTE[i % PALETTE.length] })) : [{ name: "bans", counts: trend.buckets.map((b) => b.total), colour: PALETTE[0] }];
  const max = Math.max(1, ...trend.buckets.map((b) => b.total), ...lines.flatMap((l) => l.counts));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const w = width - PAD.left - PAD.right;
  const h = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (n <= 1 ? w / 2 : (i * w) / (n - 1));
  const y = (v: number) => PAD.top + h - (v / top) * h;
  const partial = n > 0 && trend.buckets[n - 1].partial;
  // Whole buckets drawn solid; the last, still filling, joined by a dashed segment.
  const solid = partial ? n - 1 : n;
  const path = (counts: number[], from: number, to: number) =>
    counts
      .slice(from, to)
      .map((v, k) => `${k === 0 ? "M" : "L"}${x(from + k).toFixed(1)},${y(v).toFixed(1)}`)
      .join("");
  const ticks = Array.from({ length: Math.floor(top / step) + 1 }, (_, i) => i * step);
  // Labels at least LABEL_PX apart; the last bucket is always labelled, so the regular
  // label just before it is dropped when the two would touch.
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(w / LABEL_PX))));
  const labelled = new Set<number>();
  for (let i = 0; i < n; i += labelEvery) labelled.add(i);
  const lastRegular = Math.floor((n - 1) / labelEvery) * labelEvery;
  if (n > 1 && lastRegular !== n - 1 && n - 1 - lastRegular < labelEvery * 0.8) labelled.delete(lastRegular);
  labelled.add(n - 1);
  const cur = at === undefined ? undefined : trend.buckets[at];
  const describe = (i: number) => {
    const b = trend.buckets[i];
    const parts = trend.series.map((x) => `${x.name} ${x.counts[i] ?? 0}`).join(", ");
    return `${bucketLabel(b.start, trend.bucket_seconds)}${b.partial ? " (so far)" : ""}: ${plural(b.total, "ban")}${parts ? ` (${parts})` : ""}`;
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      const d = e.key === "ArrowRight" ? 1 : -1;
      setAt((a) => Math.min(n - 1, Math.max(0, (a ?? (d > 0 ? -1 : n)) + d)));
    } else if ((e.key === "Enter" || e.key === " ") && cur && onPick) {
      e.preventDefault();
      onPick(cur);
    }
  };
  return (
    <div ref={ref} className={s.wrap}>
      <Text size={200} className={s.readout} aria-live="polite">
        {at !== undefined ? describe(at) : onPick ? "Point at a time to see its bans; click it to show only that time." : ""}
      </Text>
      <svg
        className={s.svg}
        width={width}
        height={HEIGHT}
        role="img"
        tabIndex={0}
        aria-label={`Bans over time, ${n} buckets; arrow keys move, Enter filters to a bucket`}
        onKeyDown={onKey}
        onMouseLeave={() => setAt(undefined)}
        onBlur={() => setAt(undefined)}
      >
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={width - PAD.right} y1={y(t)} y2={y(t)} stroke={tokens.colorNeutralStroke2} strokeDasharray="3 3" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" fontSize={11} fill={tokens.colorNeutralForeground3}>
              {t.toLocaleString()}
            </text>
          </g>
        ))}
        {trend.buckets.map((b, i) =>
          labelled.has(i) ? (
            <text key={b.start} x={x(i)} y={HEIGHT - 8} textAnchor={i === 0 ? "start" : i === n - 1 ? "end" : "middle"} fontSize={11} fill={tokens.colorNeutralForeground3}>
              {i === n - 1 && b.partial ? "now" : bucketLabel(b.start, trend.bucket_seconds)}
            </text>
          ) : null,
        )}
        {cur && <line x1={x(at!)} x2={x(at!)} y1={PAD.top} y2={PAD.top + h} stroke={tokens.colorNeutralStroke1} />}
        {lines.map((l) => (
          <g key={l.name}>
            <path d={path(l.counts, 0, solid)} fill="none" stroke={l.colour} strokeWidth={2} />
            {partial && n > 1 && <path d={path(l.counts, n - 2, n)} fill="none" stroke={l.colour} strokeWidth={2} strokeDasharray="4 4" opacity={0.7} />}
            {partial && <circle cx={x(n - 1)} cy={y(l.counts[n - 1] ?? 0)} r={3.5} fill={tokens.colorNeutralBackground1} stroke={l.colour} strokeWidth={2} />}
          </g>
        ))}
        {trend.buckets.map((b, i) => {
          const half = n <= 1 ? w / 2 : w / (n - 1) / 2;
          return (
            <rect
              key={b.start}
              data-bucket={b.start}
              x={x(i) - half}
              y={PAD.top}
              width={half * 2}
              height={h}
              fill="transparent"
              style={{ cursor: onPick ? "pointer" : undefined }}
              onMouseEnter={() => setAt(i)}
              onClick={() => onPick?.(b)}
            >
              <title>{describe(i)}</title>
            </rect>
          );
        })}
      </svg>
      {trend.series.length > 1 && (
        <div className={s.legend}>
          {lines.map((l) => (
            <span key={l.name} className={s.key}>
              <span className={s.swatch} style={{ background: l.colour }} />
              <Text size={200}>{l.name}</Text>
            </span>
          ))}
          {partial && <Text size={200}>dashed: the current bucket, still filling</Text>}
        </div>
      )}
    </div>
  );
}

export interface BarRow {
  key: string;
  name: string;
  value: number;
}

/** Counts as a list of bars; each one is a button that filters by it. */
export function BarList({ rows, label, picked, onPick, colour = PALETTE[0] }: { rows: BarRow[]; label: string; picked?: string; onPick?: (key: string) => void; colour?: string }) {
  const s = useStyles();
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <ul className={s.bars} aria-label={label}>
      {rows.map((r) => (
        <li key={r.key}>
          <button
            type="button"
            className={`${s.bar} ${picked === r.key ? s.picked : ""}`}
            title={`${r.name}: ${plural(r.value, "ban")}${onPick ? (picked === r.key ? " (click to show all)" : " (click to filter)") : ""}`}
            aria-pressed={onPick ? picked === r.key : undefined}
            onClick={() => onPick?.(r.key)}
          >
            <span className={s.fill} style={{ width: `${(100 * r.value) / max}%`, background: colour }} />
            <span className={s.name}>{r.name}</span>
            <span className={s.count}>{r.value.toLocaleString()}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}
