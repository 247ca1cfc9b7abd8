import { lazy, Suspense, useEffect, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { Spinner } from "@fluentui/react-components";
import { onApiFailure } from "./api/client";
import { Shell } from "./components/Shell";
import { SessionProvider, useSession } from "./session";
import { ThemeProvider } from "./theme";
import { Login } from "./pages/Login";
import { Setup } from "./pages/Setup";

// Pages with charts and the map load on demand, keeping the first load small.
const Dashboard = lazy(() => import("./pages/Dashboard"));
const WorldMap = lazy(() => import("./pages/WorldMap"));
const Jails = lazy(() => import("./pages/Jails"));
const JailDetail = lazy(() => import("./pages/JailDetail"));
const History = lazy(() => import("./pages/History"));
const IpTimeline = lazy(() => import("./pages/IpTimeline"));

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
        {children}
      </Suspense>
    </Shell>
  );
}

export function App() {
  return (
    <ThemeProvider>
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
            <Route path="*" element={<Navigate to="/" replace />} />
          </Routes>
        </SessionProvider>
      </BrowserRouter>
    </ThemeProvider>
  );
}
