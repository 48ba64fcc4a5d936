//! `/api/v1/returns/{return_id}/label.pdf`, `/label.zpl` and
//! `/packing-slip.pdf`: a return's printed paper (`kembali_app::labels`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kembali_app::labels::{self, Form};
use kembali_core::ReturnId;
use kembali_core::shop::Locale;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(label_pdf))
        .routes(routes!(label_zpl))
        .routes(routes!(packing_slip))
}

/// A PDF file, as bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfFile(pub Vec<u8>);

/// The language of the words printed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PaperQuery {
    /// `en`, `id` or `pl`; the language of the return's order when left out.
    pub lang: Option<Locale>,
}

async fn printed(
    state: &AppState,
    auth: &Auth,
    id: ReturnId,
    form: Form,
    query: Result<Query<PaperQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let p = labels::print(&state.app, &auth.shop, id, form, q.lang).await?;
    let disposition = format!("inline; filename=\"{}\"", p.file_name);
    Ok((
        [
            (header::CONTENT_TYPE, form.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        p.bytes,
    )
        .into_response())
}

/// The return label: 4×6 inches (288 × 432 pt), the return number as Code 128
/// and as text, a QR code of the return number, the shopper's and the shop's
/// return addresses, and the items.
#[utoipa::path(get, path = "/returns/{return_id}/label.pdf", tag = "shipping",
    params(
        ("return_id" = ReturnId, Path, description = "The return (`ret_…`)"),
        PaperQuery,
    ),
    responses(
        (status = 200, description = "The label as PDF", content_type = "application/pdf",
            body = PdfFile),
        (status = 400, description = "An unknown or malformed query parameter", body = Problem),
        (status = 409, description = "The return is not approved or in transit, keeps its \
            items, or the shop has no return address", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn label_pdf(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ReturnId>,
    query: Result<Query<PaperQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    printed(&state, &auth, id, Form::LabelPdf, query).await
}

/// The same label in ZPL II for a 203 dpi thermal printer: `^BC` (Code 128)
/// and `^BQ` (QR) with the return number, text in UTF-8 (`^CI28`).
#[utoipa::path(get, path = "/returns/{return_id}/label.zpl", tag = "shipping",
    params(
        ("return_id" = ReturnId, Path, description = "The return (`ret_…`)"),
        PaperQuery,
    ),
    responses(
        (status = 200, description = "The label as ZPL", content_type = "application/zpl",
            body = String),
        (status = 400, description = "An unknown or malformed query parameter", body = Problem),
        (status = 409, description = "The return is not approved or in transit, keeps its \
            items, or the shop has no return address", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn label_zpl(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ReturnId>,
    query: Result<Query<PaperQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    printed(&state, &auth, id, Form::LabelZpl, query).await
}

/// The A4 packing slip for inside the parcel, in the shopper's language: the
/// return and order numbers, both addresses, the items with their reasons and
/// the steps to send it back.
#[utoipa::path(get, path = "/returns/{return_id}/packing-slip.pdf", tag = "shipping",
    params(
        ("return_id" = ReturnId, Path, description = "The return (`ret_…`)"),
        PaperQuery,
    ),
    responses(
        (status = 200, description = "The packing slip as PDF", content_type = "application/pdf",
            body = PdfFile),
        (status = 400, description = "An unknown or malformed query parameter", body = Problem),
        (status = 409, description = "The return is not approved or in transit, keeps its \
            items, or the shop has no return address", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn packing_slip(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ReturnId>,
    query: Result<Query<PaperQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    printed(&state, &auth, id, Form::PackingSlip, query).await
}
