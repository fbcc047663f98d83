use super::*;

const S: Duration = Duration::from_secs(1);

fn rules() -> Rules {
    Rules::with_after(30 * S)
}

fn request(id: &str) -> RequestInfo {
    RequestInfo {
        id: id.into(),
        tool: "Bash".into(),
        title: None,
        command: Some(format!("make {id}")),
        file: None,
    }
}

fn raised(session: &str, id: &str) -> Input {
    Input::Raised {
        session: session.into(),
        title: format!("{session} title"),
        request: request(id),
    }
}

fn closed(session: &str, id: &str) -> Input {
    Input::Closed {
        session: session.into(),
        request_id: id.into(),
    }
}

fn turn_ended(session: &str, owner_attached: bool) -> Input {
    Input::TurnEnded {
        session: session.into(),
        title: String::new(),
        outcome: "success".into(),
        owner_attached,
    }
}

/// Drives the notifier like its task does: ticks at each wake up to `until`;
/// every alert sent, with its time from `t0`.
fn run_until(n: &mut Notifier, t0: Instant, until: Duration) -> Vec<(Duration, Outgoing)> {
    let mut sent = Vec::new();
    while let Some(wake) = n.next_wake() {
        if wake > t0 + until {
            break;
        }
        for out in n.tick(wake) {
            sent.push((wake - t0, out));
        }
    }
    sent
}

fn ids(alert: &Alert) -> Vec<&str> {
    alert.requests.iter().map(|r| r.info.id.as_str()).collect()
}

#[test]
fn a_request_is_told_after_the_delay_once_and_never_when_answered_in_time() {
    let t0 = Instant::now();
    let mut n = Notifier::new(rules(), 1);
    n.input(raised("api", "r1"), t0);
    n.input(raised("api", "r2"), t0 + 5 * S);
    n.input(closed("api", "r2"), t0 + 20 * S);
    assert_eq!(n.tick(t0 + 29 * S), [], "not before `after`");
    let sent = run_until(&mut n, t0, 600 * S);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (when, out) = &sent[0];
    assert_eq!(*when, 31 * S, "after + settle");
    assert_eq!(ids(&out.alert), ["r1"]);
    assert_eq!(out.alert.waiting, 1);
    assert_eq!(out.alert.title(), "api: permission request (Bash)");
    assert_eq!(n.next_wake(), None, "each request is told once");
}

#[test]
fn zero_means_at_once_and_a_burst_of_one_session_is_one_alert() {
    let t0 = Instant::now();
    let mut n = Notifier::new(Rules::with_after(Duration::ZERO), 1);
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        n.input(
            raised("api", id),
            t0 + Duration::from_millis(100 * i as u64),
        );
    }
    let sent = run_until(&mut n, t0, 600 * S);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, S, "the settle after the first");
    assert_eq!(ids(&sent[0].1.alert), ["a", "b", "c"]);
    assert_eq!(
        sent[0].1.alert.title(),
        "api: 3 permission requests waiting"
    );
}

#[test]
fn a_session_gets_one_alert_per_gap_and_what_came_meanwhile_goes_as_one() {
    let t0 = Instant::now();
    let mut n = Notifier::new(rules(), 1);
    n.input(raised("api", "r1"), t0);
    n.input(raised("api", "r2"), t0 + 10 * S);
    n.input(raised("api", "r3"), t0 + 12 * S);
    let sent = run_until(&mut n, t0, 600 * S);
    let times: Vec<Duration> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [31 * S, 61 * S], "{sent:?}");
    assert_eq!(ids(&sent[1].1.alert), ["r2", "r3"]);
    assert_eq!(sent[1].1.alert.waiting, 3, "r1 is still unanswered");
}

#[test]
fn sessions_are_coalesced_apart() {
    let t0 = Instant::now();
    let mut n = Notifier::new(rules(), 1);
    n.input(raised("api", "r1"), t0);
    n.input(raised("web", "r1"), t0 + 10 * S);
    n.input(raised("docs", "r1"), t0);
    n.input(closed("docs", "r1"), t0 + 20 * S);
    let sent = run_until(&mut n, t0, 600 * S);
    let sessions: Vec<(Duration, &str)> =
        sent.iter().map(|(t, o)| (*t, &*o.alert.session)).collect();
    assert_eq!(sessions, [(31 * S, "api"), (41 * S, "web")]);
}

#[test]
fn a_turn_end_is_told_only_with_no_owner_attached() {
    let t0 = Instant::now();
    let mut n = Notifier::new(rules(), 1);
    n.input(turn_ended("api", true), t0);
    assert_eq!(n.next_wake(), None);
    n.input(turn_ended("api", false), t0);
    let sent = run_until(&mut n, t0, 600 * S);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, S);
    assert_eq!(
        sent[0].1.alert.kind(),
        super::super::alert::AlertKind::TurnEnd
    );
    assert_eq!(sent[0].1.alert.title(), "api: turn ended (success)");
}

#[test]
fn an_exit_names_the_alert_and_carries_what_else_is_due() {
    let t0 = Instant::now();
    let mut n = Notifier::new(Rules::with_after(Duration::ZERO), 1);
    n.input(raised("api", "r1"), t0);
    n.input(
        Input::AgentExited {
            session: "api".into(),
            title: "API".into(),
            detail: "exited with code 1".into(),
        },
        t0 + Duration::from_millis(500),
    );
    let sent = run_until(&mut n, t0, 600 * S);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let alert = &sent[0].1.alert;
    assert_eq!(alert.title(), "api: the agent exited (exited with code 1)");
    assert_eq!(ids(alert), ["r1"]);
}

#[test]
fn each_destination_is_rate_limited_and_holds_one_merged_alert_per_session() {
    let t0 = Instant::now();
    let mut rules = Rules::with_after(Duration::ZERO);
    rules.session_gap = Duration::ZERO;
    let mut n = Notifier::new(rules, 2);
    // Eight sessions at once: five go, three wait for tokens.
    for i in 0..8 {
        n.input(raised(&format!("s{i}"), "r"), t0);
    }
    // s0 comes back while s5..s7 wait: it goes behind them.
    let first = n.tick(t0 + S);
    assert_eq!(first.len(), 10, "five per destination");
    n.input(raised("s5", "again"), t0 + 2 * S);
    let sent = run_until(&mut n, t0, 600 * S);
    let at_dest0: Vec<(Duration, &str, usize)> = sent
        .iter()
        .filter(|(_, o)| o.destination == 0)
        .map(|(t, o)| (*t, &*o.alert.session, o.alert.new_requests))
        .collect();
    assert_eq!(
        at_dest0,
        [(13 * S, "s5", 2), (25 * S, "s6", 1), (37 * S, "s7", 1)],
        "one per refill, s5's second request merged into its held alert"
    );
    assert_eq!(sent.len(), 6, "the same at the other destination");
}

#[test]
fn a_stopped_session_is_forgotten() {
    let t0 = Instant::now();
    let mut n = Notifier::new(rules(), 1);
    n.input(raised("api", "r1"), t0);
    n.input(
        Input::Gone {
            session: "api".into(),
        },
        t0 + S,
    );
    assert_eq!(n.next_wake(), None);
}

#[test]
fn the_same_request_raised_again_is_one_request() {
    let t0 = Instant::now();
    let mut n = Notifier::new(rules(), 1);
    n.input(raised("api", "r1"), t0);
    n.input(raised("api", "r1"), t0 + S);
    let sent = run_until(&mut n, t0, 600 * S);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.alert.new_requests, 1);
}
