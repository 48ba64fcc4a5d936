//! The API test suite: the real server on port 0, over SQLite and PostgreSQL.

mod support;

mod contract;
mod smoke;

mod api_md;
mod bodies;
mod eligibility;
mod fixtures;
mod hooks;
mod idempotency;
mod isolation;
mod keys;
mod lists;
mod openapi;
mod orders;
mod returns;
mod validation;
mod walk;
