//! Unit tests for template rendering.

use super::{Template, render_text};
use crate::directory::Customer;

fn ann() -> Customer {
    Customer {
        name: "Ann".into(),
        email: "ann@example.com".into(),
        active: true,
        opted_out: false,
    }
}

#[test]
fn placeholders_are_filled_in_subject_and_body() {
    let template = Template {
        subject: "Hi {{name}}".into(),
        body: "{{ name }} <{{email}}>".into(),
    };
    let mail = template.render(&ann());
    assert_eq!(mail.subject, "Hi Ann");
    assert_eq!(mail.body, "Ann <ann@example.com>");
}

#[test]
fn unknown_and_unclosed_placeholders_are_kept() {
    let values = [("name", "Ann")];
    assert_eq!(render_text("{{phone}} {{name}}", &values), "{{phone}} Ann");
    assert_eq!(render_text("{{name", &values), "{{name");
    assert_eq!(render_text("}} {{}}", &values), "}} {{}}");
}

#[test]
fn values_are_not_expanded_again() {
    let values = [("name", "{{email}}"), ("email", "e")];
    assert_eq!(render_text("{{name}}", &values), "{{email}}");
}
