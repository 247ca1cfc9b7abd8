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
  DialogTrigger,
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
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Title2,
  Title3,
} from "@fluentui/react-components";
import { MoreHorizontal20Regular } from "@fluentui/react-icons";
import { get, type Schemas } from "../api/client";
import { useApi } from "../api/hooks";
import { useCommand } from "../components/commands";
import { DataState } from "../components/DataState";
import { useSession } from "../session";
import { formatDuration } from "../time";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  forms: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(300px, 1fr))", gap: "16px" },
  form: { display: "flex", flexDirection: "column", gap: "10px" },
});

function setting(j: Schemas["JailView"], key: string): string {
  const v = (j.settings as Record<string, unknown> | null)?.[key];
  return v === undefined || v === null ? "—" : String(v);
}

function splitIps(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export default function Jails() {
  const s = useStyles();
  const { can } = useSession();
  const operator = can("operator");
  const jails = useApi(() => get("/jails"), "jails", 10_000);
  const run = useCommand();
  const navigate = useNavigate();
  const [banJail, setBanJail] = useState("");
  const [banIps, setBanIps] = useState("");
  const [unbanIps, setUnbanIps] = useState("");
  const [unbanJail, setUnbanJail] = useState("");
  const [lookup, setLookup] = useState("");
  const names = (jails.data?.items ?? []).map((j) => j.name);
  const act = async (label: string, method: "POST" | "PUT", path: string, body?: unknown) => {
    try {
      await run(label, method, path, body);
    } finally {
      jails.reload();
    }
  };
  const ban = async (e: FormEvent) => {
    e.preventDefault();
    await act(`Ban ${banIps} in ${banJail}`, "POST", "/bans", { jail: banJail, ips: splitIps(banIps) });
    setBanIps("");
  };
  const unban = async (e: FormEvent) => {
    e.preventDefault();
    await act(`Unban ${unbanIps}${unbanJail ? ` from ${unbanJail}` : " everywhere"}`, "POST", "/bans/unban", {
      ips: splitIps(unbanIps),
      jail: unbanJail || undefined,
    });
    setUnbanIps("");
  };
  return (
    <>
      <Title2 as="h1">Jails</Title2>
      <Card className={s.card}>
        <CardHeader
          header={<Title3 as="h2">Running jails</Title3>}
          action={
            operator ? (
              <Button onClick={() => act("Reload all jails", "POST", "/jails/reload")}>Reload all</Button>
            ) : undefined
          }
        />
        <DataState label="jails" {...jails} onRetry={jails.reload} empty={(d) => d.items.length === 0} emptyText="fail2ban reports no jails.">
          {(d) => (
            <Table size="small" aria-label="Jails">
              <TableHeader>
                <TableRow>
                  <TableHeaderCell>Jail</TableHeaderCell>
                  <TableHeaderCell>State</TableHeaderCell>
                  <TableHeaderCell>Banned now / total</TableHeaderCell>
                  <TableHeaderCell>Failing now / total</TableHeaderCell>
                  <TableHeaderCell>Backend</TableHeaderCell>
                  <TableHeaderCell>Ban time</TableHeaderCell>
                  <TableHeaderCell>Find time</TableHeaderCell>
                  <TableHeaderCell>Max retry</TableHeaderCell>
                  {operator && <TableHeaderCell>Actions</TableHeaderCell>}
                </TableRow>
              </TableHeader>
              <TableBody>
                {d.items.map((j) => (
                  <TableRow key={j.name}>
                    <TableCell>
                      <Link to={`/jails/${encodeURIComponent(j.name)}`}>{j.name}</Link>
                    </TableCell>
                    <TableCell>
                      {!j.running ? <Badge color="danger">stopped</Badge> : j.idle ? <Badge color="warning">idle</Badge> : <Badge color="success">running</Badge>}
                    </TableCell>
                    <TableCell>
                      {j.currently_banned} / {j.total_banned}
                    </TableCell>
                    <TableCell>
                      {j.currently_failed} / {j.total_failed}
                    </TableCell>
                    <TableCell>{setting(j, "backend")}</TableCell>
                    <TableCell>{formatDuration(j.bantime)}</TableCell>
                    <TableCell>{formatDuration(j.findtime)}</TableCell>
                    <TableCell>{j.maxretry ?? "—"}</TableCell>
                    {operator && (
                      <TableCell>
                        <Menu>
                          <MenuTrigger disableButtonEnhancement>
                            <Button appearance="subtle" icon={<MoreHorizontal20Regular />} aria-label={`Actions for ${j.name}`} />
                          </MenuTrigger>
                          <MenuPopover>
                            <MenuList>
                              {j.running ? (
                                <MenuItem onClick={() => act(`Stop ${j.name}`, "POST", `/jails/${encodeURIComponent(j.name)}/stop`)}>Stop</MenuItem>
                              ) : (
                                <MenuItem onClick={() => act(`Start ${j.name}`, "POST", `/jails/${encodeURIComponent(j.name)}/start`)}>Start</MenuItem>
                              )}
                              <MenuItem onClick={() => act(`${j.idle ? "Resume" : "Pause"} ${j.name}`, "PUT", `/jails/${encodeURIComponent(j.name)}/idle`, { on: !j.idle })}>
                                {j.idle ? "Idle off" : "Idle on"}
                              </MenuItem>
                              <MenuItem onClick={() => act(`Reload ${j.name}`, "POST", `/jails/${encodeURIComponent(j.name)}/reload`)}>Reload</MenuItem>
                            </MenuList>
                          </MenuPopover>
                        </Menu>
                      </TableCell>
                    )}
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </DataState>
      </Card>
      <div className={s.forms}>
        {operator && (
          <Card className={s.card}>
            <CardHeader header={<Title3 as="h2">Ban</Title3>} />
            <form className={s.form} onSubmit={ban}>
              <Field label="Jail" required>
                <Dropdown placeholder="Choose a jail" value={banJail} selectedOptions={[banJail]} onOptionSelect={(_, d) => setBanJail(d.optionValue ?? "")}>
                  {names.map((n) => (
                    <Option key={n}>{n}</Option>
                  ))}
                </Dropdown>
              </Field>
              <Field label="IPs or networks" hint="Separated by spaces, commas or new lines." required>
                <Input value={banIps} onChange={(_, d) => setBanIps(d.value)} placeholder="203.0.113.7 2001:db8::/64" />
              </Field>
              <Button type="submit" appearance="primary" disabled={!banJail || !banIps.trim()}>
                Ban
              </Button>
            </form>
          </Card>
        )}
        {operator && (
          <Card className={s.card}>
            <CardHeader header={<Title3 as="h2">Unban</Title3>} />
            <form className={s.form} onSubmit={unban}>
              <Field label="IPs" required>
                <Input value={unbanIps} onChange={(_, d) => setUnbanIps(d.value)} placeholder="203.0.113.7" />
              </Field>
              <Field label="From">
                <Dropdown value={unbanJail || "every jail"} selectedOptions={[unbanJail]} onOptionSelect={(_, d) => setUnbanJail(d.optionValue ?? "")}>
                  <Option value="">every jail</Option>
                  {names.map((n) => (
                    <Option key={n}>{n}</Option>
                  ))}
                </Dropdown>
              </Field>
              <Button type="submit" disabled={!unbanIps.trim()}>
                Unban
              </Button>
              <Dialog>
                <DialogTrigger disableButtonEnhancement>
                  <Button appearance="secondary">Clear all bans…</Button>
                </DialogTrigger>
                <DialogSurface>
                  <DialogBody>
                    <DialogTitle>Clear every ban?</DialogTitle>
                    <DialogContent>This lifts every ban in every jail at once. The history keeps them.</DialogContent>
                    <DialogActions>
                      <DialogTrigger disableButtonEnhancement>
                        <Button appearance="secondary">Cancel</Button>
                      </DialogTrigger>
                      <DialogTrigger disableButtonEnhancement>
                        <Button appearance="primary" onClick={() => act("Clear all bans", "POST", "/bans/clear", {})}>
                          Clear all bans
                        </Button>
                      </DialogTrigger>
                    </DialogActions>
                  </DialogBody>
                </DialogSurface>
              </Dialog>
            </form>
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
