//! Extractors that turn every rejection into our problem documents: the API key,
//! JSON bodies with their Idempotency-Key, and typed ids in paths.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kembali_app::idempotency;
use kembali_store::Tx;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::api::error::{ApiError, FieldError};

pub use crate::api::auth::{Admin, Auth};

/// A JSON body, parsed strictly, with the request's Idempotency-Key if it has one.
pub struct Body<T> {
    pub value: T,
    pub idempotency: Option<Idempotency>,
}

/// The Idempotency-Key of a request and a fingerprint of what was asked.
pub struct Idempotency {
    key: String,
    hash: String,
}

impl Idempotency {
    /// The key as the application layer takes it.
    pub fn key(&self) -> idempotency::Key {
        idempotency::Key {
            key: self.key.clone(),
            hash: self.hash.clone(),
        }
    }

    /// What a key is bound to besides the body: the method and the path.
    fn fingerprint(method: &axum::http::Method, uri: &axum::http::Uri) -> String {
        format!("{method} {}", uri.path())
    }

    fn new(key: String, fingerprint: &str, body: &[u8]) -> Idempotency {
        let mut h = Sha256::new();
        h.update(fingerprint.as_bytes());
        h.update([0]);
        h.update(body);
        let hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Idempotency { key, hash }
    }

    /// The request's key, if it sent one, bound to this body: for a handler
    /// that reads its body itself rather than through [`Body`].
    pub fn of(
        headers: &HeaderMap,
        method: &axum::http::Method,
        uri: &axum::http::Uri,
        body: &[u8],
    ) -> Result<Option<Idempotency>, ApiError> {
        let fingerprint = Idempotency::fingerprint(method, uri);
        Ok(idempotency_key(headers)?.map(|key| Idempotency::new(key, &fingerprint, body)))
    }
}

fn json_error(e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = e.to_string();
    match e.classify() {
        Category::Data => {
            // serde names the field in its message; keep it whole for the reader.
            ApiError::Invalid {
                detail: format!("the JSON body does not fit: {message}"),
                errors: vec![FieldError {
                    field: "body".into(),
                    message,
                }],
                explanations: Vec::new(),
            }
        }
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::BadRequest(format!("the body is not valid JSON: {message}"))
        }
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    // Exactly what the OpenAPI document's pattern says: 1–255 printable ASCII
    // characters, spaces only inside.
    let key = std::str::from_utf8(v.as_bytes())
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .filter(|k| k.bytes().all(|b| (b' '..=b'~').contains(&b)))
        .filter(|k| !k.starts_with(' ') && !k.ends_with(' '))
        .ok_or_else(|| {
            ApiError::invalid("Idempotency-Key", "must be 1–255 visible ASCII characters")
        })?;
    Ok(Some(key.to_owned()))
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|ct| ct == "application/json" || ct.ends_with("+json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ));
        }
        let key = idempotency_key(req.headers())?;
        let fingerprint = Idempotency::fingerprint(req.method(), req.uri());
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!("send at most {} bytes", crate::BODY_LIMIT))
            } else {
                ApiError::BadRequest(format!("the body could not be read: {e}"))
            }
        })?;
        let value = parse(&bytes)?;
        let idempotency = key.map(|key| Idempotency::new(key, &fingerprint, &bytes));
        Ok(Body { value, idempotency })
    }
}

/// Reads a request body: a JSON object and nothing else, without duplicate
/// keys and without U+0000 in its strings, with integral numbers written as
/// floats (`1.0`, `1e2`) read as the integers they are; then `T`'s own strict
/// rules. Only objects, because serde accepts a sequence for a struct: `[]`
/// would otherwise be a valid body for every all-optional request type.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let StrictValue(value) = serde_json::from_slice(bytes).map_err(json_error)?;
    if !value.is_object() {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    reject_nul(bytes, &value)?;
    serde_json::from_value(value).map_err(json_error)
}

/// A JSON value read the way request bodies are read. JSON Schema's `integer`
/// includes `1.0`, and the OpenAPI document promises integers, so a number
/// with no fraction within `i64` is kept as an integer; serde would otherwise
/// refuse it for an integer field. A key given twice is refused, as serde does
/// for a struct's field, instead of the last one silently winning.
struct StrictValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
        // -2^63 and 2^63 are exact in f64; the range is half-open like i64's.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
            // In range and integral: the cast is exact.
            return Ok(StrictValue((v as i64).into()));
        }
        Ok(StrictValue(
            serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(v.into()))
    }

    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(serde_json::Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(StrictValue(items.into()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value()?;
            if fields.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            fields.insert(key, v);
        }
        Ok(StrictValue(fields.into()))
    }
}

/// Refuses a body whose strings hold U+0000: PostgreSQL cannot store it in text
/// or JSON columns, and no field of ours has a use for it.
fn reject_nul(bytes: &[u8], value: &serde_json::Value) -> Result<(), ApiError> {
    // Only a `\u0000` escape can put a NUL in a JSON string; most bodies have none.
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    fn find(v: &serde_json::Value, path: &mut String) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().enumerate().any(|(i, x)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = find(x, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(m) => m.iter().any(|(k, x)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.replace('\0', ""));
                let found = k.contains('\0') || find(x, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    if find(value, &mut path) {
        if path.is_empty() {
            path.push_str("body");
        }
        return Err(ApiError::invalid(
            path,
            "must not contain the NUL character (U+0000)",
        ));
    }
    Ok(())
}

/// Runs a write with Idempotency-Key semantics (the application layer keeps the
/// first answer in the change's own transaction) and answers with JSON.
pub async fn once<F, T>(
    state: &AppState,
    auth: &Auth,
    idem: Option<&Idempotency>,
    work: F,
) -> Result<Response, ApiError>
where
    F: AsyncFnOnce(&mut Tx) -> Result<(StatusCode, T), ApiError>,
    T: serde::Serialize,
{
    Ok(answer(state, auth, idem, work).await?.respond())
}

/// What [`once`] answers, before it is a response: for a handler that reads
/// the answer (the first one, on a replay) to add a header from it.
pub struct Answer {
    pub status: StatusCode,
    /// The JSON body.
    pub body: String,
    pub replayed: bool,
}

impl Answer {
    pub fn respond(self) -> Response {
        let mut res = (self.status, self.body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        if self.replayed {
            res.headers_mut().insert(
                "idempotent-replayed",
                header::HeaderValue::from_static("true"),
            );
        }
        res
    }
}

/// [`once`], answering the [`Answer`].
pub async fn answer<F, T>(
    state: &AppState,
    auth: &Auth,
    idem: Option<&Idempotency>,
    work: F,
) -> Result<Answer, ApiError>
where
    F: AsyncFnOnce(&mut Tx) -> Result<(StatusCode, T), ApiError>,
    T: serde::Serialize,
{
    let key = idem.map(Idempotency::key);
    let reply = idempotency::once(&state.app, auth.shop.id, key.as_ref(), async |tx| {
        work(tx).await.map(|(status, body)| (status.as_u16(), body))
    })
    .await?;
    Ok(Answer::from(reply))
}

impl From<idempotency::Reply> for Answer {
    fn from(reply: idempotency::Reply) -> Answer {
        Answer {
            status: StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK),
            body: reply.body,
            replayed: reply.replayed,
        }
    }
}

/// A typed id from the path (`/returns/{return_id}`): a malformed one names
/// nothing, so it is a 404 problem document, like an unknown one.
///
/// For a request that carries a body, an id of a type with a [`Named::TABLE`]
/// must also name a row of the key's shop, or the answer is that 404 before
/// the body is read: another shop's id is a 404 whatever the body says, never
/// a 422 about the body. (A GET has no body: its handler's own look-up
/// answers the 404, without a second query.)
pub struct Id<T>(pub T);

/// Names what an id type identifies, for the 404's message, and where its rows live.
pub trait Named {
    const WHAT: &'static str;
    /// The table whose `(shop_id, id)` holds these ids, so `Id` can check the
    /// shop has it before the body is read. `None`: the handler checks, and
    /// may refuse a body before it answers 404 (the isolation walk notices).
    const TABLE: Option<&'static str> = None;
}

impl Named for kembali_core::OrderId {
    const WHAT: &'static str = "order";
    const TABLE: Option<&'static str> = Some("orders");
}

impl Named for kembali_core::ReturnId {
    const WHAT: &'static str = "return";
    const TABLE: Option<&'static str> = Some("returns");
}

impl<T> FromRequestParts<AppState> for Id<T>
where
    T: std::str::FromStr + std::fmt::Display + Named + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let not_found = || ApiError::NotFound(format!("no such {}", T::WHAT));
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| not_found())?;
        let id: T = raw.parse().map_err(|_| not_found())?;
        let has_body = !matches!(parts.method, Method::GET | Method::HEAD);
        if let (true, Some(table)) = (has_body, T::TABLE) {
            let auth = Auth::from_request_parts(parts, state).await?;
            let mine = kembali_app::tenancy::owns(&state.app, table, auth.shop.id, &id.to_string())
                .await?;
            if !mine {
                return Err(not_found());
            }
        }
        Ok(Id(id))
    }
}
