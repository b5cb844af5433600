//! Citizens' text conversations: their indexes.
//!
//! - `idx/conv/st/{state}/{id}` → summary: the inbox lists by state;
//! - `idx/conv/op/{login}/{id}` → summary: the conversations an operator has taken ("mine");
//! - `idx/conv/ext/{channel}/{sha256(external_id)}` → id: dedupe of the channels' deliveries;
//! - `idx/conv/open/{channel}/{sha256(address)}` → id: the open conversation of an address;
//! - `idx/conv/who/p/{phone}/{id}`, `idx/conv/who/e/{email}/{id}`: the same person's
//!   conversations, by what they showed (a shared phone, an e-mail address);
//! - `idx/conv/card/{card_id}` → id: the conversation a card was opened from.

use sha2::{Digest, Sha256};
use sync::conversation::{Conversation, ConversationDoc, ConversationState, LinkKind};
use sync::protocol::Priority;
use sync::{Channel, DocId, DomainError};

use super::KindRules;
use crate::live::LiveEvent;
use crate::store::{StoreError, WriteBatch};

fn digest(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn state_prefix(state: ConversationState) -> String {
    format!("idx/conv/st/{}/", state.as_str())
}

pub fn operator_prefix(login: &str) -> String {
    format!("idx/conv/op/{login}/")
}

pub fn external_key(channel: Channel, external_id: &str) -> String {
    format!("idx/conv/ext/{}/{}", channel.as_str(), digest(external_id))
}

pub fn open_key(channel: Channel, address: &str) -> String {
    format!("idx/conv/open/{}/{}", channel.as_str(), digest(address))
}

pub fn phone_prefix(phone: &str) -> String {
    format!("idx/conv/who/p/{}/", digest(phone))
}

pub fn email_prefix(email: &str) -> String {
    format!("idx/conv/who/e/{}/", digest(&email.trim().to_lowercase()))
}

pub fn card_key(card_id: &str) -> String {
    format!("idx/conv/card/{card_id}")
}

/// Stages the conversation's indexes from its views before (`None`: new to this store) and
/// after a write.
pub fn stage_conversation_indexes(
    batch: &mut WriteBatch,
    before: Option<&Conversation>,
    after: &Conversation,
) -> Result<(), StoreError> {
    let id = &after.id;
    let summary = after.summary();
    if let Some(b) = before {
        batch.delete(format!("{}{id}", state_prefix(b.state)));
        if let Some(o) = &b.assignee {
            batch.delete(format!("{}{id}", operator_prefix(o)));
        }
    }
    batch.put_json(format!("{}{id}", state_prefix(after.state)), &summary)?;
    if let (Some(o), ConversationState::Assigned | ConversationState::WaitingCitizen) =
        (&after.assignee, after.state)
    {
        batch.put_json(format!("{}{id}", operator_prefix(o)), &summary)?;
    }
    let known = |ext: &String| before.is_some_and(|b| b.external_ids.contains(ext));
    for ext in after.external_ids.iter().filter(|e| !known(e)) {
        batch.put(external_key(after.channel, ext), id.as_bytes().to_vec());
    }
    if after.state == ConversationState::Closed {
        if before.is_none_or(|b| b.state != ConversationState::Closed) {
            batch.delete(open_key(after.channel, &after.address));
        }
    } else if before.is_none() {
        batch.put(
            open_key(after.channel, &after.address),
            id.as_bytes().to_vec(),
        );
    }
    if let Some(p) = &after.citizen.phone {
        if before.is_none_or(|b| b.citizen.phone.as_ref() != Some(p)) {
            batch.put(format!("{}{id}", phone_prefix(p)), Vec::new());
        }
    }
    if let Some(e) = &after.citizen.email {
        if before.is_none_or(|b| b.citizen.email.as_ref() != Some(e)) {
            batch.put(format!("{}{id}", email_prefix(e)), Vec::new());
        }
    }
    let linked = |l: &&sync::conversation::Link| {
        before.is_none_or(|b| !b.links.iter().any(|x| x.kind == l.kind && x.id == l.id))
    };
    for l in after.links.iter().filter(linked) {
        if l.kind == LinkKind::Card {
            batch.put(card_key(&l.id), id.as_bytes().to_vec());
        }
    }
    Ok(())
}

/// Conversations of this node's region.
pub struct ConversationRules<'a> {
    pub region: &'a str,
}

impl KindRules for ConversationRules<'_> {
    type Doc = ConversationDoc;
    type View = Conversation;

    fn view(&self, doc: &mut ConversationDoc, _now_ms: i64) -> Result<Conversation, DomainError> {
        doc.view()
    }

    fn check(&self, id: &DocId, c: &Conversation) -> Result<(), String> {
        if c.id != id.id() || c.region != self.region {
            return Err(format!(
                "conversation {} is not a conversation of region {}",
                id.id(),
                self.region
            ));
        }
        Ok(())
    }

    fn priority(&self, c: &Conversation) -> Priority {
        match c.state {
            ConversationState::Closed => Priority::Archived,
            _ if c.urgent => Priority::Active,
            _ => Priority::Normal,
        }
    }

    fn stage_indexes(
        &self,
        batch: &mut WriteBatch,
        before: Option<&Conversation>,
        after: &Conversation,
    ) -> Result<Option<LiveEvent>, StoreError> {
        stage_conversation_indexes(batch, before, after)?;
        Ok(Some(LiveEvent::Conversation(after.summary())))
    }
}
