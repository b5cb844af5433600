//! What the node's services answer when a step cannot be done: a rule of the domain, a missing
//! document, or storage. Its own module so that the services (cards, appeals) and the HTTP
//! shell name it without depending on each other.

use sync::DomainError;
use thiserror::Error;

use crate::kinds;
use crate::published::PublishedError;
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Warnings(#[from] crate::warnings::WarningsError),
    #[error(transparent)]
    Doc(#[from] server_kit::docs::DocError),
    #[error(transparent)]
    DocId(#[from] sync::DocIdError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<kinds::StageError> for ServiceError {
    fn from(e: kinds::StageError) -> Self {
        match e {
            kinds::StageError::Domain(e) => e.into(),
            // A document written here that is not what its id says is a defect of this node.
            kinds::StageError::Mismatch(m) => DomainError::CorruptDocument(m).into(),
            kinds::StageError::Store(e) => e.into(),
        }
    }
}

impl From<PublishedError> for ServiceError {
    fn from(e: PublishedError) -> Self {
        match e {
            PublishedError::Domain(e) => e.into(),
            PublishedError::Store(e) => e.into(),
            PublishedError::Doc(e) => e.into(),
            PublishedError::DocId(e) => e.into(),
        }
    }
}
