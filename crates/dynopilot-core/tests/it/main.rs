//! Integration tests of the decision core: policy scenarios and scaling algorithms.

mod policy;
mod scaling;
