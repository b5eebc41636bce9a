//! Sessions (visits).
