// Running a command through the queue, shown live: "queued" at once, then "running",
// then how it ended in words that match what fail2ban did ("nothing to unban" when no
// address was banned). When it ends, every query is refetched and polled briefly, so no
// row, menu or counter contradicts it.
import { useCallback } from "react";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { afterCommand } from "../../api/query";
import { useNotices, type Intent } from "../shell/notices";

type CommandView = Schemas["CommandView"];
type Sent = Promise<{ data?: CommandView; error?: unknown; response: Response }>;

export interface CommandRequest {
  /** What the user asked, in words ("Ban 192.0.2.7 in sshd"). */
  label: string;
  /** The typed call; `wait` lets the API answer with the result when it comes quickly. */
  send: (wait: string) => Sent;
}

/** How a command request ended: the final command, or the API's refusal. */
export type CommandResult = { ok: true; command: CommandView } | { ok: false; error: ApiError };

const POLL_MS = 500;

function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

/** Words for what a succeeded command did, from its result. */
export function outcome(cmd: CommandView): { intent: Intent; text?: string } {
  const r = (cmd.result ?? {}) as Record<string, unknown>;
  const requested = num(r.requested);
  switch (cmd.kind) {
    case "ban": {
      const newly = num(r.newly_banned);
      if (newly === undefined || requested === undefined) return { intent: "success" };
      if (newly === 0) return { intent: "warning", text: requested === 1 ? "It was already banned." : "All of them were already banned." };
      if (newly < requested) return { intent: "success", text: `${newly} banned; ${requested - newly} were already banned.` };
      return { intent: "success", text: `${newly} banned.` };
    }
    case "unban": {
      const n = num(r.unbanned);
      if (n === undefined) return { intent: "success" };
      if (n === 0) return { intent: "warning", text: requested === 1 ? "Nothing to unban: it was not banned." : "Nothing to unban: none of them was banned." };
      return { intent: "success", text: `${n} ban${n === 1 ? "" : "s"} lifted.` };
    }
    case "unban_all": {
      const n = num(r.unbanned);
      return { intent: "success", text: n === undefined ? undefined : `${n} ban${n === 1 ? "" : "s"} lifted.` };
    }
    default:
      return { intent: "success" };
  }
}

export function useCommand() {
  const { notify } = useNotices();
  return useCallback(
    async ({ label, send }: CommandRequest): Promise<CommandResult> => {
      const id = `cmd-${Date.now()}-${Math.random()}`;
      notify({ id, intent: "info", title: `${label}: queued` });
      let cmd: CommandView;
      try {
        cmd = await unwrap(send("2s"));
        while (cmd.status !== "succeeded" && cmd.status !== "failed") {
          notify({ id, intent: "info", title: `${label}: ${cmd.status === "running" ? "running" : "queued"}` });
          await new Promise((r) => setTimeout(r, POLL_MS));
          cmd = await unwrap(api.GET("/commands/{id}", { params: { path: { id: cmd.id } } }));
        }
      } catch (e) {
        const error = asApiError(e);
        notify({ id, intent: "error", title: `${label}: refused`, text: error.message, requestId: error.requestId });
        return { ok: false, error };
      }
      afterCommand();
      if (cmd.status === "succeeded") {
        const o = outcome(cmd);
        // "no change" when fail2ban had nothing to do (the address was not banned, say).
        notify({ id, intent: o.intent, title: `${label}: ${o.intent === "warning" ? "no change" : "applied"}`, text: o.text, requestId: cmd.request_id ?? undefined });
      } else {
        notify({ id, intent: "error", title: `${label}: failed`, text: cmd.error ?? cmd.error_code ?? "unknown error", requestId: cmd.request_id ?? undefined });
      }
      return { ok: true, command: cmd };
    },
    [notify],
  );
}
