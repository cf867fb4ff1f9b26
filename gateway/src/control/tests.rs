//! Unit tests of the control module.
