//! The page shell every portal page shares: the `lang` attribute, the language
//! switcher (which keeps the page's other query parameters), the shop's name,
//! the link to its return policy, and a stylesheet made for a phone first.

use kembali_core::shop::{Locale, Shop};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::i18n::Tr;

/// Readable at 360 px with no horizontal scrolling; every text colour has at
/// least 4.5:1 contrast on its background (#1b1b1b and #5a5a5a on white: 17:1
/// and 6.9:1; white on #0b57a4: 7.0:1; #0b57a4 on white: 7.0:1; #8a1414 on
/// #fdeeee: 7.9:1; #14532d on #eaf6ee: 8.2:1).
pub const CSS: &str = "\
*,*::before,*::after{box-sizing:border-box}\
html{-webkit-text-size-adjust:100%}\
body{margin:0;font:1rem/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1b1b;background:#fff;overflow-wrap:anywhere}\
header,main,footer{max-width:40rem;margin:0 auto;padding:0.75rem 1rem}\
header{display:flex;flex-wrap:wrap;gap:0.5rem;justify-content:space-between;align-items:center;border-bottom:1px solid #d0d0d0}\
.shop{font-weight:700}\
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:0.75rem}\
a{color:#0b57a4}\
a[aria-current]{font-weight:700;color:#1b1b1b}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:0.5rem;background:#fff;padding:0.25rem}\
h1{font-size:1.5rem;line-height:1.25;margin:0.5rem 0 1rem}\
h2{font-size:1.15rem;margin:1.25rem 0 0.5rem}\
label,legend{display:block;font-weight:600;margin:0.75rem 0 0.25rem}\
input[type=text],input[type=email],select,textarea{display:block;width:100%;max-width:100%;font:inherit;padding:0.6rem;border:1px solid #6b6b6b;border-radius:6px;background:#fff;color:#1b1b1b}\
textarea{min-height:4.5rem}\
fieldset{border:1px solid #d0d0d0;border-radius:8px;margin:0.75rem 0;padding:0.5rem 0.75rem}\
.choice{display:flex;gap:0.5rem;align-items:flex-start;font-weight:400;margin:0.4rem 0}\
.choice input{margin-top:0.35rem;flex:none}\
button{font:inherit;font-weight:600;color:#fff;background:#0b57a4;border:0;border-radius:6px;padding:0.75rem 1.25rem;margin:1rem 0;width:100%;cursor:pointer}\
.item{border:1px solid #d0d0d0;border-radius:8px;padding:0.75rem;margin:0.75rem 0}\
.item h2{margin-top:0}\
.muted{color:#5a5a5a}\
.ok{color:#14532d;background:#eaf6ee;padding:0.25rem 0.5rem;border-radius:4px;display:inline-block}\
.no{color:#8a1414;background:#fdeeee;padding:0.25rem 0.5rem;border-radius:4px;display:inline-block}\
.error{color:#8a1414;background:#fdeeee;border:1px solid #8a1414;border-radius:8px;padding:0.75rem;margin:0.75rem 0}\
.error ul{margin:0;padding-left:1.25rem}\
dl.sum{display:grid;grid-template-columns:1fr auto;gap:0.25rem 1rem;margin:0.75rem 0}\
dl.sum dt{margin:0}dl.sum dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}\
dl.sum .total{font-weight:700;border-top:1px solid #d0d0d0;padding-top:0.25rem}\
ol.timeline{padding-left:1.25rem}\
footer{border-top:1px solid #d0d0d0;margin-top:1.5rem}\
";

/// What a page needs to be drawn around its content.
pub struct Frame<'a> {
    pub tr: Tr,
    pub shop: &'a Shop,
    pub title: &'a str,
    /// The page's path under the site root, for the switcher and the links.
    pub path: &'a str,
    /// The page's query string without `lang`.
    pub query: &'a str,
}

/// The whole page around `content`.
pub fn page(f: &Frame<'_>, content: Markup) -> Markup {
    let tr = f.tr;
    let base = format!("/portal/{}", f.shop.slug);
    html! {
        (DOCTYPE)
        html lang=(tr.locale.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (f.title) " · " (f.shop.name) }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.skip href="#main" { (tr.t("skip-link")) }
                header {
                    a.shop href=(base) { (f.shop.name) }
                    nav aria-label=(tr.t("lang-switch")) {
                        ul {
                            @for l in Locale::ALL {
                                li {
                                    @let href = switch_href(f.path, f.query, l);
                                    @if l == tr.locale {
                                        a href=(href) lang=(l.code()) hreflang=(l.code()) aria-current="true" { (language_name(l)) }
                                    } @else {
                                        a href=(href) lang=(l.code()) hreflang=(l.code()) { (language_name(l)) }
                                    }
                                }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (f.title) }
                    (content)
                }
                footer {
                    p {
                        a href=(format!("{base}/policy")) { (tr.t("policy-link")) }
                        " · "
                        a href=(base) { (tr.t("start-link")) }
                    }
                }
            }
        }
    }
}

/// Each language's name in itself.
pub fn language_name(l: Locale) -> &'static str {
    match l {
        Locale::En => "English",
        Locale::Id => "Bahasa Indonesia",
        Locale::Pl => "Polski",
    }
}

/// The same page in language `l`.
fn switch_href(path: &str, query: &str, l: Locale) -> String {
    if query.is_empty() {
        format!("{path}?lang={}", l.code())
    } else {
        format!("{path}?{query}&lang={}", l.code())
    }
}

/// The query string without its `lang` parameter.
pub fn query_without_lang(query: Option<&str>) -> String {
    query
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("lang=") && *kv != "lang")
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text and background colours of [`CSS`], as pairs a test holds to 4.5:1.
    const COLOUR_PAIRS: [(&str, &str); 8] = [
        ("#1b1b1b", "#ffffff"),
        ("#5a5a5a", "#ffffff"),
        ("#0b57a4", "#ffffff"),
        ("#ffffff", "#0b57a4"),
        ("#8a1414", "#fdeeee"),
        ("#14532d", "#eaf6ee"),
        ("#1b1b1b", "#fff"),
        ("#0b57a4", "#fff"),
    ];

    fn luminance(hex: &str) -> f64 {
        let hex = hex.trim_start_matches('#');
        let full: String = if hex.len() == 3 {
            hex.chars().flat_map(|c| [c, c]).collect()
        } else {
            hex.to_owned()
        };
        let channel = |i: usize| {
            let v = f64::from(u8::from_str_radix(&full[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }

    /// WCAG's contrast of every text colour on its background, and every colour
    /// of the stylesheet is one of the pairs.
    #[test]
    fn text_contrast_is_at_least_4_5() {
        for (fg, bg) in COLOUR_PAIRS {
            let (a, b) = (luminance(fg), luminance(bg));
            let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
            assert!(ratio >= 4.5, "{fg} on {bg}: {ratio:.2}");
        }
        for (at, _) in CSS.match_indices('#') {
            let colour: String = CSS[at..]
                .chars()
                .take_while(|c| *c == '#' || c.is_ascii_hexdigit())
                .collect();
            if colour.len() < 4 {
                continue; // `#main` and the like are not colours
            }
            let is_text_pair = COLOUR_PAIRS
                .iter()
                .any(|(f, b)| *f == colour || *b == colour);
            // Borders (#d0d0d0, #6b6b6b) carry no text.
            let is_border = ["#d0d0d0", "#6b6b6b"].contains(&colour.as_str());
            assert!(is_text_pair || is_border, "{colour} has no checked pair");
        }
    }
}
