//! Lists, the same way everywhere: `limit` (1–200, default 50) and `cursor`
//! (the last id of the previous page), newest id first, the list's own filters
//! read strictly (an unknown or malformed parameter is a 400 naming it), and
//! `{data, next_cursor}` back.
//!
//! A list handler takes `ListQuery<F>` (F: its filters, a struct with
//! `#[serde(deny_unknown_fields)]` and `Option` fields), documents
//! `params(Paging<IdType>, F)`, asks the store for `q.fetch()` rows below
//! `q.cursor::<IdType>()?`, and answers `q.page(rows, |r| r.id.to_string())`
//! as `Json<Page<View>>`.

use std::collections::HashSet;
use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::api::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A list's query: the page asked for, and the list's filters `F`.
#[derive(Debug)]
pub struct ListQuery<F> {
    pub limit: u32,
    cursor: Option<String>,
    pub filters: F,
}

/// No filters: a list that only pages.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NoFilters {}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadQuery {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl<F: DeserializeOwned> ListQuery<F> {
    /// Reads `query` (the part after `?`).
    pub fn parse(query: &str) -> Result<ListQuery<F>, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| bad("query", format!("cannot be read: {e}")))?;
        let mut seen = HashSet::new();
        let mut limit = DEFAULT_LIMIT;
        let mut cursor = None;
        let mut rest = Vec::new();
        for (name, value) in pairs {
            if !seen.insert(name.clone()) {
                return Err(bad(&name, "is given twice"));
            }
            match name.as_str() {
                "limit" => {
                    limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| bad("limit", format!("must be 1 to {MAX_LIMIT}")))?;
                }
                "cursor" => cursor = Some(value),
                _ => rest.push((name, value)),
            }
        }
        let filters = read_filters::<F>(&rest)?;
        Ok(ListQuery {
            limit,
            cursor,
            filters,
        })
    }

    /// The cursor as the list's id type: anything else is no cursor of this list.
    pub fn cursor<T: std::str::FromStr>(&self) -> Result<Option<T>, ApiError> {
        self.cursor
            .as_deref()
            .map(|c| {
                c.parse()
                    .map_err(|_| bad("cursor", "is not a cursor of this list"))
            })
            .transpose()
    }

    /// How many rows to ask for: one more than the page, to know whether
    /// another page follows.
    pub fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// The page from rows fetched with [`fetch`](Self::fetch), in the list's
    /// order: at most `limit` of them, and the last one's id as the next cursor when
    /// there were more.
    pub fn page<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next_cursor = if more { rows.last().map(id) } else { None };
        Page {
            data: rows,
            next_cursor,
        }
    }
}

/// A text filter within the bounds its schema gives (1–`max` characters, as
/// JSON Schema counts them).
pub fn bounded(field: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value.map(|v| v.chars().take(max + 1).count()) {
        Some(0) => Err(bad(field, "must not be empty")),
        Some(n) if n > max => Err(bad(field, format!("at most {max} characters"))),
        _ => Ok(()),
    }
}

/// Text filters (name, value, most characters) within their bounds, a 400
/// naming the first that is not; then whether they can match anything stored
/// ([`can_match`]): `false` answers an empty page without a query.
pub fn texts(filters: &[(&str, Option<&str>, usize)]) -> Result<bool, ApiError> {
    for (field, value, max) in filters {
        bounded(field, *value, *max)?;
    }
    let values: Vec<Option<&str>> = filters.iter().map(|f| f.1).collect();
    Ok(can_match(&values))
}

impl<T> Page<T> {
    /// No rows, no next page.
    pub fn empty() -> Page<T> {
        Page {
            data: Vec::new(),
            next_cursor: None,
        }
    }
}

/// Whether a text filter can match anything stored: no stored text holds
/// U+0000 (every surface refuses it, and PostgreSQL cannot even compare it),
/// so such a filter is an empty page, not a query.
pub fn can_match(values: &[Option<&str>]) -> bool {
    !values.iter().flatten().any(|v| v.contains('\0'))
}

/// The filters, each refusal naming its parameter.
fn read_filters<F: DeserializeOwned>(pairs: &[(String, String)]) -> Result<F, ApiError> {
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    match serde_urlencoded::from_str::<F>(&encoded) {
        Ok(f) => Ok(f),
        Err(whole) => {
            // serde names an unknown field but not a malformed value: try
            // each parameter alone to find the one refused.
            for (name, value) in pairs {
                let one = serde_urlencoded::to_string([(name, value)]).unwrap_or_default();
                if let Err(e) = serde_urlencoded::from_str::<F>(&one) {
                    let message = e.to_string();
                    return Err(if message.starts_with("unknown field") {
                        bad(name, format!("is not a parameter of this list ({message})"))
                    } else {
                        bad(name, format!("is not valid: {message}"))
                    });
                }
            }
            Err(bad("query", whole.to_string()))
        }
    }
}

impl<F, S> FromRequestParts<S> for ListQuery<F>
where
    F: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        ListQuery::parse(parts.uri.query().unwrap_or(""))
    }
}

/// `limit` and `cursor` in the OpenAPI document, the cursor with the pattern
/// of the list's ids (`T`): `params(Paging<ApiKeyId>, Filters)`.
pub struct Paging<T>(PhantomData<T>);

impl<T: PartialSchema> IntoParams for Paging<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let limit = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT))
            .default(Some(serde_json::json!(DEFAULT_LIMIT)));
        vec![
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(format!(
                    "At most this many items (1–{MAX_LIMIT}, default {DEFAULT_LIMIT})"
                )))
                .schema(Some(limit))
                .build(),
            ParameterBuilder::new()
                .name("cursor")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "The `next_cursor` of the previous page: the last id it showed",
                ))
                .schema(Some(T::schema()))
                .build(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct F {
        email: Option<String>,
        n: Option<u32>,
    }

    fn field(e: ApiError) -> String {
        match e {
            ApiError::BadQuery { field, .. } => field,
            other => panic!("not a query problem: {other:?}"),
        }
    }

    #[test]
    fn pages_and_filters_are_read_strictly() {
        let q = ListQuery::<F>::parse("").unwrap();
        assert_eq!((q.limit, q.filters.email, q.filters.n), (50, None, None));
        let q = ListQuery::<F>::parse("limit=2&email=a%40b.c&n=3&cursor=ord_x").unwrap();
        assert_eq!(q.limit, 2);
        assert_eq!(q.filters.email.as_deref(), Some("a@b.c"));
        assert_eq!(q.filters.n, Some(3));
        assert!(q.cursor::<kembali_core::OrderId>().is_err());
        for (query, name) in [
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=x", "limit"),
            ("colour=red", "colour"),
            ("email=a&n=x", "n"),
            ("n=1&n=2", "n"),
        ] {
            let e = ListQuery::<F>::parse(query).unwrap_err();
            assert_eq!(field(e), name, "{query}");
        }
    }

    #[test]
    fn a_page_ends_with_its_cursor_only_when_more_follow() {
        let q = ListQuery::<NoFilters>::parse("limit=2").unwrap();
        let full = q.page(vec![5, 4, 3], |n| n.to_string());
        assert_eq!(full.data, [5, 4]);
        assert_eq!(full.next_cursor.as_deref(), Some("4"));
        let last = q.page(vec![2, 1], |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
