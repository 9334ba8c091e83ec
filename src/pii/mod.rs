//! Customer data in transcripts (个人信息): detection, masking by policy and role, and audio
//! redaction.
//!
//! - [`detect`]: mobile and landline numbers, ID numbers (MOD 11-2 checksum and birth date),
//!   bank cards (Luhn), verification codes after a prompt, e-mail, licence plates, and
//!   pattern-based names and addresses — robust to how Whisper writes numbers (一三八, 幺, 两,
//!   mixed digits, spaces and dashes, a number read across two utterances).
//! - [`policy`]: which types are masked in which output (HTML, CSV, per-call JSON, store) and
//!   for which role; `rules/privacy/policy.toml` overrides the built-in defaults.
//! - [`mask`]: the one place every output calls ([`for_output`]) to mask a record; masks keep
//!   the shape (`138****5678`) so an inspector can still judge the call.
//! - [`audio`]: a WAV copy of a recording with the PII time spans silenced or toned out.
//! - [`eval`]: precision and recall per type on the labelled set in `data/pii/`.
//!
//! Raw values are never stored in an [`Entity`]: only where it is and its masked form, so the
//! list can be written next to a masked transcript. Rules read the entities (the `pii` kinds).

pub mod audio;
pub mod detect;
pub mod eval;
pub mod mask;
pub mod policy;

pub use detect::{detect, detect_text, Found};
pub use mask::{blank_entities, for_output, mask_for, mask_record, MaskedView};
pub use policy::{Output, Policy, Viewer};

/// The data types are stored in the record, so they live under it.
pub use crate::record::personal::{Entity, Kind};

/// The personal data of a call being scored again: the stored entities (found on the raw
/// transcript, which a masked record no longer shows: 「138****5678」 is not read as a number
/// again) and whatever detection finds besides them. A fresh record has none stored: detection.
pub fn refresh_entities(rec: &crate::record::CallRecord) -> Vec<Entity> {
    let found = detect(&rec.utterances).into_iter().map(|f| f.entity);
    if rec.pii.is_empty() {
        return found.collect();
    }
    let mut out = rec.pii.clone();
    let next_group = out.iter().map(|e| e.group + 1).max().unwrap_or(0);
    for mut e in found {
        let known = rec
            .pii
            .iter()
            .any(|s| s.utterance == e.utterance && s.start < e.end && e.start < s.end);
        if !known {
            e.group += next_group;
            out.push(e);
        }
    }
    out
}

/// Give each entity the role its utterance has now: on a mono call the classify stage guesses
/// the speakers again after the entities were found (and a stored entity keeps the role of
/// its first run).
pub fn follow_roles(entities: &mut [Entity], utts: &[crate::record::Utterance]) {
    for e in entities {
        if let Some(u) = utts.iter().find(|u| u.id == e.utterance) {
            e.role = u.role;
        }
    }
}

/// The personal data of a call: its stored entities, or, for a record that has none (written
/// by hand or before detection existed), what the detector finds in its utterances.
pub fn entities_of(rec: &crate::record::CallRecord) -> Vec<Entity> {
    if rec.pii.is_empty() {
        detect(&rec.utterances)
            .into_iter()
            .map(|f| f.entity)
            .collect()
    } else {
        rec.pii.clone()
    }
}
