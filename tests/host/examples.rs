//! The example files in `assets/examples/` load as the host loads them.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tether::host::auth;
use tether::protocol::Grant;

#[test]
fn the_example_auth_file_loads() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples/auth.json");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("auth.json");
    std::fs::copy(&example, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = auth::load(&copy).unwrap();
    assert_eq!(file.tokens.len(), 3);
    assert_eq!(file.first_with(Grant::Control).unwrap().name, "alice");
    assert_eq!(file.first_with(Grant::View).unwrap().name, "wall-screen");
    assert!(
        file.tokens
            .iter()
            .all(|t| t.token.starts_with("tt_replace_me")),
        "placeholders only"
    );
    assert_eq!(file.tokens[2].sessions, ["dev-*"]);
}
