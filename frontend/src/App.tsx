import { lazy, Suspense, useEffect, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { Spinner } from "@fluentui/react-components";
import { QueryClientProvider } from "@tanstack/react-query";
import { onApiFailure } from "./api/client";
import { queryClient } from "./api/query";
import { Login } from "./features/auth/Login";
import { Setup } from "./features/auth/Setup";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { NoticeProvider } from "./features/shell/notices";
import { Shell } from "./features/shell/Shell";
import { SessionProvider, useSession } from "./session";
import { ThemeProvider } from "./theme";

// Pages load on demand (the map's atlas only on the map), keeping the first load small.
const Dashboard = lazy(() => import("./features/dashboard/DashboardPage"));
const WorldMap = lazy(() => import("./features/map/MapPage"));
const Jails = lazy(() => import("./features/jails/JailsPage"));
const JailDetail = lazy(() => import("./features/jails/JailDetailPage"));
const History = lazy(() => import("./features/history/HistoryPage"));
const IpTimeline = lazy(() => import("./features/history/IpTimelinePage"));
const Config = lazy(() => import("./features/config/ConfigPage"));
const JailConfig = lazy(() => import("./features/config/JailConfigPage"));
const Allowlist = lazy(() => import("./features/config/AllowlistPage"));
const RegexTester = lazy(() => import("./features/config/RegexTesterPage"));
const Fail2banLog = lazy(() => import("./features/config/LogPage"));
const Defs = lazy(() => import("./features/config/DefsPage"));
const Server = lazy(() => import("./features/config/ServerPage"));
const Blocklists = lazy(() => import("./features/blocklists/BlocklistsPage"));
const Users = lazy(() => import("./features/admin/UsersPage"));
const Tokens = lazy(() => import("./features/admin/TokensPage"));
const Audit = lazy(() => import("./features/admin/AuditPage"));
const Commands = lazy(() => import("./features/admin/CommandsPage"));
const System = lazy(() => import("./features/admin/SystemPage"));
const Settings = lazy(() => import("./features/admin/SettingsPage"));

/** Sends signed-out users to /login (remembering where they were) and everyone to /setup first. */
function Guard({ children }: { children: ReactNode }) {
  const { session, setupRequired, refresh, zone } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  useEffect(
    () =>
      onApiFailure((e) => {
        if (e.code === "setup_required") navigate("/setup");
        else if (e.status === 401 && e.code === "unauthorized") void refresh();
      }),
    [navigate, refresh],
  );
  if (session === undefined) return <Spinner label="Loading BanGUI…" style={{ marginTop: "20vh" }} />;
  if (setupRequired) return <Navigate to="/setup" replace />;
  if (session === null) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return (
    <Shell>
      {/* A new zone re-mounts the page: every time and every zone-dependent query follows. */}
      <Suspense key={zone} fallback={<Spinner label="Loading…" />}>
        <ErrorBoundary resetKey={location.pathname}>{children}</ErrorBoundary>
      </Suspense>
    </Shell>
  );
}

export function App() {
  return (
    <ThemeProvider>
      <QueryClientProvider client={queryClient}>
      <NoticeProvider>
      <BrowserRouter>
        <SessionProvider>
          <Routes>
            <Route path="/setup" element={<Setup />} />
            <Route path="/login" element={<Login />} />
            <Route path="/" element={<Guard><Dashboard /></Guard>} />
            <Route path="/map" element={<Guard><WorldMap /></Guard>} />
            <Route path="/jails" element={<Guard><Jails /></Guard>} />
            <Route path="/jails/:name" element={<Guard><JailDetail /></Guard>} />
            <Route path="/history" element={<Guard><History /></Guard>} />
            <Route path="/history/:ip" element={<Guard><IpTimeline /></Guard>} />
            <Route path="/blocklists" element={<Guard><Blocklists /></Guard>} />
            <Route path="/config" element={<Navigate to="/config/jails" replace />} />
            <Route path="/config/jails" element={<Guard><Config /></Guard>} />
            <Route path="/config/jails/:name" element={<Guard><JailConfig /></Guard>} />
            <Route path="/config/allowlist" element={<Guard><Allowlist /></Guard>} />
            <Route path="/config/regex" element={<Guard><RegexTester /></Guard>} />
            <Route path="/config/log" element={<Guard><Fail2banLog /></Guard>} />
            <Route path="/config/server" element={<Guard><Server /></Guard>} />
            <Route path="/config/filters" element={<Guard><Defs kind="filters" /></Guard>} />
            <Route path="/config/actions" element={<Guard><Defs kind="actions" /></Guard>} />
            <Route path="/admin" element={<Navigate to="/admin/users" replace />} />
            <Route path="/admin/users" element={<Guard><Users /></Guard>} />
            <Route path="/admin/tokens" element={<Guard><Tokens /></Guard>} />
            <Route path="/admin/audit" element={<Guard><Audit /></Guard>} />
            <Route path="/admin/commands" element={<Guard><Commands /></Guard>} />
            <Route path="/admin/system" element={<Guard><System /></Guard>} />
            <Route path="/admin/settings" element={<Guard><Settings /></Guard>} />
            <Route path="*" element={<Navigate to="/" replace />} />
          </Routes>
        </SessionProvider>
      </BrowserRouter>
      </NoticeProvider>
      </QueryClientProvider>
    </ThemeProvider>
  );
}
