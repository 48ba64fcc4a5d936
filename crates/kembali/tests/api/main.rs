//! The API test suite: the real server on port 0, over SQLite and PostgreSQL.

mod support;

mod contract;
mod smoke;

mod api_md;
mod bodies;
mod browser;
mod cancel;
mod customers;
mod eligibility;
mod fixtures;
mod hooks;
mod idempotency;
mod import;
mod isolation;
mod keys;
mod lists;
mod metrics;
mod money;
mod openapi;
mod orders;
mod payouts;
mod photos;
mod policy;
mod portal;
mod returns;
mod shipments;
mod shipping;
mod shop;
mod validation;
mod walk;
mod webhooks;
