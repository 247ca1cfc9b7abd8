// Users: who may sign in, with which role. Create, change a role, disable, reset a
// password, delete. The last active admin cannot be demoted, disabled or deleted: the
// page says why before anyone tries (the API refuses it anyway).
import { useState, type FormEvent } from "react";
import {
  Badge,
  Button,
  Card,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Dropdown,
  Field,
  Input,
  Option,
  Text,
  Tooltip,
} from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { RequestId } from "../../components/RequestId";
import { fieldMessage } from "../../components/fieldError";
import { useSession } from "../../session";
import { formatTime } from "../../time";
import { useNotices } from "../shell/notices";
import { AdminPage, ConfirmButton, useAct, useAdminStyles } from "./common";

type User = Schemas["UserView"];
type Role = Schemas["Role"];
export const ROLES: Role[] = ["viewer", "operator", "admin"];
const LAST_ADMIN = "The last active admin cannot be demoted, disabled or deleted: make another admin first.";

function CreateUser({ onCreated }: { onCreated: () => void }) {
  const s = useAdminStyles();
  const { notify } = useNotices();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const u = await unwrap(api.POST("/users", { body: { username: username.trim(), password, role } }));
      notify({ id: `user-${u.id}`, intent: "success", title: `Created ${u.username} (${u.role})` });
      setUsername("");
      setPassword("");
      onCreated();
    } catch (err) {
      setError(asApiError(err));
    }
    setBusy(false);
  };
  const userError = fieldMessage(error, "username") ?? (error?.code === "username_taken" ? error.message : undefined);
  const passwordError = fieldMessage(error, "password") ?? (error?.code === "weak_password" ? error.message : undefined);
  const other = error && !userError && !passwordError ? error : undefined;
  return (
    <form className={s.form} onSubmit={submit} aria-label="Create a user">
      <Field label="Username" required validationMessage={userError} validationState={userError ? "error" : "none"}>
        <Input value={username} onChange={(_, d) => setUsername(d.value)} autoComplete="off" maxLength={64} />
      </Field>
      <Field label="Password" required hint="At least 12 characters, not a common one" validationMessage={passwordError} validationState={passwordError ? "error" : "none"}>
        <Input type="password" value={password} onChange={(_, d) => setPassword(d.value)} autoComplete="new-password" />
      </Field>
      <Field label="Role">
        <Dropdown value={role} selectedOptions={[role]} onOptionSelect={(_, d) => setRole((d.optionValue as Role) ?? "viewer")}>
          {ROLES.map((r) => (
            <Option key={r} value={r}>
              {r}
            </Option>
          ))}
        </Dropdown>
      </Field>
      <div className={s.formActions}>
        <Button type="submit" appearance="primary" disabled={busy || !username.trim() || !password}>
          Create user
        </Button>
        {other && (
          <Text role="alert">
            {other.message} {other.requestId && <RequestId id={other.requestId} />}
          </Text>
        )}
      </div>
    </form>
  );
}

function ResetPassword({ user, onDone }: { user: User; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError>();
  const { notify } = useNotices();
  const submit = async () => {
    setError(undefined);
    try {
      await unwrap(api.POST("/users/{id}/password", { params: { path: { id: user.id } }, body: { password } }));
      notify({ id: `user-${user.id}-password`, intent: "success", title: `New password set for ${user.username}`, text: "Their sessions ended." });
      setOpen(false);
      setPassword("");
      onDone();
    } catch (e) {
      setError(asApiError(e));
    }
  };
  return (
    <>
      <Button size="small" onClick={() => setOpen(true)} aria-label={`Reset the password of ${user.username}`}>
        Reset password
      </Button>
      <Dialog open={open} onOpenChange={(_, d) => setOpen(d.open)}>
        <DialogSurface>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void submit();
            }}
          >
            <DialogBody>
              <DialogTitle>New password for {user.username}</DialogTitle>
              <DialogContent>
                <Field label="New password" required validationMessage={error?.message} validationState={error ? "error" : "none"} hint="Their sessions end; tell them the new password another way.">
                  <Input type="password" value={password} onChange={(_, d) => setPassword(d.value)} autoComplete="new-password" />
                </Field>
                {error?.requestId && <RequestId id={error.requestId} />}
              </DialogContent>
              <DialogActions>
                <Button onClick={() => setOpen(false)}>Cancel</Button>
                <Button type="submit" appearance="primary" disabled={!password}>
                  Set password
                </Button>
              </DialogActions>
            </DialogBody>
          </form>
        </DialogSurface>
      </Dialog>
    </>
  );
}

export default function UsersPage() {
  const s = useAdminStyles();
  const { session } = useSession();
  const act = useAct();
  const users = useApiQuery(["users"], () => unwrap(api.GET("/users")), { pollMs: 30_000 });
  const activeAdmins = (users.data?.items ?? []).filter((u) => u.role === "admin" && !u.disabled);
  const isLastAdmin = (u: User) => activeAdmins.length === 1 && activeAdmins[0].id === u.id;
  const update = (u: User, title: string, body: Schemas["UserChange"]) =>
    void act(`user-${u.id}`, title, () => unwrap(api.PATCH("/users/{id}", { params: { path: { id: u.id } }, body }))).then(users.reload);
  return (
    <AdminPage tab="users">
      <Card className={s.card}>
        <CreateUser onCreated={users.reload} />
      </Card>
      <Card className={s.card}>
        <DataState label="users" {...users} onRetry={users.reload}>
          {(l) => (
            <DataTable
              label="Users"
              rows={l.items}
              rowKey={(u) => u.id}
              columns={[
                {
                  key: "user",
                  header: "User",
                  primary: true,
                  cell: (u) => (
                    <span style={{ display: "inline-flex", gap: 6, alignItems: "center", flexWrap: "wrap" }}>
                      <strong>{u.username}</strong>
                      {u.username === session?.user && <Badge appearance="outline">you</Badge>}
                      {isLastAdmin(u) && (
                        <Tooltip content={LAST_ADMIN} relationship="description">
                          <Badge color="important" tabIndex={0}>
                            last admin
                          </Badge>
                        </Tooltip>
                      )}
                    </span>
                  ),
                },
                {
                  key: "role",
                  header: "Role",
                  cell: (u) => (
                    <Dropdown
                      size="small"
                      aria-label={`Role of ${u.username}`}
                      value={u.role}
                      selectedOptions={[u.role]}
                      disabled={isLastAdmin(u)}
                      style={{ minWidth: 120 }}
                      onOptionSelect={(_, d) => {
                        const role = d.optionValue as Role | undefined;
                        if (role && role !== u.role) update(u, `${u.username} is now ${role}`, { role });
                      }}
                    >
                      {ROLES.map((r) => (
                        <Option key={r} value={r}>
                          {r}
                        </Option>
                      ))}
                    </Dropdown>
                  ),
                },
                { key: "state", header: "State", cell: (u) => (u.disabled ? <Badge color="danger">disabled</Badge> : <Badge color="success">active</Badge>) },
                { key: "created", header: "Created", cell: (u) => formatTime(u.created_at) },
                {
                  key: "actions",
                  header: "Actions",
                  cell: (u) => (
                    <span className={s.actions}>
                      <Button
                        size="small"
                        disabled={!u.disabled && isLastAdmin(u)}
                        title={!u.disabled && isLastAdmin(u) ? LAST_ADMIN : undefined}
                        onClick={() => update(u, u.disabled ? `Enabled ${u.username}` : `Disabled ${u.username}`, { disabled: !u.disabled })}
                      >
                        {u.disabled ? "Enable" : "Disable"}
                      </Button>
                      <ResetPassword user={u} onDone={users.reload} />
                      <ConfirmButton
                        label="Delete"
                        ariaLabel={`Delete ${u.username}`}
                        disabled={isLastAdmin(u)}
                        title={`Delete ${u.username}?`}
                        text="Their sessions and API tokens end. The audit log keeps what they did."
                        confirm="Delete"
                        onConfirm={() => void act(`user-${u.id}`, `Deleted ${u.username}`, () => unwrap(api.DELETE("/users/{id}", { params: { path: { id: u.id } } }))).then(users.reload)}
                      />
                    </span>
                  ),
                },
              ]}
            />
          )}
        </DataState>
        {activeAdmins.length === 1 && <Text className={s.muted}>{LAST_ADMIN}</Text>}
      </Card>
    </AdminPage>
  );
}
