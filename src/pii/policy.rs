//! The redaction policy: which types are masked in which output and for which role.
//!
//! Read from a site's TOML file (format and defaults: `rules/privacy/policy.toml`, built in).
//! One policy is active per process ([`active`], set by the command line with [`set_active`]),
//! so the writers of every output mask the same way without passing it through each call.

use super::Kind;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The shipped policy (also the default when a site has none).
pub const DEFAULT_POLICY: &str = include_str!("../../rules/privacy/policy.toml");

/// Where a record is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// `calls/<call_id>.json`.
    CallJson,
    /// Call pages and `index.html`.
    Html,
    /// CSV and JSON exports of the batch.
    Csv,
    /// The SQLite database.
    Store,
}

/// Who looks at a call (the roles of the web app).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Viewer {
    /// 座席: sees their own calls.
    Agent,
    /// 质检员.
    Inspector,
    /// QA lead (质检主管): may see clear data, audited.
    Lead,
    /// System administrator: runs the system, not the calls.
    Admin,
}

/// A loaded policy: the set of masked types per output and per role.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub call_json: BTreeSet<Kind>,
    pub html: BTreeSet<Kind>,
    pub csv: BTreeSet<Kind>,
    pub store: BTreeSet<Kind>,
    pub roles: [(Viewer, RolePolicy); 4],
}

/// What one role may see.
#[derive(Clone, Debug, PartialEq)]
pub struct RolePolicy {
    pub mask: BTreeSet<Kind>,
    /// Views of clear data by this role go to the audit log.
    pub audit: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    outputs: RawOutputs,
    roles: RawRoles,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutputs {
    call_json: Vec<String>,
    html: Vec<String>,
    csv: Vec<String>,
    store: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoles {
    agent: RawRole,
    inspector: RawRole,
    lead: RawRole,
    admin: RawRole,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    mask: Vec<String>,
    #[serde(default)]
    audit: bool,
}

fn kinds(names: &[String], key: &str) -> Result<BTreeSet<Kind>, String> {
    let mut out = BTreeSet::new();
    for n in names {
        if n == "all" {
            out.extend(Kind::ALL);
            continue;
        }
        let k = Kind::parse(n).ok_or_else(|| {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "{key}: unknown type `{n}` (known: all, {})",
                known.join(", ")
            )
        })?;
        out.insert(k);
    }
    Ok(out)
}

impl Policy {
    /// Parse a policy; errors name `path` and the key at fault.
    pub fn parse(text: &str, path: &Path) -> Result<Policy, PolicyError> {
        let err = |message: String| PolicyError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let role = |r: &RawRole, key: &str| -> Result<RolePolicy, PolicyError> {
            Ok(RolePolicy {
                mask: kinds(&r.mask, key).map_err(err)?,
                audit: r.audit,
            })
        };
        Ok(Policy {
            call_json: kinds(&raw.outputs.call_json, "outputs.call_json").map_err(err)?,
            html: kinds(&raw.outputs.html, "outputs.html").map_err(err)?,
            csv: kinds(&raw.outputs.csv, "outputs.csv").map_err(err)?,
            store: kinds(&raw.outputs.store, "outputs.store").map_err(err)?,
            roles: [
                (Viewer::Agent, role(&raw.roles.agent, "roles.agent.mask")?),
                (
                    Viewer::Inspector,
                    role(&raw.roles.inspector, "roles.inspector.mask")?,
                ),
                (Viewer::Lead, role(&raw.roles.lead, "roles.lead.mask")?),
                (Viewer::Admin, role(&raw.roles.admin, "roles.admin.mask")?),
            ],
        })
    }

    /// Read a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse(&text, path)
    }

    /// `path` when given, else `fallback` when that file exists, else the built-in default.
    pub fn load_or_default(path: Option<&Path>, fallback: &Path) -> Result<Policy, PolicyError> {
        match path {
            Some(p) => Policy::load(p),
            None if fallback.is_file() => Policy::load(fallback),
            None => Ok(Policy::default()),
        }
    }

    /// Types masked in `out`.
    pub fn output(&self, out: Output) -> &BTreeSet<Kind> {
        match out {
            Output::CallJson => &self.call_json,
            Output::Html => &self.html,
            Output::Csv => &self.csv,
            Output::Store => &self.store,
        }
    }

    pub fn role(&self, v: Viewer) -> &RolePolicy {
        &self
            .roles
            .iter()
            .find(|(r, _)| *r == v)
            .expect("every viewer has an entry")
            .1
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::parse(DEFAULT_POLICY, Path::new("rules/privacy/policy.toml"))
            .expect("the shipped policy is valid (tested)")
    }
}

/// `--privacy FILE`, shared by the commands that write outputs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PrivacyArgs {
    /// Redaction policy (TOML): which personal data is masked in which output and for which
    /// role. Default: RULES/privacy/policy.toml when it exists, else the built-in policy.
    #[arg(long, value_name = "FILE")]
    pub privacy: Option<PathBuf>,
}

impl PrivacyArgs {
    /// The policy to use with scorecards at `rules` (a folder or one card).
    pub fn policy(&self, rules: &Path) -> Result<Policy, PolicyError> {
        let dir = if rules.is_file() {
            rules.parent().unwrap_or(Path::new("."))
        } else {
            rules
        };
        Policy::load_or_default(self.privacy.as_deref(), &dir.join("privacy/policy.toml"))
    }
}

static ACTIVE: RwLock<Option<Arc<Policy>>> = RwLock::new(None);

/// The policy the outputs of this process use (the built-in default until [`set_active`]).
pub fn active() -> Arc<Policy> {
    if let Some(p) = ACTIVE.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return p.clone();
    }
    let mut w = ACTIVE.write().unwrap_or_else(|e| e.into_inner());
    w.get_or_insert_with(|| Arc::new(Policy::default())).clone()
}

/// Make `p` the policy of every output written from now on.
pub fn set_active(p: Policy) {
    *ACTIVE.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(p));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_policy_masks_numbers_everywhere_and_lets_only_the_lead_see_them() {
        let p = Policy::default();
        for out in [Output::CallJson, Output::Html, Output::Csv, Output::Store] {
            for k in [Kind::Mobile, Kind::IdCard, Kind::BankCard, Kind::Code] {
                assert!(p.output(out).contains(&k), "{out:?} {k:?}");
            }
        }
        for v in [Viewer::Agent, Viewer::Inspector, Viewer::Admin] {
            assert!(p.role(v).mask.contains(&Kind::Mobile), "{v:?}");
            assert!(p.role(v).mask.contains(&Kind::BankCard), "{v:?}");
        }
        assert!(p.role(Viewer::Lead).mask.is_empty());
        assert!(p.role(Viewer::Lead).audit);
        assert!(!p.role(Viewer::Inspector).mask.contains(&Kind::Name));
    }

    #[test]
    fn bad_policies_name_the_file_and_the_key() {
        let text = DEFAULT_POLICY.replace(
            "[roles.inspector]\nmask = [\"mobile\"",
            "[roles.inspector]\nmask = [\"phone\"",
        );
        let e = Policy::parse(&text, Path::new("site.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "site.toml: roles.inspector.mask: unknown type `phone` (known: all, mobile, landline, id_card, bank_card, code, email, plate, address, name)"
        );
        let e = Policy::parse("[outputs]\nhtml = []\n", Path::new("x.toml")).unwrap_err();
        assert!(e.to_string().starts_with("x.toml: "), "{e}");
        assert!(e.to_string().contains("missing field"), "{e}");
    }
}
