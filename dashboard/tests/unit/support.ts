// A real supabase-js client whose function calls are answered by a route table instead of the
// network, for rendering the dashboard's components against answers of the API's shape.
import { createClient } from "@supabase/supabase-js";

export type Answer = (request: Request) => Response | Promise<Response>;

/** `routes` maps "METHOD /path-below-webhook-admin" to an answer; anything else is a 404 route_not_found. */
export function clientWithRoutes(routes: Record<string, Answer>) {
  const requests: string[] = [];
  const supabase = createClient("http://127.0.0.1:54321", "sb_publishable_test", {
    accessToken: () => Promise.resolve("user-jwt"),
    global: {
      fetch: async (input, init) => {
        const request = new Request(input, init);
        const url = new URL(request.url);
        const key = `${request.method} ${url.pathname.replace("/functions/v1/webhook-admin", "")}`;
        requests.push(`${key}${url.search}`);
        const answer = routes[key];
        if (answer) return await answer(request);
        return Response.json({ error: { code: "route_not_found", message: `No route ${key}.` } }, { status: 404 });
      },
    },
  });
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
