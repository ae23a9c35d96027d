//! Typed model of the Moha Interiors database and its renderer to PostgreSQL SQL.
//!
//! Architecture invariant: this crate does no I/O. It knows the model, how to render it, and
//! the access matrix as data; it never touches files, sockets or processes.
