//! Who owns the session across drops, deliberate leaves and restarts, and
//! what followers are told about it.

use tether::host::agent::AgentSpec;
use tether::protocol::{ClientMessage, ErrorCode, ServerMessage};

use crate::support::*;

#[tokio::test]
async fn refusals_name_people_not_participant_ids() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let viewer = host.viewer().await;
    for to in [viewer.participant.clone(), "p99".to_owned()] {
        let answer = owner
            .request(|id| ClientMessage::Transfer { id, to: to.clone() })
            .await;
        let ServerMessage::Error { code, message, .. } = answer else {
            panic!("expected a refusal, got {answer:?}");
        };
        assert_eq!(code, ErrorCode::NotEligible);
        assert!(
            !message
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| {
                    w.len() > 1 && w.starts_with('p') && w[1..].chars().all(|c| c.is_ascii_digit())
                }),
            "a message for people shows a participant id: {message}"
        );
    }
    host.stop().await;
}
