//! The demo shop: a realistic, deterministic shop with orders from Indonesia,
//! Poland and English-speaking EU customers, and returns in every state.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use kembali_core::order::{
    Address, Order, OrderLine, PaymentMethod, Shipment, ShipmentLine, TrackingStatus,
};
use kembali_core::policy::{
    Conditions, Defaults, Effects, Fee, PolicyDocument, PriceRange, Range, Rule,
};
use kembali_core::returns::{
    Actor, Command, Condition, Disposition, ItemInspection, ItemReceipt, ReceiptOutcome,
    Resolution, ReturnMethod, ReturnReason, ReturnStatus,
};
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, LineId, Money, OrderId, ShipmentId, ShopId};
use kembali_store::returns::{self, OpenItem};
use kembali_store::{Db, StoreError, orders, shops};

pub struct DemoSummary {
    pub shop: Shop,
    pub orders: usize,
    /// A delivered order to try the API on.
    pub sample_order: Option<OrderId>,
    pub returns_by_status: Vec<(ReturnStatus, usize)>,
    pub api_key: String,
}

/// SplitMix64: a tiny deterministic generator, so the demo is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn entropy(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
}

struct Market {
    currency: Currency,
    locale: Locale,
    countries: &'static [&'static str],
    cities: &'static [(&'static str, &'static str)],
    first: &'static [&'static str],
    last: &'static [&'static str],
    streets: &'static [&'static str],
    carriers: &'static [&'static str],
    /// Percent of orders paid cash on delivery.
    cod: u64,
    /// Tax rate in basis points (prices include it).
    tax_bps: i64,
    shipping: i64,
    email_domain: &'static str,
}

const MARKETS: [Market; 3] = [
    Market {
        currency: Currency::IDR,
        locale: Locale::Id,
        countries: &["ID"],
        cities: &[
            ("Jakarta Selatan", "12190"),
            ("Bandung", "40115"),
            ("Surabaya", "60271"),
            ("Yogyakarta", "55281"),
            ("Medan", "20112"),
            ("Denpasar", "80234"),
        ],
        first: &[
            "Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri", "Andi", "Nur", "Fajar", "Ayu",
            "Hendra", "Rina",
        ],
        last: &[
            "Santoso",
            "Wijaya",
            "Hidayat",
            "Lestari",
            "Saputra",
            "Kusuma",
            "Pratama",
            "Wulandari",
        ],
        streets: &[
            "Jl. Sudirman No. 12",
            "Jl. Merdeka No. 5",
            "Jl. Gatot Subroto No. 88",
            "Jl. Diponegoro No. 21",
            "Jl. Malioboro No. 3",
        ],
        carriers: &["JNE", "J&T Express", "SiCepat"],
        cod: 65,
        tax_bps: 1100,
        shipping: 1_800_000,
        email_domain: "contoh.co.id",
    },
    Market {
        currency: Currency::PLN,
        locale: Locale::Pl,
        countries: &["PL"],
        cities: &[
            ("Warszawa", "00-001"),
            ("Kraków", "30-001"),
            ("Gdańsk", "80-001"),
            ("Wrocław", "50-001"),
            ("Poznań", "60-001"),
            ("Łódź", "90-001"),
        ],
        first: &[
            "Anna",
            "Piotr",
            "Katarzyna",
            "Tomasz",
            "Magdalena",
            "Paweł",
            "Agnieszka",
            "Michał",
            "Joanna",
            "Krzysztof",
        ],
        last: &[
            "Nowak",
            "Kowalska",
            "Wiśniewski",
            "Wójcik",
            "Kamińska",
            "Lewandowski",
            "Zielińska",
            "Szymański",
        ],
        streets: &[
            "ul. Marszałkowska 10",
            "ul. Floriańska 7",
            "ul. Długa 22",
            "ul. Piotrkowska 104",
            "ul. Świętojańska 3",
        ],
        carriers: &["InPost", "DPD Polska", "Poczta Polska"],
        cod: 15,
        tax_bps: 2300,
        shipping: 1499,
        email_domain: "przyklad.pl",
    },
    Market {
        currency: Currency::EUR,
        locale: Locale::En,
        countries: &["IE", "MT", "NL"],
        cities: &[
            ("Dublin", "D02 X285"),
            ("Cork", "T12 RX2Y"),
            ("Valletta", "VLT 1010"),
            ("Amsterdam", "1012 AB"),
            ("Galway", "H91 TK33"),
        ],
        first: &[
            "Emma", "Liam", "Olivia", "Noah", "Sophie", "James", "Grace", "Jack", "Chloe", "Daniel",
        ],
        last: &[
            "Murphy",
            "Kelly",
            "Walsh",
            "Byrne",
            "Camilleri",
            "Borg",
            "de Vries",
            "O'Brien",
        ],
        streets: &[
            "12 Grafton Street",
            "4 Merchant's Road",
            "27 Republic Street",
            "8 Prinsengracht",
            "15 Shop Street",
        ],
        carriers: &["DHL", "GLS"],
        cod: 0,
        tax_bps: 2300,
        shipping: 695,
        email_domain: "example.ie",
    },
];

struct Product {
    sku: &'static str,
    title: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    /// Prices in IDR, PLN and EUR minor units.
    prices: [i64; 3],
    final_sale: bool,
}

const CATALOGUE: &[Product] = &[
    Product {
        sku: "BATIK-SHIRT-M",
        title: "Batik shirt, parang pattern (M)",
        category: "shirts",
        tags: &["batik", "cotton"],
        prices: [32_500_000, 14999, 3499],
        final_sale: false,
    },
    Product {
        sku: "BATIK-SHIRT-L",
        title: "Batik shirt, parang pattern (L)",
        category: "shirts",
        tags: &["batik", "cotton"],
        prices: [32_500_000, 14999, 3499],
        final_sale: false,
    },
    Product {
        sku: "HIJAB-VOAL-SAGE",
        title: "Voal hijab, sage",
        category: "accessories",
        tags: &["hijab"],
        prices: [8_900_000, 4999, 1299],
        final_sale: false,
    },
    Product {
        sku: "SNEAKER-CANVAS-41",
        title: "Canvas sneakers, size 41",
        category: "shoes",
        tags: &["shoes"],
        prices: [45_000_000, 22900, 5499],
        final_sale: false,
    },
    Product {
        sku: "SNEAKER-CANVAS-42",
        title: "Canvas sneakers, size 42",
        category: "shoes",
        tags: &["shoes"],
        prices: [45_000_000, 22900, 5499],
        final_sale: false,
    },
    Product {
        sku: "KETTLE-STEEL-17",
        title: "Electric kettle 1.7 l",
        category: "kitchen",
        tags: &["electronics", "warranty-2y"],
        prices: [38_900_000, 18900, 4499],
        final_sale: false,
    },
    Product {
        sku: "PHONECASE-CLEAR",
        title: "Clear phone case",
        category: "accessories",
        tags: &["phone"],
        prices: [4_500_000, 1999, 499],
        final_sale: false,
    },
    Product {
        sku: "BOOK-LASKAR",
        title: "Laskar Pelangi (paperback)",
        category: "books",
        tags: &["books"],
        prices: [9_800_000, 3999, 1199],
        final_sale: false,
    },
    Product {
        sku: "SERUM-VITC-30",
        title: "Vitamin C serum 30 ml",
        category: "beauty",
        tags: &["cosmetics", "hygiene"],
        prices: [15_900_000, 7999, 1999],
        final_sale: true,
    },
    Product {
        sku: "DRESS-LINEN-S",
        title: "Linen dress (S), last season",
        category: "dresses",
        tags: &["clearance", "linen"],
        prices: [27_500_000, 12900, 2999],
        final_sale: true,
    },
    Product {
        sku: "BACKPACK-20L",
        title: "Everyday backpack 20 l",
        category: "bags",
        tags: &["bags"],
        prices: [59_900_000, 27900, 6499],
        final_sale: false,
    },
    Product {
        sku: "EARBUDS-BT",
        title: "Bluetooth earbuds",
        category: "electronics",
        tags: &["electronics", "warranty-1y"],
        prices: [69_900_000, 29900, 7999],
        final_sale: false,
    },
];

fn demo_policy() -> PolicyDocument {
    let fixed = |idr: i64, pln: i64, eur: i64| {
        BTreeMap::from([
            (Currency::IDR, idr),
            (Currency::PLN, pln),
            (Currency::EUR, eur),
        ])
    };
    let cheap = |id: &str, currency: Currency, max: i64| Rule {
        id: id.into(),
        description: Some("Cheap items: keep them, shipping back costs more".into()),
        when: Conditions {
            price: Some(PriceRange {
                currency,
                min: None,
                max: Some(max),
            }),
            ..Conditions::default()
        },
        then: Effects {
            keep_item: Some(true),
            ..Effects::default()
        },
    };
    PolicyDocument {
        name: Some("Toko Kembali returns policy".into()),
        defaults: Defaults {
            window_days: 30,
            resolutions: vec![
                Resolution::Refund,
                Resolution::StoreCredit,
                Resolution::Exchange,
            ],
            methods: vec![ReturnMethod::DropOff, ReturnMethod::CourierPickup],
            return_shipping_fee: Fee {
                percent_bps: 0,
                fixed: fixed(1_500_000, 999, 495),
            },
            store_credit_bonus_bps: 1000,
            ..Defaults::default()
        },
        rules: vec![
            Rule {
                id: "clearance".into(),
                description: Some("Clearance items are final".into()),
                when: Conditions {
                    product_tags: Some(vec!["clearance".into()]),
                    ..Conditions::default()
                },
                then: Effects {
                    deny: Some("Clearance items cannot be returned.".into()),
                    ..Effects::default()
                },
            },
            // The shop's own faults come back free, with photos as evidence.
            Rule {
                then: Effects {
                    require_photos: Some(true),
                    ..Rule::merchant_fault_is_free().then
                },
                ..Rule::merchant_fault_is_free()
            },
            Rule {
                id: "quick-approve".into(),
                description: Some("Size and change-of-mind returns are approved at once".into()),
                when: Conditions {
                    reasons: Some(vec![ReturnReason::ChangedMind, ReturnReason::WrongSize]),
                    customer_returns: Some(Range {
                        min: None,
                        max: Some(3),
                    }),
                    ..Conditions::default()
                },
                then: Effects {
                    auto_approve: Some(true),
                    ..Effects::default()
                },
            },
            Rule {
                id: "cod-refund-on-receipt".into(),
                description: Some("Cash-on-delivery refunds go out when the parcel arrives".into()),
                when: Conditions {
                    payment_methods: Some(vec![PaymentMethod::CashOnDelivery]),
                    ..Conditions::default()
                },
                then: Effects {
                    refund_timing: Some(kembali_core::policy::RefundTiming::OnReceipt),
                    ..Effects::default()
                },
            },
            cheap("keep-cheap-idr", Currency::IDR, 5_000_000),
            cheap("keep-cheap-pln", Currency::PLN, 2000),
            cheap("keep-cheap-eur", Currency::EUR, 500),
            Rule {
                id: "refused-cod-parcels".into(),
                description: Some("Customers who refused COD parcels go to review".into()),
                when: Conditions {
                    refused_cod_parcels: Some(Range {
                        min: Some(2),
                        max: None,
                    }),
                    ..Conditions::default()
                },
                then: Effects {
                    flag_risk: Some("refused two or more COD parcels".into()),
                    ..Effects::default()
                },
            },
        ],
        eu_withdrawal: true,
        lists: kembali_core::policy::Lists::default(),
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Config(format!("demo: {e}"))
}

struct Seeded {
    order: OrderId,
    lines: Vec<(LineId, u32, bool)>,
    delivered_at: Option<Timestamp>,
    cod: bool,
}

/// Seeds the demo shop unless a shop with slug `demo` exists (then `Ok(None)`).
pub async fn seed(db: &Db, now: Timestamp) -> Result<Option<DemoSummary>, StoreError> {
    {
        let mut conn = db.conn().await?;
        match shops::get_by_slug(&mut conn, "demo").await {
            Ok(_) => return Ok(None),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let mut rng = Rng(0x4B45_4D42_414C_4921);
    let hours = |h: i64| SignedDuration::from_hours(h);
    let shop = Shop {
        id: ShopId::new(now, rng.entropy()),
        slug: "demo".into(),
        name: "Toko Kembali Demo".into(),
        currency: Currency::IDR,
        time_zone: "Asia/Jakarta".into(),
        default_locale: Locale::Id,
        country: Country::try_from("ID".to_owned()).map_err(err)?,
        return_prefix: "R-".into(),
    };
    let mut tx = db.begin().await?;
    shops::create(&mut tx, &shop, &demo_policy(), now).await?;
    let key = shops::create_api_key(&mut tx, shop.id, "demo", now).await?;
    tx.commit().await?;

    // Orders, in batches of 60 per transaction.
    let mut seeded = Vec::new();
    let total = 360;
    let mut tx = db.begin().await?;
    for n in 0..total {
        let m_index = n % 3;
        let m = &MARKETS[m_index];
        let first = rng.pick(m.first);
        let last = rng.pick(m.last);
        let customer_no = rng.below(40);
        let email = format!(
            "{}.{}{}@{}",
            first.to_lowercase(),
            last.to_lowercase().replace([' ', '\''], ""),
            customer_no,
            m.email_domain
        );
        let name = format!("{first} {last}");
        let customer =
            orders::ensure_customer(&mut tx, shop.id, &email, &name, m.locale, now).await?;
        // Most orders are recent, so there is plenty to return.
        let age_h = if rng.chance(70) {
            48 + rng.below(26 * 24)
        } else {
            30 * 24 + rng.below(60 * 24)
        } as i64;
        let placed = now - hours(age_h);
        let cod = rng.chance(m.cod);
        let payment = if cod {
            PaymentMethod::CashOnDelivery
        } else if m.currency == Currency::IDR {
            *rng.pick(&[
                PaymentMethod::EWallet,
                PaymentMethod::BankTransfer,
                PaymentMethod::Card,
            ])
        } else {
            PaymentMethod::Card
        };
        let (city, postal) = *rng.pick(m.cities);
        let country = Country::try_from((*rng.pick(m.countries)).to_owned()).map_err(err)?;
        let money = |v: i64| Money::new(v, m.currency);
        let mut lines = Vec::new();
        let mut used = Vec::new();
        for _ in 0..(1 + rng.below(3)) {
            let p = rng.pick(CATALOGUE);
            if used.contains(&p.sku) {
                continue;
            }
            used.push(p.sku);
            let quantity = if rng.chance(80) {
                1
            } else {
                2 + rng.below(2) as u32
            };
            let unit = p.prices[m_index];
            let gross = unit * i64::from(quantity);
            let discount = if rng.chance(25) { gross / 10 } else { 0 };
            let net = gross - discount;
            let tax = net * m.tax_bps / (10_000 + m.tax_bps);
            lines.push(OrderLine {
                id: LineId::new(placed, rng.entropy()),
                product_id: None,
                variant_id: None,
                sku: p.sku.into(),
                title: p.title.into(),
                category: Some(p.category.into()),
                tags: p.tags.iter().map(|t| (*t).to_owned()).collect(),
                final_sale: p.final_sale,
                quantity,
                unit_price: money(unit),
                discount: money(discount),
                tax: money(tax),
            });
        }
        let order = Order {
            id: OrderId::new(placed, rng.entropy()),
            shop_id: shop.id,
            number: format!("#{}", 10_001 + n),
            customer_id: Some(customer),
            email,
            locale: m.locale,
            currency: m.currency,
            placed_at: placed,
            payment_method: payment,
            taxes_included: true,
            shipping_address: Address {
                name,
                line1: (*rng.pick(m.streets)).into(),
                line2: None,
                city: city.into(),
                postal_code: postal.into(),
                country,
                phone: None,
            },
            shipping_paid: money(m.shipping),
            cheapest_shipping: money(m.shipping),
            lines,
        };
        // Where the parcel is.
        let roll = rng.below(100);
        let shipped = placed + hours(6 + rng.below(30) as i64);
        let transit_h = 24 + rng.below(5 * 24) as i64;
        let mut status = match roll {
            0..=74 => TrackingStatus::Delivered,
            75..=84 => TrackingStatus::InTransit,
            85..=89 => TrackingStatus::OutForDelivery,
            90..=94 => TrackingStatus::Pending,
            _ if cod => TrackingStatus::ReturnedToSender,
            _ => TrackingStatus::Delivered,
        };
        let arrives = shipped + hours(transit_h);
        if status == TrackingStatus::Delivered && arrives >= now {
            status = TrackingStatus::InTransit;
        }
        let delivered_at = (status == TrackingStatus::Delivered).then_some(arrives);
        let carrier = *rng.pick(m.carriers);
        let shipment = Shipment {
            id: ShipmentId::new(shipped, rng.entropy()),
            order_id: order.id,
            carrier: carrier.into(),
            tracking_number: (status != TrackingStatus::Pending).then(|| {
                format!(
                    "{}{:010}",
                    carrier
                        .chars()
                        .filter(char::is_ascii_alphabetic)
                        .take(3)
                        .collect::<String>()
                        .to_uppercase(),
                    rng.below(10_000_000_000)
                )
            }),
            status,
            shipped_at: (status != TrackingStatus::Pending).then_some(shipped),
            delivered_at,
            promised_by: Some(placed + hours(5 * 24)),
            lines: order
                .lines
                .iter()
                .map(|l| ShipmentLine {
                    line_id: l.id,
                    quantity: l.quantity,
                })
                .collect(),
        };
        let shipments = vec![shipment];
        order.validate(&shipments).map_err(err)?;
        orders::insert(&mut tx, &order, &shipments, now).await?;
        seeded.push(Seeded {
            order: order.id,
            lines: order
                .lines
                .iter()
                .map(|l| {
                    (
                        l.id,
                        l.quantity,
                        l.final_sale || l.tags.iter().any(|t| t == "clearance"),
                    )
                })
                .collect(),
            delivered_at,
            cod,
        });
        if n % 60 == 59 {
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;

    // Returns, walked to every state through the real lifecycle.
    const TARGETS: [ReturnStatus; 9] = ReturnStatus::ALL;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut target_index = 0usize;
    let agent = Actor::User {
        id: "demo-agent".into(),
    };
    for s in &seeded {
        if counts.values().sum::<usize>() >= 63 {
            break;
        }
        let Some(delivered) = s.delivered_at else {
            continue;
        };
        if now - delivered > SignedDuration::from_hours(24 * 24) {
            continue;
        }
        let Some(&(line, quantity, final_sale)) = s.lines.first() else {
            continue;
        };
        if final_sale {
            continue;
        }
        let target = TARGETS[target_index % TARGETS.len()];
        // Reasons that wait for a person where the story needs one.
        let reason = match target {
            ReturnStatus::Requested | ReturnStatus::Rejected => ReturnReason::NotAsDescribed,
            _ => *rng.pick(&[
                ReturnReason::WrongSize,
                ReturnReason::ChangedMind,
                ReturnReason::NotAsDescribed,
            ]),
        };
        let opened = delivered + hours(12 + rng.below(48) as i64);
        if opened >= now {
            continue;
        }
        let mut tx = db.begin().await?;
        let Some(ctx) = returns::context(&mut tx, shop.id, s.order).await? else {
            continue;
        };
        let Some(facts) = ctx.facts(&shop, line, 1, Some(reason), 0, opened) else {
            continue;
        };
        let decision = ctx.decide(&facts)?;
        if !decision.eligible {
            continue;
        }
        let keep = decision.keep_item;
        if keep
            && !matches!(
                target,
                ReturnStatus::Resolved
                    | ReturnStatus::Approved
                    | ReturnStatus::Requested
                    | ReturnStatus::Rejected
                    | ReturnStatus::Cancelled
            )
        {
            continue;
        }
        let resolution = if keep {
            Resolution::KeepItem
        } else if s.cod {
            *rng.pick(&[Resolution::Refund, Resolution::StoreCredit])
        } else {
            *rng.pick(&decision.resolutions)
        };
        let item = OpenItem {
            line_id: line,
            quantity: 1.min(quantity),
            reason,
            comment: Some("Demo return".into()),
            photos: vec![],
            resolution,
        };
        let method = if rng.chance(70) {
            ReturnMethod::DropOff
        } else {
            ReturnMethod::CourierPickup
        };
        let (ret, _) = returns::open(
            &mut tx,
            &shop,
            s.order,
            method,
            &[item],
            Actor::Shopper,
            opened,
        )
        .await
        .map_err(err)?;
        let tracking = format!("RT{}", rng.below(1_000_000_000));
        let mut at = opened;
        let mut step = |cmd: Command, actor: Actor| {
            at += hours(3 + rng.below(20) as i64);
            if at > now {
                at = now;
            }
            (cmd, actor, at)
        };
        let mut plan = Vec::new();
        let approve = ret.status == ReturnStatus::Requested;
        match target {
            ReturnStatus::Requested => {}
            ReturnStatus::Rejected => plan.push(step(
                Command::Reject {
                    reason: "The photos show the item was worn.".into(),
                },
                agent.clone(),
            )),
            ReturnStatus::Cancelled => plan.push(step(
                Command::Cancel {
                    reason: Some("Decided to keep it".into()),
                },
                Actor::Shopper,
            )),
            _ => {
                if approve {
                    plan.push(step(Command::Approve { note: None }, agent.clone()));
                }
                if keep {
                    if target == ReturnStatus::Resolved {
                        plan.push(step(
                            Command::Resolve {
                                items: vec![],
                                note: None,
                            },
                            agent.clone(),
                        ));
                    }
                } else {
                    let item_id = ret.items[0].id;
                    if target == ReturnStatus::Expired {
                        plan.push(step(Command::Expire, Actor::System));
                    }
                    if matches!(
                        target,
                        ReturnStatus::InTransit
                            | ReturnStatus::Received
                            | ReturnStatus::Inspected
                            | ReturnStatus::Resolved
                    ) {
                        plan.push(step(
                            Command::MarkInTransit {
                                carrier: Some("JNE".into()),
                                tracking_number: Some(tracking.clone()),
                            },
                            Actor::System,
                        ));
                    }
                    if matches!(
                        target,
                        ReturnStatus::Received | ReturnStatus::Inspected | ReturnStatus::Resolved
                    ) {
                        plan.push(step(
                            Command::Receive {
                                items: vec![ItemReceipt {
                                    item_id,
                                    outcome: ReceiptOutcome::Received,
                                    quantity: 1,
                                }],
                                note: None,
                            },
                            Actor::User {
                                id: "warehouse".into(),
                            },
                        ));
                    }
                    if matches!(target, ReturnStatus::Inspected | ReturnStatus::Resolved) {
                        plan.push(step(
                            Command::Inspect {
                                items: vec![ItemInspection {
                                    item_id,
                                    accepted_quantity: 1,
                                    condition: Condition::LikeNew,
                                    disposition: Disposition::Restock,
                                    note: None,
                                }],
                                note: None,
                            },
                            Actor::User {
                                id: "warehouse".into(),
                            },
                        ));
                    }
                    if target == ReturnStatus::Resolved {
                        plan.push(step(
                            Command::Resolve {
                                items: vec![],
                                note: None,
                            },
                            agent.clone(),
                        ));
                    }
                }
            }
        }
        let mut status = ret.status;
        for (cmd, actor, at) in plan {
            let (after, _) = returns::transition(&mut tx, shop.id, ret.id, None, &cmd, &actor, at)
                .await
                .map_err(err)?;
            status = after.status;
        }
        // Auto-approval can turn a "requested" story into an approved one; skip it.
        if status != target {
            continue;
        }
        tx.commit().await?;
        *counts.entry(target.as_str()).or_default() += 1;
        target_index += 1;
    }
    let returns_by_status = TARGETS
        .iter()
        .map(|s| (*s, counts.get(s.as_str()).copied().unwrap_or(0)))
        .collect();
    // An order still inside its window, so the first look shows a live decision.
    let sample_order = seeded
        .iter()
        .find(|s| {
            s.delivered_at
                .is_some_and(|d| now - d < SignedDuration::from_hours(24 * 10))
        })
        .map(|s| s.order);
    Ok(Some(DemoSummary {
        shop,
        orders: total,
        sample_order,
        returns_by_status,
        api_key: key.secret,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seeds_a_realistic_shop_once() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        let db = Db::connect(&kembali_store::ConnectOptions::new(url))
            .await
            .expect("db");
        kembali_store::migrate::migrate(&db).await.expect("migrate");
        let summary = seed(&db, Timestamp::now())
            .await
            .expect("seed")
            .expect("first seed");
        assert!(summary.orders >= 300);
        for (status, n) in &summary.returns_by_status {
            assert!(*n >= 1, "no return {}", status.as_str());
        }
        assert_eq!(summary.returns_by_status.len(), 9);

        let mut conn = db.conn().await.expect("conn");
        let currencies: Vec<String> = kembali_store::run!(&mut conn, |c| sqlx::query_scalar(
            "SELECT DISTINCT currency FROM orders ORDER BY currency"
        )
        .fetch_all(&mut *c)
        .await)
        .expect("currencies");
        assert_eq!(currencies, ["EUR", "IDR", "PLN"]);
        let counted: Vec<(String, i64)> = kembali_store::run!(&mut conn, |c| sqlx::query_as(
            "SELECT payment_method, COUNT(*) FROM orders GROUP BY payment_method ORDER BY payment_method"
        )
        .fetch_all(&mut *c)
        .await)
        .expect("payments");
        let methods: Vec<&str> = counted.iter().map(|(m, _)| m.as_str()).collect();
        assert!(
            methods.contains(&"cash_on_delivery") && methods.contains(&"card"),
            "{methods:?}"
        );
        let statuses: Vec<String> = kembali_store::run!(&mut conn, |c| sqlx::query_scalar(
            "SELECT DISTINCT status FROM shipments ORDER BY status"
        )
        .fetch_all(&mut *c)
        .await)
        .expect("statuses");
        assert!(
            statuses.iter().any(|s| s == "delivered") && statuses.iter().any(|s| s == "in_transit"),
            "{statuses:?}"
        );
        let locales: Vec<String> = kembali_store::run!(&mut conn, |c| sqlx::query_scalar(
            "SELECT DISTINCT locale FROM customers ORDER BY locale"
        )
        .fetch_all(&mut *c)
        .await)
        .expect("locales");
        assert_eq!(locales, ["en", "id", "pl"]);
        drop(conn);

        assert!(seed(&db, Timestamp::now()).await.expect("again").is_none());
        let mut conn = db.conn().await.expect("conn");
        let orders: i64 = kembali_store::run!(&mut conn, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders"
        )
        .fetch_one(&mut *c)
        .await)
        .expect("count");
        assert_eq!(orders, summary.orders as i64, "a second seed adds nothing");
    }
}
