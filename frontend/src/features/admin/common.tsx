// What the admin pages share: their tabs, the admin-only gate (the API refuses others
// anyway; the page says so instead of showing errors), a confirmation dialog, and the
// way an action's outcome is told (a notice with the request id).
import { useState, type ReactNode } from "react";
import { useNavigate } from "react-router-dom";
import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  makeStyles,
  MessageBar,
  MessageBarBody,
  Tab,
  TabList,
  Title2,
} from "@fluentui/react-components";
import { asApiError } from "../../api/client";
import { useSession } from "../../session";
import { useNotices } from "../shell/notices";

export const useAdminStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  form: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 200px), 1fr))", gap: "12px 16px", alignItems: "start" },
  actions: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center" },
  /** A form's buttons, level with the inputs beside them (below the labels). */
  formActions: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center", paddingTop: "26px", "@media (max-width: 767px)": { paddingTop: 0 } },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", overflowWrap: "anywhere" },
  muted: { opacity: 0.8, fontSize: "12px" },
});

export type AdminTab = "users" | "tokens" | "audit" | "commands" | "system" | "settings";

export function AdminTabs({ selected }: { selected: AdminTab }) {
  const navigate = useNavigate();
  const { can } = useSession();
  if (!can("admin")) return null;
  return (
    <TabList selectedValue={selected} onTabSelect={(_, d) => navigate(`/admin/${String(d.value)}`)} aria-label="Administration sections" style={{ flexWrap: "wrap" }}>
      <Tab value="users">Users</Tab>
      <Tab value="tokens">API tokens</Tab>
      <Tab value="audit">Audit log</Tab>
      <Tab value="commands">Commands</Tab>
      <Tab value="system">System</Tab>
      <Tab value="settings">Settings</Tab>
    </TabList>
  );
}

/** The page's heading and tabs, and its content for admins only. */
export function AdminPage({ tab, children }: { tab: AdminTab; children: ReactNode }) {
  const { can } = useSession();
  return (
    <>
      <Title2 as="h1">Administration</Title2>
      <AdminTabs selected={tab} />
      {can("admin") ? (
        children
      ) : (
        <MessageBar intent="warning" role="alert">
          <MessageBarBody>This page needs the admin role.</MessageBarBody>
        </MessageBar>
      )}
    </>
  );
}

/** Runs an action and tells how it went; resolves to whether it succeeded. */
export function useAct() {
  const { notify } = useNotices();
  return async (id: string, title: string, call: () => Promise<unknown>): Promise<boolean> => {
    try {
      await call();
      notify({ id, intent: "success", title });
      return true;
    } catch (e) {
      const err = asApiError(e);
      notify({ id, intent: "error", title: `${title}: refused`, text: err.message, requestId: err.requestId });
      return false;
    }
  };
}

/** A button that asks before it acts. */
export function ConfirmButton(props: { label: string; title: string; text: ReactNode; confirm: string; onConfirm: () => void; disabled?: boolean; ariaLabel?: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button size="small" disabled={props.disabled} aria-label={props.ariaLabel} onClick={() => setOpen(true)}>
        {props.label}
      </Button>
      <Dialog open={open} onOpenChange={(_, d) => setOpen(d.open)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>{props.title}</DialogTitle>
            <DialogContent>{props.text}</DialogContent>
            <DialogActions>
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              <Button
                appearance="primary"
                onClick={() => {
                  setOpen(false);
                  props.onConfirm();
                }}
              >
                {props.confirm}
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </>
  );
}
