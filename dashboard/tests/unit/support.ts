// A real supabase-js client whose requests are answered in the test instead of by the network, for
// exercising the API client and rendering the dashboard against answers of the API's shape.
import { createClient } from "@supabase/supabase-js";

export interface SeenRequest {
  method: string;
  url: string;
  body: string | null;
  authorization: string | null;
}

export type Answer = (request: SeenRequest) => Response | Promise<Response>;

/** A client signed in with the token "user-jwt" whose every request `answer` answers; `seen` records them. */
export function clientAnswering(answer: Answer) {
  const seen: SeenRequest[] = [];
  const supabase = createClient("http://127.0.0.1:54321", "sb_publishable_test", {
    accessToken: () => Promise.resolve("user-jwt"),
    global: {
      fetch: async (input, init) => {
        const request = new Request(input, init);
        const entry = {
          method: request.method,
          url: request.url,
          body: request.body ? await request.text() : null,
          authorization: request.headers.get("Authorization"),
        };
        seen.push(entry);
        return await answer(entry);
      },
    },
  });
  return { supabase, seen };
}

/**
 * A client whose webhook-admin calls `routes` answers, keyed "METHOD /path" below webhook-admin;
 * any other route is a 404 route_not_found. `requests` lists "METHOD /path?query" as called.
 */
export function clientWithRoutes(routes: Record<string, Answer>) {
  const { supabase, seen } = clientAnswering((request) => {
    const url = new URL(request.url);
    const key = `${request.method} ${url.pathname.replace("/functions/v1/webhook-admin", "")}`;
    const answer = routes[key];
    if (answer) return answer(request);
    return Response.json({ error: { code: "route_not_found", message: `No route ${key}.` } }, { status: 404 });
  });
  const requests = () => seen.map(({ method, url }) => `${method} ${url.replace(/^.*\/webhook-admin/, "")}`);
  return { supabase, requests };
}

export const EVENT_TYPES = {
  data: [
    { type: "job.created", description: "A job was created.", schema: {}, sample: {} },
    { type: "webhook.test", description: "A test event.", schema: {}, sample: {} },
  ],
};

export const forbidden = () =>
  Response.json({ error: { code: "forbidden", message: "You are not an owner or admin." } }, { status: 403 });
