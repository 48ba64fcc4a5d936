//! The API test suite: the real server on port 0, over SQLite and PostgreSQL.

mod support;

mod contract;
mod smoke;

mod eligibility;
mod fixtures;
mod idempotency;
mod isolation;
mod openapi;
mod orders;
mod returns;
mod validation;
