//! The storage test suite: one binary, every test on SQLite and on PostgreSQL.

mod support;

mod jobs;
mod migrations;
mod writes;
