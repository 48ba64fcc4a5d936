//! Periodic jobs as chains of one-off jobs in the job table: each run enqueues its
//! successor for the next slot, keyed by the slot's time, and every worker that
//! starts enqueues the current slot. The job table is the only scheduler.

use jiff::{SignedDuration, Timestamp};
use kembali_store::StoreError;

use super::Job;
use crate::App;

/// A job that runs once every [`Periodic::EVERY`], on whole multiples of it.
pub trait Periodic: Job + Default {
    /// How often the job runs.
    const EVERY: SignedDuration;
}

/// The start of the slot `t` falls in.
fn slot_of(t: Timestamp, every: SignedDuration) -> Timestamp {
    let every = every.as_millis() as i64;
    Timestamp::from_millisecond(t.as_millisecond().div_euclid(every) * every).unwrap_or(t)
}

/// The whole `every` that follows `t`.
fn slot_after(t: Timestamp, every: SignedDuration) -> Timestamp {
    let every = every.as_millis() as i64;
    let ms = (t.as_millisecond().div_euclid(every) + 1) * every;
    Timestamp::from_millisecond(ms).unwrap_or(t)
}

/// Queues `J` for `at`, once: the dedupe key is the slot's time, so every
/// worker that starts, and every run that schedules its successor, asks for the
/// same job and the job table keeps one.
pub async fn schedule<J: Periodic>(app: &App, at: Timestamp) -> Result<(), StoreError> {
    let mut tx = app.db.begin().await?;
    super::enqueue(
        app,
        &mut tx,
        None,
        &J::default(),
        at,
        Some(at.as_millisecond().to_string()),
    )
    .await?;
    tx.commit().await
}

/// Queues the run that follows one that started at `now`: the next slot.
pub async fn schedule_next<J: Periodic>(app: &App, now: Timestamp) -> Result<(), StoreError> {
    schedule::<J>(app, slot_after(now, J::EVERY)).await
}

/// Starts the chain when a worker starts: the run for the current slot, so a
/// process that never lives a whole slot still runs the job once.
pub async fn start<J: Periodic>(app: &App) -> Result<(), StoreError> {
    schedule::<J>(app, slot_of(app.now(), J::EVERY)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: SignedDuration = SignedDuration::from_hours(1);

    #[test]
    fn slots_are_whole_hours() {
        let t = Timestamp::from_second(3600 * 5 + 17).unwrap();
        assert_eq!(
            slot_after(t, HOUR),
            Timestamp::from_second(3600 * 6).unwrap()
        );
        let on = Timestamp::from_second(3600 * 6).unwrap();
        assert_eq!(
            slot_after(on, HOUR),
            Timestamp::from_second(3600 * 7).unwrap()
        );
    }

    #[test]
    fn a_slot_starts_on_a_whole_hour() {
        let t = Timestamp::from_second(3600 * 5 + 17).unwrap();
        assert_eq!(slot_of(t, HOUR), Timestamp::from_second(3600 * 5).unwrap());
    }
}
