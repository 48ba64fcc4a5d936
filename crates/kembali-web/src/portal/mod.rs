//! The shopper's pages (the return portal): server-rendered HTML in the
//! shopper's language, working without JavaScript. Find the order (number and
//! email or postal code, or a signed link), choose items and what to get
//! instead, choose how the parcel comes back, review every amount, confirm
//! (through `kembali_app::returns::open`, as the API does), then follow the
//! return on its status page. The shop's return policy is a public page here too.
//!
//! Every step is a GET page (so the language switcher can redraw it) reached by
//! a POST that redirects: the shopper's choices travel in a draft signed with
//! the shop's secret (`sign.rs`), every form carries a CSRF token bound to the
//! browser's session cookie, and the one form that writes (confirm) spends its
//! token's nonce as an idempotency key in the same transaction, so a replayed
//! form is refused and changes nothing.

mod claims;
pub mod explain;
mod layout;
mod paper;
mod policy_page;
mod refund;
pub mod sign;
mod steps;

use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kembali_core::shop::{Locale, Shop};
use maud::{Markup, html};

use crate::AppState;
use crate::i18n::Tr;
use crate::page::{self, PageProblem};
use layout::Frame;
use sign::Signer;

/// The browser's session cookie (it binds the CSRF tokens).
pub const SESSION_COOKIE: &str = "kembali_portal";

/// Where a request came from, put on each request by the accept loop; the look-up's
/// rate limit counts per client address.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Everything under `/portal`.
pub fn router() -> Router<AppState> {
    page::pages(
        Router::new()
            .route("/{shop}", get(steps::lookup_form).post(steps::lookup))
            .route("/{shop}/policy", get(policy_page::policy))
            .route(
                "/{shop}/o/{token}",
                get(steps::order_page)
                    .post(steps::choose_items)
                    // The items form carries the photos: room for several.
                    .layer(DefaultBodyLimit::max(steps::ITEMS_BODY_LIMIT)),
            )
            .route(
                "/{shop}/o/{token}/method",
                get(steps::method_page).post(steps::choose_method),
            )
            .route(
                "/{shop}/o/{token}/claim/{line}",
                get(claims::claim_page)
                    .post(claims::claim)
                    // A claim carries its photos too.
                    .layer(DefaultBodyLimit::max(steps::ITEMS_BODY_LIMIT)),
            )
            .route(
                "/{shop}/o/{token}/point",
                get(paper::point_page).post(paper::choose_point),
            )
            .route(
                "/{shop}/o/{token}/refund",
                get(refund::refund_page).post(refund::choose_refund),
            )
            .route(
                "/{shop}/o/{token}/review",
                get(steps::review_page).post(steps::confirm),
            )
            .route("/{shop}/r/{token}", get(steps::status_page))
            .route("/{shop}/r/{token}/{file}", get(paper::download)),
    )
}

/// The signed address (path) that opens `order` in the portal straight away
/// for [`sign::EMAIL_LINK_TTL_MS`] (30 days): the link for order and return emails.
pub async fn order_link(
    app: &kembali_app::App,
    shop: &Shop,
    order: kembali_core::OrderId,
) -> Result<String, kembali_app::AppError> {
    let secret = kembali_app::portal::secret(app, shop.id).await?;
    let signer = Signer {
        secret: &secret,
        shop: shop.id,
    };
    let expires = app.now().as_millisecond() + sign::EMAIL_LINK_TTL_MS;
    Ok(format!(
        "/portal/{}/o/{}",
        shop.slug,
        signer.order_token(order, expires)
    ))
}

/// The message ids the portal's code asks for by a literal, found in its source,
/// and the ones it builds from codes.
pub fn used_keys() -> Vec<String> {
    let mut keys = explain::dynamic_keys();
    keys.extend(refund::dynamic_keys());
    keys.extend(claims::dynamic_keys());
    for src in [
        include_str!("mod.rs"),
        include_str!("claims.rs"),
        include_str!("paper.rs"),
        include_str!("refund.rs"),
        include_str!("steps.rs"),
        include_str!("layout.rs"),
        include_str!("policy_page.rs"),
        include_str!("explain.rs"),
    ] {
        for marker in [".t(\"", ".ta(\n            \"", ".ta(\""] {
            for (at, _) in src.match_indices(marker) {
                let rest = &src[at + marker.len()..];
                if let Some(end) = rest.find('"') {
                    let key = &rest[..end];
                    if !key.is_empty() && !key.contains('{') {
                        keys.push(key.to_owned());
                    }
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// One request to the portal: the shop, the page's language, the session, and
/// what signs.
pub(crate) struct Visit {
    pub state: AppState,
    pub shop: Shop,
    pub tr: Tr,
    pub secret: Vec<u8>,
    pub sid: String,
    new_sid: bool,
    set_lang: Option<Locale>,
    pub path: String,
    pub query: String,
    pub client: String,
}

impl Visit {
    pub async fn start(
        state: &AppState,
        slug: &str,
        uri: &Uri,
        headers: &HeaderMap,
        client: Option<ClientAddr>,
    ) -> Result<Visit, Response> {
        let locale = page::locale(uri.query(), headers);
        let shop = match kembali_app::portal::shop(&state.app, slug).await {
            Ok(s) => s,
            Err(kembali_app::AppError::NotFound(_)) => {
                return Err(PageProblem::NotFound.page(locale));
            }
            Err(e) => return Err(internal(locale, &e)),
        };
        let secret = match kembali_app::portal::secret(&state.app, shop.id).await {
            Ok(s) => s,
            Err(e) => return Err(internal(locale, &e)),
        };
        let set_lang = uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "lang")
                .and_then(|(_, v)| Locale::from_tag(v))
        });
        let existing = cookie(headers, SESSION_COOKIE)
            .filter(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        let (sid, new_sid) = match existing {
            Some(s) => (s.to_owned(), false),
            None => (format!("{:032x}", state.app.entropy()), true),
        };
        Ok(Visit {
            state: state.clone(),
            shop,
            tr: Tr::new(locale),
            secret,
            sid,
            new_sid,
            set_lang,
            // The router is nested at `/portal`, which `Uri` no longer shows.
            path: format!("/portal{}", uri.path()),
            query: layout::query_without_lang(uri.query()),
            client: client.map_or_else(|| "unknown".to_owned(), |c| c.0.to_string()),
        })
    }

    pub fn signer(&self) -> Signer<'_> {
        Signer {
            secret: &self.secret,
            shop: self.shop.id,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.state.app.now().as_millisecond()
    }

    /// The shop's portal root.
    pub fn base(&self) -> String {
        format!("/portal/{}", self.shop.slug)
    }

    /// A fresh CSRF token for a form on this page.
    pub fn csrf_field(&self) -> Markup {
        let nonce = format!("{:032x}", self.state.app.entropy());
        let token = self
            .signer()
            .csrf(&self.sid, &nonce, self.now_ms() + sign::FORM_TTL_MS);
        html! { input type="hidden" name="csrf" value=(token); }
    }

    /// The form's nonce if its CSRF token is this session's, genuine and in time.
    pub fn check_csrf(&self, form: &Form) -> Option<String> {
        if self.new_sid {
            return None;
        }
        let token = form.get("csrf")?;
        self.signer()
            .check_csrf(&self.sid, token, self.now_ms())
            .map(str::to_owned)
    }

    /// The page, with its cookies.
    pub fn render(&self, status: StatusCode, title: &str, content: Markup) -> Response {
        let frame = Frame {
            tr: self.tr,
            shop: &self.shop,
            title,
            path: &self.path,
            query: &self.query,
        };
        let body = layout::page(&frame, content).into_string();
        let mut res = (status, axum::response::Html(body)).into_response();
        self.cookies(res.headers_mut());
        res
    }

    fn cookies(&self, headers: &mut HeaderMap) {
        if self.new_sid
            && let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={}; Path=/portal; HttpOnly; SameSite=Lax",
                self.sid
            ))
        {
            headers.append(header::SET_COOKIE, v);
        }
        if let Some(l) = self.set_lang
            && let Ok(v) = HeaderValue::from_str(&format!(
                "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
                l.code()
            ))
        {
            headers.append(header::SET_COOKIE, v);
        }
    }

    /// A 303 to `to` (after a form), with the cookies.
    pub fn redirect(&self, to: &str) -> Response {
        let mut res = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        self.cookies(res.headers_mut());
        res
    }

    /// A page that says what went wrong, in the page's language, with a way on.
    pub fn problem(&self, status: StatusCode, messages: &[String], back: &str) -> Response {
        let tr = self.tr;
        let title = tr.t("error-title");
        self.render(
            status,
            &title,
            html! {
                div.error role="alert" {
                    ul { @for m in messages { li { (m) } } }
                }
                p { a href=(back) { (tr.t("error-back")) } }
            },
        )
    }
}

/// A logged 500 page in `locale`.
fn internal(locale: Locale, e: &kembali_app::AppError) -> Response {
    tracing::error!(error = %e, "portal request failed");
    PageProblem::Internal.page(locale)
}

impl Visit {
    pub fn internal(&self, e: &kembali_app::AppError) -> Response {
        internal(self.tr.locale, e)
    }
}

/// The value of cookie `name`.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A posted form's fields, in order.
pub(crate) struct Form(Vec<(String, String)>);

/// A file posted in a `multipart/form-data` form, as the browser sent it.
pub(crate) struct Upload {
    /// The input's name.
    pub name: String,
    /// The file's name on the shopper's device (shown back in messages only).
    pub filename: String,
    pub bytes: Bytes,
}

impl Upload {
    /// A file input left empty: the browser sends a part with no name and no bytes.
    pub fn is_empty(&self) -> bool {
        self.filename.is_empty() && self.bytes.is_empty()
    }
}

/// Why a posted form could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unread {
    /// Larger than the route takes.
    TooLarge,
    /// Not a well-formed form.
    Malformed,
}

impl From<MultipartError> for Unread {
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Unread::TooLarge
        } else {
            Unread::Malformed
        }
    }
}

impl Form {
    pub fn parse(body: &Bytes) -> Option<Form> {
        serde_urlencoded::from_bytes(body).ok().map(Form)
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Form {
        Form(pairs)
    }

    /// Reads a form posted either way, within the route's body limit:
    /// `multipart/form-data` (its fields and its files, through axum's
    /// `Multipart`) or `application/x-www-form-urlencoded` (no files).
    pub async fn read<S: Send + Sync>(
        req: Request,
        state: &S,
    ) -> Result<(Form, Vec<Upload>), Unread> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("multipart/form-data"));
        if !multipart {
            let body = Bytes::from_request(req, state).await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Unread::TooLarge
                } else {
                    Unread::Malformed
                }
            })?;
            return Form::parse(&body)
                .map(|f| (f, Vec::new()))
                .ok_or(Unread::Malformed);
        }
        let mut parts = Multipart::from_request(req, state)
            .await
            .map_err(|_| Unread::Malformed)?;
        let mut fields = Vec::new();
        let mut files = Vec::new();
        while let Some(part) = parts.next_field().await? {
            let name = part.name().ok_or(Unread::Malformed)?.to_owned();
            let filename = part.file_name().map(str::to_owned);
            let bytes = part.bytes().await?;
            match filename {
                Some(filename) => files.push(Upload {
                    name,
                    filename,
                    bytes,
                }),
                // Text as it came: not UTF-8 is not a form the pages sent.
                None => fields.push((
                    name,
                    String::from_utf8(bytes.to_vec()).map_err(|_| Unread::Malformed)?,
                )),
            }
        }
        Ok((Form(fields), files))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The shop slug and the token of a path.
#[derive(serde::Deserialize)]
pub(crate) struct ShopPath {
    pub shop: String,
}

#[derive(serde::Deserialize)]
pub(crate) struct TokenPath {
    pub shop: String,
    pub token: String,
}

pub(crate) type Client = Option<axum::Extension<ClientAddr>>;

pub(crate) fn client(c: Client) -> Option<ClientAddr> {
    c.map(|axum::Extension(c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_multipart(
        boundary: &str,
        body: &'static [u8],
    ) -> Result<(Form, Vec<Upload>), Unread> {
        let req = Request::builder()
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(body))
            .unwrap();
        Form::read(req, &()).await
    }

    #[tokio::test]
    async fn a_multipart_form_reads_as_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"photos.1\"; filename=\"a;b \\\"c\\\".png\"\r\n\
              Content-Type: image/png\r\n\r\n\x89PNG\r\n--X\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"photos.2\"; filename=\"\"\r\n\
              Content-Type: application/octet-stream\r\n\r\n\r\n\
              --XyZ--\r\n";
        let (form, files) = read_multipart("XyZ", body).await.unwrap();
        assert_eq!(form.get("csrf"), Some("abc"));
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].name, "photos.1");
        assert_eq!(files[0].filename, "a;b \"c\".png");
        assert_eq!(&files[0].bytes[..], b"\x89PNG\r\n--X");
        assert!(files[1].is_empty());
    }

    #[tokio::test]
    async fn a_broken_multipart_form_is_refused() {
        for body in [
            &b""[..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            b"--XyZ\r\nno head end",
            b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
        ] {
            assert!(read_multipart("XyZ", body).await.is_err());
        }
        let no_boundary = Request::builder()
            .header(header::CONTENT_TYPE, "multipart/form-data")
            .body(axum::body::Body::from("--\r\n"))
            .unwrap();
        assert!(Form::read(no_boundary, &()).await.is_err());
    }
}
