// API tokens: your own (everyone's for an admin). A new token has a role no higher than
// yours and an expiry; its secret is shown once, with a copy button. Revoked and expired
// tokens stay listed so the audit trail makes sense.
import { useState, type FormEvent } from "react";
import { Badge, Button, Card, Dropdown, Field, Input, MessageBar, MessageBarBody, MessageBarTitle, Option, Text, Title2 } from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { CopyButton, RequestId } from "../../components/RequestId";
import { fieldMessage } from "../../components/fieldError";
import { useSession } from "../../session";
import { ago, formatTime } from "../../time";
import { AdminTabs, ConfirmButton, useAct, useAdminStyles } from "./common";
import { ROLES } from "./UsersPage";

type Token = Schemas["TokenView"];
type Role = Schemas["Role"];

const EXPIRIES = [
  { days: 7, label: "7 days" },
  { days: 30, label: "30 days" },
  { days: 90, label: "90 days" },
  { days: 365, label: "1 year" },
  { days: 0, label: "Never" },
];

function state(t: Token): { label: string; color: "success" | "danger" | "warning" } {
  if (t.revoked) return { label: "revoked", color: "danger" };
  if (t.expires_at && Date.parse(t.expires_at) <= Date.now()) return { label: "expired", color: "warning" };
  return { label: "active", color: "success" };
}

function CreateToken({ onCreated }: { onCreated: () => void }) {
  const s = useAdminStyles();
  const { session } = useSession();
  const mine = session?.role ?? "viewer";
  const allowed = ROLES.slice(0, ROLES.indexOf(mine) + 1);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [days, setDays] = useState(90);
  const [created, setCreated] = useState<Schemas["NewToken"]>();
  const [error, setError] = useState<ApiError>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const t = await unwrap(api.POST("/auth/tokens", { body: { name: name.trim(), role, expires_in_days: days || undefined } }));
      setCreated(t);
      setName("");
      onCreated();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const nameError = fieldMessage(error, "name");
  return (
    <>
      <form className={s.form} onSubmit={submit} aria-label="Create an API token">
        <Field label="Name" required hint="What uses it, e.g. grafana or backup-script" validationMessage={nameError} validationState={nameError ? "error" : "none"}>
          <Input value={name} onChange={(_, d) => setName(d.value)} maxLength={64} />
        </Field>
        <Field label="Role" hint={`At most yours (${mine})`}>
          <Dropdown value={role} selectedOptions={[role]} onOptionSelect={(_, d) => setRole((d.optionValue as Role) ?? "viewer")}>
            {allowed.map((r) => (
              <Option key={r} value={r}>
                {r}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Expires after">
          <Dropdown
            value={EXPIRIES.find((x) => x.days === days)?.label}
            selectedOptions={[String(days)]}
            onOptionSelect={(_, d) => setDays(Number(d.optionValue ?? 90))}
          >
            {EXPIRIES.map((x) => (
              <Option key={x.days} value={String(x.days)}>
                {x.label}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <div className={s.formActions}>
          <Button type="submit" appearance="primary" disabled={!name.trim()}>
            Create token
          </Button>
          {error && !nameError && (
            <Text role="alert">
              {error.message} {error.requestId && <RequestId id={error.requestId} />}
            </Text>
          )}
        </div>
      </form>
      {created && (
        <MessageBar intent="success" layout="multiline" role="status">
          <MessageBarBody>
            <MessageBarTitle>Token “{created.info.name}” created: copy it now, it is not shown again.</MessageBarTitle>
            <span style={{ display: "inline-flex", alignItems: "center", gap: 4, maxWidth: "100%" }}>
              <code data-new-token style={{ overflowWrap: "anywhere" }}>
                {created.token}
              </code>
              <CopyButton text={created.token} label="Copy the token" />
            </span>
            <Text size={200} style={{ display: "block" }}>
              Send it as <code>Authorization: Bearer …</code>. Role {created.info.role}
              {created.info.expires_at ? `, expires ${formatTime(created.info.expires_at)}` : ", never expires"}.
            </Text>
            <Button size="small" onClick={() => setCreated(undefined)}>
              Done
            </Button>
          </MessageBarBody>
        </MessageBar>
      )}
    </>
  );
}

export default function TokensPage() {
  const s = useAdminStyles();
  const { can } = useSession();
  const act = useAct();
  const tokens = useApiQuery(["tokens"], () => unwrap(api.GET("/auth/tokens")), { pollMs: 30_000 });
  const admin = can("admin");
  return (
    <>
      <Title2 as="h1">{admin ? "Administration" : "API tokens"}</Title2>
      <AdminTabs selected="tokens" />
      <Card className={s.card}>
        <CreateToken onCreated={tokens.reload} />
      </Card>
      <Card className={s.card}>
        <DataState label="API tokens" {...tokens} onRetry={tokens.reload} empty={(l) => l.items.length === 0} emptyText="No API tokens yet.">
          {(l) => (
            <DataTable
              label={admin ? "Everyone's API tokens" : "Your API tokens"}
              rows={l.items}
              rowKey={(t) => t.id}
              columns={[
                { key: "name", header: "Name", primary: true, truncate: "16em", text: (t) => t.name, cell: (t) => <strong>{t.name}</strong> },
                ...(admin ? [{ key: "user", header: "Owner", cell: (t: Token) => t.user }] : []),
                { key: "prefix", header: "Starts with", cell: (t) => <span className={s.code}>{t.prefix}…</span> },
                { key: "role", header: "Role", cell: (t) => t.role },
                { key: "state", header: "State", primary: true, cell: (t) => <Badge color={state(t).color}>{state(t).label}</Badge> },
                { key: "created", header: "Created", cell: (t) => formatTime(t.created_at) },
                { key: "expires", header: "Expires", cell: (t) => (t.expires_at ? formatTime(t.expires_at) : "never") },
                { key: "used", header: "Last used", cell: (t) => (t.last_used_at ? <span title={formatTime(t.last_used_at)}>{ago(t.last_used_at)}</span> : "never") },
                {
                  key: "actions",
                  header: "Actions",
                  cell: (t) =>
                    t.revoked ? (
                      "—"
                    ) : (
                      <ConfirmButton
                        label="Revoke"
                        ariaLabel={`Revoke ${t.name}`}
                        title={`Revoke “${t.name}”?`}
                        text="Whatever uses it is refused from its next request. This cannot be undone."
                        confirm="Revoke"
                        onConfirm={() =>
                          void act(`token-${t.id}`, `Revoked ${t.name}`, () => unwrap(api.DELETE("/auth/tokens/{id}", { params: { path: { id: t.id } } }))).then(tokens.reload)
                        }
                      />
                    ),
                },
              ]}
            />
          )}
        </DataState>
      </Card>
    </>
  );
}
