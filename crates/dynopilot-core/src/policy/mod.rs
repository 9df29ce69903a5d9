//! Policy evaluation: turns observed state and configuration into decisions with reasons.
