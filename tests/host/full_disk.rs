//! A disk that refuses the journal (here: a file-size limit set on the
//! running host, which fails its writes as a full disk does): every client
//! is told, the session goes on from memory, the journal catches up once
//! writes work again, and a host killed while behind starts a new history
//! rather than numbering new events with seqs clients already hold.

use std::path::Path;

use tether::protocol::{EventKind, NoticeLevel};

use crate::serve_binary::{Served, serve, token};
use crate::support::*;

/// Sets the file-size limit of the running process `pid` (soft; the hard
/// limit stays): `None` lifts it.
fn limit_file_size(pid: u32, bytes: Option<u64>) {
    let soft = bytes.unwrap_or(nix::libc::RLIM_INFINITY);
    let limit = nix::libc::rlimit {
        rlim_cur: soft,
        rlim_max: nix::libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit with a valid pid and a limit to set, none to read.
    let done = unsafe {
        nix::libc::prlimit(
            pid as i32,
            nix::libc::RLIMIT_FSIZE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

fn journal_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("journal/main.jsonl"))
        .unwrap()
        .len()
}

async fn owner_of(served: &Served, dir: &Path) -> Client {
    let mut owner = Client::connect(&served.url, &token(dir, "control"), "").await;
    owner.greeting().await;
    owner
}

async fn notice(owner: &mut Client, level: NoticeLevel, part: &str) -> String {
    let record = owner
        .saw_or_wait(|e| matches!(e, EventKind::Notice { level: l, text } if *l == level && text.contains(part)))
        .await;
    match record.event {
        EventKind::Notice { text, .. } => text,
        _ => unreachable!(),
    }
}

/// Runs `command` through the shell agent, allowed: a handful of events.
async fn run(owner: &mut Client, command: &str) {
    let request = ask(owner, command).await;
    owner
        .request(decide(request, tether::protocol::Decision::Allow).message())
        .await;
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
}

#[tokio::test]
async fn a_refused_journal_is_told_to_everyone_and_catches_up_when_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &[]);
    let mut owner = owner_of(&served, dir.path()).await;
    let epoch = owner.epoch();
    limit_file_size(served.child.id(), Some(journal_len(dir.path())));
    run(&mut owner, "echo while-full").await;
    let told = notice(&mut owner, NoticeLevel::Error, "cannot be written").await;
    assert!(told.contains("File too large"), "{told}");
    limit_file_size(served.child.id(), None);
    notice(&mut owner, NoticeLevel::Info, "written again").await;
    let seen = owner.events.last().unwrap().seq;
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    let served = serve(dir.path(), &[]);
    let mut back = owner_of(&served, dir.path()).await;
    assert_eq!(back.epoch(), epoch, "nothing was lost: the same history");
    back.saw_or_wait(
        |e| matches!(e, EventKind::Output { text, .. } if text.contains("while-full")),
    )
    .await;
    let last = back.events.last().unwrap().seq;
    assert!(
        last >= seen,
        "the restart has every event ({last} < {seen})"
    );
}

#[tokio::test]
async fn a_host_killed_while_behind_starts_a_new_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &[]);
    let mut owner = owner_of(&served, dir.path()).await;
    let epoch = owner.epoch();
    limit_file_size(served.child.id(), Some(journal_len(dir.path())));
    run(&mut owner, "echo never-on-disk").await;
    notice(&mut owner, NoticeLevel::Error, "cannot be written").await;
    let seen = owner.events.last().unwrap().seq;
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    let served = serve(dir.path(), &[]);
    let mut back = owner_of(&served, dir.path()).await;
    assert_ne!(back.epoch(), epoch, "a new history: clients start over");
    let told = notice(&mut back, NoticeLevel::Info, "were lost").await;
    assert!(told.contains("new history"), "{told}");
    // Numbering goes on from what the journal holds, in the new epoch.
    let first_new = back.events.iter().map(|r| r.seq).max().unwrap();
    assert!(first_new < seen + 10, "{first_new}");
}

#[tokio::test]
async fn a_second_host_cannot_renew_the_history_of_a_journal_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &[]);
    let mut owner = owner_of(&served, dir.path()).await;
    limit_file_size(served.child.id(), Some(journal_len(dir.path())));
    run(&mut owner, "echo behind").await;
    notice(&mut owner, NoticeLevel::Error, "cannot be written").await;
    let header = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("journal/main.jsonl")).unwrap();
        text.lines().next().unwrap().to_owned()
    };
    let before = header(dir.path());
    // A second host on the same journal finds the marker: it must be
    // refused before it touches the history the first one still writes.
    let second = crate::serve_binary::serve_command(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by another tether"));
    assert_eq!(
        header(dir.path()),
        before,
        "the epoch is the first host's still"
    );
    assert!(dir.path().join("journal/main.behind").exists());
    served.child.kill().unwrap();
    served.child.wait().unwrap();
}
