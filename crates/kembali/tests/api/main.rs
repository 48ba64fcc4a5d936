//! The API test suite: the real server on port 0, over SQLite and PostgreSQL.

mod support;

mod contract;
mod smoke;

mod bodies;
mod eligibility;
mod fixtures;
mod hooks;
mod idempotency;
mod import;
mod isolation;
mod metrics;
mod openapi;
mod orders;
mod returns;
mod validation;
