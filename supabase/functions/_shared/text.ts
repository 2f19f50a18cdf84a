// Text PostgreSQL cannot store: the NUL character (text and jsonb refuse it: "invalid byte
// sequence for encoding UTF8: 0x00", "unsupported Unicode escape sequence") and lone UTF-16
// surrogates (no UTF-8 encoding exists; the client would silently store U+FFFD instead). Every
// function refuses such text where it enters, as a 400 naming the field, before it reaches SQL.

/** Why `text` cannot be stored, or null when it can. */
export function unstorableTextProblem(text: string): string | null {
  if (text.includes("\u0000")) return "must not contain the NUL character (U+0000)";
  if (!text.isWellFormed()) return "must be valid Unicode text (it contains a lone surrogate)";
  return null;
}

/**
 * Every string in a decoded request part (keys included) that PostgreSQL cannot store, as zod's
 * flattened error shape: `fieldErrors` by top-level field (a nested string counts for the field it
 * is in), `formErrors` for the part as a whole (a key itself, or a bare string). Null when all of
 * it can be stored.
 */
export function unstorableTextErrors(
  value: unknown,
): { formErrors: string[]; fieldErrors: Record<string, string[]> } | null {
  const formErrors: string[] = [];
  const fieldErrors: Record<string, string[]> = {};
  const visit = (node: unknown, field: string | null, depth: number): void => {
    if (typeof node === "string") {
      const problem = unstorableTextProblem(node);
      if (problem === null) return;
      const messages = field === null ? formErrors : (fieldErrors[field] ??= []);
      if (!messages.includes(problem)) messages.push(problem);
      return;
    }
    // JSON.parse has already bounded the depth of what it returned; this bounds the walk itself.
    if (node === null || typeof node !== "object" || depth > 1000) return;
    for (const [key, inner] of Object.entries(node)) {
      const keyProblem = unstorableTextProblem(key);
      if (keyProblem !== null) formErrors.push(`a key ${keyProblem}`);
      visit(inner, field ?? (Array.isArray(node) || keyProblem !== null ? null : key), depth + 1);
    }
  };
  visit(value, null, 0);
  return formErrors.length === 0 && Object.keys(fieldErrors).length === 0 ? null : { formErrors, fieldErrors };
}
