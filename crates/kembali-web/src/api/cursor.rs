//! Lists under the API's convention: `limit` (1–200, default 50), `cursor` (the
//! last id of the page before), a stable order by id, `{data, next_cursor}`, and
//! an unknown query parameter refused with a 400.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use serde::de::DeserializeOwned;

use crate::api::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// The query string read into `T` (which denies unknown fields): an unknown
/// parameter is a 400, a known one with a bad value a 422 naming it.
pub fn query<T: DeserializeOwned>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    match q {
        Ok(Query(v)) => Ok(v),
        Err(e) => {
            let text = e.body_text();
            if text.contains("unknown field") {
                Err(ApiError::BadRequest(format!(
                    "unknown query parameter: {text}"
                )))
            } else {
                Err(ApiError::invalid("query", text))
            }
        }
    }
}

/// The page size asked for, within 1–200.
pub fn limit(asked: Option<u32>) -> Result<u32, ApiError> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}

/// The cursor parsed as the list's id type.
pub fn after<T: std::str::FromStr>(cursor: Option<&str>) -> Result<Option<T>, ApiError> {
    cursor
        .map(|c| {
            c.parse()
                .map_err(|_| ApiError::invalid("cursor", "not a cursor of this list"))
        })
        .transpose()
}

/// Cuts the `limit + 1` rows read to a page: the next cursor is the last id
/// shown when there are more.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(id) } else { None };
    (rows, next)
}
