import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, ApiError, unwrap, type Schemas } from "./api/client";
import { chosenZone, setChosenZone, setInstanceZone } from "./time";

export type Role = Schemas["Role"];
// Keyed by the generated union: a role the server adds is a compile error until it is ranked here.
const RANK = { viewer: 1, operator: 2, admin: 3 } satisfies Record<Role, number>;

interface SessionState {
  /** undefined: still asking; null: not signed in. */
  session: Schemas["SessionView"] | null | undefined;
  setupRequired: boolean;
  refresh: () => Promise<void>;
  can: (role: Role) => boolean;
  /** The zone times are shown in; changing it re-renders the pages. */
  zone: string;
  /** Pick a zone for this browser (null: the instance's zone). */
  setZone: (tz: string | null) => void;
}

const SessionContext = createContext<SessionState>({
  session: undefined,
  setupRequired: false,
  refresh: async () => {},
  can: () => false,
  zone: "UTC",
  setZone: () => {},
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Schemas["SessionView"] | null>();
  const [setupRequired, setSetupRequired] = useState(false);
  const [zone, setZoneState] = useState(chosenZone());
  const setZone = useCallback((tz: string | null) => {
    setChosenZone(tz);
    setZoneState(chosenZone());
  }, []);
  const refresh = useCallback(async () => {
    try {
      const s = await unwrap(api.GET("/auth/session"));
      setInstanceZone(s.timezone);
      setZoneState(chosenZone());
      setSession(s);
      setSetupRequired(false);
    } catch (e) {
      setSetupRequired(e instanceof ApiError && e.code === "setup_required");
      setSession(null);
    }
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const can = useCallback((role: Role) => (session ? RANK[session.role] >= RANK[role] : false), [session]);
  return <SessionContext.Provider value={{ session, setupRequired, refresh, can, zone, setZone }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  return useContext(SessionContext);
}
