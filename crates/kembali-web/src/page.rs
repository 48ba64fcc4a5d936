//! What the shopper's and the merchant's pages share: the page language (from
//! `?lang=`, then the `lang` cookie, then `Accept-Language`) and the error page,
//! in English, Indonesian and Polish.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use kembali_core::shop::Locale;

/// The page's language for this request.
pub fn locale(query: Option<&str>, headers: &HeaderMap) -> Locale {
    let from_query = query.and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Locale::from_tag(v))
    });
    let from_cookie = || {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Locale::from_tag(v))
    };
    let from_accept = || {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .filter_map(|part| part.split(';').next())
                    .find_map(|tag| Locale::from_tag(tag.trim()))
            })
    };
    from_query
        .or_else(from_cookie)
        .or_else(from_accept)
        .unwrap_or(Locale::En)
}

/// What went wrong, as a page can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageProblem {
    NotFound,
    MethodNotAllowed,
    Internal,
}

impl PageProblem {
    fn status(self) -> StatusCode {
        match self {
            PageProblem::NotFound => StatusCode::NOT_FOUND,
            PageProblem::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PageProblem::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Title and sentence in `locale`.
    fn text(self, locale: Locale) -> (&'static str, &'static str) {
        match (self, locale) {
            (PageProblem::NotFound, Locale::Id) => (
                "Halaman tidak ditemukan",
                "Tidak ada apa-apa di alamat ini.",
            ),
            (PageProblem::NotFound, Locale::Pl) => {
                ("Nie znaleziono strony", "Pod tym adresem nic nie ma.")
            }
            (PageProblem::NotFound, _) => ("Page not found", "There is nothing at this address."),
            (PageProblem::MethodNotAllowed, Locale::Id) => (
                "Permintaan tidak didukung",
                "Halaman ini tidak menerima permintaan seperti ini.",
            ),
            (PageProblem::MethodNotAllowed, Locale::Pl) => (
                "Nieobsługiwane żądanie",
                "Ta strona nie przyjmuje takiego żądania.",
            ),
            (PageProblem::MethodNotAllowed, _) => (
                "Request not supported",
                "This page does not take this kind of request.",
            ),
            (PageProblem::Internal, Locale::Id) => (
                "Terjadi kesalahan",
                "Ada masalah di pihak kami dan sudah dicatat. Silakan coba lagi nanti.",
            ),
            (PageProblem::Internal, Locale::Pl) => (
                "Coś poszło nie tak",
                "Wystąpił błąd po naszej stronie i został zapisany. Spróbuj ponownie później.",
            ),
            (PageProblem::Internal, _) => (
                "Something went wrong",
                "Something went wrong on our side; it has been logged. Please try again later.",
            ),
        }
    }

    /// The error page in `locale`. Every string here is ours, so nothing needs
    /// escaping; pages that show the user's input escape it in their templates.
    pub fn page(self, locale: Locale) -> Response {
        let (title, sentence) = self.text(locale);
        let lang = locale.code();
        let body = format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title></head><body><main><h1>{title}</h1><p>{sentence}</p>\
             </main></body></html>"
        );
        (self.status(), Html(body)).into_response()
    }
}

/// The fallback and panic pages of a page router (portal, desk).
pub fn pages<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    router
        .fallback(|uri: axum::http::Uri, headers: HeaderMap| async move {
            PageProblem::NotFound.page(locale(uri.query(), &headers))
        })
        .method_not_allowed_fallback(|uri: axum::http::Uri, headers: HeaderMap| async move {
            PageProblem::MethodNotAllowed.page(locale(uri.query(), &headers))
        })
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            // The request is gone by now: the page is in English.
            PageProblem::Internal.page(Locale::En)
        }))
}

impl IntoResponse for PageProblem {
    fn into_response(self) -> Response {
        self.page(Locale::En)
    }
}
