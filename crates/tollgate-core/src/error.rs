//! Input errors that name the offending field.

/// Invalid input at a field path such as `default_platform_quotas.anthropic.daily` or
/// `quotas[2].platform`. Rendered by the console as `{"error":{"code":"invalid_input","field",…}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self { field: field.into(), message: message.to_string() }
    }
}
