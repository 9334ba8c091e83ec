//! Masking a call record: the one function every output calls before it writes.
//!
//! The transcript is masked where the detector found personal data of the chosen types,
//! character by character, so the text keeps its length (character times and evidence offsets
//! stay valid) and its shape (138****5678). Evidence quotes are masked as the utterance they
//! quote; the customer number of the metadata keeps its first three and last four digits.

use super::policy::{self, Output, Policy, Viewer};
use super::{detect, detect_text, Entity, Kind};
use crate::record::verdict::Evidence;
use crate::record::{CallRecord, Utterance};
use std::collections::{BTreeSet, HashMap};

/// `rec` as output `out` may show it under the active policy.
pub fn for_output(rec: &CallRecord, out: Output) -> CallRecord {
    mask_record(rec, policy::active().output(out))
}

/// A record prepared for one viewer, and whether the view must be written to the audit log.
#[derive(Clone, Debug)]
pub struct MaskedView {
    pub record: CallRecord,
    /// Set when the role is audited and the view shows personal data in clear: the types
    /// shown. The caller (the web app) writes it to the audit log with who and when.
    pub audit: Option<Vec<Kind>>,
}

/// `rec` as `viewer` may see it under `policy` (for the web app and any per-role export).
pub fn mask_for(viewer: Viewer, rec: &CallRecord, policy: &Policy) -> MaskedView {
    let role = policy.role(viewer);
    let record = mask_record(rec, &role.mask);
    let shown: Vec<Kind> = {
        let mut k: Vec<Kind> = detect(&record.utterances)
            .into_iter()
            .map(|f| f.entity.kind)
            .filter(|k| !role.mask.contains(k))
            .collect();
        k.sort();
        k.dedup();
        k
    };
    MaskedView {
        record,
        audit: (role.audit && !shown.is_empty()).then_some(shown),
    }
}

/// A copy of `rec` with personal data of the types in `kinds` masked in the transcript, the
/// evidence, the metadata and the entity list.
pub fn mask_record(rec: &CallRecord, kinds: &BTreeSet<Kind>) -> CallRecord {
    let mut out = rec.clone();
    if kinds.is_empty() {
        return out;
    }
    // Characters to mask per utterance id.
    let mut masks: HashMap<usize, BTreeSet<usize>> = HashMap::new();
    for f in detect(&rec.utterances) {
        if kinds.contains(&f.entity.kind) {
            masks.entry(f.entity.utterance).or_default().extend(f.mask);
        }
    }
    let mut masked_text: HashMap<usize, (String, String)> = HashMap::new(); // id → (raw, masked)
    for u in &mut out.utterances {
        let Some(m) = masks.get(&u.id) else { continue };
        let new = mask_chars(&u.text, m);
        if !u.tokens.is_empty() {
            u.tokens = crate::text::tokenize(&new);
        }
        masked_text.insert(u.id, (std::mem::replace(&mut u.text, new.clone()), new));
    }
    if let Some(score) = out.score.as_mut() {
        let evidence = score
            .hits
            .iter_mut()
            .flat_map(|h| h.evidence.iter_mut())
            .chain(score.review.iter_mut().flat_map(|r| r.evidence.iter_mut()));
        for e in evidence {
            mask_evidence(e, &masked_text, kinds);
        }
    }
    if let Some(m) = out.metadata.as_mut() {
        if kinds.contains(&Kind::Mobile) || kinds.contains(&Kind::Landline) {
            if let Some(n) = m.customer_number.as_mut() {
                *n = mask_phone(n);
            }
        }
        for v in m.extra.values_mut() {
            *v = mask_plain(v, kinds);
        }
    }
    out
}

/// Utterances as the classifier reads them: every character of every entity blanked to `*`,
/// whatever the policy masks. Why: the stored record is masked by policy (138****5678), and a
/// re-classification reads it; blanking whole values in both runs makes a fresh inspection and
/// a re-classification of its stored record read the same text (and a number carries no tone).
pub fn blank_entities(utts: &[Utterance], entities: &[Entity]) -> Vec<Utterance> {
    let mut out = utts.to_vec();
    for u in &mut out {
        let m: BTreeSet<usize> = entities
            .iter()
            .filter(|e| e.utterance == u.id)
            .flat_map(|e| e.start..e.end)
            .collect();
        if m.is_empty() {
            continue;
        }
        u.text = mask_chars(&u.text, &m);
        if !u.tokens.is_empty() {
            u.tokens = crate::text::tokenize(&u.text);
        }
    }
    out
}

/// Replace characters `m` (char indices) of `text` with `*`.
fn mask_chars(text: &str, m: &BTreeSet<usize>) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| if m.contains(&i) { '*' } else { c })
        .collect()
}

/// Personal data of `kinds` in a text on its own.
pub fn mask_plain(text: &str, kinds: &BTreeSet<Kind>) -> String {
    let m: BTreeSet<usize> = detect_text(text)
        .into_iter()
        .filter(|f| kinds.contains(&f.entity.kind))
        .flat_map(|f| f.mask)
        .collect();
    if m.is_empty() {
        text.to_string()
    } else {
        mask_chars(text, &m)
    }
}

/// A quote is masked as the utterance it quotes (same characters), else on its own.
fn mask_evidence(
    e: &mut Evidence,
    masked: &HashMap<usize, (String, String)>,
    kinds: &BTreeSet<Kind>,
) {
    let Some(t) = e.text.as_mut() else { return };
    if let Some((raw, new)) = e.utterance.and_then(|id| masked.get(&id)) {
        if let Some(b) = raw.find(t.as_str()) {
            let start = raw[..b].chars().count();
            let len = t.chars().count();
            *t = new.chars().skip(start).take(len).collect();
            return;
        }
    }
    *t = mask_plain(t, kinds);
}

/// A phone number keeping its first three and last four digits (`138****5678`); shorter
/// numbers keep only their last two digits.
pub fn mask_phone(n: &str) -> String {
    // A `*` holds a digit's place, so masking twice changes nothing.
    let place = |c: &char| c.is_ascii_digit() || *c == '*';
    let digits = n.chars().filter(place).count();
    let (first, last) = if digits >= 8 { (3, 4) } else { (0, 2) };
    let mut seen = 0;
    n.chars()
        .map(|c| {
            if !place(&c) {
                return c;
            }
            seen += 1;
            if seen <= first || seen > digits - last {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::verdict::{Effect, ItemHit, ScoreResult, Severity};
    use crate::record::{CallMeta, Role, Utterance};

    fn rec() -> CallRecord {
        let u = |id, role, text: &str| Utterance {
            id,
            role,
            start: id as f64 * 3.0,
            end: id as f64 * 3.0 + 2.5,
            text: text.into(),
            tokens: crate::text::tokenize(text),
            ..Utterance::default()
        };
        CallRecord {
            call_id: "c1".into(),
            metadata: Some(CallMeta {
                customer_number: Some("13912345678".into()),
                ..CallMeta::default()
            }),
            utterances: vec![
                u(0, Role::Agent, "请问您的手机号是多少？"),
                u(
                    1,
                    Role::Customer,
                    "一三八一二三四五六七八，卡号6222021234567890128",
                ),
                u(2, Role::Customer, "我叫王小明"),
            ],
            score: Some(ScoreResult {
                card: "t".into(),
                card_file: None,
                total: 90.0,
                max_total: 100.0,
                subtotal: 90.0,
                fatal: None,
                categories: vec![],
                hits: vec![ItemHit {
                    id: "X1".into(),
                    name: "x".into(),
                    category: "c".into(),
                    severity: Severity::default(),
                    effect: Effect::Deduct,
                    points: 10.0,
                    occurrences: 1,
                    fatal: false,
                    superseded: false,
                    group: None,
                    evidence: vec![Evidence {
                        utterance: Some(1),
                        role: Some(Role::Customer),
                        start: 3.0,
                        end: 5.5,
                        text: Some("卡号6222021234567890128".into()),
                        phrase: Some("卡号".into()),
                        note: String::new(),
                    }],
                }],
                review: vec![],
                review_points_at_stake: 0.0,
            }),
            ..CallRecord::default()
        }
    }

    #[test]
    fn masks_transcript_evidence_and_metadata_keeping_the_shape() {
        let r = mask_record(&rec(), &Policy::default().html);
        assert_eq!(r.utterances[0].text, "请问您的手机号是多少？");
        assert_eq!(
            r.utterances[1].text,
            "一三八****五六七八，卡号6222***********0128"
        );
        assert_eq!(r.utterances[2].text, "我叫王**");
        assert!(r.utterances[1].tokens.concat().contains("****"));
        let ev = &r.score.as_ref().unwrap().hits[0].evidence[0];
        assert_eq!(ev.text.as_deref(), Some("卡号6222***********0128"));
        assert_eq!(ev.phrase.as_deref(), Some("卡号"));
        assert_eq!(
            r.metadata.as_ref().unwrap().customer_number.as_deref(),
            Some("139****5678")
        );
        // Masking twice changes nothing more.
        let again = mask_record(&r, &Policy::default().html);
        assert_eq!(again.utterances[1].text, r.utterances[1].text);
    }

    #[test]
    fn roles_see_what_the_policy_allows_and_the_lead_is_audited() {
        let p = Policy::default();
        let agent = mask_for(Viewer::Agent, &rec(), &p);
        assert_eq!(agent.record.utterances[2].text, "我叫王**");
        assert!(!agent.record.utterances[1].text.contains("12345678"));
        assert_eq!(agent.audit, None);
        let inspector = mask_for(Viewer::Inspector, &rec(), &p);
        assert_eq!(inspector.record.utterances[2].text, "我叫王小明");
        assert!(inspector.record.utterances[1].text.contains("****"));
        assert_eq!(inspector.audit, None);
        let lead = mask_for(Viewer::Lead, &rec(), &p);
        assert_eq!(lead.record.utterances[1].text, rec().utterances[1].text);
        assert_eq!(
            lead.audit,
            Some(vec![Kind::Mobile, Kind::BankCard, Kind::Name])
        );
        let admin = mask_for(Viewer::Admin, &rec(), &p);
        assert!(admin.record.utterances[1].text.contains("****"));
    }

    #[test]
    fn a_stored_masked_record_keeps_its_entities_and_blanks_like_the_fresh_one() {
        let mut fresh = rec();
        fresh.pii = crate::pii::refresh_entities(&fresh);
        let kinds: Vec<Kind> = fresh.pii.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![Kind::Mobile, Kind::BankCard, Kind::Name]);
        let stored = mask_record(&fresh, &Policy::default().html);
        // Detection alone no longer sees the masked numbers; the stored entities do.
        let seen: Vec<Kind> = detect(&stored.utterances)
            .into_iter()
            .map(|f| f.entity.kind)
            .collect();
        assert!(!seen.contains(&Kind::Mobile), "{seen:?}");
        assert_eq!(crate::pii::refresh_entities(&stored), fresh.pii);
        // The classifier reads the same text from both.
        let text = |r: &CallRecord| -> Vec<String> {
            blank_entities(&r.utterances, &crate::pii::refresh_entities(r))
                .into_iter()
                .map(|u| u.text)
                .collect()
        };
        assert_eq!(text(&fresh), text(&stored));
        assert_eq!(text(&fresh)[1], "***********，卡号*******************");
        assert_eq!(text(&fresh)[2], "我叫***");
        // The speakers guessed again (mono): the entities follow their utterances.
        let mut entities = fresh.pii.clone();
        let mut utts = fresh.utterances.clone();
        utts[1].role = crate::record::Role::Agent;
        crate::pii::follow_roles(&mut entities, &utts);
        let roles: Vec<_> = entities.iter().map(|e| e.role).collect();
        use crate::record::Role::{Agent, Customer};
        assert_eq!(roles, vec![Agent, Agent, Customer]);
    }

    #[test]
    fn phone_numbers_keep_three_and_four_digits() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("010-62345678"), "010-****5678");
        assert_eq!(mask_phone("95588"), "***88");
        assert_eq!(mask_phone("138****5678"), "138****5678");
    }
}
