// Two Vitest projects: `unit` (component logic and the build's guarantees, in happy-dom, no stack
// needed) and `browser` (flows in Debian's Chromium against the running local stack).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [react()],
        test: { name: "unit", environment: "happy-dom", include: ["tests/unit/**/*.test.{ts,tsx}"] },
      },
      {
        test: {
          name: "browser",
          environment: "node",
          include: ["tests/browser/**/*.test.ts"],
          // One browser and one organization for the file; each flow waits on the stack, not on a clock.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
