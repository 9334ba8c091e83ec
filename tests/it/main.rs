//! All integration tests in one binary (one link instead of many).

mod audio;
mod batch;
mod common;
mod samples;
mod classify;
