//! What shoppers and agents write on the demo's returns, in the shopper's
//! language (Indonesian, Polish or English).

use kembali_core::returns::ReturnReason;
use kembali_core::shop::Locale;

/// The same sentence in the shopper's language.
fn say(locale: Locale, id: &str, pl: &str, en: &str) -> String {
    match locale {
        Locale::Id => id,
        Locale::Pl => pl,
        Locale::En => en,
    }
    .to_owned()
}

pub(super) fn shopper_comment(locale: Locale, reason: ReturnReason) -> String {
    use ReturnReason as R;
    let (id, pl, en) = match reason {
        R::ChangedMind => (
            "Tidak jadi dipakai, label masih terpasang.",
            "Jednak zostaję przy innym modelu, metki są na miejscu.",
            "Changed my mind, it's unused with the tags on.",
        ),
        R::WrongSize => (
            "Ukurannya kekecilan, mau satu ukuran lebih besar.",
            "Za mały rozmiar, poproszę o jeden większy.",
            "Too small, I'd like one size up.",
        ),
        R::NotAsDescribed => (
            "Warnanya beda dengan foto di toko.",
            "Kolor inny niż na zdjęciach w sklepie.",
            "The colour is quite different from the photos.",
        ),
        R::Damaged => (
            "Barang sampai dalam keadaan rusak, kardusnya penyok.",
            "Paczka dotarła zgnieciona, produkt jest uszkodzony.",
            "It arrived damaged, the box was crushed.",
        ),
        R::Defective => (
            "Tidak bisa menyala sejak hari pertama.",
            "Przestał działać po dwóch dniach.",
            "It stopped working after two days.",
        ),
        R::WrongItem => (
            "Yang dikirim bukan barang yang saya pesan.",
            "Przyszedł inny produkt niż zamówiony.",
            "I received a different item from the one I ordered.",
        ),
        R::ArrivedLate => (
            "Barang datang terlambat, sudah tidak dibutuhkan.",
            "Przesyłka przyszła za późno, już jej nie potrzebuję.",
            "It arrived too late for the occasion.",
        ),
        R::Other => (
            "Kurang sesuai harapan.",
            "Produkt nie spełnia moich oczekiwań.",
            "Not what I expected.",
        ),
    };
    say(locale, id, pl, en)
}

pub(super) fn rejection(locale: Locale, reason: ReturnReason, risky: bool) -> String {
    use ReturnReason as R;
    if risky {
        return say(
            locale,
            "Dua paket COD sebelumnya ditolak saat diantar. Silakan hubungi kami untuk mengatur pengembalian ini.",
            "Dwie wcześniejsze paczki za pobraniem nie zostały odebrane. Skontaktuj się z nami, aby ustalić ten zwrot.",
            "Two earlier cash-on-delivery parcels were refused at the door. Please contact us to arrange this return.",
        );
    }
    match reason {
        R::Damaged | R::Defective => say(
            locale,
            "Foto menunjukkan bekas pemakaian, bukan kerusakan saat pengiriman atau cacat produksi.",
            "Zdjęcia pokazują ślady używania, a nie uszkodzenie w transporcie ani wadę.",
            "The photos show signs of use, not damage in transit or a fault.",
        ),
        R::NotAsDescribed => say(
            locale,
            "Produk sesuai dengan deskripsi dan foto di halaman produk.",
            "Produkt jest zgodny z opisem i zdjęciami na stronie produktu.",
            "The product matches the description and photos on its page.",
        ),
        _ => say(
            locale,
            "Alasan ini tidak termasuk dalam kebijakan pengembalian kami; detailnya kami kirim lewat email.",
            "Ten powód nie jest objęty naszą polityką zwrotów; szczegóły wysłaliśmy e-mailem.",
            "This reason is not covered by our returns policy; we have emailed you the details.",
        ),
    }
}

/// A shopper taking back their own request.
pub(super) fn change_of_heart(locale: Locale) -> String {
    say(
        locale,
        "Tidak jadi retur, ternyata cocok.",
        "Rezygnuję ze zwrotu, jednak zostawiam.",
        "I've decided to keep it after all.",
    )
}
