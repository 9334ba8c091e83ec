//! `zhijian doctor`: checks an installation offline and says in plain words what is wrong.
//!
//! A site's IT team copies a bundle into a server room with no network; before the first
//! nightly run they need to know that every file arrived intact, the models load on this CPU,
//! a real call inspects end to end, there is disk to write to and the database is one this
//! build can open. Each check is independent so one failure never hides another.

use anyhow::Result;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Name of the checksum list at the root of a bundle (`sha256sum` format).
pub const MANIFEST: &str = "MANIFEST.sha256";

/// Options of `zhijian doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Installation folder (holds models/, rules/, samples/ and MANIFEST.sha256).
    #[arg(long, default_value = ".")]
    pub home: PathBuf,
    /// Whisper model to load (default HOME/models/ggml-base-q8_0.bin).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Database to check (SQLite file); its schema must be one this build can open.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Folder that will hold results and the database (free disk is measured there).
    #[arg(long, default_value = ".")]
    pub data: PathBuf,
    /// Less free disk than this (GiB) is a failure.
    #[arg(long, default_value_t = 2.0)]
    pub min_free_gib: f64,
    /// Skip the end-to-end inspection of a sample call (it takes about a minute).
    #[arg(long)]
    pub no_sample: bool,
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One line of the doctor's report.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub level: Level,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, level: Level, detail: impl Into<String>) -> Check {
        Check {
            name,
            level,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.level {
            Level::Ok => "ok  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        write!(f, "{tag}  {:<12} {}", self.name, self.detail)
    }
}

/// Run every check, print one line each, exit 1 when any failed.
pub fn doctor_cmd(a: &DoctorArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let checks = run_checks(a);
    for c in &checks {
        writeln!(out, "{c}")?;
    }
    let failed = checks.iter().filter(|c| c.level == Level::Fail).count();
    if failed == 0 {
        writeln!(
            out,
            "zhijian doctor: everything needed to inspect calls is in place"
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(
            out,
            "zhijian doctor: {failed} problem(s) above must be fixed"
        )?;
        Ok(ExitCode::from(1))
    }
}

/// All checks, in the order a person would fix them.
pub fn run_checks(a: &DoctorArgs) -> Vec<Check> {
    let home = &a.home;
    let model = a
        .model
        .clone()
        .unwrap_or_else(|| home.join("models/ggml-base-q8_0.bin"));
    let mut v = vec![check_files(home, &model), check_manifest(home)];
    v.push(check_rules(&home.join("rules")));
    v.push(check_cpu());
    v.push(check_whisper(&model));
    v.push(check_classifier(&home.join("models")));
    v.push(check_disk(&a.data, a.min_free_gib));
    if let Some(db) = &a.db {
        v.push(check_db(db));
    }
    if !a.no_sample {
        v.push(check_sample(home, &model));
    }
    v
}

/// Files an installation cannot work without.
fn check_files(home: &Path, model: &Path) -> Check {
    let cls = home.join("models").join(crate::classify::MODEL_SUBDIR);
    let needed = [
        model.to_path_buf(),
        cls.join("tokenizer.json"),
        cls.join("heads.safetensors"),
        home.join("rules"),
    ];
    let missing: Vec<String> = needed
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    let encoder = [crate::classify::encoder::WEIGHTS_FILE, "e5-small-q4.bin"];
    let has_encoder = encoder.iter().any(|f| cls.join(f).is_file());
    match (missing.is_empty(), has_encoder) {
        (true, true) => Check::new("files", Level::Ok, "models and scorecards present"),
        (true, false) => Check::new(
            "files",
            Level::Fail,
            format!(
                "missing the text encoder: neither {} in {}",
                encoder.join(" nor "),
                cls.display()
            ),
        ),
        _ => Check::new(
            "files",
            Level::Fail,
            format!("missing: {}", missing.join(", ")),
        ),
    }
}

/// Every file listed in the bundle's manifest is present and has its checksum.
fn check_manifest(home: &Path) -> Check {
    let path = home.join(MANIFEST);
    let Ok(f) = std::fs::File::open(&path) else {
        return Check::new(
            "checksums",
            Level::Warn,
            format!(
                "no {} (not a bundle install; checksums not verified)",
                path.display()
            ),
        );
    };
    let mut bad = Vec::new();
    let mut n = 0;
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let Ok(line) = line else {
            bad.push(format!("{}:{}: unreadable line", path.display(), i + 1));
            continue;
        };
        let Some((sum, rel)) = line.split_once("  ") else {
            if !line.trim().is_empty() {
                bad.push(format!("{}:{}: not `SHA256  PATH`", path.display(), i + 1));
            }
            continue;
        };
        n += 1;
        match sha256_file(&home.join(rel)) {
            Ok(s) if s == sum => {}
            Ok(_) => bad.push(format!("{rel} is damaged (checksum differs)")),
            Err(_) => bad.push(format!("{rel} is missing")),
        }
    }
    if bad.is_empty() {
        Check::new(
            "checksums",
            Level::Ok,
            format!("{n} files match {MANIFEST}"),
        )
    } else {
        Check::new("checksums", Level::Fail, bad.join("; "))
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

fn check_rules(dir: &Path) -> Check {
    match crate::rules::ScorecardSet::load(dir) {
        Ok(set) => Check::new(
            "scorecards",
            Level::Ok,
            format!(
                "{} card(s) in {} load without errors",
                set.cards().len(),
                dir.display()
            ),
        ),
        Err(e) => Check::new("scorecards", Level::Fail, format!("{e:#}")),
    }
}

/// The SIMD whisper.cpp was built for must be one this CPU runs, or speed collapses (or it
/// crashes with an illegal instruction on older servers).
fn check_cpu() -> Check {
    let info = whisper_rs::print_system_info().trim().to_string();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    #[cfg(target_arch = "x86_64")]
    {
        let missing: Vec<&str> = [
            ("AVX2", std::arch::is_x86_feature_detected!("avx2")),
            ("FMA", std::arch::is_x86_feature_detected!("fma")),
            ("F16C", std::arch::is_x86_feature_detected!("f16c")),
        ]
        .into_iter()
        .filter(|(_, has)| !has)
        .map(|(n, _)| n)
        .collect();
        if !missing.is_empty() {
            return Check::new(
                "cpu",
                Level::Warn,
                format!(
                    "{cores} cores; this CPU lacks {}: transcription will be several times slower ({info})",
                    missing.join(", ")
                ),
            );
        }
    }
    Check::new(
        "cpu",
        Level::Ok,
        format!("{cores} cores; whisper.cpp: {info}"),
    )
}

fn check_whisper(model: &Path) -> Check {
    let opts = crate::asr::AsrOptions {
        threads: 1,
        ..Default::default()
    };
    match crate::asr::Asr::load(model, opts) {
        Ok(_) => Check::new("whisper", Level::Ok, format!("{} loads", model.display())),
        Err(e) => Check::new(
            "whisper",
            Level::Fail,
            format!("{} does not load: {e}", model.display()),
        ),
    }
}

fn check_classifier(models: &Path) -> Check {
    let dir = crate::classify::model_dir(models);
    match crate::classify::Classifier::load(models) {
        Ok(c) => match c.score_texts(&["您好，请问有什么可以帮您"]) {
            Ok(_) => Check::new(
                "classifier",
                Level::Ok,
                format!("{} loads and runs", dir.display()),
            ),
            Err(e) => Check::new(
                "classifier",
                Level::Fail,
                format!("loads but fails to run: {e}"),
            ),
        },
        Err(e) => Check::new("classifier", Level::Fail, format!("{e}")),
    }
}

fn check_disk(dir: &Path, min_gib: f64) -> Check {
    match free_bytes(dir) {
        Ok(b) => {
            let gib = b as f64 / (1u64 << 30) as f64;
            let level = if gib < min_gib {
                Level::Fail
            } else {
                Level::Ok
            };
            Check::new(
                "disk",
                level,
                format!(
                    "{gib:.1} GiB free in {} (need ≥ {min_gib} GiB)",
                    dir.display()
                ),
            )
        }
        Err(e) => Check::new("disk", Level::Fail, format!("{}: {e}", dir.display())),
    }
}

fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// Opened read-only: the doctor never migrates a database, it only says what opening it will do.
fn check_db(path: &Path) -> Check {
    use rusqlite::OpenFlags;
    if crate::store::is_url(path) {
        return check_pg(path);
    }
    if !path.exists() {
        return Check::new(
            "database",
            Level::Warn,
            format!(
                "{} does not exist yet (the first inspect creates it)",
                path.display()
            ),
        );
    }
    let conn = match rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) {
        Ok(c) => c,
        Err(e) => return Check::new("database", Level::Fail, format!("{}: {e}", path.display())),
    };
    let found: i64 = match conn.query_row("PRAGMA user_version", [], |r| r.get(0)) {
        Ok(v) => v,
        Err(e) => {
            return Check::new(
                "database",
                Level::Fail,
                format!("{}: not a database: {e}", path.display()),
            )
        }
    };
    schema_check(&path.display().to_string(), found)
}

/// The shared PostgreSQL database: reachable, and its schema this release's (read only).
fn check_pg(url: &Path) -> Check {
    let shown = crate::store::shown(url);
    let found = crate::store::db::Db::connect_pg(&url.to_string_lossy())
        .and_then(|db| crate::store::pg_schema_version(&db));
    match found {
        Err(e) => Check::new("database", Level::Fail, format!("{shown}: {e}")),
        Ok(0) => Check::new(
            "database",
            Level::Warn,
            format!(
                "{shown} is reachable and empty (the first worker or command creates the tables)"
            ),
        ),
        Ok(found) => schema_check(&shown, found),
    }
}

fn schema_check(p: &str, found: i64) -> Check {
    let supported = crate::store::schema_version_supported();
    match found.cmp(&supported) {
        std::cmp::Ordering::Equal => {
            Check::new("database", Level::Ok, format!("{p} at schema {found}"))
        }
        std::cmp::Ordering::Less => Check::new(
            "database",
            Level::Warn,
            format!("{p} at schema {found}: will be upgraded to {supported} on first use (a backup is written first)"),
        ),
        std::cmp::Ordering::Greater => Check::new(
            "database",
            Level::Fail,
            format!("{p} at schema {found} was written by a newer zhijian (this one supports {supported}); install that version"),
        ),
    }
}

/// Inspect a shipped sample end to end with this very binary, into a throw-away folder.
fn check_sample(home: &Path, model: &Path) -> Check {
    let Some(sample) = first_sample(&home.join("samples")) else {
        return Check::new("inspect", Level::Warn, "no sample call in samples/ to try");
    };
    let tmp = std::env::temp_dir().join(format!("zhijian-doctor-{}", std::process::id()));
    let r = run_sample(home, model, &sample, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    match r {
        Ok(n) => Check::new(
            "inspect",
            Level::Ok,
            format!(
                "{} inspected: {n} utterances transcribed and scored",
                sample.display()
            ),
        ),
        Err(e) => Check::new(
            "inspect",
            Level::Fail,
            format!("{}: {e:#}", sample.display()),
        ),
    }
}

/// The shortest shipped WAV (by size): the check proves the chain works, not its speed.
fn first_sample(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "wav"))
        .filter_map(|e| Some((e.metadata().ok()?.len(), e.path())))
        .min()
        .map(|(_, p)| p)
}

fn run_sample(home: &Path, model: &Path, sample: &Path, out: &Path) -> Result<usize> {
    use anyhow::{bail, Context};
    let exe = std::env::current_exe().context("finding this program")?;
    let o = Command::new(exe)
        .current_dir(home)
        .args(["inspect", "--no-progress", "--no-report", "--jobs", "1"])
        .arg("--model")
        .arg(std::path::absolute(model)?)
        .arg("--out")
        .arg(std::path::absolute(out)?)
        .arg(std::path::absolute(sample)?)
        .output()
        .context("starting inspect")?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        bail!(
            "inspect failed ({}): {}",
            o.status,
            err.lines().last().unwrap_or("")
        );
    }
    let result = std::fs::read_dir(out.join("calls"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .context("inspect wrote no result")?;
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&result)?)?;
    let n = v["utterances"].as_array().map_or(0, |a| a.len());
    if v["status"] != "ok" || n == 0 || v["score"].is_null() {
        bail!(
            "the result has status {}, {n} utterances, score {}",
            v["status"],
            v["score"]
        );
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_names_damaged_and_missing_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.txt"), "hello").unwrap();
        std::fs::write(d.path().join("b.txt"), "world").unwrap();
        let good = sha256_file(&d.path().join("a.txt")).unwrap();
        let m = format!("{good}  a.txt\n{good}  b.txt\n{good}  c.txt\n");
        std::fs::write(d.path().join(MANIFEST), m).unwrap();
        let c = check_manifest(d.path());
        assert_eq!(c.level, Level::Fail);
        assert_eq!(
            c.detail,
            "b.txt is damaged (checksum differs); c.txt is missing"
        );
        std::fs::write(d.path().join(MANIFEST), format!("{good}  a.txt\n")).unwrap();
        let c = check_manifest(d.path());
        assert_eq!(
            (c.level, c.detail.as_str()),
            (Level::Ok, "1 files match MANIFEST.sha256")
        );
    }

    #[test]
    fn no_manifest_is_a_warning() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(check_manifest(d.path()).level, Level::Warn);
    }

    #[test]
    fn database_newer_than_this_build_fails_older_warns() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("z.db");
        let supported = crate::store::schema_version_supported();
        let c = rusqlite::Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", supported + 1)
            .unwrap();
        assert_eq!(check_db(&p).level, Level::Fail);
        c.pragma_update(None, "user_version", supported - 1)
            .unwrap();
        assert_eq!(check_db(&p).level, Level::Warn);
        c.pragma_update(None, "user_version", supported).unwrap();
        assert_eq!(check_db(&p).level, Level::Ok);
        std::fs::write(d.path().join("junk.db"), b"not sqlite at all, just text").unwrap();
        assert_eq!(check_db(&d.path().join("junk.db")).level, Level::Fail);
    }

    #[test]
    fn missing_model_and_rules_are_named() {
        let d = tempfile::tempdir().unwrap();
        let model = d.path().join("models/ggml-base.bin");
        let c = check_files(d.path(), &model);
        assert_eq!(c.level, Level::Fail);
        assert!(c.detail.contains("ggml-base.bin"), "{}", c.detail);
        assert!(c.detail.contains("rules"), "{}", c.detail);
        assert_eq!(check_whisper(&model).level, Level::Fail);
    }

    #[test]
    fn disk_threshold() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(check_disk(d.path(), 0.0).level, Level::Ok);
        assert_eq!(check_disk(d.path(), 1e9).level, Level::Fail);
        assert_eq!(check_disk(&d.path().join("nope"), 0.0).level, Level::Fail);
    }
}
