//! The route's JSON Schema (any draft the `jsonschema` crate knows; `$schema` picks it,
//! 2020-12 when absent), compiled once at start-up. A violation is reported by the JSON
//! pointer of the value at fault and what is wrong with it, with the value itself masked
//! (a body may hold personal data that must not reach the log).

use std::path::Path;

/// The most violations named in one answer.
pub const MAX_VIOLATIONS: usize = 16;

/// A compiled schema.
pub struct Schema(jsonschema::Validator);

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schema")
    }
}

/// One violation: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The JSON pointer of the value at fault ("" for the whole body).
    pub pointer: String,
    /// What is wrong, with the value masked.
    pub detail: String,
}

impl Schema {
    /// Reads and compiles the schema at `path`. The error says why, for the config key.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        Self::compile(&value).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Compiles a schema value.
    pub fn compile(value: &serde_json::Value) -> Result<Self, String> {
        jsonschema::validator_for(value)
            .map(Self)
            .map_err(|e| format!("not a valid JSON Schema: {e}"))
    }

    /// The violations of `instance` (at most [`MAX_VIOLATIONS`]); empty when it matches.
    pub fn violations(&self, instance: &serde_json::Value) -> Vec<Violation> {
        if self.0.is_valid(instance) {
            return Vec::new();
        }
        self.0
            .iter_errors(instance)
            .take(MAX_VIOLATIONS)
            .map(|e| Violation {
                pointer: e.instance_path().to_string(),
                detail: e.masked().to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn violations_are_named_by_pointer_without_the_value() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "required": ["blast_id", "customers"],
            "properties": {
                "blast_id": {"type": "string"},
                "customers": {"type": "array", "items": {"type": "string", "maxLength": 8}}
            }
        }))
        .unwrap();
        assert!(
            schema
                .violations(&json!({"blast_id": "b", "customers": []}))
                .is_empty()
        );
        let v = schema
            .violations(&json!({"blast_id": 7, "customers": ["ok", "secret-value-too-long"]}));
        let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
        assert!(pointers.contains(&"/blast_id"), "{v:?}");
        assert!(pointers.contains(&"/customers/1"), "{v:?}");
        assert!(
            v.iter().all(|v| !v.detail.contains("secret-value")),
            "{v:?}"
        );
        let v = schema.violations(&json!({"customers": []}));
        assert_eq!(v[0].pointer, "");
        assert!(v[0].detail.contains("blast_id"), "{v:?}");
    }

    #[test]
    fn a_bad_schema_is_refused() {
        assert!(Schema::compile(&json!({"type": "no-such-type"})).is_err());
    }
}
