//! A readable per-table report of the folded schema (for reviewers and snapshots).
