//! Test harness: throwaway PostgreSQL clusters. (Being written.)
