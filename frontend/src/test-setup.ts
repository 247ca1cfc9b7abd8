// jsdom lacks ResizeObserver, which Fluent UI's MessageBar uses to lay out its actions.
class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= ResizeObserverStub as unknown as typeof ResizeObserver;

// jsdom has no canvas; returning null (as a browser without 2D support would) keeps its
// "not implemented" noise out of the output.
HTMLCanvasElement.prototype.getContext = (() => null) as unknown as HTMLCanvasElement["getContext"];

// Each test starts from an empty document (vitest runs without globals, so Testing
// Library cannot register its own cleanup).
import { afterEach } from "vitest";
import { cleanup } from "@testing-library/react";
afterEach(cleanup);
