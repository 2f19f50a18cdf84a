// Failures in words: a title per error code, and each refused field under its form label.
import { describe, expect, test } from "vitest";
import { ApiError } from "../../src/api/client";
import { describeError, fieldMessages } from "../../src/errors";

describe("describeError", () => {
  test("a 403 says who may act instead of the raw message", () => {
    const description = describeError(new ApiError(403, "forbidden", "Only owners and admins may do this."));
    expect(description.title).toBe("Not allowed");
    expect(description.forbidden).toBe(true);
    expect(description.message).toMatch(/^Only an owner or admin of this organization can manage its webhooks\./);
  });

  test("refused fields come with the labels the forms use", () => {
    const error = new ApiError(400, "invalid_request", "The request body is not valid.", {
      url: ["endpoint URL must be https"],
      event_types: ["unknown event type"],
    });
    expect(describeError(error)).toEqual({
      title: "Some fields need attention",
      message: "The request body is not valid.",
      fields: [
        { field: "url", label: "URL", messages: ["endpoint URL must be https"] },
        { field: "event_types", label: "Event types", messages: ["unknown event type"] },
      ],
      forbidden: false,
    });
  });

  test("form-level problems are part of the message", () => {
    const error = new ApiError(400, "invalid_request", "The request body is not valid.", {}, [
      "give at least one of url, description, event_types",
    ]);
    expect(describeError(error).message).toBe(
      "The request body is not valid. give at least one of url, description, event_types",
    );
  });

  test("an unknown code is described by its status class", () => {
    expect(describeError(new ApiError(500, "internal_error", "An unexpected error occurred.")).title)
      .toBe("The webhook API failed");
    expect(describeError(new ApiError(418, "teapot", "No.")).title).toBe("The request was refused");
  });

  test("something thrown that is not an ApiError still reads as a sentence", () => {
    expect(describeError(new Error("boom"))).toMatchObject({ title: "Something went wrong", message: "boom" });
  });
});

describe("fieldMessages", () => {
  test("returns the API's messages about one field, and none for other fields or errors", () => {
    const error = new ApiError(400, "invalid_request", "m", { name: ["must not be empty"] });
    expect(fieldMessages(error, "name")).toEqual(["must not be empty"]);
    expect(fieldMessages(error, "scopes")).toEqual([]);
    expect(fieldMessages(new Error("x"), "name")).toEqual([]);
  });
});
