import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { FluentProvider, webLightTheme } from "@fluentui/react-components";
import { ApiError } from "../api/client";
import { DataState } from "./DataState";

function view(props: Partial<Parameters<typeof DataState<number[]>>[0]>) {
  const onRetry = vi.fn();
  render(
    <FluentProvider theme={webLightTheme}>
      <DataState<number[]>
        label="bans"
        loading={false}
        error={undefined}
        data={undefined}
        onRetry={onRetry}
        empty={(d) => d.length === 0}
        {...props}
      >
        {(d) => <p>{d.length} rows</p>}
      </DataState>
    </FluentProvider>,
  );
  return onRetry;
}

describe("DataState", () => {
  it("shows loading, then data", () => {
    view({ loading: true });
    expect(screen.getByText("Loading bans…")).toBeTruthy();
  });

  it("shows the error with its request id and retries", () => {
    const retry = view({ error: new ApiError(503, "database_unavailable", "the database did not answer", "req-42") });
    expect(screen.getByRole("alert").textContent).toContain("req-42");
    fireEvent.click(screen.getByText("Retry"));
    expect(retry).toHaveBeenCalledOnce();
  });

  it("shows an error instead of data it holds from before", () => {
    view({ data: [1, 2], error: new ApiError(400, "invalid_ip_search", "not an IP prefix", "req-7") });
    expect(screen.getByRole("alert").textContent).toContain("not an IP prefix");
    expect(screen.queryByText("2 rows")).toBeNull();
  });

  it("says when there is nothing", () => {
    view({ data: [] });
    expect(screen.getByRole("status").textContent).toBe("No bans in this range.");
  });

  it("renders the data", () => {
    view({ data: [1, 2, 3] });
    expect(screen.getByText("3 rows")).toBeTruthy();
  });
});
