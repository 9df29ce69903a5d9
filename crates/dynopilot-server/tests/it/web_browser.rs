//! Browser test placeholder (filled in below).
