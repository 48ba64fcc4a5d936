//! `/api/v1/refunds` and `/api/v1/store-credit`: the refunds resolved returns
//! granted, marked sent, succeeded or failed by the shop's payment system; and
//! store-credit accounts with their codes, redemptions and ledger.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kembali_app::refunds::{self, Step};
use kembali_core::{CreditAccountId, CustomerId, Money, RefundId, ReturnId};
use kembali_store::credit::{Account, Entry};
use kembali_store::refunds::Refund;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Body, Id, Named, once};
use crate::api::list::{ListQuery, Page, Paging};
use crate::api::orders::to_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_refunds))
        .routes(routes!(get_refund))
        .routes(routes!(mark_sent))
        .routes(routes!(mark_succeeded))
        .routes(routes!(mark_failed))
        .routes(routes!(issue_credit))
        .routes(routes!(get_account))
        .routes(routes!(find_account))
        .routes(routes!(redeem))
}

impl Named for RefundId {
    const WHAT: &'static str = "refund";
    const TABLE: Option<&'static str> = Some("refunds");
}

impl Named for CreditAccountId {
    const WHAT: &'static str = "store credit account";
    const TABLE: Option<&'static str> = Some("credit_accounts");
}

/// Money as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Amount {
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    pub id: RefundId,
    pub return_id: ReturnId,
    /// What goes back, tax included.
    pub amount: Amount,
    /// The tax inside `amount`.
    pub tax: Amount,
    /// `original_payment_method`, or `bank_account` for cash on delivery.
    pub destination: String,
    /// `pending`, `sent`, `succeeded` or `failed`.
    pub status: String,
    pub reference: Option<String>,
    pub failure: Option<String>,
    /// Under EU withdrawal: the day the refund is due by law.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_by: Option<jiff::Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

impl From<Refund> for RefundView {
    fn from(r: Refund) -> Self {
        RefundView {
            id: r.id,
            return_id: r.return_id,
            amount: Amount {
                amount: r.amount,
                currency: r.currency.clone(),
            },
            tax: Amount {
                amount: r.tax,
                currency: r.currency,
            },
            destination: r.destination,
            status: r.status,
            reference: r.reference,
            failure: r.failure,
            due_by: r.due_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What the refunds list can be narrowed to.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RefundFilters {
    /// Only refunds in this status.
    #[param(inline, value_type = Option<RefundStatus>)]
    pub status: Option<RefundStatus>,
}

/// Where a refund is on its way.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Sent,
    Succeeded,
    Failed,
}

impl RefundStatus {
    fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Sent => "sent",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }
}

#[utoipa::path(get, path = "/refunds", tag = "refunds",
    params(Paging<RefundId>, RefundFilters),
    responses((status = 200, description = "The shop's refunds in id order", body = Page<RefundView>), (status = 400, body = Problem)),
    security(("api_key" = [])))]
async fn list_refunds(
    State(state): State<AppState>,
    auth: Auth,
    q: ListQuery<RefundFilters>,
) -> Result<Json<Page<RefundView>>, ApiError> {
    let status = q.filters.status.map(RefundStatus::as_str);
    let rows = refunds::list(&state.app, auth.shop.id, status, q.cursor()?, q.fetch()).await?;
    let page = q.page(rows, |r| r.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(RefundView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/refunds/{refund_id}", tag = "refunds",
    params(("refund_id" = RefundId, Path, description = "`rfd_…`")),
    responses((status = 200, body = RefundView), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_refund(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<RefundId>,
) -> Result<Json<RefundView>, ApiError> {
    Ok(Json(
        refunds::get(&state.app, auth.shop.id, id).await?.into(),
    ))
}

/// A step of a refund, with the payout's reference.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceBody {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 500)]
    pub reference: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureBody {
    /// Why the money did not arrive.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

async fn refund_step(
    state: &AppState,
    auth: &Auth,
    id: RefundId,
    idem: Option<&crate::api::extract::Idempotency>,
    step: Step,
) -> Result<Response, ApiError> {
    once(state, auth, idem, async |tx| {
        let r = refunds::step(&state.app, tx, auth.shop.id, id, step).await?;
        Ok((StatusCode::OK, to_json(&RefundView::from(r))?))
    })
    .await
}

#[utoipa::path(post, path = "/refunds/{refund_id}/mark-sent", tag = "refunds",
    params(("refund_id" = RefundId, Path, description = "`rfd_…`")),
    request_body = ReferenceBody,
    responses((status = 200, body = RefundView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = [])))]
async fn mark_sent(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<RefundId>,
    body: Body<ReferenceBody>,
) -> Result<Response, ApiError> {
    let step = Step::Sent {
        reference: body.value.reference.clone(),
    };
    refund_step(&state, &auth, id, body.idempotency.as_ref(), step).await
}

#[utoipa::path(post, path = "/refunds/{refund_id}/mark-succeeded", tag = "refunds",
    params(("refund_id" = RefundId, Path, description = "`rfd_…`")),
    request_body = ReferenceBody,
    responses((status = 200, body = RefundView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = [])))]
async fn mark_succeeded(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<RefundId>,
    body: Body<ReferenceBody>,
) -> Result<Response, ApiError> {
    let step = Step::Succeeded {
        reference: body.value.reference.clone(),
    };
    refund_step(&state, &auth, id, body.idempotency.as_ref(), step).await
}

#[utoipa::path(post, path = "/refunds/{refund_id}/mark-failed", tag = "refunds",
    params(("refund_id" = RefundId, Path, description = "`rfd_…`")),
    request_body = FailureBody,
    responses((status = 200, body = RefundView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = [])))]
async fn mark_failed(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<RefundId>,
    body: Body<FailureBody>,
) -> Result<Response, ApiError> {
    let step = Step::Failed {
        reason: body.value.reason.clone(),
    };
    refund_step(&state, &auth, id, body.idempotency.as_ref(), step).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub id: String,
    /// `issue` or `redeem`.
    pub kind: String,
    /// Positive for an issue, negative for a redemption.
    pub amount: i64,
    pub balance_after: i64,
    pub reference: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

impl From<Entry> for EntryView {
    fn from(e: Entry) -> Self {
        EntryView {
            id: e.id.to_string(),
            kind: e.kind,
            amount: e.amount,
            balance_after: e.balance_after,
            reference: e.reference,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: CreditAccountId,
    pub customer_id: CustomerId,
    /// The code the shop's checkout redeems the credit with.
    pub code: String,
    pub balance: Amount,
    /// Oldest first.
    pub ledger: Vec<EntryView>,
}

fn account_view(a: Account, entries: Vec<Entry>) -> AccountView {
    AccountView {
        id: a.id,
        customer_id: a.customer_id,
        code: a.code,
        balance: Amount {
            amount: a.balance,
            currency: a.currency,
        },
        ledger: entries.into_iter().map(EntryView::from).collect(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    pub customer_id: CustomerId,
    /// Minor units.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000i64)]
    pub amount: i64,
    pub currency: kembali_core::Currency,
    /// Why (shown in the ledger).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reference: Option<String>,
}

#[utoipa::path(post, path = "/store-credit", tag = "store credit",
    request_body = IssueBody,
    responses((status = 201, body = AccountView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn issue_credit(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<IssueBody>,
) -> Result<Response, ApiError> {
    let b = &body.value;
    check_reference(b.reference.as_deref())?;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let (account, _) = kembali_app::credit::issue(
            &state.app,
            tx,
            auth.shop.id,
            b.customer_id,
            Money::new(b.amount, b.currency),
            b.reference.clone(),
        )
        .await?;
        let entries = kembali_store::credit::entries(tx, auth.shop.id, account.id).await?;
        Ok((
            StatusCode::CREATED,
            to_json(&account_view(account, entries))?,
        ))
    })
    .await
}

fn check_reference(r: Option<&str>) -> Result<(), ApiError> {
    if let Some(r) = r
        && (r.trim().is_empty() || r.chars().count() > 500 || r.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(
            "reference",
            "1 to 500 characters, no control characters",
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/store-credit/{account_id}", tag = "store credit",
    params(("account_id" = CreditAccountId, Path, description = "`cra_…`")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_account(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<CreditAccountId>,
) -> Result<Json<AccountView>, ApiError> {
    let (a, entries) = kembali_app::credit::get(&state.app, auth.shop.id, id).await?;
    Ok(Json(account_view(a, entries)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CodeQuery {
    /// The code the shopper holds (`KC-…`).
    pub code: String,
}

#[utoipa::path(get, path = "/store-credit", tag = "store credit",
    params(CodeQuery),
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn find_account(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<CodeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AccountView>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let code = q.code.trim().to_ascii_uppercase();
    let mut conn = state.app.db.conn().await?;
    let a = kembali_store::credit::by_code(&mut conn, auth.shop.id, &code)
        .await?
        .ok_or_else(|| ApiError::NotFound("no store credit has this code".into()))?;
    let entries = kembali_store::credit::entries(&mut conn, auth.shop.id, a.id).await?;
    Ok(Json(account_view(a, entries)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    /// Minor units of the account's currency; at most the balance.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000i64)]
    pub amount: i64,
    /// The shop's reference (an order number).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reference: Option<String>,
}

#[utoipa::path(post, path = "/store-credit/{account_id}/redeem", tag = "store credit",
    params(("account_id" = CreditAccountId, Path, description = "`cra_…`")),
    request_body = RedeemBody,
    responses(
        (status = 200, description = "Taken off; the account after it", body = AccountView),
        (status = 404, body = Problem),
        (status = 409, description = "More than the balance: nothing taken", body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
async fn redeem(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<CreditAccountId>,
    body: Body<RedeemBody>,
) -> Result<Response, ApiError> {
    let b = &body.value;
    check_reference(b.reference.as_deref())?;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let (account, _) = kembali_app::credit::redeem(
            &state.app,
            tx,
            auth.shop.id,
            id,
            b.amount,
            b.reference.clone(),
        )
        .await?;
        let entries = kembali_store::credit::entries(tx, auth.shop.id, account.id).await?;
        Ok((StatusCode::OK, to_json(&account_view(account, entries))?))
    })
    .await
}
