// The request id of a call, shown wherever its outcome is: in every error message and
// command notice, with a button that copies it, so a user can hand it to whoever reads
// the logs (it is in the API's log line, the command, the scheduler's fail2ban calls,
// the audit log and the archive).
import { useState } from "react";
import { Button, Text, Tooltip } from "@fluentui/react-components";
import { Checkmark16Regular, Copy16Regular } from "@fluentui/react-icons";

/** Copies text to the clipboard; false when the browser would not. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without the clipboard API (plain http, old browsers): a selected text area.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

/** A button that copies `text`, confirming with a check mark. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <Tooltip content={done ? "Copied" : label} relationship="label">
      <Button
        size="small"
        appearance="transparent"
        icon={done ? <Checkmark16Regular /> : <Copy16Regular />}
        onClick={() => {
          void copyText(text).then((ok) => {
            setDone(ok);
            if (ok) window.setTimeout(() => setDone(false), 2000);
          });
        }}
      />
    </Tooltip>
  );
}

/** "request ui-3f2a…" with a copy button. */
export function RequestId({ id }: { id: string }) {
  return (
    <span data-request-id={id} style={{ display: "inline-flex", alignItems: "center", gap: 2, opacity: 0.85, maxWidth: "100%" }}>
      <Text size={200} style={{ overflowWrap: "anywhere" }}>
        request <span style={{ fontFamily: "ui-monospace, monospace" }}>{id}</span>
      </Text>
      <CopyButton text={id} label="Copy the request id" />
    </span>
  );
}
