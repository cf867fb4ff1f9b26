//! How a config reading error is told to the person who wrote the file: in TOML's terms
//! (a table, a string, an integer — never `u32` or `struct SubscriptionConfig`), and for a
//! misspelt key with the nearest key that exists.

use figment::error::{Actual, Kind};

/// The reason for `kind`, for a person editing `ferry.toml`.
pub(super) fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.clone(),
        Kind::UnknownField(field, known) => match nearest(field, known) {
            Some(near) => format!("unknown key; did you mean `{near}`?"),
            None if known.is_empty() => "unknown key: this table takes no keys".to_owned(),
            None => format!("unknown key; the keys here are {}", list(known)),
        },
        Kind::UnknownVariant(value, known) => match nearest(value, known) {
            Some(near) => format!("unknown value `{value}`; did you mean `{near}`?"),
            None => format!("unknown value `{value}`; expected one of {}", list(known)),
        },
        Kind::MissingField(field) => format!("the key `{field}` is required here"),
        Kind::DuplicateField(field) => format!("the key `{field}` is set twice"),
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => format!(
            "expected {}, found {}",
            toml_terms(expected),
            actual_terms(actual)
        ),
        Kind::InvalidLength(n, expected) => {
            format!("expected {}, found {n} items", toml_terms(expected))
        }
        Kind::ISizeOutOfRange(n) => format!("{n} is out of range"),
        Kind::USizeOutOfRange(n) => format!("{n} is out of range"),
        Kind::Unsupported(actual) => format!("{} is not supported here", actual_terms(actual)),
        Kind::UnsupportedKey(actual, _) => {
            format!("{} cannot be a key", actual_terms(actual))
        }
    }
}

/// The known name closest to `name`, if one is close enough to be a likely typo.
fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

fn list(known: &[&str]) -> String {
    known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What serde expected, in TOML's words.
fn toml_terms(expected: &str) -> String {
    let e = expected.trim();
    let words = match e {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "string" | "a borrowed string" | "char" | "a character" => "a string",
        "a sequence" | "sequence" => "an array",
        "a map" | "map" => "a table",
        _ if e.starts_with("struct ") || e.starts_with("enum ") => "a table",
        _ => return e.to_owned(),
    };
    words.to_owned()
}

/// What was found, in TOML's words.
fn actual_terms(actual: &Actual) -> String {
    match actual {
        Actual::Bool(b) => b.to_string(),
        Actual::Unsigned(n) => n.to_string(),
        Actual::Signed(n) => n.to_string(),
        Actual::Float(n) => n.to_string(),
        Actual::Char(c) => format!("the string \"{c}\""),
        Actual::Str(s) => format!("the string \"{s}\""),
        Actual::Map => "a table".to_owned(),
        Actual::Seq => "an array".to_owned(),
        Actual::Unit | Actual::Option => "nothing".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_gets_the_nearest_key() {
        let known = &["address", "health_interval", "stop_timeout"];
        assert_eq!(nearest("adress", known), Some("address"));
        assert_eq!(nearest("stop_timout", known), Some("stop_timeout"));
        assert_eq!(nearest("colour", known), None);
    }

    #[test]
    fn rust_types_are_told_in_toml_terms() {
        let kind = Kind::InvalidType(Actual::Str("many".into()), "u32".into());
        assert_eq!(
            describe(&kind),
            "expected an integer, found the string \"many\""
        );
        let kind = Kind::InvalidType(Actual::Str("x".into()), "struct SubscriptionConfig".into());
        assert_eq!(describe(&kind), "expected a table, found the string \"x\"");
        let kind = Kind::InvalidType(Actual::Signed(3), "a string".into());
        assert_eq!(describe(&kind), "expected a string, found 3");
    }
}
