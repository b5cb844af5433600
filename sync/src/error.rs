//! Domain errors: each has a stable code for the API and a message a person can act on.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum DomainError {
    /// A field's value is not acceptable.
    #[error("{message}")]
    InvalidField { field: String, message: String },
    /// The action is not allowed in the card's or unit's current state.
    #[error("{message}")]
    InvalidTransition { message: String },
    /// A referenced thing (category, district, unit on the card) does not exist.
    #[error("{message}")]
    NotFound { message: String },
    /// A rule of the workflow refuses the step; `code` names the rule for the API and the
    /// console (`not_assigned_to_you`, `extension_too_long`, ...), `field` the input it concerns.
    #[error("{message}")]
    Rule {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// Stored bytes could not be read as a document of the expected kind.
    #[error("stored document is unreadable: {0}")]
    CorruptDocument(String),
}

impl DomainError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        DomainError::InvalidField {
            field: field.to_string(),
            message: message.into(),
        }
    }
    pub fn transition(message: impl Into<String>) -> Self {
        DomainError::InvalidTransition {
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        DomainError::NotFound {
            message: message.into(),
        }
    }
    /// A workflow rule refusing a step, with its own code.
    pub fn rule(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Rule {
            code,
            field: None,
            message: message.into(),
        }
    }
    /// A workflow rule refusing an input field, with its own code.
    pub fn rule_field(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        DomainError::Rule {
            code,
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::InvalidField { .. } => "invalid_field",
            DomainError::InvalidTransition { .. } => "invalid_transition",
            DomainError::NotFound { .. } => "not_found",
            DomainError::Rule { code, .. } => code,
            DomainError::CorruptDocument(_) => "corrupt_document",
        }
    }
    pub fn field_name(&self) -> Option<&str> {
        match self {
            DomainError::InvalidField { field, .. } => Some(field),
            DomainError::Rule { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl From<automerge::AutomergeError> for DomainError {
    fn from(e: automerge::AutomergeError) -> Self {
        DomainError::CorruptDocument(e.to_string())
    }
}
