// Change your own password: the current one, then the new one (the API's policy decides;
// its sentence is shown under the field it is about). Your other sessions end.
import { useState } from "react";
import { Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, Field, Input } from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError } from "../../api/client";
import { RequestId } from "../../components/RequestId";

export function PasswordDialog({ open, onClose, onChanged }: { open: boolean; onClose: () => void; onChanged: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const close = () => {
    setCurrent("");
    setNext("");
    setError(undefined);
    onClose();
  };
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(api.POST("/auth/password", { body: { current_password: current, new_password: next } }));
      onChanged();
      close();
    } catch (e) {
      setError(asApiError(e));
    }
    setBusy(false);
  };
  const wrongCurrent = error?.code === "invalid_credentials";
  return (
    <Dialog open={open} onOpenChange={(_, d) => (d.open ? undefined : close())}>
      <DialogSurface>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <DialogBody>
            <DialogTitle>Change your password</DialogTitle>
            <DialogContent style={{ display: "flex", flexDirection: "column", gap: 12 }}>
              <Field label="Current password" required validationMessage={wrongCurrent ? error?.message : undefined} validationState={wrongCurrent ? "error" : "none"}>
                <Input type="password" value={current} onChange={(_, d) => setCurrent(d.value)} autoComplete="current-password" />
              </Field>
              <Field
                label="New password"
                required
                hint="At least 12 characters, not your username, not a common password"
                validationMessage={error && !wrongCurrent ? error.message : undefined}
                validationState={error && !wrongCurrent ? "error" : "none"}
              >
                <Input type="password" value={next} onChange={(_, d) => setNext(d.value)} autoComplete="new-password" />
              </Field>
              {error?.requestId && <RequestId id={error.requestId} />}
            </DialogContent>
            <DialogActions>
              <Button onClick={close}>Cancel</Button>
              <Button type="submit" appearance="primary" disabled={busy || !current || !next}>
                Change password
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}
