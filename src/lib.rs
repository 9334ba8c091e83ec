//! zhijian (智检): offline speech analytics for call-center quality inspection.
//!
//! One owned [`record::CallRecord`] flows through the stages: audio decoding, acoustic analysis,
//! transcription, classification, scoring and reporting. Each stage is a module.

pub mod record;
pub mod rules;
pub mod text;
