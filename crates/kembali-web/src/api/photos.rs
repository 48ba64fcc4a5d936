//! `/api/v1/photos`: a shopper's photo in as raw image bytes, checked and
//! re-encoded by `kembali_app::photos`; out only as that re-encoded JPEG.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use kembali_app::error::PhotoError;
use kembali_app::photos::{self, MAX_UPLOAD_BYTES, Photo};
use kembali_core::PhotoId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Id, Idempotency, Named, answer};

/// How long a client may keep a photo: its bytes never change under its id.
pub const PHOTO_MAX_AGE_SECONDS: u32 = 86_400;

impl Named for PhotoId {
    const WHAT: &'static str = "photo";
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_photo))
        .routes(routes!(get_photo))
        // Inside the application's 1 MiB default, so it wins for these routes.
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
}

/// A stored photo, and where to fetch it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoView {
    #[serde(flatten)]
    pub photo: Photo,
    /// `GET` it with the same API key: the stored JPEG.
    pub url: String,
}

impl From<Photo> for PhotoView {
    fn from(photo: Photo) -> Self {
        PhotoView {
            url: format!("/api/v1/photos/{}", photo.id),
            photo,
        }
    }
}

/// Image bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageFile(pub Vec<u8>);

/// Upload a shopper's photo, to name in a return item's `photos`. The type is
/// told by the bytes themselves (JPEG, PNG or WebP; not HEIC, GIF or SVG),
/// never by a file name or the `Content-Type`. The photo is turned upright
/// (EXIF orientation), scaled to at most 2048 pixels on its long side and
/// re-encoded as JPEG, which drops all its metadata (EXIF, GPS position, XMP);
/// only that JPEG is kept and served.
#[utoipa::path(post, path = "/photos", tag = "photos",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response"),
    ),
    request_body(
        description = "The image's bytes, at most 10 MiB, sent as `image/*` (any) or \
            `application/octet-stream`; not multipart.",
        content(
            (ImageFile = "image/jpeg"),
            (ImageFile = "image/png"),
            (ImageFile = "image/webp"),
            (ImageFile = "application/octet-stream")
        )
    ),
    responses(
        (status = 201, description = "The photo as stored; `Location` is its `url`",
            body = PhotoView),
        (status = 400, description = "The body could not be read", body = Problem),
        (status = 413, description = "The body is larger than 10 MiB (`photo-too-large`)",
            body = Problem),
        (status = 415, description = "The bytes are not a JPEG, PNG or WebP image \
            (`photo-unsupported-type`), or the `Content-Type` is neither `image/*` nor \
            `application/octet-stream`", body = Problem),
        (status = 422, description = "An empty body (`photo-empty`), an image declaring more \
            than 12000 pixels on a side or 50 megapixels (`photo-dimensions`), or one that does \
            not decode (`photo-unreadable`)", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn upload_photo(
    State(state): State<AppState>,
    auth: Auth,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !(media.starts_with("image/") || media == "application/octet-stream") {
        return Err(ApiError::UnsupportedMediaType(
            "send the photo's bytes as the body, with `Content-Type: image/jpeg` (or another \
             `image/*` type, or `application/octet-stream`)"
                .into(),
        ));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from(kembali_app::AppError::Photo(PhotoError::TooLarge {
                max: MAX_UPLOAD_BYTES,
            }))
        } else {
            ApiError::BadRequest(format!("the body could not be read: {e}"))
        }
    })?;
    let idem = Idempotency::of(&headers, &method, &uri, &body)?;
    let prepared = photos::prepare(&state.app, &body).await?;
    let answer = answer(&state, &auth, idem.as_ref(), async |tx| {
        let photo = photos::insert(tx, auth.shop.id, &prepared).await?;
        Ok((StatusCode::CREATED, PhotoView::from(photo)))
    })
    .await?;
    // `Location` names the photo the answer is about: on a replay, the first
    // upload's, read back from the kept answer.
    let url = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("url")?.as_str().map(str::to_owned))
        .and_then(|u| header::HeaderValue::from_str(&u).ok());
    let mut res = answer.respond();
    if let Some(url) = url {
        res.headers_mut().insert(header::LOCATION, url);
    }
    Ok(res)
}

/// A photo as stored: the re-encoded JPEG, never the bytes as uploaded.
#[utoipa::path(get, path = "/photos/{photo_id}", tag = "photos",
    params(("photo_id" = PhotoId, Path, description = "The photo (`pho_…`)")),
    responses(
        (status = 200, description = "The photo as JPEG",
            content_type = "image/jpeg", body = ImageFile),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn get_photo(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<PhotoId>,
) -> Result<Response, ApiError> {
    let (photo, jpeg) = photos::get(&state.app, auth.shop.id, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (
                header::CACHE_CONTROL,
                format!("private, max-age={PHOTO_MAX_AGE_SECONDS}, immutable"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.jpg\"", photo.id),
            ),
            // The bytes never change under an id: the id is their tag.
            (header::ETAG, format!("\"{}\"", photo.id)),
        ],
        jpeg,
    )
        .into_response())
}
