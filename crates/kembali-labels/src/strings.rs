//! The words printed on labels and packing slips, in every language Kembali
//! speaks. One struct per language, so a missing string is a compile error.

use kembali_core::returns::{ReturnMethod, ReturnReason};
use kembali_core::shop::Locale;

/// Everything the printed paper says, in one language.
#[derive(Debug)]
pub struct Strings {
    /// The big word on the label.
    pub label_title: &'static str,
    pub slip_title: &'static str,
    pub return_number: &'static str,
    pub order: &'static str,
    pub date: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub items: &'static str,
    pub sku: &'static str,
    pub item: &'static str,
    pub quantity: &'static str,
    pub reason: &'static str,
    /// `{n}` is the number of items not printed.
    pub more_items: &'static str,
    pub how_to: &'static str,
    /// The steps for a parcel that travels with the label.
    pub steps: [&'static str; 4],
    pub method: &'static str,
    /// The footer under the steps.
    pub questions: &'static str,
    /// The return reasons, in the order of `ReturnReason::ALL`.
    pub reasons: [&'static str; 8],
    /// The return methods, in the order of `ReturnMethod::ALL`.
    pub methods: [&'static str; 5],
}

impl Strings {
    pub fn more(&self, n: usize) -> String {
        self.more_items.replace("{n}", &n.to_string())
    }

    /// A return reason in this language.
    pub fn reason(&self, reason: ReturnReason) -> &'static str {
        let names = &self.reasons;
        let at = ReturnReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(names.len() - 1);
        names[at]
    }

    /// How the parcel comes back, in this language.
    pub fn method_name(&self, method: ReturnMethod) -> &'static str {
        let names = &self.methods;
        let at = ReturnMethod::ALL
            .iter()
            .position(|m| *m == method)
            .unwrap_or(0);
        names[at]
    }
}

/// The strings of `locale`.
pub fn strings(locale: Locale) -> &'static Strings {
    match locale {
        Locale::En => &EN,
        Locale::Id => &ID,
        Locale::Pl => &PL,
    }
}

pub static EN: Strings = Strings {
    label_title: "RETURN",
    slip_title: "Return packing slip",
    return_number: "Return number",
    order: "Order",
    date: "Date",
    from: "From",
    to: "Return to",
    items: "Items in this parcel",
    sku: "SKU",
    item: "Item",
    quantity: "Qty",
    reason: "Reason",
    more_items: "+ {n} more on the packing slip",
    how_to: "How to send it back",
    steps: [
        "Put the items listed above in the parcel, together with this slip.",
        "Stick the label on the outside of the parcel and cover or remove any old labels.",
        "Hand the parcel in as chosen; keep the receipt until your return is done.",
        "We will tell you by email when the parcel arrives and when your return is settled.",
    ],
    method: "How it comes back",
    questions: "Questions? Reply to any email about this return and quote its number.",
    reasons: [
        "Changed my mind",
        "Wrong size",
        "Not as described",
        "Damaged",
        "Defective",
        "Wrong item",
        "Arrived late",
        "Other",
    ],
    methods: [
        "Drop-off point",
        "Courier pickup",
        "In store",
        "Own shipping",
        "No shipping",
    ],
};

pub static ID: Strings = Strings {
    label_title: "RETUR",
    slip_title: "Daftar isi paket retur",
    return_number: "Nomor retur",
    order: "Pesanan",
    date: "Tanggal",
    from: "Dari",
    to: "Kirim ke",
    items: "Barang dalam paket ini",
    sku: "SKU",
    item: "Barang",
    quantity: "Jml",
    reason: "Alasan",
    more_items: "+ {n} lainnya di daftar isi paket",
    how_to: "Cara mengirim kembali",
    steps: [
        "Masukkan barang yang tercantum di atas ke dalam paket, bersama lembar ini.",
        "Tempel label di bagian luar paket dan tutup atau lepas label lama.",
        "Serahkan paket sesuai cara yang dipilih; simpan tanda terimanya sampai retur selesai.",
        "Kami akan mengabari Anda lewat email saat paket tiba dan saat retur diselesaikan.",
    ],
    method: "Cara pengembalian",
    questions: "Ada pertanyaan? Balas email mana pun tentang retur ini dan sebutkan nomornya.",
    reasons: [
        "Berubah pikiran",
        "Ukuran tidak pas",
        "Tidak sesuai deskripsi",
        "Rusak",
        "Cacat produksi",
        "Barang salah",
        "Terlambat tiba",
        "Lainnya",
    ],
    methods: [
        "Titik antar",
        "Dijemput kurir",
        "Di toko",
        "Kirim sendiri",
        "Tanpa pengiriman",
    ],
};

pub static PL: Strings = Strings {
    label_title: "ZWROT",
    slip_title: "Lista zawartości zwrotu",
    return_number: "Numer zwrotu",
    order: "Zamówienie",
    date: "Data",
    from: "Nadawca",
    to: "Odbiorca zwrotu",
    items: "Produkty w tej paczce",
    sku: "Kod",
    item: "Produkt",
    quantity: "Ilość",
    reason: "Powód",
    more_items: "+ {n} więcej na liście zawartości",
    how_to: "Jak odesłać paczkę",
    steps: [
        "Włóż do paczki produkty wymienione powyżej razem z tą listą.",
        "Naklej etykietę na zewnątrz paczki, a stare etykiety zaklej lub usuń.",
        "Nadaj paczkę wybranym sposobem i zachowaj potwierdzenie do zakończenia zwrotu.",
        "Powiadomimy Cię e-mailem, gdy paczka dotrze i gdy zwrot zostanie rozliczony.",
    ],
    method: "Sposób zwrotu",
    questions: "Pytania? Odpowiedz na dowolny e-mail w sprawie tego zwrotu i podaj jego numer.",
    reasons: [
        "Zmiana decyzji",
        "Zły rozmiar",
        "Niezgodny z opisem",
        "Uszkodzony",
        "Wadliwy",
        "Niewłaściwy produkt",
        "Dostarczony za późno",
        "Inny",
    ],
    methods: [
        "Punkt nadania",
        "Odbiór przez kuriera",
        "W sklepie",
        "Wysyłka własna",
        "Bez wysyłki",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_names_every_reason_and_method() {
        assert_eq!(
            strings(Locale::Pl).reason(ReturnReason::WrongSize),
            "Zły rozmiar"
        );
        assert_eq!(strings(Locale::Id).reason(ReturnReason::Other), "Lainnya");
        assert_eq!(
            strings(Locale::En).reason(ReturnReason::ChangedMind),
            "Changed my mind"
        );
        assert_eq!(
            strings(Locale::Pl).method_name(ReturnMethod::CourierPickup),
            "Odbiór przez kuriera"
        );
        assert_eq!(
            strings(Locale::Id).more(3),
            "+ 3 lainnya di daftar isi paket"
        );
        for l in Locale::ALL {
            let s = strings(l);
            assert!(s.steps.iter().all(|t| !t.is_empty()), "{l:?}");
        }
    }
}
