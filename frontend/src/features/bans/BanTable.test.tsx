import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { FluentProvider, webLightTheme } from "@fluentui/react-components";
import { Country } from "./BanTable";

describe("Country", () => {
  it("shows the country code where flag emoji cannot be drawn", () => {
    render(
      <FluentProvider theme={webLightTheme}>
        <Country code="de" name="Germany" />
        <Country code={null} name={null} />
      </FluentProvider>,
    );
    expect(screen.getByText("DE")).toBeTruthy();
    expect(screen.getByText("Germany", { exact: false })).toBeTruthy();
    expect(screen.getByText("??")).toBeTruthy();
    expect(screen.getByText("Unknown", { exact: false })).toBeTruthy();
  });
});
