//! Unit tests for the directory file: the shipped data parses, defaults apply, mistakes are
//! reported with the file name.

use std::path::Path;

use super::{Directory, DirectoryError};

const SHIPPED: &str = include_str!("../../data/directory.json");

#[test]
fn the_shipped_directory_parses() {
    let dir = Directory::from_json(SHIPPED).unwrap();
    assert_eq!(dir.customers.len(), 10);
    assert!(dir.account("acct-harbor").unwrap().active);
    assert!(!dir.account("acct-lapsed").unwrap().active);
    let dmitri = dir.customer("cust-004").unwrap();
    assert!(!dmitri.active && !dmitri.opted_out);
    assert!(dir.customer("cust-005").unwrap().opted_out);
    assert!(dir.customer("cust-001").unwrap().active);
}

#[test]
fn unknown_fields_are_refused() {
    let err = Directory::from_json(r#"{ "acounts": {} }"#).unwrap_err();
    assert!(err.to_string().contains("acounts"), "{err}");
}

#[tokio::test]
async fn load_names_the_file() {
    let err = Directory::load(Path::new("/nonexistent/directory.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, DirectoryError::Read { .. }));
    assert!(
        err.to_string().contains("/nonexistent/directory.json"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "{").unwrap();
    let err = Directory::load(&path).await.unwrap_err();
    assert!(matches!(err, DirectoryError::Parse { .. }), "{err}");
}
