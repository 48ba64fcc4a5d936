//! What the portal signs with the shop's secret (HMAC-SHA256): the link that
//! opens an order, the link to a return's status page, the draft a shopper
//! carries from step to step, and the CSRF token of every form (bound to the
//! browser's session cookie, with an expiry). Drafts are sealed instead with
//! an AEAD (ChaCha20-Poly1305) under a key derived from the same secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use hmac::{Hmac, KeyInit, Mac};
use kembali_core::{OrderId, ReturnId, ShopId};
use sha2::Sha256;

/// How long a link made after a look-up opens the order.
pub const LOOKUP_TTL_MS: i64 = 2 * 60 * 60 * 1000;
/// How long a link sent by email opens the order.
pub const EMAIL_LINK_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// How long a form may wait before it is sent (less than the day the
/// idempotency keys that refuse replays are kept).
pub const FORM_TTL_MS: i64 = 12 * 60 * 60 * 1000;

/// The shop's secret, and the shop it belongs to (every signature names it).
pub struct Signer<'a> {
    pub secret: &'a [u8],
    pub shop: ShopId,
}

impl Signer<'_> {
    fn mac(&self, parts: &[&str]) -> Hmac<Sha256> {
        // `new_from_slice` takes keys of any length for HMAC.
        let mut mac = match Hmac::<Sha256>::new_from_slice(self.secret) {
            Ok(m) => m,
            Err(_) => unreachable_key(),
        };
        mac.update(self.shop.to_string().as_bytes());
        for p in parts {
            mac.update(b"\x1f");
            mac.update(p.as_bytes());
        }
        mac
    }

    /// The signature of `parts`, URL-safe base64 of the first 16 bytes.
    pub fn sign(&self, parts: &[&str]) -> String {
        let tag = self.mac(parts).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..16])
    }

    /// Whether `sig` is the signature of `parts` (compared in constant time).
    pub fn verify(&self, parts: &[&str], sig: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        given.len() == 16 && self.mac(parts).verify_truncated_left(&given).is_ok()
    }

    /// The path segment that opens `order` until `expires_ms`.
    pub fn order_token(&self, order: OrderId, expires_ms: i64) -> String {
        let (o, e) = (order.to_string(), expires_ms.to_string());
        format!("{o}.{e}.{}", self.sign(&["order", &o, &e]))
    }

    /// The order a token opens, if it is genuine and not expired at `now_ms`.
    pub fn open_order(&self, token: &str, now_ms: i64) -> Option<OrderId> {
        let mut parts = token.splitn(3, '.');
        let (o, e, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if !self.verify(&["order", o, e], sig) || e.parse::<i64>().ok()? <= now_ms {
            return None;
        }
        o.parse().ok()
    }

    /// The path segment of a return's status page (it does not expire: the
    /// shopper comes back to it).
    pub fn return_token(&self, ret: ReturnId) -> String {
        let r = ret.to_string();
        format!("{r}.{}", self.sign(&["return", &r]))
    }

    pub fn open_return(&self, token: &str) -> Option<ReturnId> {
        let (r, sig) = token.split_once('.')?;
        if !self.verify(&["return", r], sig) {
            return None;
        }
        r.parse().ok()
    }

    /// A draft (the shopper's choices so far) for `order`, encrypted and
    /// authenticated: it travels in addresses (`?d=`), and may carry a bank
    /// account or phone number that must not show in a browser's history or a
    /// proxy's log. ChaCha20-Poly1305 under a key derived from the shop's
    /// secret, with a fresh `nonce` and the order as associated data (a draft
    /// opens for its own order only): `{nonce and ciphertext}.{tag}`.
    pub fn seal(&self, order: OrderId, json: &str, nonce: u128) -> String {
        let mut n = Nonce::default();
        n.copy_from_slice(&nonce.to_le_bytes()[..12]);
        let mut text = json.as_bytes().to_vec();
        let aad = order.to_string();
        // Refused only for a text over 256 GiB; an empty answer is then
        // refused as changed on the way, as any broken draft is.
        let Ok(tag) = self.draft_cipher().encrypt_inout_detached(
            &n,
            aad.as_bytes(),
            text.as_mut_slice().into(),
        ) else {
            return String::new();
        };
        let mut bytes = n.to_vec();
        bytes.extend_from_slice(&text);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&bytes),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The draft's JSON, if `sealed` was sealed for `order` and not changed.
    pub fn unseal(&self, order: OrderId, sealed: &str) -> Option<String> {
        let (body, tag) = sealed.rsplit_once('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if bytes.len() < 12 || tag.len() != 16 {
            return None;
        }
        let (nonce, text) = bytes.split_at(12);
        let (mut n, mut t) = (Nonce::default(), Tag::default());
        n.copy_from_slice(nonce);
        t.copy_from_slice(&tag);
        let mut text = text.to_vec();
        let aad = order.to_string();
        self.draft_cipher()
            .decrypt_inout_detached(&n, aad.as_bytes(), text.as_mut_slice().into(), &t)
            .ok()?;
        String::from_utf8(text).ok()
    }

    /// The drafts' cipher, keyed from the shop's secret.
    fn draft_cipher(&self) -> ChaCha20Poly1305 {
        let key = self.mac(&["draft-key"]).finalize().into_bytes();
        ChaCha20Poly1305::new(&key)
    }

    /// A form's CSRF token for the session `sid`: a fresh nonce (which also
    /// keys the form's one write, so a replay is refused) and its expiry.
    pub fn csrf(&self, sid: &str, nonce: &str, expires_ms: i64) -> String {
        let e = expires_ms.to_string();
        format!("{nonce}.{e}.{}", self.sign(&["csrf", sid, nonce, &e]))
    }

    /// The nonce of a genuine, unexpired token of session `sid`.
    pub fn check_csrf<'t>(&self, sid: &str, token: &'t str, now_ms: i64) -> Option<&'t str> {
        let mut parts = token.splitn(3, '.');
        let (nonce, e, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if nonce.is_empty()
            || !self.verify(&["csrf", sid, nonce, e], sig)
            || e.parse::<i64>().ok()? <= now_ms
        {
            return None;
        }
        Some(nonce)
    }
}

#[cold]
fn unreachable_key() -> ! {
    // HMAC accepts every key length; this cannot happen.
    panic!("HMAC refused its key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &[u8]) -> Signer<'_> {
        Signer {
            secret,
            shop: ShopId::new(jiff::Timestamp::UNIX_EPOCH, 1),
        }
    }

    #[test]
    fn order_links_open_only_untampered_and_in_time() {
        let s = signer(b"secret");
        let order = OrderId::new(jiff::Timestamp::UNIX_EPOCH, 7);
        let t = s.order_token(order, 1000);
        assert_eq!(s.open_order(&t, 999), Some(order));
        assert_eq!(s.open_order(&t, 1000), None, "expired");
        assert_eq!(s.open_order(&t.replace(".1000.", ".9000."), 999), None);
        assert_eq!(signer(b"other").open_order(&t, 999), None);
    }

    #[test]
    fn drafts_and_csrf_tokens_refuse_changes() {
        let s = signer(b"secret");
        let order = OrderId::new(jiff::Timestamp::UNIX_EPOCH, 7);
        let sealed = s.seal(order, "{\"a\":1}", 42);
        assert_eq!(s.unseal(order, &sealed).as_deref(), Some("{\"a\":1}"));
        // The JSON does not show through.
        let body = sealed.split('.').next().unwrap_or("");
        let bytes = URL_SAFE_NO_PAD.decode(body).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&bytes).contains("\"a\""));
        assert_ne!(
            s.seal(order, "{\"a\":1}", 43),
            sealed,
            "a fresh nonce each time"
        );
        let other = OrderId::new(jiff::Timestamp::UNIX_EPOCH, 8);
        assert_eq!(s.unseal(other, &sealed), None);
        let forged = format!("{}.{}", URL_SAFE_NO_PAD.encode("{\"a\":2}"), "x");
        assert_eq!(s.unseal(order, &forged), None);
        // One bit of the ciphertext, or of the tag, changed: refused.
        let (body, tag) = sealed.rsplit_once('.').unwrap_or_default();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap_or_default();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        let flipped = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(s.unseal(order, &flipped), None);
        let mut t = URL_SAFE_NO_PAD.decode(tag).unwrap_or_default();
        t[0] ^= 1;
        let retagged = format!("{body}.{}", URL_SAFE_NO_PAD.encode(&t));
        assert_eq!(s.unseal(order, &retagged), None);
        assert_eq!(signer(b"other").unseal(order, &sealed), None);
        let token = s.csrf("sid", "n1", 500);
        assert_eq!(s.check_csrf("sid", &token, 10), Some("n1"));
        assert_eq!(s.check_csrf("other-sid", &token, 10), None);
        assert_eq!(s.check_csrf("sid", &token, 500), None);
    }
}
