//! Where a refund's money goes: the original payment method, store credit, a bank
//! account (an IBAN, or an Indonesian bank's account number) or an e-wallet,
//! each checked when it comes in and shown masked everywhere but to the payer.
//!
//! The one way in is [`RefundDestination::parse`] (from the shape a shopper or
//! the API sends, [`DestinationRequest`]); [`RefundDestination::masked`] is what
//! every view, answer and webhook shows. The full account number is read only
//! where the money is paid out.
//!
//! IBANs are checked by their ISO 13616 mod-97 check digits and the length each
//! SEPA country gives them (and, for Poland, digits only): the table below is
//! short and stable, so a crate for it would bring more than it saves.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::policy::DestinationKind;
use crate::text::{self, Form, TextProblem};

/// At most this many characters in an account holder's name.
pub const MAX_HOLDER: usize = 255;
/// At most this many characters in an IBAN, account number or phone number as
/// typed (spaces and dashes included).
pub const MAX_NUMBER_INPUT: usize = 64;

/// A destination as it is asked for: what a form or an API client sends.
/// Nothing in it is trusted until [`RefundDestination::parse`] accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationRequest {
    // Written with braces so that, like the others, they refuse fields they
    // do not have (serde lets a unit variant of a tagged enum ignore them).
    /// Back to the card, transfer or wallet the order was paid with.
    OriginalMethod {},
    /// Into the customer's store-credit account, the refund's amount (no bonus).
    StoreCredit {},
    /// A bank account: an `iban` (Poland, the EU and SEPA), or an Indonesian
    /// `bank` with its `account_number`.
    BankAccount {
        /// The account holder's name: 1–255 characters.
        #[schema(min_length = 1, max_length = 255)]
        holder: String,
        /// An IBAN; spaces allowed (`PL61 1090 1014 0000 0712 1981 2874`).
        #[serde(default)]
        #[schema(max_length = 64)]
        iban: Option<String>,
        /// An Indonesian bank, with `account_number`.
        #[serde(default)]
        bank: Option<Bank>,
        /// Digits (spaces, dots and dashes allowed), as many as `bank` issues.
        #[serde(default)]
        #[schema(max_length = 64)]
        account_number: Option<String>,
    },
    /// An Indonesian e-wallet, by the phone number it is registered to.
    EWallet {
        provider: EWalletProvider,
        /// An Indonesian mobile number: `+62 812…`, `62812…` or `0812…`.
        #[schema(max_length = 64)]
        phone: String,
        /// The name on the wallet, when the shopper gives it.
        #[serde(default)]
        #[schema(max_length = 255)]
        holder: Option<String>,
    },
}

/// An Indonesian bank refunds can be paid into, with the account-number
/// lengths it issues.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Bank {
    Bca,
    Mandiri,
    Bni,
    Bri,
    CimbNiaga,
    Permata,
    /// Bank Syariah Indonesia.
    Bsi,
    Danamon,
    Btn,
    OcbcNisp,
    Panin,
    Maybank,
}

impl Bank {
    /// Every bank, in the order a list shows them.
    pub const ALL: [Bank; 12] = [
        Bank::Bca,
        Bank::Mandiri,
        Bank::Bni,
        Bank::Bri,
        Bank::CimbNiaga,
        Bank::Permata,
        Bank::Bsi,
        Bank::Danamon,
        Bank::Btn,
        Bank::OcbcNisp,
        Bank::Panin,
        Bank::Maybank,
    ];

    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The name a shopper knows it by.
    pub fn display_name(self) -> &'static str {
        match self {
            Bank::Bca => "BCA",
            Bank::Mandiri => "Bank Mandiri",
            Bank::Bni => "BNI",
            Bank::Bri => "BRI",
            Bank::CimbNiaga => "CIMB Niaga",
            Bank::Permata => "PermataBank",
            Bank::Bsi => "Bank Syariah Indonesia",
            Bank::Danamon => "Danamon",
            Bank::Btn => "BTN",
            Bank::OcbcNisp => "OCBC NISP",
            Bank::Panin => "Panin Bank",
            Bank::Maybank => "Maybank Indonesia",
        }
    }

    /// How many digits the bank's savings and current account numbers have.
    pub fn account_lengths(self) -> &'static [usize] {
        match self {
            Bank::Bca | Bank::Bni | Bank::Permata | Bank::Bsi | Bank::Danamon => &[10],
            Bank::Panin | Bank::Maybank => &[10],
            Bank::Mandiri => &[13],
            Bank::CimbNiaga => &[13, 14],
            Bank::Bri => &[15],
            Bank::Btn => &[16],
            Bank::OcbcNisp => &[12],
        }
    }
}

/// An Indonesian e-wallet.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EWalletProvider {
    Gopay,
    Ovo,
    Dana,
    Shopeepay,
    Linkaja,
}

impl EWalletProvider {
    pub const ALL: [EWalletProvider; 5] = [
        EWalletProvider::Gopay,
        EWalletProvider::Ovo,
        EWalletProvider::Dana,
        EWalletProvider::Shopeepay,
        EWalletProvider::Linkaja,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn display_name(self) -> &'static str {
        match self {
            EWalletProvider::Gopay => "GoPay",
            EWalletProvider::Ovo => "OVO",
            EWalletProvider::Dana => "DANA",
            EWalletProvider::Shopeepay => "ShopeePay",
            EWalletProvider::Linkaja => "LinkAja",
        }
    }
}

/// A bank account that passed its checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum Account {
    /// An IBAN without spaces, upper case (`PL61109010140000071219812874`).
    Iban { iban: String },
    /// An Indonesian bank's account number, digits only.
    Indonesian { bank: Bank, number: String },
}

/// Where a refund goes, checked. Stored whole; shown only [`masked`](Self::masked),
/// except to the one who pays it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefundDestination {
    OriginalMethod,
    StoreCredit,
    BankAccount {
        holder: String,
        account: Account,
    },
    EWallet {
        provider: EWalletProvider,
        /// `+62` and the national number, digits only after the plus.
        phone: String,
        holder: Option<String>,
    },
}

/// A destination as every view shows it: the account or phone number cut to
/// its last four characters (`••••2874`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaskedDestination {
    pub kind: DestinationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// The IBAN's country (`PL`), for an IBAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<Bank>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<EWalletProvider>,
    /// The account or phone number's last four characters after `••••`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// What is wrong with a destination: a code with its arguments (pages say it in
/// their language); `Display` is the English the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutProblem {
    #[error("{0}")]
    Text(TextProblem),
    #[error("is required here")]
    Missing,
    #[error("give either an `iban` or a `bank` with its `account_number`, not both")]
    IbanAndBank,
    #[error("is not an IBAN (two letters, two check digits, then the account)")]
    NotAnIban,
    #[error("`{country}` is not a country whose IBANs Kembali can check")]
    IbanCountry { country: String },
    #[error("an IBAN of {country} has {expected} characters, not {found}")]
    IbanLength {
        country: String,
        expected: usize,
        found: usize,
    },
    #[error("the IBAN's check digits do not match: a character is mistyped")]
    IbanChecksum,
    #[error("must be digits only")]
    NotDigits,
    #[error("{bank} account numbers have {expected} digits, not {found}")]
    AccountLength {
        bank: &'static str,
        expected: String,
        found: usize,
    },
    #[error("is not an Indonesian mobile number (+62 8…, 62 8… or 08…, 10–13 digits)")]
    NotAMobile,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PayoutError {
    /// The field of the [`DestinationRequest`] (`iban`, `account_number`, …).
    pub field: &'static str,
    pub problem: PayoutProblem,
}

fn fail(field: &'static str, problem: PayoutProblem) -> PayoutError {
    PayoutError { field, problem }
}

/// IBAN lengths of the SEPA countries (ISO 13616 registry).
const IBAN_LENGTHS: [(&str, usize); 37] = [
    ("AD", 24),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IS", 26),
    ("IT", 27),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("VA", 22),
];

/// The expected length of an IBAN of `country`, if Kembali knows it.
pub fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, n)| *n)
}

/// Checks an IBAN as typed (spaces allowed, any case) and answers it without
/// spaces in upper case.
pub fn parse_iban(typed: &str) -> Result<String, PayoutProblem> {
    let iban: String = typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = iban.as_bytes();
    let well_formed = b.len() >= 5
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric);
    if !well_formed {
        return Err(PayoutProblem::NotAnIban);
    }
    let country = &iban[..2];
    let expected = iban_length(country).ok_or_else(|| PayoutProblem::IbanCountry {
        country: country.to_owned(),
    })?;
    if b.len() != expected {
        return Err(PayoutProblem::IbanLength {
            country: country.to_owned(),
            expected,
            found: b.len(),
        });
    }
    // Poland's account numbers (NRB) are digits only.
    if country == "PL" && !b[4..].iter().all(u8::is_ascii_digit) {
        return Err(PayoutProblem::NotAnIban);
    }
    // ISO 7064 mod 97-10: the first four characters moved to the end, letters as
    // 10–35, the whole number mod 97 is 1. Folded digit by digit to stay small.
    let mut rest: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rest = if v >= 10 {
            (rest * 100 + v) % 97
        } else {
            (rest * 10 + v) % 97
        };
    }
    if rest != 1 {
        return Err(PayoutProblem::IbanChecksum);
    }
    Ok(iban)
}

/// Digits of a number as typed, with spaces, dots and dashes dropped.
fn digits(typed: &str) -> Result<String, PayoutProblem> {
    let kept: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    if kept.is_empty() {
        return Err(PayoutProblem::Text(TextProblem::Empty));
    }
    if !kept.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PayoutProblem::NotDigits);
    }
    Ok(kept)
}

/// Checks an Indonesian bank account number against the bank's lengths.
pub fn parse_account_number(bank: Bank, typed: &str) -> Result<String, PayoutProblem> {
    let n = digits(typed)?;
    let lengths = bank.account_lengths();
    if !lengths.contains(&n.len()) {
        let expected = lengths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(PayoutProblem::AccountLength {
            bank: bank.display_name(),
            expected,
            found: n.len(),
        });
    }
    Ok(n)
}

/// Checks an Indonesian mobile number (`+62 812-3456-7890`, `6281234567890`,
/// `081234567890`) and answers it as `+62` and the national number.
pub fn parse_mobile(typed: &str) -> Result<String, PayoutProblem> {
    let t = typed.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let kept: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    if !kept.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PayoutProblem::NotAMobile);
    }
    let national = kept
        .strip_prefix("62")
        .or_else(|| kept.strip_prefix('0'))
        .ok_or(PayoutProblem::NotAMobile)?;
    // Mobile numbers start with 8 and have 9–12 digits after the trunk 0.
    if !national.starts_with('8') || !(9..=12).contains(&national.len()) {
        return Err(PayoutProblem::NotAMobile);
    }
    Ok(format!("+62{national}"))
}

fn holder(field: &'static str, s: &str) -> Result<String, PayoutError> {
    text::check_required(s, Form::Line, MAX_HOLDER)
        .map_err(|p| fail(field, PayoutProblem::Text(p)))?;
    Ok(s.trim().to_owned())
}

fn number_input(field: &'static str, s: &str) -> Result<(), PayoutError> {
    text::check(s, Form::Line, MAX_NUMBER_INPUT).map_err(|p| fail(field, PayoutProblem::Text(p)))
}

/// `••••` and the last four characters of `s`.
fn last_four(s: &str) -> String {
    let tail: String = s
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("••••{tail}")
}

impl RefundDestination {
    /// The one way in: checks every field of the request and keeps it normalised
    /// (IBAN without spaces, digits only, the phone as `+62…`).
    pub fn parse(req: &DestinationRequest) -> Result<RefundDestination, PayoutError> {
        match req {
            DestinationRequest::OriginalMethod {} => Ok(RefundDestination::OriginalMethod),
            DestinationRequest::StoreCredit {} => Ok(RefundDestination::StoreCredit),
            DestinationRequest::BankAccount {
                holder: name,
                iban,
                bank,
                account_number,
            } => {
                let holder = holder("holder", name)?;
                let account = match (iban, bank, account_number) {
                    (Some(iban), None, None) => {
                        number_input("iban", iban)?;
                        Account::Iban {
                            iban: parse_iban(iban).map_err(|p| fail("iban", p))?,
                        }
                    }
                    (None, Some(bank), Some(number)) => {
                        number_input("account_number", number)?;
                        Account::Indonesian {
                            bank: *bank,
                            number: parse_account_number(*bank, number)
                                .map_err(|p| fail("account_number", p))?,
                        }
                    }
                    (None, Some(_), None) => {
                        return Err(fail("account_number", PayoutProblem::Missing));
                    }
                    (None, None, Some(_)) => return Err(fail("bank", PayoutProblem::Missing)),
                    (None, None, None) => return Err(fail("iban", PayoutProblem::Missing)),
                    (Some(_), _, _) => return Err(fail("iban", PayoutProblem::IbanAndBank)),
                };
                Ok(RefundDestination::BankAccount { holder, account })
            }
            DestinationRequest::EWallet {
                provider,
                phone,
                holder: name,
            } => {
                number_input("phone", phone)?;
                let phone = parse_mobile(phone).map_err(|p| fail("phone", p))?;
                let holder = name.as_deref().map(|n| holder("holder", n)).transpose()?;
                Ok(RefundDestination::EWallet {
                    provider: *provider,
                    phone,
                    holder,
                })
            }
        }
    }

    /// Which kind of destination this is, as the policy names them.
    pub fn kind(&self) -> DestinationKind {
        match self {
            RefundDestination::OriginalMethod => DestinationKind::OriginalMethod,
            RefundDestination::StoreCredit => DestinationKind::StoreCredit,
            RefundDestination::BankAccount { .. } => DestinationKind::BankAccount,
            RefundDestination::EWallet { .. } => DestinationKind::EWallet,
        }
    }

    /// What every view shows: no account or phone number beyond its last four.
    pub fn masked(&self) -> MaskedDestination {
        let mut m = MaskedDestination {
            kind: self.kind(),
            holder: None,
            iban_country: None,
            bank: None,
            provider: None,
            account: None,
        };
        match self {
            RefundDestination::OriginalMethod | RefundDestination::StoreCredit => {}
            RefundDestination::BankAccount { holder, account } => {
                m.holder = Some(holder.clone());
                match account {
                    Account::Iban { iban } => {
                        m.iban_country = iban.get(..2).map(str::to_owned);
                        m.account = Some(last_four(iban));
                    }
                    Account::Indonesian { bank, number } => {
                        m.bank = Some(*bank);
                        m.account = Some(last_four(number));
                    }
                }
            }
            RefundDestination::EWallet {
                provider,
                phone,
                holder,
            } => {
                m.provider = Some(*provider);
                m.holder = holder.clone();
                m.account = Some(last_four(phone));
            }
        }
        m
    }
}

/// For `#[serde(serialize_with)]` on a field holding a destination: it goes
/// out masked, so a type that carries one cannot leak the number by accident.
pub fn serialize_masked<S: serde::Serializer>(
    d: &Option<RefundDestination>,
    s: S,
) -> Result<S::Ok, S::Error> {
    d.as_ref().map(RefundDestination::masked).serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank(holder: &str, bank: Option<Bank>, number: Option<&str>) -> DestinationRequest {
        DestinationRequest::BankAccount {
            holder: holder.into(),
            iban: None,
            bank,
            account_number: number.map(str::to_owned),
        }
    }

    fn iban(s: &str) -> DestinationRequest {
        DestinationRequest::BankAccount {
            holder: "Jan Kowalski".into(),
            iban: Some(s.into()),
            bank: None,
            account_number: None,
        }
    }

    #[test]
    fn ibans_pass_by_their_check_digits_and_length() {
        // Published example IBANs of their registries.
        for ok in [
            "PL61 1090 1014 0000 0712 1981 2874",
            "pl61109010140000071219812874",
            "DE89 3704 0044 0532 0130 00",
            "GB82 WEST 1234 5698 7654 32",
            "NL91ABNA0417164300",
            "FR14 2004 1010 0505 0001 3M02 606",
        ] {
            assert!(parse_iban(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            parse_iban("PL61 1090 1014 0000 0712 1981 2874").as_deref(),
            Ok("PL61109010140000071219812874")
        );
        // One digit changed: the checksum catches it.
        assert_eq!(
            parse_iban("PL61 1090 1014 0000 0712 1981 2875"),
            Err(PayoutProblem::IbanChecksum)
        );
        // Two digits swapped.
        assert_eq!(
            parse_iban("PL61 1090 1014 0000 0712 1981 8274"),
            Err(PayoutProblem::IbanChecksum)
        );
        assert_eq!(
            parse_iban("PL61 1090 1014 0000 0712 1981 287"),
            Err(PayoutProblem::IbanLength {
                country: "PL".into(),
                expected: 28,
                found: 27
            })
        );
        assert_eq!(
            parse_iban("ID12 3456 7890"),
            Err(PayoutProblem::IbanCountry {
                country: "ID".into()
            })
        );
        assert_eq!(parse_iban("12PL"), Err(PayoutProblem::NotAnIban));
        assert_eq!(
            parse_iban("PL61 1090 1014 0000 0712 1981 28#4"),
            Err(PayoutProblem::NotAnIban)
        );
    }

    #[test]
    fn indonesian_accounts_have_their_banks_length() {
        let d =
            RefundDestination::parse(&bank("Budi Santoso", Some(Bank::Bca), Some("123-456 7890")))
                .expect("a BCA account of ten digits");
        assert_eq!(
            d,
            RefundDestination::BankAccount {
                holder: "Budi Santoso".into(),
                account: Account::Indonesian {
                    bank: Bank::Bca,
                    number: "1234567890".into()
                }
            }
        );
        let short =
            RefundDestination::parse(&bank("Budi", Some(Bank::Mandiri), Some("1234567890")));
        assert_eq!(
            short.map_err(|e| (e.field, e.problem.to_string())),
            Err((
                "account_number",
                "Bank Mandiri account numbers have 13 digits, not 10".to_owned()
            ))
        );
        let letters = RefundDestination::parse(&bank("Budi", Some(Bank::Bca), Some("12345abcde")));
        assert_eq!(
            letters.map_err(|e| e.problem),
            Err(PayoutProblem::NotDigits)
        );
        let no_bank = RefundDestination::parse(&bank("Budi", None, Some("1234567890")));
        assert_eq!(no_bank.map_err(|e| e.field), Err("bank"));
        let no_holder = RefundDestination::parse(&bank(" ", Some(Bank::Bca), Some("1234567890")));
        assert_eq!(no_holder.map_err(|e| e.field), Err("holder"));
        assert_eq!(
            Bank::ALL.as_slice(),
            <Bank as strum::VariantArray>::VARIANTS
        );
        assert_eq!(
            EWalletProvider::ALL.as_slice(),
            <EWalletProvider as strum::VariantArray>::VARIANTS
        );
        for b in <Bank as strum::VariantArray>::VARIANTS {
            assert!(!b.account_lengths().is_empty());
            assert_eq!(b.as_str().parse::<Bank>().ok(), Some(*b));
        }
    }

    #[test]
    fn e_wallets_take_indonesian_mobile_numbers() {
        for (typed, stored) in [
            ("+62 812-3456-7890", "+6281234567890"),
            ("6281234567890", "+6281234567890"),
            ("0812 3456 7890", "+6281234567890"),
            ("0857123456", "+62857123456"),
        ] {
            assert_eq!(parse_mobile(typed).as_deref(), Ok(stored), "{typed}");
        }
        for bad in [
            "+48 601 234 567",
            "0212345678",
            "08123",
            "0812345678901234",
            "08x2345678",
        ] {
            assert_eq!(parse_mobile(bad), Err(PayoutProblem::NotAMobile), "{bad}");
        }
    }

    #[test]
    fn every_view_is_masked() {
        let d =
            RefundDestination::parse(&iban("PL61 1090 1014 0000 0712 1981 2874")).expect("valid");
        let m = d.masked();
        assert_eq!(m.account.as_deref(), Some("••••2874"));
        assert_eq!(m.iban_country.as_deref(), Some("PL"));
        let json = serde_json::to_string(&m).expect("json");
        assert!(!json.contains("10901014"), "{json}");

        let w = RefundDestination::parse(&DestinationRequest::EWallet {
            provider: EWalletProvider::Gopay,
            phone: "081234567890".into(),
            holder: None,
        })
        .expect("valid");
        assert_eq!(w.masked().account.as_deref(), Some("••••7890"));
        assert_eq!(w.kind(), DestinationKind::EWallet);
        assert_eq!(
            RefundDestination::StoreCredit.masked().kind,
            DestinationKind::StoreCredit
        );
    }

    #[test]
    fn requests_read_from_json_strictly() {
        let r: DestinationRequest = serde_json::from_str(
            r#"{"kind":"bank_account","holder":"Budi","bank":"bca","account_number":"1234567890"}"#,
        )
        .expect("json");
        assert!(RefundDestination::parse(&r).is_ok());
        assert!(
            serde_json::from_str::<DestinationRequest>(r#"{"kind":"store_credit","x":1}"#).is_err()
        );
        assert!(serde_json::from_str::<DestinationRequest>(r#"{"kind":"cash"}"#).is_err());
    }
}
