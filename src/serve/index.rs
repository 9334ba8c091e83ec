//! The queue index: each stored call's risk level, score and reasons, computed by the review
//! queue's own rules ([`crate::report::queue`]) from the stored record, and kept in the store
//! so that the queue page sorts and pages 100k calls with one indexed query. Calls written by
//! `inspect`, `import` or `rescore` since the last look are indexed on the next queue request
//! (their record hash differs), so new calls appear without restarting the server.

use crate::record::CallRecord;
use crate::report::queue::{call_reasons, rank_reasons};
use crate::report::summary::CallSummary;
use crate::report::ReportOptions;
use crate::store::web::QueueEntryIn;
use crate::store::{Result, Store};

/// Calls indexed per transaction.
const CHUNK: usize = 500;

/// Index calls whose entry is missing or stale, at most about `max` of them (a request
/// indexes a few so new calls show at once; the server's background indexer does the rest).
/// Returns how many were indexed.
pub fn refresh(store: &mut Store, opts: &ReportOptions, max: usize) -> Result<usize> {
    let mut done = 0;
    while done < max {
        let stale = store.stale_queue_calls(CHUNK.min(max - done))?;
        if stale.is_empty() {
            return Ok(done);
        }
        let computed: Vec<_> = stale
            .iter()
            .map(|s| {
                let rec = s
                    .record_json
                    .as_deref()
                    .and_then(|j| serde_json::from_str::<CallRecord>(j).ok());
                entry_of(rec.as_ref(), opts)
            })
            .collect();
        let entries: Vec<QueueEntryIn> = stale
            .iter()
            .zip(&computed)
            .map(|(s, (level, level_zh, risk, reasons, at))| QueueEntryIn {
                call_id: &s.call_id,
                record_sha: s.record_sha.as_deref(),
                risk: *risk,
                level: *level,
                level_zh,
                reasons_json: reasons,
                at: *at,
            })
            .collect();
        store.put_queue_entries(&entries)?;
        done += stale.len();
    }
    Ok(done)
}

/// The background indexer: index everything stale now and every few seconds, so that a
/// large import or `rescore` never makes one page request do all the work.
pub fn spawn_indexer(db: std::path::PathBuf, opts: ReportOptions) {
    std::thread::spawn(move || loop {
        match Store::open(&db).and_then(|mut s| refresh(&mut s, &opts, usize::MAX)) {
            Ok(0) => {}
            Ok(n) => log::info!("queue index: {n} calls indexed"),
            Err(e) => log::warn!("queue index: {e}"),
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    });
}

/// Level (0 = no reason), its name, risk, reasons as JSON and the first evidence time.
fn entry_of(
    rec: Option<&CallRecord>,
    opts: &ReportOptions,
) -> (i64, String, f64, String, Option<f64>) {
    let Some(rec) = rec else {
        return (0, String::new(), 0.0, "[]".into(), None);
    };
    let summary = CallSummary::from_record(rec, opts);
    let mut reasons = call_reasons(&summary, opts);
    let (level, risk) = rank_reasons(&mut reasons, summary.score_pct);
    let at = reasons.iter().find_map(|r| r.at);
    let json = serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into());
    (
        level.map_or(0, |l| l as i64),
        level.map_or(String::new(), |l| l.zh().to_string()),
        risk,
        json,
        at,
    )
}
