//! HTTP tests: the router driven in-process against a real MariaDB, one database per test.

mod auth;
mod docs;
mod errors;
mod flavours;
mod helpers;
mod ldap;
mod matrix;
mod oidc;
mod proposals;
mod serve;
mod sessions;
mod shipping;
