// The Allowlist tab: addresses and networks fail2ban never bans, for every enabled jail or
// the jails picked, with a note and an optional expiry. Entries live in BanGUI's database;
// the scheduler writes them into the jails' overrides (through the validated write path)
// so they survive reloads, and shows where that is still pending.
import { useState, type FormEvent } from "react";
import {
  Badge,
  Button,
  Card,
  Checkbox,
  Dropdown,
  Field,
  Input,
  makeStyles,
  Option,
  Text,
  Title2,
} from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { afterCommand, useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { fieldMessage } from "../../components/fieldError";
import { useSession } from "../../session";
import { formatTime } from "../../time";
import { useNotices } from "../shell/notices";
import { ConfigTabs } from "./ConfigPage";
import { RequestId } from "../../components/RequestId";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  form: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 220px), 1fr))", gap: "12px 16px", alignItems: "start" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px" },
  actions: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center" },
});

const EXPIRIES = [
  { value: "", label: "Never" },
  { value: "1h", label: "1 hour" },
  { value: "1d", label: "1 day" },
  { value: "7d", label: "7 days" },
  { value: "30d", label: "30 days" },
  { value: "90d", label: "90 days" },
];

type Entry = Schemas["AllowView"];

/** Adds an entry; a network broader than /16 or /48 asks for a confirmation first. */
function AddForm({ jailNames, onAdded }: { jailNames: string[]; onAdded: () => void }) {
  const s = useStyles();
  const { notify } = useNotices();
  const [entry, setEntry] = useState("");
  const [jails, setJails] = useState<string[]>([]);
  const [note, setNote] = useState("");
  const [expires, setExpires] = useState("");
  const [broad, setBroad] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const added = await unwrap(
        api.POST("/allowlist", {
          body: { entry: entry.trim(), jails: jails.length ? jails : undefined, note: note || undefined, expires_in: expires || undefined, confirm_broad: broad || undefined },
        }),
      );
      notify({ id: `allow-${added.id}`, intent: "success", title: `Allowed ${added.entry}`, text: "The scheduler writes it into the jails' overrides." });
      setEntry("");
      setNote("");
      setBroad(false);
      afterCommand();
      onAdded();
    } catch (err) {
      setError(asApiError(err));
    }
    setBusy(false);
  };
  const tooBroad = error?.code === "allowlist_too_broad";
  const entryError = fieldMessage(error, "entry");
  const other = error && !entryError && error.field !== "jails" ? error.message : undefined;
  return (
    <form className={s.form} onSubmit={submit} aria-label="Add to the allowlist">
      <Field label="Address or network" required validationMessage={entryError} validationState={entryError ? (tooBroad ? "warning" : "error") : "none"}>
        <Input value={entry} onChange={(_, d) => setEntry(d.value)} placeholder="198.51.100.7 or 2001:db8::/48" />
      </Field>
      <Field label="Jails" hint="None picked: every enabled jail" validationMessage={fieldMessage(error, "jails")} validationState={error?.field === "jails" ? "error" : "none"}>
        <Dropdown
          multiselect
          placeholder="Every enabled jail"
          value={jails.join(", ")}
          selectedOptions={jails}
          onOptionSelect={(_, d) => setJails(d.selectedOptions)}
        >
          {jailNames.map((n) => (
            <Option key={n}>{n}</Option>
          ))}
        </Dropdown>
      </Field>
      <Field label="Note">
        <Input value={note} onChange={(_, d) => setNote(d.value)} placeholder="office uplink" maxLength={500} />
      </Field>
      <Field label="Expires">
        <Dropdown value={EXPIRIES.find((x) => x.value === expires)?.label} selectedOptions={[expires]} onOptionSelect={(_, d) => setExpires(d.optionValue ?? "")}>
          {EXPIRIES.map((x) => (
            <Option key={x.value} value={x.value}>
              {x.label}
            </Option>
          ))}
        </Dropdown>
      </Field>
      {tooBroad && <Checkbox checked={broad} onChange={(_, d) => setBroad(Boolean(d.checked))} label="Yes: fail2ban should never ban anyone in this whole network" />}
      <div className={s.actions}>
        <Button type="submit" appearance="primary" disabled={!entry.trim() || busy || (tooBroad && !broad)}>
          Add
        </Button>
        {other && <Text role="alert">{other}</Text>}
        {error?.requestId && <RequestId id={error.requestId} />}
      </div>
    </form>
  );
}

export default function AllowlistPage() {
  const s = useStyles();
  const { can } = useSession();
  const { notify } = useNotices();
  const operator = can("operator");
  const list = useApiQuery(["allowlist"], () => unwrap(api.GET("/allowlist")), { pollMs: 5_000 });
  const jails = useApiQuery(["config", "jails", "", "all"], () => unwrap(api.GET("/config/jails")), { pollMs: 60_000 });
  const jailNames = (jails.data?.items ?? []).map((j) => j.name);
  const change = async (e: Entry, label: string, call: () => Promise<unknown>) => {
    try {
      await call();
      notify({ id: `allow-${e.id}-${label}`, intent: "success", title: `${label}: ${e.entry}` });
      afterCommand();
      list.reload();
    } catch (err) {
      const error = asApiError(err);
      notify({ id: `allow-${e.id}-${label}`, intent: "error", title: `${label} ${e.entry}: refused`, text: error.message, requestId: error.requestId });
    }
  };
  const remove = (e: Entry) => change(e, "Removed", () => unwrap(api.DELETE("/allowlist/{id}", { params: { path: { id: e.id } } })));
  const forever = (e: Entry) => change(e, "Never expires", () => unwrap(api.PATCH("/allowlist/{id}", { params: { path: { id: e.id } }, body: { never_expires: true } })));
  return (
    <>
      <Title2 as="h1">Configuration</Title2>
      <ConfigTabs selected="allowlist" />
      {operator && (
        <Card className={s.card}>
          <AddForm jailNames={jailNames} onAdded={list.reload} />
        </Card>
      )}
      <Card className={s.card}>
        <DataState label="the allowlist" {...list} onRetry={list.reload} empty={(l) => l.items.length === 0} emptyText="Nothing is allowlisted. Entries added here are never banned, and stay across fail2ban reloads.">
          {(l) => (
            <DataTable
              label="Allowlist"
              rows={l.items}
              rowKey={(e) => e.id}
              columns={[
                { key: "entry", header: "Address or network", primary: true, cell: (e) => <span className={s.code}>{e.entry}</span> },
                {
                  key: "state",
                  header: "State",
                  primary: true,
                  cell: (e) =>
                    e.targets.length === 0 ? (
                      <Badge appearance="outline">no jail</Badge>
                    ) : e.pending.length === 0 ? (
                      <Badge color="success">in force</Badge>
                    ) : (
                      <Badge color="warning" title={e.pending.join(", ")}>
                        writing {e.pending.length} jail{e.pending.length === 1 ? "" : "s"}
                      </Badge>
                    ),
                },
                { key: "jails", header: "Jails", truncate: "18em", text: (e) => (e.jails ? e.jails.join(", ") : "every enabled jail"), cell: (e) => (e.jails ? e.jails.join(", ") : "every enabled jail") },
                { key: "note", header: "Note", truncate: "18em", text: (e) => e.note, cell: (e) => e.note || "—" },
                { key: "by", header: "By", cell: (e) => e.author ?? "—" },
                { key: "expires", header: "Expires", cell: (e) => (e.expires_at ? formatTime(e.expires_at) : "never") },
                ...(operator
                  ? [
                      {
                        key: "actions",
                        header: "Actions",
                        cell: (e: Entry) => (
                          <span className={s.actions}>
                            {e.expires_at && (
                              <Button size="small" onClick={() => void forever(e)}>
                                Keep
                              </Button>
                            )}
                            <Button size="small" onClick={() => void remove(e)} aria-label={`Remove ${e.entry}`}>
                              Remove
                            </Button>
                          </span>
                        ),
                      },
                    ]
                  : []),
              ]}
            />
          )}
        </DataState>
      </Card>
    </>
  );
}
