//! All integration tests in one binary (one link instead of many).

mod asr;
mod audio;
mod batch;
mod batch_robust;
mod bench;
mod classify;
mod common;
mod deploy;
mod nightly;
mod pg;
mod pii;
mod queue;
mod report;
mod rules;
mod rules_cli;
mod rules_fuzzy;
mod rules_lexicons;
mod rules_monthly;
mod samples;
mod web;
mod web_browser;
