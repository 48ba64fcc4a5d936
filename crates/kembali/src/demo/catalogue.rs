//! What the demo shop sells, at what price in each market, and how often.

use crate::synthetic::Item;

pub(super) struct Product {
    pub(super) item: Item<'static>,
    /// Prices in IDR, PLN and EUR minor units (IDR has two decimals in Kembali).
    pub(super) prices: [i64; 3],
    /// How often it sells in each market.
    pub(super) weight: [u64; 3],
}

const fn product(
    sku: &'static str,
    title: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    prices: [i64; 3],
    final_sale: bool,
    weight: [u64; 3],
) -> Product {
    Product {
        item: Item {
            sku,
            title,
            category,
            tags,
            final_sale,
        },
        prices,
        weight,
    }
}

#[rustfmt::skip]
pub(super) const CATALOGUE: &[Product] = &[
    // sku, title, category, tags, prices (IDR, PLN, EUR), final sale, weight (ID, PL, EU)
    product("BATIK-PARANG-M", "Batik shirt, parang pattern, M", "shirts", &["batik", "cotton"], [32_500_000, 14_999, 3_499], false, [9, 3, 3]),
    product("BATIK-PARANG-L", "Batik shirt, parang pattern, L", "shirts", &["batik", "cotton"], [32_500_000, 14_999, 3_499], false, [8, 3, 3]),
    product("HIJAB-VOAL-SAGE", "Voal hijab, sage", "accessories", &["hijab"], [8_900_000, 4_999, 1_299], false, [10, 1, 1]),
    product("HIJAB-VOAL-NAVY", "Voal hijab, navy", "accessories", &["hijab"], [8_900_000, 4_999, 1_299], false, [8, 1, 1]),
    product("SARONG-TENUN", "Hand-woven tenun sarong", "accessories", &["tenun", "handmade"], [42_500_000, 18_900, 4_499], false, [5, 1, 2]),
    product("SNEAKER-CANVAS-41", "Canvas sneakers, EU 41", "shoes", &["shoes"], [45_000_000, 22_900, 5_499], false, [6, 6, 6]),
    product("SNEAKER-CANVAS-42", "Canvas sneakers, EU 42", "shoes", &["shoes"], [45_000_000, 22_900, 5_499], false, [6, 6, 6]),
    product("KETTLE-STEEL-17", "Electric kettle, steel, 1.7 l", "kitchen", &["electronics", "warranty-2y"], [38_900_000, 18_900, 4_499], false, [4, 5, 5]),
    product("MUG-STONEWARE-2", "Stoneware mugs, set of 2", "kitchen", &["ceramics", "fragile"], [12_900_000, 5_999, 1_899], false, [3, 5, 5]),
    product("PHONECASE-CLEAR", "Clear phone case", "accessories", &["phone"], [4_500_000, 1_999, 499], false, [7, 6, 6]),
    product("CABLE-USBC-1M", "USB-C cable, 1 m", "electronics", &["phone", "electronics"], [3_900_000, 1_899, 450], false, [5, 5, 5]),
    product("BOOK-LASKAR", "Laskar Pelangi, paperback", "books", &["books"], [9_800_000, 3_999, 1_199], false, [4, 2, 2]),
    product("SERUM-VITC-30", "Vitamin C serum, 30 ml", "beauty", &["cosmetics", "hygiene", "final-sale"], [15_900_000, 7_999, 1_999], true, [5, 5, 5]),
    product("LIPSTICK-MATTE-04", "Matte lipstick, shade 04", "beauty", &["cosmetics", "hygiene", "final-sale"], [7_900_000, 3_499, 899], true, [4, 4, 4]),
    product("DRESS-LINEN-S", "Linen dress, S, last season", "dresses", &["linen", "clearance", "final-sale"], [27_500_000, 12_900, 2_999], true, [3, 4, 4]),
    product("BACKPACK-20L", "Everyday backpack, 20 l", "bags", &["bags"], [59_900_000, 27_900, 6_499], false, [4, 5, 5]),
    product("EARBUDS-BT", "Bluetooth earbuds", "electronics", &["electronics", "warranty-1y"], [69_900_000, 29_900, 7_999], false, [5, 5, 5]),
    product("SCARF-MERINO", "Merino wool scarf", "accessories", &["wool"], [24_900_000, 11_900, 2_999], false, [1, 6, 6]),
    product("YOGA-MAT-6MM", "Yoga mat, 6 mm", "sports", &["sports"], [29_900_000, 13_900, 3_299], false, [3, 4, 4]),
];

/// Unit prices up to these (IDR, PLN, EUR minor units) are kept, not sent back.
pub(super) const KEEP_BELOW: [i64; 3] = [5_000_000, 2_000, 500];

/// The products the shop keeps as a catalogue of variants, with stock: what an
/// exchange is made from (another size or colour of the same product). Each
/// variant is a SKU of [`CATALOGUE`], priced as the Indonesian market's.
pub(super) struct Family {
    pub(super) title: &'static str,
    pub(super) category: &'static str,
    /// The option's name, and each variant's SKU and value.
    pub(super) option: &'static str,
    pub(super) variants: &'static [(&'static str, &'static str)],
    pub(super) stock: i64,
}

pub(super) const FAMILIES: &[Family] = &[
    Family {
        title: "Batik shirt, parang pattern",
        category: "shirts",
        option: "size",
        variants: &[("BATIK-PARANG-M", "M"), ("BATIK-PARANG-L", "L")],
        stock: 40,
    },
    Family {
        title: "Voal hijab",
        category: "accessories",
        option: "colour",
        variants: &[("HIJAB-VOAL-SAGE", "sage"), ("HIJAB-VOAL-NAVY", "navy")],
        stock: 60,
    },
    Family {
        title: "Canvas sneakers",
        category: "shoes",
        option: "size",
        variants: &[
            ("SNEAKER-CANVAS-41", "EU 41"),
            ("SNEAKER-CANVAS-42", "EU 42"),
        ],
        stock: 25,
    },
];

/// The product of [`CATALOGUE`] sold under `sku`.
pub(super) fn by_sku(sku: &str) -> Option<&'static Product> {
    CATALOGUE.iter().find(|p| p.item.sku == sku)
}
