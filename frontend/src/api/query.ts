// The query cache (TanStack Query): one request per key however many components ask,
// polling that pauses while the tab is hidden, and a short burst of faster polling after
// a command finishes, so every view catches up with the change it just made (the
// scheduler refreshes its snapshot before it reports success; the burst covers what a
// command sets in motion, such as fail2ban's own ban of a jail just started).
import { QueryClient, useQuery, type QueryKey } from "@tanstack/react-query";
import { asApiError, type ApiError } from "./client";

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // The API's own errors are answers, not blips: show them at once. A lost connection
      // is retried by the next poll.
      retry: false,
      refetchOnWindowFocus: true,
      refetchIntervalInBackground: false,
      staleTime: 2_000,
    },
  },
});

const BURST_MS = 8_000;
const BURST_EVERY_MS = 1_000;
let burstUntil = 0;

/** After a command: refetch everything now, then poll every second for a few seconds. */
export function afterCommand(): void {
  burstUntil = Date.now() + BURST_MS;
  void queryClient.invalidateQueries();
}

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `fetcher()` under `key`, again every `pollMs` while the tab is visible. An error
 * replaces the data: a failed query never shows the previous answer as if it were its own.
 */
export function useApiQuery<T>(key: QueryKey, fetcher: () => Promise<T>, opts: { pollMs?: number; enabled?: boolean } = {}): Loaded<T> {
  const { pollMs, enabled = true } = opts;
  const q = useQuery<T, ApiError>({
    queryKey: key,
    queryFn: async () => {
      try {
        return await fetcher();
      } catch (e) {
        throw asApiError(e);
      }
    },
    enabled,
    refetchInterval: pollMs ? () => (Date.now() < burstUntil ? BURST_EVERY_MS : pollMs) : false,
  });
  const error = q.error ?? undefined;
  return {
    data: error ? undefined : q.data,
    error,
    loading: q.isFetching,
    reload: () => void q.refetch(),
  };
}
