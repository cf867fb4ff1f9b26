//! The blast's mail template and its per-customer rendering (`{{name}}`, `{{email}}`).

use serde::{Deserialize, Serialize};

use crate::directory::Customer;

/// A mail template; `{{name}}` and `{{email}}` (spaces inside the braces allowed) are
/// replaced by the customer's values, other text is kept as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// The subject line.
    pub subject: String,
    /// The body text.
    pub body: String,
}

/// A template rendered for one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The body text.
    pub body: String,
}

impl Template {
    /// Renders the template for `customer`.
    ///
    /// ```
    /// # let customer: ferry_blast::Customer =
    /// #     serde_json::from_str(r#"{"name":"Ann","email":"ann@example.com"}"#).expect("json");
    /// let template = ferry_blast::Template {
    ///     subject: "Hello {{name}}".into(),
    ///     body: "We write to {{ email }}.".into(),
    /// };
    /// let mail = template.render(&customer);
    /// assert_eq!(mail.subject, "Hello Ann");
    /// assert_eq!(mail.body, "We write to ann@example.com.");
    /// ```
    pub fn render(&self, customer: &Customer) -> Rendered {
        let fill = |text: &str| {
            render_text(
                text,
                &[("name", &customer.name), ("email", &customer.email)],
            )
        };
        Rendered {
            subject: fill(&self.subject),
            body: fill(&self.body),
        }
    }
}

/// Replaces each `{{ key }}` of `values` in `text`, in one pass (a value containing braces
/// is never expanded again).
fn render_text(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let key = after[..end].trim();
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
