import type { ReactNode } from "react";
import { NavLink, useNavigate } from "react-router-dom";
import { Badge, Button, makeStyles, Menu, MenuItemRadio, MenuList, MenuPopover, MenuTrigger, Text, Toaster, tokens, Tooltip } from "@fluentui/react-components";
import { TOASTER_ID } from "./commands";
import { ZonePicker } from "./ZonePicker";
import {
  DarkTheme20Regular,
  DataArea20Regular,
  Globe20Regular,
  History20Regular,
  ShieldLock20Regular,
  SignOut20Regular,
} from "@fluentui/react-icons";
import { call, get } from "../api/client";
import { useApi } from "../api/hooks";
import { useSession } from "../session";
import { useTheme, type ThemeChoice } from "../theme";
import { ago } from "../time";

const useStyles = makeStyles({
  root: { display: "grid", gridTemplateColumns: "220px 1fr", minHeight: "100vh" },
  nav: {
    display: "flex",
    flexDirection: "column",
    gap: "4px",
    padding: "16px 12px",
    borderRight: `1px solid ${tokens.colorNeutralStroke2}`,
    backgroundColor: tokens.colorNeutralBackground2,
  },
  brand: { display: "flex", alignItems: "center", gap: "8px", padding: "4px 8px 16px", fontWeight: 600, fontSize: "18px" },
  link: {
    display: "flex",
    alignItems: "center",
    gap: "10px",
    padding: "8px 10px",
    borderRadius: tokens.borderRadiusMedium,
    color: tokens.colorNeutralForeground1,
    textDecoration: "none",
    ":hover": { backgroundColor: tokens.colorNeutralBackground2Hover },
    ":focus-visible": { outline: `2px solid ${tokens.colorStrokeFocus2}` },
  },
  active: { backgroundColor: tokens.colorNeutralBackground1Selected, fontWeight: 600 },
  main: { display: "flex", flexDirection: "column", minWidth: 0 },
  status: {
    display: "flex",
    flexWrap: "wrap",
    alignItems: "center",
    gap: "16px",
    padding: "8px 24px",
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
    backgroundColor: tokens.colorNeutralBackground1,
  },
  spacer: { flexGrow: 1 },
  content: { padding: "24px", display: "flex", flexDirection: "column", gap: "20px", minWidth: 0 },
  footer: { marginTop: "auto", display: "flex", flexDirection: "column", gap: "4px", padding: "8px" },
});

const NAV = [
  { to: "/", label: "Dashboard", icon: <DataArea20Regular /> },
  { to: "/map", label: "World Map", icon: <Globe20Regular /> },
  { to: "/jails", label: "Jails", icon: <ShieldLock20Regular /> },
  { to: "/history", label: "History", icon: <History20Regular /> },
];

/** fail2ban's state on every page: reachable, version, jails, bans, failures, snapshot age. */
export function StatusBar() {
  const s = useStyles();
  const { data, error } = useApi(() => get("/status"), "status", 5000);
  const { session } = useSession();
  const { choice, setChoice } = useTheme();
  const navigate = useNavigate();
  const logout = async () => {
    try {
      await call("POST", "/auth/logout");
    } finally {
      navigate("/login");
      window.location.reload();
    }
  };
  return (
    <div className={s.status} role="status" aria-label="fail2ban status">
      {data ? (
        <>
          <Badge appearance="filled" color={data.reachable ? "success" : "danger"}>
            {data.reachable ? "fail2ban reachable" : "fail2ban unreachable"}
          </Badge>
          {data.version && <Text>v{data.version}</Text>}
          <Text>{data.jail_count} jails</Text>
          <Text>
            <strong>{data.currently_banned}</strong> banned now
          </Text>
          <Text>{data.currently_failed} failing</Text>
          <Text title={data.checked_at ?? undefined}>snapshot {data.checked_at ? ago(data.checked_at) : "never"}</Text>
          {!data.scheduler_running && <Badge color="warning">scheduler not running</Badge>}
          {data.error && !data.reachable && <Text size={200}>{data.error}</Text>}
        </>
      ) : error ? (
        <Badge color="danger">status unavailable</Badge>
      ) : (
        <Text>checking fail2ban…</Text>
      )}
      <span className={s.spacer} />
      {session && (
        <Text>
          {session.user} · {session.role}
        </Text>
      )}
      <ZonePicker />
      <Menu
        checkedValues={{ theme: [choice] }}
        onCheckedValueChange={(_, d) => setChoice(d.checkedItems[0] as ThemeChoice)}
      >
        <MenuTrigger disableButtonEnhancement>
          <Tooltip content="Theme" relationship="label">
            <Button appearance="subtle" icon={<DarkTheme20Regular />} aria-label="Theme" />
          </Tooltip>
        </MenuTrigger>
        <MenuPopover>
          <MenuList>
            <MenuItemRadio name="theme" value="system">Follow the system</MenuItemRadio>
            <MenuItemRadio name="theme" value="light">Light</MenuItemRadio>
            <MenuItemRadio name="theme" value="dark">Dark</MenuItemRadio>
          </MenuList>
        </MenuPopover>
      </Menu>
      <Button appearance="subtle" icon={<SignOut20Regular />} onClick={logout}>
        Log out
      </Button>
    </div>
  );
}

export function Shell({ children }: { children: ReactNode }) {
  const s = useStyles();
  return (
    <div className={s.root}>
      <nav className={s.nav} aria-label="Main">
        <div className={s.brand}>
          <ShieldLock20Regular /> BanGUI
        </div>
        {NAV.map((n) => (
          <NavLink key={n.to} to={n.to} end={n.to === "/"} className={({ isActive }) => (isActive ? `${s.link} ${s.active}` : s.link)}>
            {n.icon}
            {n.label}
          </NavLink>
        ))}
        <div className={s.footer}>
          <Text size={100}>
            Geo data: ip-location-db (CC0; ASN data CC-BY-4.0, DB-IP &amp; RouteViews)
          </Text>
        </div>
      </nav>
      <div className={s.main}>
        <StatusBar />
        <main className={s.content}>{children}</main>
        <Toaster toasterId={TOASTER_ID} position="bottom-end" />
      </div>
    </div>
  );
}
