// A unified diff as the API gives it, each line coloured by what it does.
import { makeStyles, tokens } from "@fluentui/react-components";

const useStyles = makeStyles({
  pre: {
    fontFamily: "ui-monospace, monospace",
    fontSize: "12px",
    margin: 0,
    padding: "8px",
    border: `1px solid ${tokens.colorNeutralStroke2}`,
    borderRadius: tokens.borderRadiusMedium,
    overflowX: "auto",
    maxHeight: "50vh",
    overflowY: "auto",
    backgroundColor: tokens.colorNeutralBackground2,
  },
  add: { backgroundColor: tokens.colorPaletteGreenBackground2, color: tokens.colorNeutralForeground1, display: "block" },
  del: { backgroundColor: tokens.colorPaletteRedBackground2, color: tokens.colorNeutralForeground1, display: "block" },
  hunk: { color: tokens.colorBrandForeground1, display: "block" },
  line: { display: "block" },
});

export function DiffView({ diff, label }: { diff: string; label: string }) {
  const s = useStyles();
  if (!diff) return <p>No change.</p>;
  return (
    <pre className={s.pre} aria-label={label} tabIndex={0}>
      {diff.split("\n").map((line, i) => {
        const cls = line.startsWith("+++") || line.startsWith("---") ? s.hunk : line.startsWith("+") ? s.add : line.startsWith("-") ? s.del : line.startsWith("@@") ? s.hunk : s.line;
        return (
          <span key={i} className={cls}>
            {line || " "}
          </span>
        );
      })}
    </pre>
  );
}
