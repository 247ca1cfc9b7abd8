import type { ReactNode } from "react";
import { Button, MessageBar, MessageBarActions, MessageBarBody, MessageBarTitle, Spinner, Text } from "@fluentui/react-components";
import type { ApiError } from "../api/client";
import { RequestId } from "./RequestId";

/** An API error as the user sees it: the API's sentence and the request id to quote. */
export function ErrorText({ error }: { error: ApiError }) {
  return (
    <>
      {error.message}
      {error.requestId && (
        <span style={{ display: "block" }}>
          <RequestId id={error.requestId} />
        </span>
      )}
    </>
  );
}

/**
 * Loading, error-with-retry and empty states around any data view. An error replaces the
 * data: a rejected query never leaves the previous answer on screen as if it were its own.
 */
export function DataState<T>(props: {
  loading: boolean;
  error: ApiError | undefined;
  data: T | undefined;
  empty?: (d: T) => boolean;
  emptyText?: string;
  onRetry: () => void;
  label: string;
  children: (d: T) => ReactNode;
}) {
  const { loading, error, data, empty, emptyText, onRetry, label, children } = props;
  if (error) {
    return (
      <MessageBar intent="error" role="alert" layout="multiline">
        <MessageBarBody>
          <MessageBarTitle>Could not load {label}.</MessageBarTitle>
          <ErrorText error={error} />
        </MessageBarBody>
        <MessageBarActions>
          <Button onClick={onRetry}>Retry</Button>
        </MessageBarActions>
      </MessageBar>
    );
  }
  if (data === undefined) {
    return loading ? <Spinner size="small" label={`Loading ${label}…`} /> : null;
  }
  if (empty?.(data)) {
    return <Text role="status" style={{ opacity: 0.8 }}>{emptyText ?? `No ${label} in this range.`}</Text>;
  }
  return <>{children(data)}</>;
}

/** Previous / next through a paged list, with where you are. */
export function Pager({ page, pageSize, total, exact, noun = "bans", onPage }: { page: number; pageSize: number; total: number; exact?: boolean; noun?: string; onPage: (p: number) => void }) {
  const last = Math.max(1, Math.ceil(total / pageSize));
  const more = exact === false ? "+" : "";
  return (
    <nav aria-label={`Pages of ${noun}`} style={{ display: "flex", flexWrap: "wrap", gap: 8, alignItems: "center", justifyContent: "flex-end", marginTop: 8 }}>
      <Text>
        {total.toLocaleString()}
        {more} {noun} · page {page} of {last.toLocaleString()}
        {more}
      </Text>
      <Button size="small" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </Button>
      <Button size="small" disabled={page >= last} onClick={() => onPage(page + 1)}>
        Next
      </Button>
    </nav>
  );
}
