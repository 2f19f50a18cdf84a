// The dashboard's components in a DOM: loading, empty, refused and failed states, API field errors
// beside their fields, one-time secrets, and confirmations.
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { LIB_DIR } from "../../scripts/prepare.mjs";
import { ApiError } from "../../src/api/client";
import { ConfirmButton, Field, SecretOnce } from "../../src/components/ui";
import { WebhookDashboard } from "../../src/WebhookDashboard";
import { clientWithRoutes, EVENT_TYPES, forbidden } from "./support";

afterEach(cleanup);

const ORG = "00000000-0000-4000-a001-000000001000";

describe("WebhookDashboard", () => {
  test("shows that it is loading, then the empty state with its tabs", async () => {
    const { supabase, requests } = clientWithRoutes({ "GET /endpoints": () => Response.json({ data: [] }) });
    render(<WebhookDashboard supabase={supabase} orgId={ORG} />);
    expect(screen.getByRole("status").textContent).toBe("Loading the webhook dashboard…");
    await screen.findByText(/No endpoints yet/);
    expect(screen.getByRole("navigation", { name: "Webhook dashboard" }).textContent).toBe(
      "EndpointsDeliveriesService accountsAudit logEvent catalog",
    );
    expect(requests()).toContain(`GET /endpoints?org_id=${ORG}`);
  });

  test("tells a caller the API refuses that they are not allowed, with no tabs to click", async () => {
    const { supabase } = clientWithRoutes({ "GET /endpoints": forbidden });
    render(<WebhookDashboard supabase={supabase} orgId={ORG} />);
    expect(await screen.findByRole("heading", { name: "Not allowed" })).toBeTruthy();
    expect(screen.queryByRole("navigation")).toBeNull();
  });

  test("says the API could not be reached, and tries again on request", async () => {
    let calls = 0;
    const { supabase } = clientWithRoutes({
      "GET /endpoints": () => {
        calls += 1;
        if (calls <= 3) throw new TypeError("Failed to fetch");
        return Response.json({ data: [] });
      },
    });
    render(<WebhookDashboard supabase={supabase} orgId={ORG} />);
    expect(await screen.findByText("The webhook API could not be reached", {}, { timeout: 10_000 })).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText(/No endpoints yet/)).toBeTruthy();
  });

  test("shows the API's reason for refusing a field beside that field", async () => {
    const { supabase } = clientWithRoutes({
      "GET /endpoints": () => Response.json({ data: [] }),
      "GET /event-types": () => Response.json(EVENT_TYPES),
      "POST /endpoints": () =>
        Response.json({
          error: {
            code: "invalid_request",
            message: "The request body is not valid.",
            details: { formErrors: [], fieldErrors: { url: ["endpoint URL must use https"] } },
          },
        }, { status: 400 }),
    });
    render(<WebhookDashboard supabase={supabase} orgId={ORG} />);
    await userEvent.click(await screen.findByRole("button", { name: "Add endpoint" }));
    // webhook.test is sent on request only: it is not offered as a subscription.
    await screen.findByRole("checkbox", { name: "job.created" });
    expect(screen.queryByRole("checkbox", { name: "webhook.test" })).toBeNull();
    await userEvent.type(screen.getByLabelText("URL"), "http://example.com/hook");
    await userEvent.click(screen.getByRole("button", { name: "Create endpoint" }));
    const url = screen.getByLabelText("URL");
    await waitFor(() => expect(url.getAttribute("aria-invalid")).toBe("true"));
    const described = url.getAttribute("aria-describedby")!.split(" ").map((id) =>
      document.getElementById(id)?.textContent
    );
    expect(described).toContain("URL: endpoint URL must use https");
    expect(screen.getByRole("alert").textContent).toContain("Some fields need attention");
  });
});

test("a field without problems is neither invalid nor described by an error", () => {
  render(
    <Field label="Name" name="name" error={new ApiError(400, "invalid_request", "m", { scopes: ["give one"] })}>
      {(props) => <input {...props} />}
    </Field>,
  );
  const input = screen.getByLabelText("Name");
  expect(input.getAttribute("aria-invalid")).toBeNull();
  expect(input.getAttribute("aria-describedby")).toBeNull();
});

describe("SecretOnce", () => {
  test("copies the secret and forgets it when the admin says it is stored", async () => {
    const user = userEvent.setup();
    const writeText = vi.spyOn(navigator.clipboard, "writeText");
    const onDone = vi.fn();
    render(<SecretOnce title="Endpoint created" label="Signing secret" secret="whsec_abc" onDone={onDone} />);
    expect((screen.getByLabelText("Signing secret") as HTMLInputElement).value).toBe("whsec_abc");
    await user.click(screen.getByRole("button", { name: "Copy" }));
    expect(writeText).toHaveBeenCalledWith("whsec_abc");
    expect(await screen.findByText("Copied to the clipboard.")).toBeTruthy();
    await user.click(screen.getByRole("button", { name: "I have stored it" }));
    expect(onDone).toHaveBeenCalledOnce();
  });

  test("says so when the browser refuses the clipboard", async () => {
    vi.spyOn(navigator.clipboard, "writeText").mockRejectedValueOnce(new Error("denied"));
    render(<SecretOnce title="t" label="API key" secret="cjh_sk_x" onDone={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Copy" }));
    expect(await screen.findByText(/The browser refused the clipboard/)).toBeTruthy();
  });
});

describe("ConfirmButton", () => {
  test("acts only after the confirmation, which takes the focus", async () => {
    const onConfirm = vi.fn();
    render(<ConfirmButton label="Delete" question="Delete it?" confirmLabel="Delete endpoint" onConfirm={onConfirm} />);
    await userEvent.click(screen.getByRole("button", { name: "Delete" }));
    expect(onConfirm).not.toHaveBeenCalled();
    const confirm = screen.getByRole("button", { name: "Delete endpoint" });
    expect(document.activeElement).toBe(confirm);
    await userEvent.keyboard("{Enter}");
    expect(onConfirm).toHaveBeenCalledOnce();
  });

  test("cancelling asks nothing more and does nothing", async () => {
    const onConfirm = vi.fn();
    render(<ConfirmButton label="Revoke" question="Revoke it?" confirmLabel="Revoke now" onConfirm={onConfirm} />);
    await userEvent.click(screen.getByRole("button", { name: "Revoke" }));
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.getByRole("button", { name: "Revoke" })).toBeTruthy();
    expect(onConfirm).not.toHaveBeenCalled();
  });
});

test("the component package, as built, renders the dashboard for the host's client", async () => {
  const built = join(LIB_DIR, "index.js");
  const { WebhookDashboard: Built } = await import(/* @vite-ignore */ built);
  const { supabase } = clientWithRoutes({ "GET /endpoints": forbidden });
  render(<Built supabase={supabase} orgId={ORG} />);
  expect(await screen.findByRole("heading", { name: "Not allowed" })).toBeTruthy();
});
