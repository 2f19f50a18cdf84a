// Two builds from one source: `vite build` makes the standalone page (dist/page: static files with
// relative paths, deployable under any path), `vite build --mode lib` the React component package
// (dist/lib: ES modules with react, react-dom and supabase-js left to the host app). `vite` serves
// the page for development, with config.json and the local sign-in from the stack's page server.
import react from "@vitejs/plugin-react";
import process from "node:process";
import { defineConfig } from "vite";

const PEERS = ["react", "react-dom", "react/jsx-runtime", "@supabase/supabase-js", "@tanstack/react-query", "chart.js"];
const PAGE_SERVER = process.env.CJH_DASHBOARD_URL ?? "http://127.0.0.1:54323";

export default defineConfig(({ mode }) =>
  mode === "lib"
    ? {
      plugins: [react()],
      build: {
        outDir: "dist/lib",
        emptyOutDir: true,
        sourcemap: true,
        lib: { entry: "src/index.ts", formats: ["es"], fileName: "index", cssFileName: "style" },
        rolldownOptions: {
          external: (id: string) => PEERS.some((peer) => id === peer || id.startsWith(`${peer}/`)),
        },
      },
    }
    : {
      plugins: [react()],
      base: "./",
      server: { proxy: { "/config.json": PAGE_SERVER, "/local": PAGE_SERVER } },
      // The first load's budget is a test (tests/unit/build.test.tsx), not this warning's 500 kB of raw script.
      build: { outDir: "dist/page", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
    }
);
