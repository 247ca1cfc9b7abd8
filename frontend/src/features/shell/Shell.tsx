// The frame of every signed-in page: the navigation (a sidebar on a wide screen, a drawer
// behind a menu button on a phone), fail2ban's status, the account menu, the notices, and
// a skip link so keyboard users reach the content in one step.
import { useEffect, useState, type ReactNode } from "react";
import { NavLink, useLocation, useNavigate } from "react-router-dom";
import {
  Badge,
  Button,
  Drawer,
  DrawerBody,
  DrawerHeader,
  DrawerHeaderTitle,
  makeStyles,
  Menu,
  MenuItem,
  MenuItemRadio,
  MenuList,
  MenuPopover,
  MenuTrigger,
  Text,
  tokens,
  Tooltip,
} from "@fluentui/react-components";
import {
  DarkTheme20Regular,
  DataArea20Regular,
  Dismiss20Regular,
  Globe20Regular,
  History20Regular,
  Navigation20Regular,
  PeopleTeam20Regular,
  Person20Regular,
  Settings20Regular,
  ShieldLock20Regular,
  ShieldProhibited20Regular,
  SignOut20Regular,
} from "@fluentui/react-icons";
import { api, unwrap } from "../../api/client";
import { ConfigAlerts } from "../config/Alerts";
import { useApiQuery } from "../../api/query";
import { useNarrow } from "../../components/layout";
import { useSession } from "../../session";
import { useTheme, type ThemeChoice } from "../../theme";
import { ago } from "../../time";
import { NoticeList, useNotices } from "./notices";
import { PasswordDialog } from "./PasswordDialog";
import { ZonePicker } from "./ZonePicker";

const useStyles = makeStyles({
  root: {
    display: "grid",
    gridTemplateColumns: "220px minmax(0, 1fr)",
    minHeight: "100vh",
    "@media (max-width: 767px)": { gridTemplateColumns: "minmax(0, 1fr)" },
  },
  nav: {
    display: "flex",
    flexDirection: "column",
    gap: "4px",
    padding: "16px 12px",
    borderRight: `1px solid ${tokens.colorNeutralStroke2}`,
    backgroundColor: tokens.colorNeutralBackground2,
  },
  drawerNav: { display: "flex", flexDirection: "column", gap: "4px" },
  brand: { display: "flex", alignItems: "center", gap: "8px", padding: "4px 8px 16px", fontWeight: 600, fontSize: "18px" },
  link: {
    display: "flex",
    alignItems: "center",
    gap: "10px",
    padding: "10px",
    borderRadius: tokens.borderRadiusMedium,
    color: tokens.colorNeutralForeground1,
    textDecoration: "none",
    ":hover": { backgroundColor: tokens.colorNeutralBackground2Hover },
    ":focus-visible": { outline: `2px solid ${tokens.colorStrokeFocus2}` },
  },
  active: { backgroundColor: tokens.colorNeutralBackground1Selected, fontWeight: 600 },
  main: { display: "flex", flexDirection: "column", minWidth: 0 },
  top: {
    display: "flex",
    flexWrap: "wrap",
    alignItems: "center",
    gap: "8px 16px",
    padding: "8px 24px",
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
    backgroundColor: tokens.colorNeutralBackground1,
    "@media (max-width: 767px)": { padding: "6px 12px", gap: "4px 10px" },
  },
  status: { display: "flex", flexWrap: "wrap", alignItems: "center", gap: "4px 16px", minWidth: 0 },
  spacer: { flexGrow: 1 },
  content: {
    padding: "24px",
    display: "flex",
    flexDirection: "column",
    gap: "20px",
    minWidth: 0,
    ":focus": { outline: "none" },
    "@media (max-width: 767px)": { padding: "12px", gap: "12px" },
  },
  footer: { marginTop: "auto", display: "flex", flexDirection: "column", gap: "4px", padding: "8px" },
  skip: {
    position: "absolute",
    left: "8px",
    top: "-48px",
    zIndex: 2000,
    padding: "8px 12px",
    backgroundColor: tokens.colorNeutralBackground1,
    color: tokens.colorNeutralForeground1,
    border: `2px solid ${tokens.colorStrokeFocus2}`,
    borderRadius: tokens.borderRadiusMedium,
    ":focus": { top: "8px" },
  },
});

const NAV = [
  { to: "/", label: "Dashboard", icon: <DataArea20Regular /> },
  { to: "/map", label: "World Map", icon: <Globe20Regular /> },
  { to: "/jails", label: "Jails", icon: <ShieldLock20Regular /> },
  { to: "/history", label: "History", icon: <History20Regular /> },
  { to: "/blocklists", label: "Blocklists", icon: <ShieldProhibited20Regular /> },
  { to: "/config", label: "Configuration", icon: <Settings20Regular /> },
];

/** Shown to admins only (the API refuses everyone else anyway). */
const ADMIN_NAV = { to: "/admin", label: "Administration", icon: <PeopleTeam20Regular /> };

function NavLinks({ onPick }: { onPick?: () => void }) {
  const s = useStyles();
  const { can } = useSession();
  return (
    <>
      {[...NAV, ...(can("admin") ? [ADMIN_NAV] : [])].map((n) => (
        <NavLink
          key={n.to}
          to={n.to}
          end={n.to === "/"}
          onClick={onPick}
          className={({ isActive }) => (isActive ? `${s.link} ${s.active}` : s.link)}
        >
          {n.icon}
          {n.label}
        </NavLink>
      ))}
    </>
  );
}

const GEO_CREDIT = "Geo data: ip-location-db (CC0; ASN data CC-BY-4.0, DB-IP & RouteViews)";

/** fail2ban's state on every page: reachable, version, running jails, bans, failures, snapshot age. */
function StatusLine() {
  const s = useStyles();
  const narrow = useNarrow();
  const { data, error } = useApiQuery(["status"], () => unwrap(api.GET("/status")), { pollMs: 5000 });
  return (
    <div className={s.status} role="status" aria-label="fail2ban status">
      {data ? (
        <>
          <Badge appearance="filled" color={data.reachable ? "success" : "danger"}>
            {data.reachable ? "fail2ban reachable" : "fail2ban unreachable"}
          </Badge>
          {data.version && !narrow && <Text>v{data.version}</Text>}
          <Text>
            {data.jail_count} {data.jail_count === 1 ? "jail" : "jails"} running
          </Text>
          <Text>
            <strong>{data.currently_banned}</strong> banned now
          </Text>
          {!narrow && <Text>{data.currently_failed} failing</Text>}
          {!narrow && <Text title={data.checked_at ?? undefined}>snapshot {data.checked_at ? ago(data.checked_at) : "never"}</Text>}
          {!data.scheduler_running && <Badge color="warning">scheduler not running</Badge>}
          {data.error && !data.reachable && <Text size={200}>{data.error}</Text>}
        </>
      ) : error ? (
        <Badge color="danger">status unavailable</Badge>
      ) : (
        <Text>checking fail2ban…</Text>
      )}
    </div>
  );
}

function Account() {
  const { session } = useSession();
  const { choice, setChoice } = useTheme();
  const narrow = useNarrow();
  const navigate = useNavigate();
  const [passwordOpen, setPasswordOpen] = useState(false);
  const { notify } = useNotices();
  const leave = async (path: "/auth/logout" | "/auth/logout-all") => {
    try {
      await unwrap(api.POST(path));
    } catch {
      // Signed out either way: the session is dropped below.
    } finally {
      navigate("/login");
      window.location.reload();
    }
  };
  return (
    <>
      <ZonePicker />
      <Menu checkedValues={{ theme: [choice] }} onCheckedValueChange={(_, d) => setChoice(d.checkedItems[0] as ThemeChoice)}>
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
      <Menu>
        <MenuTrigger disableButtonEnhancement>
          <Button appearance="subtle" icon={<Person20Regular />} aria-label={`Account ${session?.user ?? ""}`.trim()}>
            {narrow ? undefined : session ? `${session.user} · ${session.role}` : "Account"}
          </Button>
        </MenuTrigger>
        <MenuPopover>
          <MenuList>
            <MenuItem onClick={() => setPasswordOpen(true)}>Change password…</MenuItem>
            <MenuItem onClick={() => navigate("/admin/tokens")}>API tokens</MenuItem>
            <MenuItem onClick={() => void leave("/auth/logout-all")}>Sign out everywhere</MenuItem>
            <MenuItem icon={<SignOut20Regular />} onClick={() => void leave("/auth/logout")}>
              Log out
            </MenuItem>
          </MenuList>
        </MenuPopover>
      </Menu>
      <PasswordDialog
        open={passwordOpen}
        onClose={() => setPasswordOpen(false)}
        onChanged={() => notify({ id: "password", intent: "success", title: "Password changed", text: "Your other sessions ended." })}
      />
    </>
  );
}

export function Shell({ children }: { children: ReactNode }) {
  const s = useStyles();
  const narrow = useNarrow();
  const { session } = useSession();
  const [drawer, setDrawer] = useState(false);
  const location = useLocation();
  useEffect(() => setDrawer(false), [location.pathname]);
  return (
    <div className={s.root}>
      <a className={s.skip} href="#content" onClick={(e) => {
        e.preventDefault();
        document.getElementById("content")?.focus();
      }}>
        Skip to content
      </a>
      {!narrow && (
        <nav className={s.nav} aria-label="Main">
          <div className={s.brand}>
            <ShieldLock20Regular /> BanGUI
          </div>
          <NavLinks />
          <div className={s.footer}>
            <Text size={100}>{GEO_CREDIT}</Text>
          </div>
        </nav>
      )}
      {narrow && (
        <Drawer type="overlay" open={drawer} onOpenChange={(_, d) => setDrawer(d.open)} position="start" size="small">
          <DrawerHeader>
            <DrawerHeaderTitle
              action={<Button appearance="subtle" aria-label="Close menu" icon={<Dismiss20Regular />} onClick={() => setDrawer(false)} />}
            >
              BanGUI
            </DrawerHeaderTitle>
          </DrawerHeader>
          <DrawerBody>
            <nav className={s.drawerNav} aria-label="Main">
              <NavLinks onPick={() => setDrawer(false)} />
              {session && (
                <Text size={200} style={{ padding: "8px 10px" }}>
                  Signed in as {session.user} ({session.role})
                </Text>
              )}
              <Text size={100} style={{ padding: "8px 10px" }}>
                {GEO_CREDIT}
              </Text>
            </nav>
          </DrawerBody>
        </Drawer>
      )}
      <div className={s.main}>
        <header className={s.top}>
          {narrow && <Button appearance="subtle" icon={<Navigation20Regular />} aria-label="Menu" aria-expanded={drawer} onClick={() => setDrawer(true)} />}
          <StatusLine />
          <span className={s.spacer} />
          <Account />
        </header>
        <main id="content" tabIndex={-1} className={s.content}>
          {narrow && <NoticeList />}
          <ConfigAlerts />
          {children}
        </main>
        {!narrow && <NoticeList />}
      </div>
    </div>
  );
}
