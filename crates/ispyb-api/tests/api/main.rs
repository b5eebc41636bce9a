//! HTTP tests: the router driven in-process against a real MariaDB, one database per test.

mod auth;
mod data;
mod datacollections;
mod docs;
mod em;
mod errors;
mod events;
mod files;
mod flavours;
mod helpers;
mod ldap;
mod legacy;
mod mapping;
mod matrix;
mod oidc;
mod performance;
mod processings;
mod proposals;
mod proteins;
mod samples;
mod serve;
mod sessions;
mod shipping;
mod stats;
