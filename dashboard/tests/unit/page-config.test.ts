// The standalone page's config.json: what it needs, and errors that name the field.
import { describe, expect, test } from "vitest";
import { orgFromLocation, parsePageConfig } from "../../src/page/config";

describe("parsePageConfig", () => {
  test("accepts a hosted configuration without the local sign-in", () => {
    expect(parsePageConfig({ supabase_url: "https://abc.supabase.co", supabase_key: "sb_publishable_x" })).toEqual({
      supabase_url: "https://abc.supabase.co",
      supabase_key: "sb_publishable_x",
      sign_in_url: undefined,
      local_sign_in: false,
    });
  });

  test("names the field that is missing or wrong", () => {
    expect(() => parsePageConfig({ supabase_key: "k" })).toThrow("config.json: supabase_url must be a string");
    expect(() => parsePageConfig({ supabase_url: "not a url", supabase_key: "k" })).toThrow(
      "config.json: supabase_url must be a URL",
    );
    expect(() => parsePageConfig({ supabase_url: "https://a.b", supabase_key: "k", local_sign_in: "yes" })).toThrow(
      "config.json: local_sign_in must be true or false",
    );
    expect(() => parsePageConfig([])).toThrow("config.json: supabase_url must be a string");
    expect(() => parsePageConfig(null)).toThrow("config.json must hold a JSON object");
  });
});

test("the organization comes from ?org= in the page's address", () => {
  expect(orgFromLocation("?org=00000000-0000-4000-a001-000000001000")).toBe("00000000-0000-4000-a001-000000001000");
  expect(orgFromLocation("?org=")).toBeUndefined();
  expect(orgFromLocation("")).toBeUndefined();
});
