//! Tests of the BatchWriter.
