//! How a stored row becomes a value: each field type names the column type it
//! is kept as ([`Column::Raw`]: ids as text, times as milliseconds, counts as
//! `BIGINT`) and how it is read back. [`stored!`](crate::stored) declares a
//! struct once and derives the row it is read from, so a struct's fields are
//! not listed twice (once as the value, once as the row) in every module.

use jiff::Timestamp;
use kembali_core::ShopId;

use crate::db::Session;
use crate::{StoreError, corrupt, from_millis, run};

/// A field type read from one column.
pub(crate) trait Column: Sized {
    /// What the column decodes to in both databases.
    type Raw;
    fn from_raw(raw: Self::Raw) -> Result<Self, StoreError>;
}

macro_rules! as_is {
    ($($t:ty),*) => {$(
        impl Column for $t {
            type Raw = $t;
            fn from_raw(raw: $t) -> Result<Self, StoreError> {
                Ok(raw)
            }
        }
    )*};
}
as_is!(i64, String, bool);

macro_rules! narrowed {
    ($($t:ty),*) => {$(
        /// Kept as `BIGINT`; a value that does not fit was not written by us.
        impl Column for $t {
            type Raw = i64;
            fn from_raw(raw: i64) -> Result<Self, StoreError> {
                <$t>::try_from(raw).map_err(corrupt)
            }
        }
    )*};
}
narrowed!(u16, u32, u64);

/// A list of names, kept as a JSON array.
impl Column for Vec<String> {
    type Raw = sqlx::types::Json<Vec<String>>;
    fn from_raw(raw: Self::Raw) -> Result<Self, StoreError> {
        Ok(raw.0)
    }
}

impl Column for Timestamp {
    type Raw = i64;
    fn from_raw(raw: i64) -> Result<Self, StoreError> {
        Ok(from_millis(raw))
    }
}

impl<T: Column> Column for Option<T> {
    type Raw = Option<T::Raw>;
    fn from_raw(raw: Self::Raw) -> Result<Self, StoreError> {
        raw.map(T::from_raw).transpose()
    }
}

/// Types kept as their text form and read back through `FromStr`: ids and
/// the domain's named states.
macro_rules! parsed {
    ($($t:ty),* $(,)?) => {$(
        impl Column for $t {
            type Raw = String;
            fn from_raw(raw: String) -> Result<Self, StoreError> {
                raw.parse().map_err(corrupt)
            }
        }
    )*};
}

parsed!(
    kembali_core::ShopId,
    kembali_core::OrderId,
    kembali_core::ReturnId,
    kembali_core::RefundId,
    kembali_core::WebhookEndpointId,
    kembali_core::DeliveryId,
    kembali_core::MessageId,
    kembali_core::returns::ReturnStatus,
);

/// A [`Column::Raw`] as rusqlite reads it (a job on SQLite's writer,
/// [`crate::Db::run_job`]), by column name.
pub(crate) trait RawOn: Sized {
    fn on(r: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<Self>;
}

macro_rules! raw_on {
    ($($t:ty),*) => {$(
        impl RawOn for $t {
            fn on(r: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<Self> {
                r.get(column)
            }
        }
    )*};
}
raw_on!(i64, String, bool, Option<i64>, Option<String>);

impl<T: serde::de::DeserializeOwned> RawOn for sqlx::types::Json<T> {
    fn on(r: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<Self> {
        crate::direct::json_column(r, column).map(sqlx::types::Json)
    }
}

impl<T: serde::de::DeserializeOwned> RawOn for Option<sqlx::types::Json<T>> {
    fn on(r: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<Self> {
        let text: Option<String> = r.get(column)?;
        text.map(|t| crate::direct::json_text(&t).map(sqlx::types::Json))
            .transpose()
    }
}

/// A row type [`stored!`] declares, read by rusqlite.
pub(crate) trait RowOn: Sized {
    fn on(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

/// The rows `sql` reads with `params` on a rusqlite connection, as `T`s.
pub(crate) fn all_on<T: Stored>(
    c: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError>
where
    T::Row: RowOn,
{
    let rows = c
        .prepare_cached(sql)
        .and_then(|mut s| {
            s.query_map(params, T::Row::on)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(crate::direct::sqlite)?;
    rows.into_iter().map(T::try_from).collect()
}

/// A struct declared with [`stored!`]: the row it is read from.
pub(crate) trait Stored: TryFrom<Self::Row, Error = StoreError> {
    type Row: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin;
}

/// The one row of `shop` with `id` in `table`, read as `columns`.
pub(crate) async fn by_id<T: Stored>(
    ex: &mut impl Session,
    table: &'static str,
    columns: &'static str,
    shop: ShopId,
    id: impl std::fmt::Display,
) -> Result<Option<T>, StoreError> {
    // Both names are constants of this crate; the values are bound.
    let sql = format!("SELECT {columns} FROM {table} WHERE shop_id = $1 AND id = $2");
    let row: Option<T::Row> = run!(ex, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(shop.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await)?;
    row.map(T::try_from).transpose()
}

/// Declares a struct read from a row: the struct as written, a private
/// `#[derive(sqlx::FromRow)]` row type named after `from` whose fields are the
/// [`Column::Raw`] of each field, and `TryFrom<row>` for the struct.
macro_rules! stored {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident from $raw:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty ),*
        }

        #[derive(sqlx::FromRow)]
        pub(crate) struct $raw {
            $( $field: <$ty as $crate::stored::Column>::Raw ),*
        }

        impl $crate::stored::Stored for $name {
            type Row = $raw;
        }

        impl $crate::stored::RowOn for $raw {
            fn on(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(Self {
                    $( $field: $crate::stored::RawOn::on(r, stringify!($field))? ),*
                })
            }
        }

        impl TryFrom<$raw> for $name {
            type Error = $crate::StoreError;
            fn try_from(row: $raw) -> Result<Self, Self::Error> {
                Ok(Self {
                    $( $field: $crate::stored::Column::from_raw(row.$field)? ),*
                })
            }
        }
    };
}
pub(crate) use stored;
