import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Built assets are embedded in bangui-api (api/src/frontend.rs): hashed file names are
// cached forever, index.html never. The dev server proxies the API.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 900,
    // No manual chunks: the pages are lazy (App.tsx), so the charts and the map land in
    // chunks of their own that only those pages load. (A manual "charts" chunk once pulled
    // React in with recharts and made every first load fetch the charts.)
  },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
  },
});
