// The commands a jail offers (start, stop with confirmation, reload, idle), shared by the
// jail list and the jail page, and the confirmation a stop needs.
import { useState } from "react";
import { Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle } from "@fluentui/react-components";
import { api, type Schemas } from "../../api/client";
import { useCommand } from "../commands/useCommand";

type Jail = Pick<Schemas["JailView"], "name" | "running" | "idle" | "currently_banned">;

export function useJailActions() {
  const run = useCommand();
  const withWait = (name: string, wait: string) => ({ params: { path: { name }, query: { wait } } });
  return {
    start: (name: string) => run({ label: `Start ${name}`, send: (wait) => api.POST("/jails/{name}/start", withWait(name, wait)) }),
    stop: (name: string) => run({ label: `Stop ${name}`, send: (wait) => api.POST("/jails/{name}/stop", withWait(name, wait)) }),
    reload: (name: string) => run({ label: `Reload ${name}`, send: (wait) => api.POST("/jails/{name}/reload", withWait(name, wait)) }),
    idle: (name: string, on: boolean) => run({ label: `Idle ${on ? "on" : "off"} for ${name}`, send: (wait) => api.PUT("/jails/{name}/idle", { ...withWait(name, wait), body: { on } }) }),
  };
}

/** Asks before stopping a jail: fail2ban stops watching its logs and lifts its bans. */
export function StopDialog({ jail, onClose }: { jail: Jail | undefined; onClose: () => void }) {
  const { stop } = useJailActions();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog open={jail !== undefined} onOpenChange={(_, d) => !d.open && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Stop {jail?.name}?</DialogTitle>
          <DialogContent>
            fail2ban stops watching this jail's logs
            {jail && jail.currently_banned > 0 ? ` and lifts its ${jail.currently_banned.toLocaleString()} current ban${jail.currently_banned === 1 ? "" : "s"}` : ""}. It stays stopped until you start it or fail2ban reloads.
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" onClick={onClose}>
              Cancel
            </Button>
            <Button
              appearance="primary"
              disabled={busy}
              onClick={async () => {
                if (!jail) return;
                setBusy(true);
                onClose();
                await stop(jail.name);
                setBusy(false);
              }}
            >
              Stop {jail?.name}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
