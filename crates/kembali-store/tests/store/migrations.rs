//! Both databases carry the same migrations, and applying them twice is harmless.

use std::collections::BTreeSet;

use crate::support::TestDb;

fn names_in(dir: &str) -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::read_dir(&path)
        .expect("migration folder")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter_map(|n| n.strip_suffix(".sql").map(str::to_owned))
        .collect()
}

#[test]
fn both_folders_hold_the_same_versions_and_all_are_known() {
    let sqlite = names_in("migrations/sqlite");
    let postgres = names_in("migrations/postgres");
    assert_eq!(sqlite, postgres, "migration folders differ");
    let known: BTreeSet<String> = kembali_store::migrate::known_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        sqlite, known,
        "a migration file is not listed in migrate.rs"
    );
}

async fn migrate_is_idempotent(t: &TestDb) {
    let again = kembali_store::migrate::migrate(&t.db)
        .await
        .expect("migrate again");
    assert!(again.is_empty(), "re-running applied {again:?}");
}
crate::both!(migrate_twice, super::migrate_is_idempotent);
