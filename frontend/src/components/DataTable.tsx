// A table that holds up on every screen. Wide: a real table whose columns size to their
// content (no fixed layout that prints a long name over its neighbour), long text cut
// with an ellipsis and shown whole on hover. Narrow: one card per row, the key columns
// as its heading and the rest as labelled lines, so nothing scrolls sideways.
import type { ReactNode } from "react";
import { makeStyles, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, tokens } from "@fluentui/react-components";
import { useNarrow } from "./layout";

export interface Column<T> {
  key: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** Shown in a card's heading on a phone (the rest become labelled lines). */
  primary?: boolean;
  /** Cut long text at this width (CSS), with the whole text as the cell's tooltip. */
  truncate?: string;
  /** The whole text of a truncated cell. */
  text?: (row: T) => string;
  /** Right-aligned numbers. */
  numeric?: boolean;
  /** Let long content wrap (log lines); other cells keep to one line. */
  wrap?: boolean;
}

const useStyles = makeStyles({
  scroll: { overflowX: "auto", maxWidth: "100%" },
  table: { tableLayout: "auto", width: "100%" },
  nowrap: { whiteSpace: "nowrap" },
  wrap: { minWidth: "16em" },
  numeric: { textAlign: "right", whiteSpace: "nowrap" },
  cut: { display: "inline-block", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap", verticalAlign: "bottom" },
  cards: { display: "flex", flexDirection: "column", gap: "8px", listStyle: "none", padding: 0, margin: 0 },
  card: {
    border: `1px solid ${tokens.colorNeutralStroke2}`,
    borderRadius: tokens.borderRadiusMedium,
    padding: "8px 12px",
    backgroundColor: tokens.colorNeutralBackground1,
    minWidth: 0,
  },
  head: { display: "flex", flexWrap: "wrap", gap: "4px 12px", alignItems: "center", fontWeight: 600, overflowWrap: "anywhere" },
  lines: { display: "grid", gridTemplateColumns: "minmax(90px, max-content) minmax(0, 1fr)", gap: "2px 12px", margin: "6px 0 0" },
  label: { color: tokens.colorNeutralForeground3, margin: 0 },
  value: { margin: 0, minWidth: 0, overflowWrap: "anywhere" },
});

export function DataTable<T>({ label, rows, columns, rowKey, rowClass }: { label: string; rows: T[]; columns: Column<T>[]; rowKey: (r: T) => string | number; rowClass?: (r: T) => string | undefined }) {
  const s = useStyles();
  const narrow = useNarrow();
  if (narrow) {
    const primary = columns.filter((c) => c.primary);
    const rest = columns.filter((c) => !c.primary);
    return (
      <ul className={s.cards} aria-label={label}>
        {rows.map((r) => (
          <li key={rowKey(r)} className={`${s.card} ${rowClass?.(r) ?? ""}`}>
            <div className={s.head}>
              {primary.map((c) => (
                <span key={c.key}>{c.cell(r)}</span>
              ))}
            </div>
            <dl className={s.lines}>
              {rest.map((c) => (
                <div key={c.key} style={{ display: "contents" }}>
                  <dt className={s.label}>{c.header}</dt>
                  <dd className={s.value}>{c.cell(r)}</dd>
                </div>
              ))}
            </dl>
          </li>
        ))}
      </ul>
    );
  }
  return (
    <div className={s.scroll}>
      <Table size="small" aria-label={label} className={s.table}>
        <TableHeader>
          <TableRow>
            {columns.map((c) => (
              <TableHeaderCell key={c.key} className={c.numeric ? s.numeric : s.nowrap}>
                {c.header}
              </TableHeaderCell>
            ))}
          </TableRow>
        </TableHeader>
        <TableBody>
          {rows.map((r) => (
            <TableRow key={rowKey(r)} className={rowClass?.(r)}>
              {columns.map((c) => (
                <TableCell key={c.key} className={c.numeric ? s.numeric : c.truncate ? undefined : c.wrap ? s.wrap : s.nowrap}>
                  {c.truncate ? (
                    <span className={s.cut} style={{ maxWidth: c.truncate }} title={c.text?.(r)}>
                      {c.cell(r)}
                    </span>
                  ) : (
                    c.cell(r)
                  )}
                </TableCell>
              ))}
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </div>
  );
}
