// What BanGUI did when fail2ban stopped after a configuration change (it restored the
// previous file, and maybe started fail2ban again): a banner on every page until an
// admin acknowledges it.
import { Link } from "react-router-dom";
import { Button, MessageBar, MessageBarActions, MessageBarBody, MessageBarTitle } from "@fluentui/react-components";
import { api, asApiError, unwrap } from "../../api/client";
import { afterCommand, useApiQuery } from "../../api/query";
import { useNotices } from "../shell/notices";
import { useSession } from "../../session";
import { formatTime } from "../../time";

export function ConfigAlerts() {
  const { can } = useSession();
  const { notify } = useNotices();
  const alerts = useApiQuery(["config", "alerts"], () => unwrap(api.GET("/config/alerts")), { pollMs: 15_000 });
  const acknowledge = async (id: number) => {
    try {
      await unwrap(api.POST("/config/alerts/{id}/acknowledge", { params: { path: { id } } }));
      afterCommand();
    } catch (e) {
      const error = asApiError(e);
      notify({ id: `ack-${id}`, intent: "error", title: "Could not acknowledge the alert", text: error.message, requestId: error.requestId });
    }
  };
  return (
    <>
      {(alerts.data?.items ?? []).map((a) => (
        <MessageBar key={a.id} intent="error" layout="multiline" role="alert">
          <MessageBarBody>
            <MessageBarTitle>fail2ban stopped after a configuration change</MessageBarTitle>
            {a.alert} ({formatTime(a.finished_at ?? a.created_at)}
            {a.jail && (
              <>
                ; <Link to={`/config/jails/${encodeURIComponent(a.jail)}`}>{a.jail}</Link>
              </>
            )}
            )
          </MessageBarBody>
          {can("admin") && (
            <MessageBarActions>
              <Button onClick={() => void acknowledge(a.id)}>Acknowledge</Button>
            </MessageBarActions>
          )}
        </MessageBar>
      ))}
    </>
  );
}
