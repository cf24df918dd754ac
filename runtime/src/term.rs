//! ETF
