//! One method per client message, as `Session::handle` dispatches them.
//!
//! Owner-only actions pass one guard ([`Session::guard_owner`]) and every
//! refusal becomes an `error` through [`Refusal::into_error`].

use super::pending::NotOpen;
use super::refusal::Refusal;
use super::roster::{ParticipantId, RoleChange};
use super::{AgentCommand, At, Output, Session};
use crate::protocol::{
    AgentState, Decision, ErrorCode, EventKind, MAX_USER_TEXT_BYTES, PermissionDecision, Rule,
    RuleSpec, ServerMessage, UserMessage,
};

/// The actions only the owner may take that the session itself checks
/// (role operations are checked by the roster).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnerAction {
    SendMessage,
    AnswerPermission,
    Interrupt,
    ChangeRules,
    SetMode,
}

impl OwnerAction {
    /// The words completing "only the owner may ...".
    fn verb(self) -> &'static str {
        match self {
            OwnerAction::SendMessage => "send messages",
            OwnerAction::AnswerPermission => "answer permission requests",
            OwnerAction::Interrupt => "interrupt",
            OwnerAction::ChangeRules => "change rules",
            OwnerAction::SetMode => "switch the agent's mode",
        }
    }

    /// Whether a repeated message id is acknowledged without a second
    /// effect (docs/protocol.md section 4, idempotency).
    fn idempotent(self) -> bool {
        !matches!(self, OwnerAction::Interrupt)
    }
}

/// The sender of a client message.
pub(super) struct Sender {
    pub id: ParticipantId,
    pub identity: String,
}

impl Session {
    /// The one check of owner-only actions: the reply that ends the
    /// message here (refused, or acknowledged as a duplicate), if any.
    fn guard_owner(&self, from: &Sender, id: &str, action: OwnerAction) -> Option<ServerMessage> {
        if self.roster.owner() != Some(from.id) {
            return Some(Refusal::not_owner(action.verb()).into_error(Some(id.to_owned())));
        }
        if action.idempotent() && self.state.recent_ids.contains(&from.identity, id) {
            return Some(ServerMessage::Ack {
                id: id.to_owned(),
                duplicate: true,
            });
        }
        None
    }

    pub(super) fn on_user_message(
        &mut self,
        from: Sender,
        message: UserMessage,
        at: At,
    ) -> Vec<Output> {
        let id = message.id.clone();
        if let Some(reply) = self.guard_owner(&from, &id, OwnerAction::SendMessage) {
            return reply_to(from.id, reply);
        }
        if let Err(refused) = self.check_can_take_message(&message.text) {
            return reply_to(from.id, refused.into_error(Some(id)));
        }
        self.state.recent_ids.remember(&from.identity, &id);
        self.state.turn_active = true;
        let mut out = Vec::new();
        let event = EventKind::UserMessage {
            text: message.text.clone(),
            by: from.identity,
            msg_id: Some(id.clone()),
        };
        self.emit(event, at, &mut out);
        out.push(Output::Agent(AgentCommand::UserMessage(message)));
        out.push(send(from.id, ServerMessage::ack(id)));
        out
    }

    pub(super) fn on_decision(
        &mut self,
        from: Sender,
        answer: PermissionDecision,
        at: At,
    ) -> Vec<Output> {
        if let Some(reply) = self.guard_owner(&from, &answer.id, OwnerAction::AnswerPermission) {
            return reply_to(from.id, reply);
        }
        let PermissionDecision {
            id,
            request_id,
            decision,
            message,
            updated_input,
            option,
        } = answer;
        if let Err(why) = self.state.pending.check_open(&request_id) {
            let (code, what) = match why {
                NotOpen::Settled => (
                    ErrorCode::AlreadyResolved,
                    "was already resolved or cancelled",
                ),
                NotOpen::Unknown => (
                    ErrorCode::UnknownRequest,
                    "is not a known permission request",
                ),
            };
            let refused = Refusal::new(code, format!("`{request_id}` {what}"));
            return reply_to(from.id, refused.into_error(Some(id)));
        }
        let option =
            match self
                .state
                .pending
                .chosen_option(&request_id, option.as_deref(), decision)
            {
                Ok(option) => option,
                Err(why) => {
                    let refused = Refusal::new(ErrorCode::BadRequest, why);
                    return reply_to(from.id, refused.into_error(Some(id)));
                }
            };
        if updated_input.is_some()
            && decision == Decision::Allow
            && !self.config.agent.takes_updated_input
        {
            let refused = Refusal::new(
                ErrorCode::BadRequest,
                "this agent cannot run an edited input: answer without `updated_input`",
            );
            return reply_to(from.id, refused.into_error(Some(id)));
        }
        self.state.recent_ids.remember(&from.identity, &id);
        let updated_input = updated_input.filter(|_| decision == Decision::Allow);
        let mut out = Vec::new();
        let remembered = option
            .as_deref()
            .filter(|_| decision == Decision::Allow)
            .and_then(|o| self.state.pending.rule_to_remember(&request_id, o));
        let event = EventKind::PermissionResolved {
            request_id: request_id.clone(),
            decision,
            by: from.identity.clone(),
            message: message.clone(),
            option: option.clone(),
            updated_input: updated_input.clone(),
        };
        self.emit(event, at, &mut out);
        if let Some(spec) = remembered {
            self.add_rule(spec, from.identity, at, &mut out);
        }
        out.push(Output::Agent(AgentCommand::Decision {
            request_id,
            decision,
            message,
            updated_input,
            option,
        }));
        out.push(send(from.id, ServerMessage::ack(id)));
        out
    }

    /// Records a rule the owner made and hands the agent the new set.
    fn add_rule(&mut self, spec: RuleSpec, by: String, at: At, out: &mut Vec<Output>) {
        let rule = Rule {
            id: self.state.rules.next_id(),
            label: spec.describe(),
            spec,
            made_by: by.clone(),
        };
        self.emit(EventKind::RuleAdded { rule, by }, at, out);
        out.push(Output::Agent(AgentCommand::Rules(
            self.state.rules.all().to_vec(),
        )));
    }

    pub(super) fn on_remove_rule(
        &mut self,
        from: Sender,
        id: String,
        rule: &str,
        at: At,
    ) -> Vec<Output> {
        if let Some(reply) = self.guard_owner(&from, &id, OwnerAction::ChangeRules) {
            return reply_to(from.id, reply);
        }
        if !self.state.rules.contains(rule) {
            let refused = Refusal::new(
                ErrorCode::BadRequest,
                format!("no rule `{rule}` is in force"),
            );
            return reply_to(from.id, refused.into_error(Some(id)));
        }
        self.state.recent_ids.remember(&from.identity, &id);
        let mut out = Vec::new();
        let event = EventKind::RuleRemoved {
            rule_id: rule.to_owned(),
            by: from.identity,
        };
        self.emit(event, at, &mut out);
        out.push(Output::Agent(AgentCommand::Rules(
            self.state.rules.all().to_vec(),
        )));
        out.push(send(from.id, ServerMessage::ack(id)));
        out
    }

    pub(super) fn on_interrupt(&mut self, from: Sender, id: String, at: At) -> Vec<Output> {
        if let Some(reply) = self.guard_owner(&from, &id, OwnerAction::Interrupt) {
            return reply_to(from.id, reply);
        }
        if self.state.agent_state == AgentState::Exited {
            let refused = Refusal::new(ErrorCode::AgentExited, "the agent has exited");
            return reply_to(from.id, refused.into_error(Some(id)));
        }
        let mut out = Vec::new();
        self.emit(EventKind::Interrupt { by: from.identity }, at, &mut out);
        out.push(Output::Agent(AgentCommand::Interrupt));
        out.push(send(from.id, ServerMessage::ack(id)));
        out
    }

    /// Asks the agent to switch to one of the modes it offers; the agent
    /// reports the switch (a `mode` event) once it made it.
    pub(super) fn on_set_mode(&mut self, from: Sender, id: String, mode: String) -> Vec<Output> {
        if let Some(reply) = self.guard_owner(&from, &id, OwnerAction::SetMode) {
            return reply_to(from.id, reply);
        }
        if let Err(refused) = self.check_mode(&mode) {
            return reply_to(from.id, refused.into_error(Some(id)));
        }
        self.state.recent_ids.remember(&from.identity, &id);
        vec![
            Output::Agent(AgentCommand::SetMode {
                mode,
                by: from.identity,
            }),
            send(from.id, ServerMessage::ack(id)),
        ]
    }

    fn check_mode(&self, mode: &str) -> Result<(), Refusal> {
        if self.state.agent_state == AgentState::Exited {
            return Err(Refusal::new(ErrorCode::AgentExited, "the agent has exited"));
        }
        let modes = &self.state.agent_info.modes;
        if modes.is_empty() {
            return Err(Refusal::new(
                ErrorCode::BadRequest,
                "this agent has no modes to switch between",
            ));
        }
        if !modes.iter().any(|m| m.id == mode) {
            let ids: Vec<&str> = modes.iter().map(|m| m.id.as_str()).collect();
            return Err(Refusal::new(
                ErrorCode::BadRequest,
                format!(
                    "`{mode}` is not one of the agent's modes ({})",
                    ids.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Answers a `claim`, `release` or `transfer` with what the roster did.
    pub(super) fn on_resume(&mut self, from: ParticipantId, since: u64) -> Vec<Output> {
        let replay = self.log.plan_replay(since, self.config.journal);
        vec![Output::Replay { to: from, replay }]
    }

    /// Answers a `history` request: what memory holds of the range, and
    /// what must be read from the journal; the edge reads and sends it.
    pub(super) fn on_history(
        &mut self,
        from: ParticipantId,
        request: crate::protocol::HistoryRequest,
    ) -> Vec<Output> {
        let range = super::SeqRange {
            after: request.after,
            before: request.before.unwrap_or(u64::MAX),
        };
        let limit = match request.find {
            // A search looks at the whole range (the edge bounds the scan).
            Some(_) => usize::MAX,
            None => super::log::page_limit(request.limit),
        };
        let plan = self
            .log
            .plan_page(range, limit, request.before.is_some(), self.config.journal);
        vec![Output::History {
            to: from,
            request,
            plan,
        }]
    }

    fn check_can_take_message(&self, text: &str) -> Result<(), Refusal> {
        if text.len() > MAX_USER_TEXT_BYTES {
            let message = format!(
                "message is {} bytes; the limit is {MAX_USER_TEXT_BYTES}",
                text.len()
            );
            return Err(Refusal::new(ErrorCode::TooLarge, message));
        }
        if self.state.agent_state == AgentState::Exited {
            return Err(Refusal::new(ErrorCode::AgentExited, "the agent has exited"));
        }
        if !self.config.agent.takes_input {
            return Err(Refusal::new(ErrorCode::Busy, "this agent takes no input"));
        }
        if self.state.turn_active && !self.config.agent.queues_input {
            return Err(Refusal::new(
                ErrorCode::Busy,
                "the agent is busy with a command; wait for it or interrupt it",
            ));
        }
        if self.state.outstanding > super::MAX_QUEUED {
            let message = format!(
                "{} messages already wait for the agent: wait for them, or interrupt",
                super::MAX_QUEUED
            );
            return Err(Refusal::new(ErrorCode::Busy, message));
        }
        Ok(())
    }
}

pub(super) fn send(to: ParticipantId, message: ServerMessage) -> Output {
    Output::Send { to, message }
}

/// A single reply to the sender, and nothing else.
pub(super) fn reply_to(to: ParticipantId, message: ServerMessage) -> Vec<Output> {
    vec![send(to, message)]
}

/// The `role` message telling a participant its new role.
pub(super) fn role_message(change: &RoleChange) -> Output {
    send(
        change.who,
        ServerMessage::Role {
            role: change.role,
            reason: Some(change.reason.clone()),
        },
    )
}
