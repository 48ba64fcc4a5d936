//! Where the money goes, for an order whose refund cannot go back the way it
//! was paid (cash on delivery): a bank account (an IBAN for Poland and the EU,
//! checked by its check digits; for Indonesia the bank from a list and an
//! account number of that bank's length), an e-wallet by its phone number, or
//! store credit, as the policy's decision allows. Checked here by
//! `kembali_core::payout` (each refusal names its field in the page's language)
//! and again by `returns::open`; shown masked everywhere in the portal.

use axum::http::StatusCode;
use axum::response::Response;
use kembali_core::payout::{
    Bank, DestinationRequest, EWalletProvider, MaskedDestination, PayoutError, PayoutProblem,
    RefundDestination,
};
use kembali_core::policy::DestinationKind;
use kembali_core::text::TextProblem;
use maud::html;

use super::steps::{self, Draft, DraftPage, DraftPosted, Opened};
use super::{Form, Visit};
use crate::i18n::Tr;

/// Whether the order's bank accounts are Indonesian (a bank and its account
/// number) rather than IBANs.
fn indonesian(o: &Opened) -> bool {
    o.view.order.shipping_address.country.code() == "ID"
}

/// The kinds the page offers, in its order: the policy's, less the original
/// method (which is why the page is shown); e-wallets are Indonesian.
fn offered(o: &Opened, allowed: &[DestinationKind]) -> Vec<DestinationKind> {
    [
        DestinationKind::BankAccount,
        DestinationKind::EWallet,
        DestinationKind::StoreCredit,
    ]
    .into_iter()
    .filter(|k| allowed.contains(k))
    .filter(|k| {
        *k != DestinationKind::EWallet
            || indonesian(o)
            || !allowed.contains(&DestinationKind::BankAccount)
    })
    .collect()
}

pub(crate) async fn refund_page(page: DraftPage) -> Response {
    let DraftPage { v, o, draft } = page;
    refund_form(&v, &o, &draft, StatusCode::OK, &[], None).await
}

async fn refund_form(
    v: &Visit,
    o: &Opened,
    draft: &Draft,
    status: StatusCode,
    errors: &[String],
    form: Option<&Form>,
) -> Response {
    let tr = v.tr;
    let Some(allowed) = steps::destinations_needed(v, o, draft).await else {
        // Nothing to ask: the refund goes back the way it was paid.
        return steps::next_step(v, o, draft.clone()).await;
    };
    let kinds = offered(o, &allowed);
    let bare = Draft {
        destination: None,
        ..draft.clone()
    };
    let sealed = steps::seal(v, o.view.order.id, &bare);
    let prior = |name: &str| form.and_then(|f| f.get(name)).unwrap_or("").to_owned();
    let kind = prior("kind");
    let title = tr.t("refund-title");
    v.render(
        status,
        &title,
        html! {
            @if !errors.is_empty() {
                div.error role="alert" { ul { @for e in errors { li { (e) } } } }
            }
            p { (tr.t("refund-intro")) }
            form method="post" action=(format!("{}/o/{}/refund", v.base(), o.token)) {
                (v.csrf_field())
                input type="hidden" name="d" value=(sealed);
                fieldset {
                    legend { (title) }
                    @for (n, k) in kinds.iter().enumerate() {
                        @let id = format!("kind.{n}");
                        label.choice for=(id) {
                            input type="radio" id=(id) name="kind" value=(k.as_str())
                                checked[kind == k.as_str() || (kind.is_empty() && n == 0)];
                            span { (tr.t(&format!("refund-kind-{}", k.as_str()))) }
                        }
                    }
                }
                @if kinds.contains(&DestinationKind::BankAccount) {
                    fieldset {
                        legend { (tr.t("refund-bank")) }
                        label for="holder" { (tr.t("payout-field-holder")) }
                        input type="text" id="holder" name="holder" autocomplete="name" maxlength="255" value=(prior("holder"));
                        @if indonesian(o) {
                            label for="bank" { (tr.t("payout-field-bank")) }
                            select id="bank" name="bank" {
                                option value="" { (tr.t("refund-bank-choose")) }
                                @for b in Bank::ALL {
                                    option value=(b.as_str()) selected[prior("bank") == b.as_str()] { (b.display_name()) }
                                }
                            }
                            label for="account_number" { (tr.t("payout-field-account_number")) }
                            input type="text" id="account_number" name="account_number" inputmode="numeric" autocomplete="off" maxlength="64" value=(prior("account_number"));
                        } @else {
                            label for="iban" { (tr.t("payout-field-iban")) }
                            input type="text" id="iban" name="iban" autocomplete="off" maxlength="64" spellcheck="false" value=(prior("iban"));
                        }
                    }
                }
                @if kinds.contains(&DestinationKind::EWallet) {
                    fieldset {
                        legend { (tr.t("refund-wallet")) }
                        label for="provider" { (tr.t("payout-field-provider")) }
                        select id="provider" name="provider" {
                            @for w in EWalletProvider::ALL {
                                option value=(w.as_str()) selected[prior("provider") == w.as_str()] { (w.display_name()) }
                            }
                        }
                        label for="phone" { (tr.t("payout-field-phone")) }
                        input type="tel" id="phone" name="phone" autocomplete="tel" maxlength="64" value=(prior("phone"));
                    }
                }
                p.muted { (tr.t("refund-masked")) }
                button type="submit" { (tr.t("method-continue")) }
            }
            p { a href=(format!("{}/o/{}?d={sealed}", v.base(), o.token)) { (tr.t("review-change")) } }
        },
    )
}

pub(crate) async fn choose_refund(posted: DraftPosted) -> Response {
    let DraftPosted { v, o, form, draft } = posted;
    let tr = v.tr;
    if v.check_csrf(&form).is_none() {
        return refund_form(
            &v,
            &o,
            &draft,
            StatusCode::FORBIDDEN,
            &[tr.t("error-csrf")],
            Some(&form),
        )
        .await;
    }
    let Some(allowed) = steps::destinations_needed(&v, &o, &draft).await else {
        return steps::next_step(&v, &o, draft).await;
    };
    let kinds = offered(&o, &allowed);
    let refuse = |message: String| (StatusCode::UNPROCESSABLE_ENTITY, message);
    let text = |name: &str| form.get(name).unwrap_or("").to_owned();
    let asked: Result<DestinationRequest, (StatusCode, String)> =
        match form.get("kind").unwrap_or("") {
            "" => Err(refuse(tr.t("error-refund-kind"))),
            k if !kinds.iter().any(|x| x.as_str() == k) => {
                Err((StatusCode::BAD_REQUEST, tr.t("error-tampered")))
            }
            "bank_account" if indonesian(&o) => match text("bank").as_str() {
                "" => Err(refuse(payout_message(
                    tr,
                    "bank",
                    &PayoutProblem::Missing,
                    None,
                ))),
                b => match b.parse::<Bank>() {
                    Ok(bank) => Ok(DestinationRequest::BankAccount {
                        holder: text("holder"),
                        iban: None,
                        bank: Some(bank),
                        account_number: Some(text("account_number")),
                    }),
                    Err(_) => Err(refuse(field_message(
                        tr,
                        "bank",
                        tr.t("payout-unknown-bank"),
                    ))),
                },
            },
            "bank_account" => Ok(DestinationRequest::BankAccount {
                holder: text("holder"),
                iban: Some(text("iban")),
                bank: None,
                account_number: None,
            }),
            "e_wallet" => match text("provider").parse::<EWalletProvider>() {
                Ok(provider) => Ok(DestinationRequest::EWallet {
                    provider,
                    phone: text("phone"),
                    holder: None,
                }),
                Err(_) => Err(refuse(field_message(
                    tr,
                    "provider",
                    tr.t("payout-unknown-wallet"),
                ))),
            },
            _ => Ok(DestinationRequest::StoreCredit {}),
        };
    let checked = asked.and_then(|req| match RefundDestination::parse(&req) {
        Ok(_) => Ok(req),
        Err(PayoutError { field, problem }) => {
            let bank = match &req {
                DestinationRequest::BankAccount { bank, .. } => *bank,
                _ => None,
            };
            Err(refuse(payout_message(tr, field, &problem, bank)))
        }
    });
    match checked {
        Ok(req) => {
            let draft = Draft {
                destination: Some(req),
                ..draft
            };
            steps::next_step(&v, &o, draft).await
        }
        Err((status, message)) => {
            refund_form(&v, &o, &draft, status, &[message], Some(&form)).await
        }
    }
}

/// "{field}: {problem}" in the page's language.
fn field_message(tr: Tr, field: &str, problem: String) -> String {
    tr.ta(
        "error-payout",
        vec![
            ("field", tr.t(&format!("payout-field-{field}")).into()),
            ("problem", problem.into()),
        ],
    )
}

/// A refusal of `kembali_core::payout` in the page's language, naming the field.
fn payout_message(tr: Tr, field: &str, p: &PayoutProblem, bank: Option<Bank>) -> String {
    let problem = match p {
        PayoutProblem::Text(TextProblem::Empty) | PayoutProblem::Missing => tr.t("payout-missing"),
        PayoutProblem::Text(TextProblem::TooLong { max }) => {
            tr.ta("payout-too-long", vec![("max", (*max as i64).into())])
        }
        PayoutProblem::Text(TextProblem::ControlCharacter { .. }) => tr.t("payout-control"),
        PayoutProblem::IbanAndBank | PayoutProblem::NotAnIban => tr.t("payout-not-an-iban"),
        PayoutProblem::IbanCountry { country } => tr.ta(
            "payout-iban-country",
            vec![("country", country.as_str().into())],
        ),
        PayoutProblem::IbanLength {
            country,
            expected,
            found,
        } => tr.ta(
            "payout-iban-length",
            vec![
                ("country", country.as_str().into()),
                ("expected", (*expected as i64).into()),
                ("found", (*found as i64).into()),
            ],
        ),
        PayoutProblem::IbanChecksum => tr.t("payout-iban-checksum"),
        PayoutProblem::NotDigits => tr.t("payout-not-digits"),
        PayoutProblem::AccountLength {
            bank: name, found, ..
        } => {
            let lengths = bank.map_or(&[][..], Bank::account_lengths);
            let expected = lengths
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(&format!(" {} ", tr.t("word-or")));
            tr.ta(
                "payout-account-length",
                vec![
                    ("bank", (*name).into()),
                    ("expected", expected.into()),
                    ("found", (*found as i64).into()),
                ],
            )
        }
        PayoutProblem::NotAMobile => tr.t("payout-not-a-mobile"),
    };
    field_message(tr, field, problem)
}

/// A destination as the portal shows it: masked (`••••2874`).
pub(super) fn masked_words(tr: Tr, m: &MaskedDestination) -> String {
    let account = m.account.clone().unwrap_or_default();
    let holder = m.holder.clone().unwrap_or_default();
    match m.kind {
        DestinationKind::BankAccount => match m.bank {
            Some(b) => tr.ta(
                "destination-bank",
                vec![
                    ("bank", b.display_name().into()),
                    ("account", account.into()),
                    ("holder", holder.into()),
                ],
            ),
            None => tr.ta(
                "destination-iban",
                vec![("account", account.into()), ("holder", holder.into())],
            ),
        },
        DestinationKind::EWallet => tr.ta(
            "destination-wallet",
            vec![
                (
                    "provider",
                    m.provider.map_or("", |p| p.display_name()).into(),
                ),
                ("account", account.into()),
            ],
        ),
        DestinationKind::StoreCredit => tr.t("destination-store_credit"),
        DestinationKind::OriginalMethod => tr.t("destination-original_method"),
    }
}

/// The keys built from codes here, for the i18n test.
pub fn dynamic_keys() -> Vec<String> {
    [
        DestinationKind::BankAccount,
        DestinationKind::EWallet,
        DestinationKind::StoreCredit,
    ]
    .iter()
    .map(|k| format!("refund-kind-{}", k.as_str()))
    .chain(
        [
            "holder",
            "iban",
            "bank",
            "account_number",
            "provider",
            "phone",
        ]
        .iter()
        .map(|f| format!("payout-field-{f}")),
    )
    .collect()
}
