//! What consoles receive live: the events the card service and the call service publish on the
//! card service's broadcast channel, and the SSE stream and the replication client read.
//!
//! Its own module so that the services publish and the readers subscribe without depending on
//! each other: it names only the domain types it carries (a call is `calls::queue`'s, which knows
//! nothing of the services).

use serde::Serialize;
use sync::appeal::AppealSummary;
use sync::{CardSummary, Unit};

/// What consoles receive live.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum LiveEvent {
    Card(CardSummary),
    Unit(Unit),
    /// A citizen call changed (rang, answered, transferred, ended, moved).
    Call(Box<crate::calls::queue::Call>),
    /// An appeal changed (received, registered, a step of its workflow).
    Appeal(AppealSummary),
    /// A field document changed (a unit's log, track or photo arrived; its pack was written);
    /// `position` is the unit's newest position when a track moved it.
    Field {
        doc_id: String,
        unit_id: String,
        position: Option<sync::field::UnitPosition>,
    },
    /// A citizen's text conversation changed (a message arrived, an operator took or answered
    /// it, an answer's delivery state moved).
    Conversation(sync::conversation::ConversationSummary),
    /// A document consoles do not follow live (a reception record or schedule, a meeting) was
    /// written on this node and is durable: the replication sends it to the hub now, not only on
    /// the next connection. `doc_id` is `AST/reception/…`.
    Replicated {
        doc_id: String,
    },
}
