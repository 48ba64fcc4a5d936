//! The demo shop (placeholder until the seeding lands).

pub struct DemoSummary {
    pub shop: kembali_core::shop::Shop,
    pub orders: usize,
    pub returns_by_status: Vec<(kembali_core::returns::ReturnStatus, usize)>,
    pub api_key: String,
}

pub async fn seed(
    _db: &kembali_store::Db,
    _now: jiff::Timestamp,
) -> Result<Option<DemoSummary>, kembali_store::StoreError> {
    Err(kembali_store::StoreError::Config(
        "the demo is not built yet".into(),
    ))
}
