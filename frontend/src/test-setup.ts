// jsdom lacks ResizeObserver, which Fluent UI's MessageBar uses to lay out its actions.
class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= ResizeObserverStub as unknown as typeof ResizeObserver;
