// Checking the shape of parsed JSON the way the Rust workers' serde types do: required
// fields of the right type, defaults for optional ones, unknown fields refused where the
// Rust type refuses them. Errors are `ShapeError`s whose message names the field.

/** A JSON value that does not have the expected shape. */
export class ShapeError extends Error {
  override readonly name = "ShapeError";
}

/** A JSON object, as a record. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** `value` as an object; `what` names it in the error. */
export function object(value: unknown, what: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ShapeError(`${what} must be a JSON object`);
  }
  return value as JsonObject;
}

/** Refuses fields of `obj` that are not in `known`. */
export function onlyFields(obj: JsonObject, known: readonly string[], what: string): void {
  const unknown = Object.keys(obj).find((key) => !known.includes(key));
  if (unknown !== undefined) {
    throw new ShapeError(`${what}: unknown field \`${unknown}\`, expected one of ${known.map((k) => `\`${k}\``).join(", ")}`);
  }
}

/** The field `key` of `obj`, required; `check` says whether its type is right. */
function field<T>(obj: JsonObject, key: string, what: string, type: string, check: (v: unknown) => v is T): T {
  if (!Object.hasOwn(obj, key)) throw new ShapeError(`${what}: missing field \`${key}\``);
  const value = obj[key];
  if (!check(value)) throw new ShapeError(`${what}: field \`${key}\` must be ${type}`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

export const string = (obj: JsonObject, key: string, what: string): string => field(obj, key, what, "a string", isString);
export const boolean = (obj: JsonObject, key: string, what: string): boolean => field(obj, key, what, "true or false", isBoolean);
export const count = (obj: JsonObject, key: string, what: string): number =>
  field(obj, key, what, "a non-negative integer", isCount);
export const strings = (obj: JsonObject, key: string, what: string): string[] =>
  field(obj, key, what, "an array of strings", isStrings);

/** The optional boolean `key` of `obj`, or `fallback` when absent. */
export function optionalBoolean(obj: JsonObject, key: string, what: string, fallback: boolean): boolean {
  return Object.hasOwn(obj, key) ? boolean(obj, key, what) : fallback;
}
