//! The widget's history from the inbox: the open conversation of a widget session, as the page
//! shows it after a reconnect (what the operators answered while it was closed).

use std::sync::Arc;

use futures::future::BoxFuture;
use sync::conversation::Direction;
use sync::Channel;

use super::protocol::{HistoryLine, WidgetHistory};
use crate::channels::inbox::InboxService;
use crate::kinds::conversation::open_key;

/// [`WidgetHistory`] over the node's inbox.
pub struct InboxHistory(pub Arc<InboxService>);

impl WidgetHistory for InboxHistory {
    fn history<'a>(&'a self, session: &'a str) -> BoxFuture<'a, Result<Vec<HistoryLine>, String>> {
        Box::pin(async move {
            let docs = self.0.conversations();
            let key = open_key(Channel::WebWidget, session);
            let Some(id) = docs.id_at(&key).map_err(|e| e.to_string())? else {
                return Ok(Vec::new());
            };
            let conversation = docs.get(&id).map_err(|e| e.to_string())?;
            Ok(conversation
                .messages
                .iter()
                .map(|m| HistoryLine {
                    // The page knows its own messages by its client ids, answers by outbox id
                    // (the answer's message id).
                    id: match m.direction {
                        Direction::In => m.external_id.clone().unwrap_or_else(|| m.id.clone()),
                        Direction::Out => m.id.clone(),
                    },
                    direction: match m.direction {
                        Direction::In => "in",
                        Direction::Out => "out",
                    },
                    text: m.text.clone(),
                    at_ms: m.at_ms,
                })
                .collect())
        })
    }
}
