//! The one place where the API's errors become responses: RFC 9457 problem documents.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kembali_app::AppError;
use kembali_app::error::PhotoError;
use kembali_core::policy::Explanation;
use kembali_core::returns::{OpenError, TransitionError};
use kembali_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid input.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// Where in the request: a JSON path such as `items[0].quantity`, or a header or query name.
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:kembali:problem:illegal-transition`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Why the policy refused an item, when it did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanations: Vec<ExplanationView>,
}

/// A policy explanation with its English sentence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExplanationView {
    #[serde(flatten)]
    pub reason: Explanation,
    pub message: String,
}

impl From<&Explanation> for ExplanationView {
    fn from(e: &Explanation) -> Self {
        ExplanationView {
            message: e.english(),
            reason: e.clone(),
        }
    }
}

/// Seconds a client should wait before retrying a 503: about the time a
/// restarted PostgreSQL needs to take connections again.
pub const RETRY_AFTER: &str = "2";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// A query parameter that is unknown or not valid (lists): 400, naming it.
    #[error("{field}: {message}")]
    BadQuery { field: String, message: String },
    #[error("authentication required")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
        explanations: Vec<Explanation>,
    },
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    IllegalTransition(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    IdempotencyMismatch(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("the database is not available")]
    Unavailable(String),
    #[error("the request took longer than the server allows; try again")]
    Timeout,
    /// An uploaded photo refused; its problem type carries the app's code.
    #[error("{0}")]
    Photo(PhotoError),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::Invalid {
            detail: message.clone(),
            errors: vec![FieldError {
                field: field.into(),
                message,
            }],
            explanations: Vec::new(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) | ApiError::BadQuery { .. } => {
                (StatusCode::BAD_REQUEST, "bad-request", "Bad request")
            }
            ApiError::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Invalid { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "The request is not valid",
            ),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::IllegalTransition(_) => (
                StatusCode::CONFLICT,
                "illegal-transition",
                "The return cannot make this change in its current state",
            ),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::IdempotencyMismatch(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused with a different request",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Send JSON",
            ),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The request body is too large",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
            ),
            ApiError::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "The request took too long",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
            ApiError::Photo(p) => match p {
                PhotoError::Empty => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "photo-empty",
                    "The photo is empty",
                ),
                PhotoError::TooLarge { .. } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "photo-too-large",
                    "The photo is too large",
                ),
                PhotoError::UnsupportedType { .. } => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "photo-unsupported-type",
                    "Not a photo of a type taken",
                ),
                PhotoError::Dimensions { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "photo-dimensions",
                    "The photo's dimensions are too large",
                ),
                PhotoError::Unreadable { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "photo-unreadable",
                    "The photo cannot be read",
                ),
            },
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let (detail, errors, explanations) = match self {
            ApiError::Invalid {
                detail,
                errors,
                explanations,
            } => (
                detail.clone(),
                errors.clone(),
                explanations.iter().map(ExplanationView::from).collect(),
            ),
            // Never show database internals; they are logged instead.
            ApiError::Internal(_) => (
                "Something went wrong on our side; it has been logged.".to_owned(),
                Vec::new(),
                Vec::new(),
            ),
            ApiError::Unavailable(_) => (
                "The database is not reachable right now; try again shortly.".to_owned(),
                Vec::new(),
                Vec::new(),
            ),
            ApiError::Unauthorized(m) => (m.clone(), Vec::new(), Vec::new()),
            ApiError::BadQuery { field, message } => (
                format!("query parameter `{field}`: {message}"),
                vec![FieldError {
                    field: field.clone(),
                    message: message.clone(),
                }],
                Vec::new(),
            ),
            other => (other.to_string(), Vec::new(), Vec::new()),
        };
        Problem {
            kind: format!("urn:kembali:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
            explanations,
        }
    }
}

/// The media type of every problem document we send (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        res
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(m) => tracing::error!(error = %m, "internal error"),
            ApiError::Unavailable(m) => tracing::warn!(error = %m, "database unavailable"),
            _ => {}
        }
        let mut res = self.problem().into_response();
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            // Both kinds of 503 (the database away, the deadline hit) pass:
            // tell clients when a retry makes sense instead of leaving them to
            // hammer a recovering server.
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
        }
        if res.status() == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kembali\""),
            );
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            // Said in words: a constraint's name is the schema's, not the API's.
            StoreError::Duplicate { constraint } => ApiError::Conflict(
                match constraint.to_ascii_lowercase() {
                    c if c.contains("customers") => {
                        "a customer with this email address already exists in this shop"
                    }
                    c if c.contains("source") || c.contains("external_id") => {
                        "an order from this source with this id already exists in this shop"
                    }
                    c if c.contains("returns") && c.contains("number") => {
                        "a return with this number already exists in this shop"
                    }
                    c if c.contains("orders") && c.contains("number") => {
                        "an order with this number already exists in this shop"
                    }
                    c if c.contains("shops") && c.contains("slug") => {
                        "a shop with this slug already exists"
                    }
                    c if c.contains("idempotency") => {
                        "a request with this Idempotency-Key is already being handled"
                    }
                    _ => "this record already exists",
                }
                .to_owned(),
            ),
            StoreError::VersionConflict => ApiError::Conflict(e.to_string()),
            StoreError::Connect(m) => ApiError::Unavailable(m),
            e @ StoreError::Unavailable(_) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let item = |i: usize, f: &str| format!("items[{i}]{f}");
        match e {
            AppError::NotFound(what) => ApiError::NotFound(format!("no such {}", what.as_str())),
            AppError::Invalid { field, rule } => ApiError::invalid(field, rule.to_string()),
            AppError::InvalidOrder(o) => ApiError::invalid(o.field, o.problem.to_string()),
            e @ AppError::OrderExists { .. } => ApiError::Conflict(e.to_string()),
            AppError::UnknownLine { index } => {
                ApiError::invalid(item(index, ".line_id"), "not a line of this order")
            }
            e @ AppError::VersionConflict { .. } => ApiError::Conflict(e.to_string()),
            AppError::Transition(t) => match t {
                TransitionError::Illegal { .. } => ApiError::IllegalTransition(t.to_string()),
                TransitionError::Forbidden { .. } => ApiError::Forbidden(t.to_string()),
                TransitionError::Invalid(m) => ApiError::invalid("items", m),
            },
            e @ AppError::IdempotencyMismatch => ApiError::IdempotencyMismatch(e.to_string()),
            AppError::ImportRefused(report) => ApiError::Invalid {
                detail: format!(
                    "{} rows of the file are not valid, so nothing was imported; fix them, \
                     or send `skip_bad_rows=true` to import the other orders",
                    report.bad_rows_total
                ),
                // Each bad row in words: "row 7, unit_price".
                errors: report
                    .bad_rows
                    .iter()
                    .map(|b| FieldError {
                        field: if b.column.is_empty() {
                            format!("row {}", b.row)
                        } else {
                            format!("row {}, {}", b.row, b.column)
                        },
                        message: b.problem.clone(),
                    })
                    .collect(),
                explanations: Vec::new(),
            },
            AppError::PointsImportRefused(report) => ApiError::Invalid {
                detail: format!(
                    "{} rows of the file are not valid, so nothing was imported; fix them \
                     and send the file again",
                    report.bad_rows_total
                ),
                // Each bad row in words: "line 7, latitude".
                errors: report
                    .bad_rows
                    .iter()
                    .map(|b| FieldError {
                        field: if b.column.is_empty() {
                            format!("line {}", b.line)
                        } else {
                            format!("line {}, {}", b.line, b.column)
                        },
                        message: b.problem.clone(),
                    })
                    .collect(),
                explanations: Vec::new(),
            },
            AppError::Print(m) | AppError::Answer(m) => ApiError::Internal(m),
            AppError::NoPolicy => ApiError::Internal("the shop has no return policy".into()),
            e @ AppError::InsufficientCredit { .. } => ApiError::Conflict(e.to_string()),
            e @ AppError::OutOfStock { .. } => ApiError::Conflict(e.to_string()),
            e @ AppError::RefundState { .. } => ApiError::Conflict(e.to_string()),
            AppError::State(c) => ApiError::Conflict(c.to_string()),
            AppError::InvalidPolicy(problems) => ApiError::Invalid {
                detail: format!(
                    "the policy is not valid: {}",
                    problems.first().map_or("", |p| p.message.as_str())
                ),
                errors: problems
                    .into_iter()
                    .map(|p| FieldError {
                        field: p.pointer,
                        message: p.message,
                    })
                    .collect(),
                explanations: Vec::new(),
            },
            AppError::Store(s) => s.into(),
            AppError::Photo(p) => ApiError::Photo(p),
            AppError::Refused(r) => {
                let (field, explanations) = match &r {
                    OpenError::NoItems => ("items".to_owned(), Vec::new()),
                    OpenError::NotEligible {
                        index,
                        explanations,
                    } => (item(*index, ""), explanations.clone()),
                    OpenError::Quantity { index, .. } => (item(*index, ".quantity"), Vec::new()),
                    OpenError::Resolution { index, .. } => {
                        (item(*index, ".resolution"), Vec::new())
                    }
                    OpenError::Method { .. } => ("method".to_owned(), Vec::new()),
                    OpenError::PhotosRequired { index } => (item(*index, ".photos"), Vec::new()),
                    OpenError::PolicyVersion { index, .. } => (item(*index, ""), Vec::new()),
                    OpenError::Amount => ("items".to_owned(), Vec::new()),
                    OpenError::Destination { .. } => ("refund_destination".to_owned(), Vec::new()),
                };
                let mut message = r.to_string();
                if let Some(first) = explanations.first() {
                    message = format!("{message}: {}", first.english());
                }
                ApiError::Invalid {
                    detail: message.clone(),
                    errors: vec![FieldError { field, message }],
                    explanations,
                }
            }
        }
    }
}
