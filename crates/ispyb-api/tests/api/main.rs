//! HTTP tests: the router driven in-process against a real MariaDB, one database per test.

mod auth;
mod docs;
mod errors;
mod helpers;
mod matrix;
mod proposals;
mod sessions;
