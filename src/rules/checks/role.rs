//! The `role` filter of the text kinds: whose utterances a condition looks at.

use crate::record::Role;
use serde::Deserialize;

documented! { EXPLAIN,
/// `role`: whose speech a text condition reads (a filter inside `keywords`, `regex`, `absence`,
/// `said`, `speech_rate` and `classifier`, not a kind of its own).
///
/// ## What it checks
/// `role = "agent"` reads only the agent's utterances, `role = "customer"` only the customer's,
/// and `role = "any"` (the default) reads both. On a stereo recording the roles are exact. On a
/// mono recording utterances whose speaker is unknown (`mixed`) may belong to either side: the
/// condition is evaluated both with and without them, and when the answers differ the item goes
/// to review as "uncertain" instead of being scored.
///
/// ## Example
/// ```toml
/// when = { kind = "keywords", lexicon = "forbidden", role = "agent" }
/// ```
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RoleFilter {
    #[default]
    Any,
    Agent,
    Customer,
}
}

impl RoleFilter {
    /// Whether an utterance by `role` is read; `lenient` counts unknown speakers for either side.
    pub fn admits(self, role: Role, lenient: bool) -> bool {
        match (self, role) {
            (RoleFilter::Any, _) => true,
            (RoleFilter::Agent, Role::Agent) | (RoleFilter::Customer, Role::Customer) => true,
            (_, Role::Mixed) => lenient,
            _ => false,
        }
    }

    /// The key used in per-role maps of the record ("agent", "customer"), `None` for any.
    pub fn key(self) -> Option<&'static str> {
        match self {
            RoleFilter::Any => None,
            RoleFilter::Agent => Some("agent"),
            RoleFilter::Customer => Some("customer"),
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            RoleFilter::Any => "双方",
            RoleFilter::Agent => "座席",
            RoleFilter::Customer => "客户",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_by_role_and_unknown_speakers_only_when_lenient() {
        assert!(RoleFilter::Agent.admits(Role::Agent, false));
        assert!(!RoleFilter::Agent.admits(Role::Customer, true));
        assert!(!RoleFilter::Agent.admits(Role::Mixed, false));
        assert!(RoleFilter::Agent.admits(Role::Mixed, true));
        assert!(RoleFilter::Any.admits(Role::Mixed, false));
        assert!(RoleFilter::Customer.admits(Role::Customer, false));
    }
}
