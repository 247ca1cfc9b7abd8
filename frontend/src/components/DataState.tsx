import type { ReactNode } from "react";
import { Button, MessageBar, MessageBarActions, MessageBarBody, MessageBarTitle, Spinner, Text } from "@fluentui/react-components";
import type { ApiError } from "../api/client";

/** Loading, error-with-retry and empty states around any data view. */
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
  if (error && data === undefined) {
    return (
      <MessageBar intent="error" role="alert">
        <MessageBarBody>
          <MessageBarTitle>Could not load {label}.</MessageBarTitle>
          {error.message} {error.requestId && <Text size={200}>(request {error.requestId})</Text>}
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
