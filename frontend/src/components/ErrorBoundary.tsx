// A render error in a page must not blank the whole app: the boundary shows what broke
// (with a way back) and reports it to the API (kind `render`), where the System page
// groups it with the other browser errors.
import { Component, type ErrorInfo, type ReactNode } from "react";
import { Button, MessageBar, MessageBarActions, MessageBarBody, MessageBarTitle } from "@fluentui/react-components";
import { reportClientError } from "../api/client";

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    void reportClientError({
      kind: "render",
      message: error.message || String(error),
      stack: `${error.stack ?? ""}\n${info.componentStack ?? ""}`,
      url: location.pathname,
    });
  }

  componentDidUpdate(prev: { resetKey?: string }) {
    // Another page: try again.
    if (this.state.error && prev.resetKey !== this.props.resetKey) this.setState({ error: null });
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <MessageBar intent="error" role="alert" layout="multiline">
        <MessageBarBody>
          <MessageBarTitle>This page failed to show.</MessageBarTitle>
          {this.state.error.message} The error was reported; reloading usually helps.
        </MessageBarBody>
        <MessageBarActions>
          <Button onClick={() => window.location.reload()}>Reload</Button>
        </MessageBarActions>
      </MessageBar>
    );
  }
}
