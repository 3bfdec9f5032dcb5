// The canonical JSON of everything vkyc signs: RFC 8785 (JSON Canonicalization Scheme) over I-JSON
// values, the twin of vkyc/protocol/canonical.py (docs/protocol.md section 5). Both check the vectors
// of docs/protocol/canonical-vectors.json (tests/unit/test_canonical_json.py and
// tests/browser/test_canonical_json.py).
//
// RFC 8785 is defined in terms of this language: members sorted by name as UTF-16 code units (the
// default Array.prototype.sort), strings and numbers as JSON.stringify writes them. What is added here
// is what the Python side refuses too, so that the two never disagree: strings or names with an
// unpaired surrogate, NaN and infinities, numbers beyond ±(2^53 - 1), and anything that is not a JSON
// value (undefined in an array, functions, symbols, BigInt, Dates and other non-plain objects), all
// throw NotCanonical. A member whose value is undefined is left out, as JSON.stringify leaves it off
// the wire.

export class NotCanonical extends Error {
  constructor(message) {
    super(message);
    this.name = "NotCanonical";
  }
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function string(text) {
  if (UNPAIRED_SURROGATE.test(text)) throw new NotCanonical("string with an unpaired surrogate");
  return JSON.stringify(text);
}

function number(value) {
  if (!Number.isFinite(value)) throw new NotCanonical(`${value} is not a JSON number`);
  if (Math.abs(value) > Number.MAX_SAFE_INTEGER) {
    throw new NotCanonical(`number ${value} is beyond ±(2^53 - 1)`);
  }
  return JSON.stringify(value);
}

function write(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return string(value);
    case "number":
      return number(value);
    case "object":
      break;
    default:
      throw new NotCanonical(`${typeof value} is not a JSON value`);
  }
  if (Array.isArray(value)) {
    for (const item of value) if (item === undefined) throw new NotCanonical("undefined in an array");
    return "[" + value.map(write).join(",") + "]";
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new NotCanonical(`${value.constructor?.name ?? "object"} is not a JSON value`);
  }
  const names = Object.keys(value)
    .filter((name) => value[name] !== undefined)
    .sort();
  return "{" + names.map((name) => string(name) + ":" + write(value[name])).join(",") + "}";
}

/** The RFC 8785 text of value (to be UTF-8 encoded before hashing or signing); NotCanonical if none. */
export function canonicalJson(value) {
  return write(value);
}
