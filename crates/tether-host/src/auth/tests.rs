//! Unit tests of the auth file.

use super::*;

#[test]
fn creates_a_private_file_with_two_fresh_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/auth.json");
    let (file, created) = load_or_create(&path).unwrap();
    assert!(created);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(file.first_with(Grant::Control).is_some());
    assert!(file.first_with(Grant::View).is_some());
    let token = &file.tokens[0].token;
    assert!(token.starts_with("tt_") && token.len() == 43);
    assert_ne!(file.tokens[0].token, file.tokens[1].token);
    let (again, created) = load_or_create(&path).unwrap();
    assert!(!created);
    assert_eq!(again, file);
}

#[test]
fn refuses_a_file_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    load_or_create(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = load(&path).unwrap_err().to_string();
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn authenticates_exact_tokens_only() {
    let file = AuthFile::new(vec![
        TokenEntry {
            name: "a".into(),
            token: "tt_aaaaaaaaaaaaaaaa".into(),
            grants: vec![Grant::Control],
            sessions: Vec::new(),
            expires: None,
        },
        TokenEntry {
            name: "v".into(),
            token: "tt_vvvvvvvvvvvvvvvv".into(),
            grants: vec![Grant::View],
            sessions: Vec::new(),
            expires: None,
        },
    ]);
    assert_eq!(file.authenticate("tt_vvvvvvvvvvvvvvvv").unwrap().name, "v");
    assert!(file.authenticate("tt_vvvvvvvvvvvvvvv").is_none());
    assert!(file.authenticate("").is_none());
    assert_eq!(
        file.tokens[0].effective_grants(),
        [Grant::View, Grant::Control]
    );
}

#[test]
fn rejects_malformed_files_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    let write = |text: &str| {
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    };
    write(r#"{"tokens":[{"name":"a","token":"tt_aaaaaaaaaaaaaaaa","grants":["root"]}]}"#);
    assert!(
        load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a valid auth file")
    );
    write(r#"{"tokens":[{"name":"a","token":"short","grants":["view"]}]}"#);
    assert!(load(&path).unwrap_err().to_string().contains("shorter"));
}

#[test]
fn the_default_identity_is_the_login_name_else_user() {
    assert_eq!(default_identity(Some("ann".into())), "ann");
    assert_eq!(default_identity(Some(String::new())), "user");
    assert_eq!(default_identity(Some("a b".into())), "user");
    assert_eq!(default_identity(None), "user");
}

#[test]
fn admin_implies_no_other_grant_and_stays_off_the_wire() {
    let entry = |grants| TokenEntry {
        name: "root".into(),
        token: "tt_rrrrrrrrrrrrrrrr".into(),
        grants,
        sessions: Vec::new(),
        expires: None,
    };
    let admin = entry(vec![Grant::Admin]);
    assert!(admin.has(Grant::Admin));
    assert!(!admin.has(Grant::View) && !admin.has(Grant::Control));
    assert!(admin.effective_grants().is_empty());
    let both = entry(vec![Grant::Admin, Grant::Control]);
    assert_eq!(both.effective_grants(), [Grant::View, Grant::Control]);
    assert!(!entry(vec![Grant::Control]).has(Grant::Admin));
}

#[test]
fn sessions_are_optional_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    fs::write(
        &path,
        r#"{"tokens":[{"name":"a","token":"tt_aaaaaaaaaaaaaaaa","grants":["admin","view"],"sessions":["main","dev-*"]},
                      {"name":"b","token":"tt_bbbbbbbbbbbbbbbb","grants":["view"]}]}"#,
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let file = load(&path).unwrap();
    assert_eq!(file.tokens[0].sessions, ["main", "dev-*"]);
    assert!(
        file.tokens[1].sessions.is_empty(),
        "absent means every session"
    );
    let text = serde_json::to_string(&file.tokens[1]).unwrap();
    assert!(!text.contains("sessions"), "{text}");
}

#[test]
fn session_globs_match_whole_ids() {
    for (pattern, name, matches) in [
        ("api", "api", true),
        ("api", "api-2", false),
        ("web-*", "web-", true),
        ("web-*", "web-front", true),
        ("web-*", "xweb-front", false),
        ("*-prod", "api-prod", true),
        ("*-prod", "api-prod-2", false),
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "acb", false),
        ("ab*ba", "aba", false),
        ("*", "anything", true),
    ] {
        assert_eq!(glob_matches(pattern, name), matches, "{pattern} ~ {name}");
    }
}

#[test]
fn a_token_sees_every_session_unless_it_lists_some() {
    let mut entry = TokenEntry {
        name: "bob".into(),
        token: fresh_token(),
        grants: vec![Grant::View],
        sessions: Vec::new(),
        expires: None,
    };
    assert!(entry.may_see("api"));
    entry.sessions = vec!["api".into(), "web-*".into()];
    assert!(entry.may_see("api"));
    assert!(entry.may_see("web-1"));
    assert!(!entry.may_see("ops"));
}

#[test]
fn a_large_file_authenticates_each_token_and_diffs_by_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    let entries: Vec<TokenEntry> = (0..20_000)
        .map(|n| TokenEntry {
            name: format!("u{n}"),
            token: format!("tt_{n:032}"),
            grants: vec![Grant::View],
            sessions: Vec::new(),
            expires: None,
        })
        .collect();
    save(&path, &AuthFile::new(entries.clone())).unwrap();
    let file = load(&path).unwrap();
    for n in [0, 9_999, 19_999] {
        let found = file.authenticate(&entries[n].token).unwrap();
        assert_eq!(found.name, format!("u{n}"));
    }
    assert!(
        file.authenticate("tt_00000000000000000000000000000000x")
            .is_none()
    );
    assert!(file.authenticate("").is_none());
    let fewer = AuthFile::new(entries[1..].to_vec());
    let changes = AuthChanges::between(&file, &fewer);
    assert_eq!(changes.removed, ["u0"]);
    assert!(changes.added.is_empty() && changes.changed.is_empty());
    // A repeated token is still found, however far apart.
    let mut repeated = entries.clone();
    repeated.push(TokenEntry {
        name: "again".into(),
        ..entries[3].clone()
    });
    save(&path, &AuthFile::new(repeated)).unwrap();
    assert!(
        load(&path)
            .unwrap_err()
            .to_string()
            .contains("repeats another token")
    );
}
