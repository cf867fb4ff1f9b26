//! Keeps README.md's Rust handler identical to the compiled
//! `examples/minimal-worker.rs`, and under 60 lines.

#[test]
fn docs_show_the_compiled_minimal_worker() {
    let code = include_str!("../examples/minimal-worker.rs");
    let docs = include_str!("../../../../README.md");
    assert!(
        docs.contains(&format!("```rust\n{code}```")),
        "README.md must show examples/minimal-worker.rs exactly; copy it over"
    );
    assert!(
        code.lines().count() < 60,
        "keep the minimal worker under 60 lines"
    );
}
