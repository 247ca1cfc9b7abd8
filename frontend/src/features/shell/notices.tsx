// Notices: what a command is doing and how it ended, with the request id to quote. On a
// wide screen they stack in the bottom corner beside the content; on a phone they sit in
// the page's flow under the top bar, so they never cover a control.
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import { Button, makeStyles, MessageBar, MessageBarActions, MessageBarBody, MessageBarTitle, tokens } from "@fluentui/react-components";
import { Dismiss20Regular } from "@fluentui/react-icons";
import { RequestId } from "../../components/RequestId";

export type Intent = "info" | "success" | "warning" | "error";

export interface Notice {
  id: string;
  intent: Intent;
  title: string;
  text?: string;
  requestId?: string;
}

interface Notices {
  /** Shows (or updates, same id) a notice; `info` stays until replaced, others fade. */
  notify: (n: Notice) => void;
  dismiss: (id: string) => void;
  /** What is shown now, oldest first. */
  list: Notice[];
}

const NoticeContext = createContext<Notices>({ notify: () => {}, dismiss: () => {}, list: [] });

const FADE_MS = 8_000;

const useStyles = makeStyles({
  stack: {
    display: "flex",
    flexDirection: "column",
    gap: "8px",
    "@media (min-width: 768px)": {
      position: "fixed",
      right: "16px",
      bottom: "16px",
      width: "380px",
      zIndex: 1000,
      boxShadow: tokens.shadow16,
    },
  },
  id: { display: "block", opacity: 0.8 },
});

export function NoticeProvider({ children }: { children: ReactNode }) {
  const [list, setList] = useState<Notice[]>([]);
  const timers = useRef(new Map<string, number>());
  const dismiss = useCallback((id: string) => {
    window.clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setList((l) => l.filter((n) => n.id !== id));
  }, []);
  const notify = useCallback(
    (n: Notice) => {
      setList((l) => (l.some((x) => x.id === n.id) ? l.map((x) => (x.id === n.id ? n : x)) : [...l.slice(-3), n]));
      window.clearTimeout(timers.current.get(n.id));
      if (n.intent !== "info") timers.current.set(n.id, window.setTimeout(() => dismiss(n.id), n.intent === "error" ? FADE_MS * 2 : FADE_MS));
    },
    [dismiss],
  );
  const value = useMemo(() => ({ notify, dismiss, list }), [notify, dismiss, list]);
  return <NoticeContext.Provider value={value}>{children}</NoticeContext.Provider>;
}

export function useNotices(): Notices {
  return useContext(NoticeContext);
}

/** The notices themselves (the shell places them). */
export function NoticeList() {
  const s = useStyles();
  const { dismiss, list } = useContext(NoticeContext);
  return (
    <div className={s.stack} aria-live="polite" aria-label="Notifications" role="region">
      {list.map((n) => (
        <MessageBar key={n.id} intent={n.intent} layout="multiline" data-notice={n.intent}>
          <MessageBarBody>
            <MessageBarTitle>{n.title}</MessageBarTitle>
            {n.text}
            {n.requestId && (
              <span className={s.id}>
                <RequestId id={n.requestId} />
              </span>
            )}
          </MessageBarBody>
          <MessageBarActions
            containerAction={<Button appearance="transparent" aria-label="Dismiss" icon={<Dismiss20Regular />} onClick={() => dismiss(n.id)} />}
          />
        </MessageBar>
      ))}
    </div>
  );
}
