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
use axum::extract::DefaultBodyLimit;
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

impl Form {
    pub fn parse(body: &Bytes) -> Option<Form> {
        serde_urlencoded::from_bytes(body).ok().map(Form)
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Form {
        Form(pairs)
    }

    /// A form posted either way: `multipart/form-data` (its fields and its
    /// files) or `application/x-www-form-urlencoded` (no files).
    pub fn parse_any(headers: &HeaderMap, body: &Bytes) -> Option<(Form, Vec<Upload>)> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (mime, params) = ct.split_once(';').unwrap_or((ct, ""));
        if mime.trim().eq_ignore_ascii_case("multipart/form-data") {
            let boundary = param(params, "boundary")?;
            multipart(&boundary, body)
        } else {
            Form::parse(body).map(|f| (f, Vec::new()))
        }
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

/// The value of parameter `name` in a header's `; a=b; c="d"` tail.
fn param(params: &str, name: &str) -> Option<String> {
    split_params(params).into_iter().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| unquote(v.trim()))
    })
}

/// `a; b="c;d"; e` split on the semicolons outside quotes.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => v.to_owned(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A whole `multipart/form-data` body (already read, within the route's
/// limit) as its text fields and its files; `None` when it is not well formed.
fn multipart(boundary: &str, body: &Bytes) -> Option<(Form, Vec<Upload>)> {
    if boundary.is_empty() || boundary.len() > 200 {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let between = format!("\r\n--{boundary}");
    let mut fields = Vec::new();
    let mut files = Vec::new();
    let mut pos = find(body, delimiter.as_bytes())? + delimiter.len();
    loop {
        let rest = body.get(pos..)?;
        if rest.starts_with(b"--") {
            return Some((Form(fields), files));
        }
        pos += 2;
        if !rest.starts_with(b"\r\n") {
            return None;
        }
        let head_end = pos + find(body.get(pos..)?, b"\r\n\r\n")?;
        let head = std::str::from_utf8(body.get(pos..head_end)?).ok()?;
        let start = head_end + 4;
        let end = start + find(body.get(start..)?, between.as_bytes())?;
        let content = body.slice(start..end);
        pos = end + between.len();
        let disposition = head.split("\r\n").find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(v)
        })?;
        let name = param(disposition, "name")?;
        match param(disposition, "filename") {
            Some(filename) => files.push(Upload {
                name,
                filename,
                bytes: content,
            }),
            None => fields.push((name, String::from_utf8(content.to_vec()).ok()?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multipart_headers(boundary: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("multipart/form-data; boundary={boundary}");
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&v).unwrap());
        h
    }

    #[test]
    fn a_multipart_form_reads_as_fields_and_files() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"photos.1\"; filename=\"a;b \\\"c\\\".png\"\r\n\
              Content-Type: image/png\r\n\r\n\x89PNG\r\n--X\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"photos.2\"; filename=\"\"\r\n\
              Content-Type: application/octet-stream\r\n\r\n\r\n\
              --XyZ--\r\n",
        );
        let (form, files) = Form::parse_any(&multipart_headers("XyZ"), &body).unwrap();
        assert_eq!(form.get("csrf"), Some("abc"));
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].name, "photos.1");
        assert_eq!(files[0].filename, "a;b \"c\".png");
        assert_eq!(&files[0].bytes[..], b"\x89PNG\r\n--X");
        assert!(files[1].is_empty());
    }

    #[test]
    fn a_broken_multipart_form_is_refused() {
        let h = multipart_headers("XyZ");
        for body in [
            &b""[..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            b"--XyZ\r\nno head end",
            b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
        ] {
            assert!(Form::parse_any(&h, &Bytes::copy_from_slice(body)).is_none());
        }
        let mut no_boundary = HeaderMap::new();
        no_boundary.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data"),
        );
        assert!(Form::parse_any(&no_boundary, &Bytes::from_static(b"--\r\n")).is_none());
    }
}
