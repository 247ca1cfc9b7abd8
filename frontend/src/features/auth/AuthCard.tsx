import type { ReactNode } from "react";
import { Card, makeStyles, Text, Title2, tokens } from "@fluentui/react-components";
import { ShieldLock20Regular } from "@fluentui/react-icons";

const useStyles = makeStyles({
  page: { minHeight: "100vh", display: "grid", placeItems: "center", backgroundColor: tokens.colorNeutralBackground2 },
  card: { width: "min(440px, 92vw)", padding: "28px", display: "flex", flexDirection: "column", gap: "14px" },
});

export function AuthCard({ title, subtitle, children }: { title: string; subtitle: string; children: ReactNode }) {
  const s = useStyles();
  return (
    <main className={s.page}>
      <Card className={s.card}>
        <Title2 as="h1">
          <ShieldLock20Regular /> {title}
        </Title2>
        <Text>{subtitle}</Text>
        {children}
      </Card>
    </main>
  );
}
