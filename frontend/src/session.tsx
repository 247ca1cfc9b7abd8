import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { ApiError, call, type Schemas } from "./api/client";

export type Role = "viewer" | "operator" | "admin";
const RANK: Record<string, number> = { viewer: 1, operator: 2, admin: 3 };

interface SessionState {
  /** undefined: still asking; null: not signed in. */
  session: Schemas["SessionView"] | null | undefined;
  setupRequired: boolean;
  refresh: () => Promise<void>;
  can: (role: Role) => boolean;
}

const SessionContext = createContext<SessionState>({
  session: undefined,
  setupRequired: false,
  refresh: async () => {},
  can: () => false,
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Schemas["SessionView"] | null>();
  const [setupRequired, setSetupRequired] = useState(false);
  const refresh = useCallback(async () => {
    try {
      setSession(await call<Schemas["SessionView"]>("GET", "/auth/session"));
      setSetupRequired(false);
    } catch (e) {
      setSetupRequired(e instanceof ApiError && e.code === "setup_required");
      setSession(null);
    }
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const can = useCallback((role: Role) => (session ? (RANK[session.role] ?? 0) >= RANK[role] : false), [session]);
  return <SessionContext.Provider value={{ session, setupRequired, refresh, can }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  return useContext(SessionContext);
}
