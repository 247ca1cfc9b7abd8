import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { reportClientError } from "./api/client";
import { App } from "./App";
import "./index.css";

window.addEventListener("error", (e) => {
  void reportClientError({ kind: "error", message: String(e.message), stack: e.error?.stack, url: location.pathname });
});
window.addEventListener("unhandledrejection", (e) => {
  const reason = e.reason as { message?: string; stack?: string; requestId?: string } | undefined;
  void reportClientError({
    kind: "unhandledrejection",
    message: String(reason?.message ?? reason),
    stack: reason?.stack,
    url: location.pathname,
    request_id: reason?.requestId,
  });
});

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
