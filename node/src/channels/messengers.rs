//! The messenger connectors (Telegram, VKontakte) as the node runs them: [`Messengers`], what
//! server setup starts (webhook routes for the HTTP app, senders for the outbox, background
//! tasks). What they share is in [`super::vendor_api`].

use std::sync::Arc;

use axum::Router;

use super::telegram::TelegramConnector;
use super::vk::VkConnector;
use super::{ChannelSender, Intake};
use crate::config::Config;
use crate::store::GroupCommit;

/// The messenger connectors configured for this node.
#[derive(Clone, Default)]
pub struct Messengers {
    pub telegram: Option<Arc<TelegramConnector>>,
    pub vk: Option<Arc<VkConnector>>,
}

impl Messengers {
    /// Builds the connectors `[telegram]` and `[vk]` configure, over `intake`, and starts their
    /// background work (Telegram's `setWebhook`, or its long polling) until `shutdown`.
    pub fn start(
        config: &Config,
        intake: Arc<dyn Intake>,
        gc: Arc<GroupCommit>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Messengers> {
        let telegram = match &config.telegram {
            None => None,
            Some(section) => {
                let c = Arc::new(TelegramConnector::new(section, intake.clone())?);
                c.clone().spawn_background(gc, shutdown);
                Some(c)
            }
        };
        let vk = match &config.vk {
            None => None,
            Some(section) => Some(Arc::new(VkConnector::new(section, intake)?)),
        };
        Ok(Messengers { telegram, vk })
    }

    /// The webhook routes (`/channels/telegram/webhook`, `/channels/vk/callback`) of the
    /// configured connectors, to merge into the node's HTTP app at its root.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut r = Router::new();
        if let Some(t) = &self.telegram {
            r = r.merge(super::telegram::routes(t.clone()));
        }
        if let Some(v) = &self.vk {
            r = r.merge(super::vk::routes(v.clone()));
        }
        r
    }

    /// The senders the outbox delivers answers through, one per configured channel.
    pub fn senders(&self) -> Vec<Arc<dyn ChannelSender>> {
        let mut out: Vec<Arc<dyn ChannelSender>> = Vec::new();
        if let Some(t) = &self.telegram {
            out.push(t.clone());
        }
        if let Some(v) = &self.vk {
            out.push(v.clone());
        }
        out
    }
}
