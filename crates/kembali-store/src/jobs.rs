//! Background jobs (placeholder until the job table lands).
