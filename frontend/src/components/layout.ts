import { useSyncExternalStore } from "react";

/** Below this width the app uses its phone layout (drawer, cards, notices in the flow). */
export const NARROW_QUERY = "(max-width: 767px)";

function subscribe(query: string) {
  return (onChange: () => void) => {
    const m = window.matchMedia(query);
    m.addEventListener("change", onChange);
    return () => m.removeEventListener("change", onChange);
  };
}

/** Whether the media query matches now; re-renders when it changes. */
export function useMedia(query: string): boolean {
  return useSyncExternalStore(
    subscribe(query),
    () => window.matchMedia(query).matches,
    () => false,
  );
}

export function useNarrow(): boolean {
  return useMedia(NARROW_QUERY);
}
