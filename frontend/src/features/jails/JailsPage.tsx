import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import {
  Badge,
  Button,
  Card,
  CardHeader,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Dropdown,
  Field,
  Input,
  makeStyles,
  Menu,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  Option,
  Title2,
  Title3,
} from "@fluentui/react-components";
import { MoreHorizontal20Regular } from "@fluentui/react-icons";
import { api, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { fieldMessage, splitIps } from "../../components/fieldError";
import { useSession } from "../../session";
import { formatDuration } from "../../time";
import { useCommand } from "../commands/useCommand";
import { useCommandForm } from "../commands/useCommandForm";
import { StopDialog, useJailActions } from "./actions";
import { RequestId } from "../../components/RequestId";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  forms: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 300px), 1fr))", gap: "16px" },
  form: { display: "flex", flexDirection: "column", gap: "10px" },
});

type Jail = Schemas["JailView"];

function setting(j: Jail, key: string): string {
  const v = (j.settings as Record<string, unknown> | null)?.[key];
  return v === undefined || v === null ? "—" : String(v);
}

export function JailState({ jail }: { jail: Pick<Jail, "running" | "idle"> }) {
  return !jail.running ? <Badge color="danger">stopped</Badge> : jail.idle ? <Badge color="warning">idle</Badge> : <Badge color="success">running</Badge>;
}

export function JailMenu({ jail, onStop }: { jail: Jail; onStop: (j: Jail) => void }) {
  const { start, reload, idle } = useJailActions();
  return (
    <Menu>
      <MenuTrigger disableButtonEnhancement>
        <Button appearance="subtle" icon={<MoreHorizontal20Regular />} aria-label={`Actions for ${jail.name}`} />
      </MenuTrigger>
      <MenuPopover>
        <MenuList>
          {jail.running ? <MenuItem onClick={() => onStop(jail)}>Stop…</MenuItem> : <MenuItem onClick={() => void start(jail.name)}>Start</MenuItem>}
          {jail.running && <MenuItem onClick={() => void idle(jail.name, !jail.idle)}>{jail.idle ? "Idle off" : "Idle on"}</MenuItem>}
          <MenuItem onClick={() => void reload(jail.name)}>Reload</MenuItem>
        </MenuList>
      </MenuPopover>
    </Menu>
  );
}

/** Ban one or more addresses in a jail; refused entries are named under the field. */
function BanForm({ names }: { names: string[] }) {
  const s = useStyles();
  const [jail, setJail] = useState("");
  const { text: ips, setText: setIps, error, input, submit: send } = useCommandForm();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const list = splitIps(ips);
    await send({ label: `Ban ${list.join(", ")} in ${jail}`, send: (wait) => api.POST("/bans", { body: { jail, ips: list }, params: { query: { wait } } }) });
  };
  const ipError = fieldMessage(error, "ips");
  const jailError = fieldMessage(error, "jail") ?? (error?.code === "unknown_jail" ? error.message : undefined);
  const other = error && !ipError && !jailError ? error : undefined;
  return (
    <form className={s.form} onSubmit={submit} aria-label="Ban">
      <Field label="Jail" required validationMessage={jailError} validationState={jailError ? "error" : "none"}>
        <Dropdown placeholder="Choose a jail" value={jail} selectedOptions={[jail]} onOptionSelect={(_, d) => setJail(d.optionValue ?? "")}>
          {names.map((n) => (
            <Option key={n}>{n}</Option>
          ))}
        </Dropdown>
      </Field>
      <Field
        label="IPs or networks"
        hint={ipError ? undefined : "Separated by spaces, commas or new lines."}
        required
        validationMessage={ipError ?? other?.message}
        validationState={ipError || other ? "error" : "none"}
      >
        <Input ref={input} value={ips} onChange={(_, d) => setIps(d.value)} placeholder="203.0.113.7 2001:db8::/64" />
      </Field>
      {error?.requestId && <RequestId id={error.requestId} />}
      <Button type="submit" appearance="primary" disabled={!jail || !ips.trim()}>
        Ban
      </Button>
    </form>
  );
}

function UnbanForm({ names }: { names: string[] }) {
  const s = useStyles();
  const run = useCommand();
  const [jail, setJail] = useState("");
  const [confirm, setConfirm] = useState(false);
  const { text: ips, setText: setIps, error, input, submit: send } = useCommandForm();
  const status = useApiQuery(["status"], () => unwrap(api.GET("/status")), { pollMs: 5000 });
  const banned = status.data?.currently_banned;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const list = splitIps(ips);
    await send({
      label: `Unban ${list.join(", ")}${jail ? ` from ${jail}` : " everywhere"}`,
      send: (wait) => api.POST("/bans/unban", { body: { ips: list, jail: jail || undefined }, params: { query: { wait } } }),
    });
  };
  const ipError = fieldMessage(error, "ips");
  return (
    <form className={s.form} onSubmit={submit} aria-label="Unban">
      <Field label="IPs" required validationMessage={ipError ?? error?.message} validationState={error ? "error" : "none"}>
        <Input ref={input} value={ips} onChange={(_, d) => setIps(d.value)} placeholder="203.0.113.7" />
      </Field>
      {error?.requestId && <RequestId id={error.requestId} />}
      <Field label="From">
        <Dropdown value={jail || "every jail"} selectedOptions={[jail]} onOptionSelect={(_, d) => setJail(d.optionValue ?? "")}>
          <Option value="">every jail</Option>
          {names.map((n) => (
            <Option key={n}>{n}</Option>
          ))}
        </Dropdown>
      </Field>
      <Button type="submit" disabled={!ips.trim()}>
        Unban
      </Button>
      <Button appearance="secondary" onClick={() => setConfirm(true)} disabled={banned === 0}>
        {banned === undefined ? "Clear all bans…" : `Clear all ${banned.toLocaleString()} ban${banned === 1 ? "" : "s"}…`}
      </Button>
      <Dialog open={confirm} onOpenChange={(_, d) => setConfirm(d.open)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Clear every ban?</DialogTitle>
            <DialogContent>
              This lifts {banned === undefined ? "every ban" : `all ${banned.toLocaleString()} current ban${banned === 1 ? "" : "s"}`} in every jail at once. The history keeps them.
            </DialogContent>
            <DialogActions>
              <Button appearance="secondary" onClick={() => setConfirm(false)}>
                Cancel
              </Button>
              <Button
                appearance="primary"
                onClick={() => {
                  setConfirm(false);
                  void run({ label: "Clear all bans", send: (wait) => api.POST("/bans/clear", { params: { query: { wait } } }) });
                }}
              >
                {banned === undefined ? "Clear all bans" : `Lift ${banned.toLocaleString()} ban${banned === 1 ? "" : "s"}`}
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </form>
  );
}

export default function Jails() {
  const s = useStyles();
  const { can } = useSession();
  const operator = can("operator");
  const jails = useApiQuery(["jails"], () => unwrap(api.GET("/jails")), { pollMs: 10_000 });
  const run = useCommand();
  const navigate = useNavigate();
  const [lookup, setLookup] = useState("");
  const [stopping, setStopping] = useState<Jail>();
  const names = (jails.data?.items ?? []).map((j) => j.name);
  return (
    <>
      <Title2 as="h1">Jails</Title2>
      <Card className={s.card}>
        <CardHeader
          header={<Title3 as="h2">Jails</Title3>}
          action={operator ? <Button onClick={() => void run({ label: "Reload all jails", send: (wait) => api.POST("/jails/reload", { params: { query: { wait } } }) })}>Reload all</Button> : undefined}
        />
        <DataState label="jails" {...jails} onRetry={jails.reload} empty={(d) => d.items.length === 0} emptyText="fail2ban reports no jails.">
          {(d) => (
            <DataTable
              label="Jails"
              rows={d.items}
              rowKey={(j) => j.name}
              columns={[
                { key: "name", header: "Jail", primary: true, cell: (j) => <Link to={`/jails/${encodeURIComponent(j.name)}`}>{j.name}</Link>, truncate: "16em", text: (j) => j.name },
                { key: "state", header: "State", primary: true, cell: (j) => <JailState jail={j} /> },
                ...(operator ? [{ key: "actions", header: "Actions", primary: true, cell: (j: Jail) => <JailMenu jail={j} onStop={setStopping} /> }] : []),
                { key: "banned", header: "Banned now / total", numeric: true, cell: (j) => `${j.currently_banned.toLocaleString()} / ${j.total_banned.toLocaleString()}` },
                { key: "failed", header: "Failing now / total", numeric: true, cell: (j) => `${j.currently_failed.toLocaleString()} / ${j.total_failed.toLocaleString()}` },
                { key: "logpath", header: "Log", cell: (j) => setting(j, "logpath"), truncate: "16em", text: (j) => setting(j, "logpath") },
                { key: "bantime", header: "Ban time", cell: (j) => formatDuration(j.bantime) },
                { key: "findtime", header: "Find time", cell: (j) => formatDuration(j.findtime) },
                { key: "maxretry", header: "Max retry", numeric: true, cell: (j) => j.maxretry ?? "—" },
              ]}
            />
          )}
        </DataState>
      </Card>
      <StopDialog jail={stopping} onClose={() => setStopping(undefined)} />
      <div className={s.forms}>
        {operator && (
          <Card className={s.card}>
            <CardHeader header={<Title3 as="h2">Ban</Title3>} />
            <BanForm names={names} />
          </Card>
        )}
        {operator && (
          <Card className={s.card}>
            <CardHeader header={<Title3 as="h2">Unban</Title3>} />
            <UnbanForm names={names} />
          </Card>
        )}
        <Card className={s.card}>
          <CardHeader header={<Title3 as="h2">IP lookup</Title3>} />
          <form
            className={s.form}
            onSubmit={(e) => {
              e.preventDefault();
              if (lookup.trim()) navigate(`/history/${encodeURIComponent(lookup.trim())}`);
            }}
          >
            <Field label="IP address" hint="Where it is banned now, its history, country and ASN.">
              <Input value={lookup} onChange={(_, d) => setLookup(d.value)} placeholder="198.51.100.7" />
            </Field>
            <Button type="submit" disabled={!lookup.trim()}>
              Look up
            </Button>
          </form>
        </Card>
      </div>
    </>
  );
}
