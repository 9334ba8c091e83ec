//! All integration tests in one binary (one link instead of many).

mod asr;
mod audio;
mod batch;
mod classify;
mod common;
mod report;
mod rules;
mod rules_cli;
mod rules_fuzzy;
mod pii;
mod samples;
