//! Synthetic data for demo and benchmark databases (being written).
