// The directory: accounts (active, credit) and customers (name, e-mail, active, opted out),
// read from the JSON file the Rust, Go and C# workers share (examples/rust/blast/data/
// directory.json), checked as strictly as the Rust type reads it.

import { readFile } from "node:fs/promises";

import { boolean, count, type JsonObject, object, onlyFields, optionalBoolean, string } from "./shape.js";

/** An account that sends blasts. */
export interface Account {
  readonly name: string;
  readonly active: boolean;
  /** Mails the account may still send. */
  readonly credit: number;
}

/** A customer of an account: a possible recipient. */
export interface Customer {
  readonly name: string;
  readonly email: string;
  /** Still a customer (default true). */
  readonly active: boolean;
  /** Asked not to receive blasts (default false). */
  readonly opted_out: boolean;
}

/** Why the directory could not be read; the list sender answers retry with this message. */
export class DirectoryError extends Error {
  override readonly name = "DirectoryError";
}

/** Accounts and customers by id. */
export class Directory {
  constructor(
    readonly accounts: ReadonlyMap<string, Account>,
    readonly customers: ReadonlyMap<string, Customer>,
  ) {}

  /** Parses a directory document; throws a `ShapeError` or `SyntaxError`. */
  static parse(text: string): Directory {
    const doc = object(JSON.parse(text), "directory");
    onlyFields(doc, ["accounts", "customers"], "directory");
    const accounts = entries(doc, "accounts", (v, what): Account => {
      const a = object(v, what);
      onlyFields(a, ["name", "active", "credit"], what);
      return { name: string(a, "name", what), active: boolean(a, "active", what), credit: count(a, "credit", what) };
    });
    const customers = entries(doc, "customers", (v, what): Customer => {
      const c = object(v, what);
      onlyFields(c, ["name", "email", "active", "opted_out"], what);
      return {
        name: string(c, "name", what),
        email: string(c, "email", what),
        active: optionalBoolean(c, "active", what, true),
        opted_out: optionalBoolean(c, "opted_out", what, false),
      };
    });
    return new Directory(accounts, customers);
  }

  /** Reads and parses the directory file; throws a `DirectoryError` naming the file. */
  static async load(path: string): Promise<Directory> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new DirectoryError(`cannot read directory ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      return Directory.parse(text);
    } catch (err) {
      throw new DirectoryError(`directory ${path} is invalid: ${(err as Error).message}`, { cause: err });
    }
  }

  account(id: string): Account | undefined {
    return this.accounts.get(id);
  }

  customer(id: string): Customer | undefined {
    return this.customers.get(id);
  }
}

/** The optional map `key` of `doc` (default empty), each value read by `read`. */
function entries<T>(doc: JsonObject, key: string, read: (value: unknown, what: string) => T): Map<string, T> {
  const map = new Map<string, T>();
  if (!Object.hasOwn(doc, key)) return map;
  for (const [id, value] of Object.entries(object(doc[key], key))) {
    map.set(id, read(value, `${key}.${id}`));
  }
  return map;
}

