//! What an agent may put in front of people at once: a hostile or broken
//! agent raising thousands of requests with huge titles and option lists
//! once took a host from 29 MB to 924 MB (every lobby summary listed every
//! title) and made a `ready` of 42 MB. Requests are capped in number per
//! session, and each in its options and text; what does not fit is cut
//! (with a mark) or, past the count, refused to the agent.

use crate::protocol::{EventKind, PermissionOption, PermissionOptionKind, Preview};

/// Open permission requests per session; the agent is refused past it.
pub const MAX_OPEN_REQUESTS: usize = 64;
/// Options one request may offer (the once-options are always kept).
pub const MAX_OPTIONS: usize = 16;
/// Bytes of an option's id (it goes back to the agent as it is).
pub const MAX_OPTION_ID: usize = 256;
/// Bytes of a request's id and tool name: longer requests are refused.
pub const MAX_REQUEST_ID: usize = 256;
/// Characters of a request's title, and of an option's label.
pub const MAX_TITLE_CHARS: usize = 500;
/// Characters of a request's description.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Bytes of a request's input and preview together, as JSON: beyond it the
/// preview, then the input, give way to a note saying so.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Requests a lobby summary lists (its count stays whole).
pub const MAX_LISTED_REQUESTS: usize = 16;
/// Characters of a title or subject in a lobby summary.
pub const MAX_SUMMARY_CHARS: usize = 200;

/// `text` cut to `chars` characters, with `…` where it was cut.
pub fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Brings a permission request within the bounds above (other events
/// are left as they are).
pub fn bound_request(event: &mut EventKind) {
    let EventKind::PermissionRequest {
        title,
        description,
        options,
        input,
        preview,
        ..
    } = event
    else {
        return;
    };
    if let Some(t) = title {
        *t = cut(t, MAX_TITLE_CHARS);
    }
    if let Some(d) = description {
        *d = cut(d, MAX_DESCRIPTION_CHARS);
    }
    bound_options(options);
    let preview_bytes = preview
        .as_deref()
        .and_then(|p| serde_json::to_vec(p).ok())
        .map_or(0, |v| v.len());
    let input_bytes = serde_json::to_vec(input).map_or(0, |v| v.len());
    if input_bytes + preview_bytes > MAX_REQUEST_BYTES && preview_bytes > 0 {
        *preview = Some(Box::new(Preview::Unavailable {
            reason: format!(
                "the preview is {preview_bytes} bytes, more than tether shows in a request"
            ),
        }));
    }
    if input_bytes > MAX_REQUEST_BYTES {
        *input = serde_json::json!({
            "omitted": format!("the input is {input_bytes} bytes, more than tether shows in a request")
        });
    }
}

/// At most [`MAX_OPTIONS`] options with ids of at most [`MAX_OPTION_ID`]
/// bytes (longer ones cannot be shown, so are not offered), the first
/// `allow_once` and `reject_once` among them whatever their place, in the
/// agent's order; labels cut. Linear in the number of options.
fn bound_options(options: &mut Vec<PermissionOption>) {
    options.retain(|o| o.id.len() <= MAX_OPTION_ID);
    if options.len() > MAX_OPTIONS {
        let first_of = |kind| {
            options
                .iter()
                .position(|o: &PermissionOption| o.kind == kind)
        };
        let once: Vec<usize> = [
            PermissionOptionKind::AllowOnce,
            PermissionOptionKind::RejectOnce,
        ]
        .into_iter()
        .filter_map(first_of)
        .collect();
        let room = MAX_OPTIONS - once.len();
        let mut keep = vec![false; options.len()];
        for at in &once {
            keep[*at] = true;
        }
        let others = (0..options.len())
            .filter(|at| !once.contains(at))
            .take(room);
        for at in others.collect::<Vec<_>>() {
            keep[at] = true;
        }
        let mut at = 0;
        options.retain(|_| {
            at += 1;
            keep[at - 1]
        });
    }
    for option in options.iter_mut() {
        option.label = cut(&option.label, MAX_TITLE_CHARS);
    }
}

/// The note a refused request leaves, once per burst of refusals.
pub fn refusal_notice() -> EventKind {
    EventKind::notice(
        crate::protocol::NoticeLevel::Warn,
        format!(
            "the agent has {MAX_OPEN_REQUESTS} permission requests open; more are refused until some are answered"
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// Whether `value` is a request's input that [`bound_request`] replaced.
    fn is_omitted(value: &Value) -> bool {
        value.get("omitted").is_some() && value.as_object().is_some_and(|o| o.len() == 1)
    }

    fn option(id: &str, kind: PermissionOptionKind, label: &str) -> PermissionOption {
        PermissionOption::new(id, kind, label)
    }

    #[test]
    fn ten_thousand_options_become_sixteen_and_keep_the_once_ones() {
        let mut options: Vec<PermissionOption> = (0..10_000)
            .map(|n| option(&format!("a{n}"), PermissionOptionKind::AllowAlways, "x"))
            .collect();
        options.push(option("once", PermissionOptionKind::AllowOnce, "y"));
        // An agent repeating its once-option a hundred thousand times.
        options.extend(
            (0..100_000).map(|n| option(&format!("o{n}"), PermissionOptionKind::AllowOnce, "y")),
        );
        options.push(option(
            &"i".repeat(10_000),
            PermissionOptionKind::AllowAlways,
            "long id",
        ));
        options.push(option(
            "no",
            PermissionOptionKind::RejectOnce,
            &"z".repeat(10_000),
        ));
        let mut event = EventKind::PermissionRequest {
            request_id: "r".into(),
            tool: "t".into(),
            input: serde_json::json!({"x": "y".repeat(MAX_REQUEST_BYTES)}),
            tool_use_id: None,
            title: Some("T".repeat(100_000)),
            description: None,
            preview: None,
            options,
        };
        bound_request(&mut event);
        let EventKind::PermissionRequest {
            options,
            title,
            input,
            ..
        } = &event
        else {
            unreachable!()
        };
        assert_eq!(options.len(), MAX_OPTIONS);
        assert_eq!(options[0].id, "a0", "in the agent's order");
        assert!(options.iter().any(|o| o.id == "once") && options.iter().any(|o| o.id == "no"));
        assert!(
            options
                .iter()
                .all(|o| o.label.chars().count() <= MAX_TITLE_CHARS + 1)
        );
        assert_eq!(title.as_ref().unwrap().chars().count(), MAX_TITLE_CHARS + 1);
        assert!(is_omitted(input), "{input}");
        assert!(serde_json::to_vec(&event).unwrap().len() < 64 * 1024);
    }

    #[test]
    fn cut_marks_where_it_cut_and_keeps_characters_whole() {
        assert_eq!(cut("héllo", 2), "hé…");
        assert_eq!(cut("hé", 2), "hé");
    }
}
