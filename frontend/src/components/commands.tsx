import { useCallback } from "react";
import { Toast, ToastBody, ToastTitle, useToastController, type ToastIntent } from "@fluentui/react-components";
import { ApiError, call, type Schemas } from "../api/client";

export const TOASTER_ID = "commands";

const FINAL = new Set(["succeeded", "failed"]);

/**
 * Runs a command against fail2ban through the queue and shows it live: "queued" at once,
 * then "applied" or "failed: reason". Resolves with the final command (or throws when
 * the API refused the request).
 */
export function useCommand() {
  const { dispatchToast, updateToast } = useToastController(TOASTER_ID);
  return useCallback(
    async (label: string, method: "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<Schemas["CommandView"]> => {
      const toastId = `cmd-${Date.now()}-${Math.random()}`;
      const show = (intent: ToastIntent, title: string, text?: string, update = true) => {
        const content = (
          <Toast>
            <ToastTitle>{title}</ToastTitle>
            {text && <ToastBody>{text}</ToastBody>}
          </Toast>
        );
        if (update) updateToast({ toastId, content, intent, timeout: intent === "info" ? -1 : 6000 });
        else dispatchToast(content, { toastId, intent, timeout: -1 });
      };
      show("info", `${label}: queued`, undefined, false);
      let cmd: Schemas["CommandView"];
      try {
        cmd = await call<Schemas["CommandView"]>(method, path, { body, query: { wait: "2s" } });
      } catch (e) {
        show("error", `${label}: refused`, e instanceof ApiError ? e.message : String(e));
        throw e;
      }
      while (!FINAL.has(cmd.status)) {
        show("info", `${label}: ${cmd.status === "running" ? "running" : "queued"}`);
        await new Promise((r) => setTimeout(r, 500));
        cmd = await call<Schemas["CommandView"]>("GET", `/commands/${cmd.id}`);
      }
      if (cmd.status === "succeeded") show("success", `${label}: applied`);
      else show("error", `${label}: failed`, `${cmd.error ?? cmd.error_code ?? "unknown error"}`);
      return cmd;
    },
    [dispatchToast, updateToast],
  );
}
