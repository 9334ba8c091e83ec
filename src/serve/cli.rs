//! `zhijian users …`: the workbench's accounts, managed on the server's command line (the
//! first admin has to come from somewhere). Passwords are read from stdin.

use super::auth;
use crate::store::web::Role;
use crate::store::Store;
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct UsersArgs {
    /// The database the workbench serves.
    #[arg(long, default_value = "zhijian.db", value_name = "FILE", global = true)]
    pub db: PathBuf,
    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Add a user; the password (at least 8 characters) is read from stdin.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// For agents: the agent id their calls carry (metadata `agent_id`).
        #[arg(long)]
        agent_id: Option<String>,
    },
    /// List users with role, agent id and state.
    List,
    /// Disable a user (their sessions end at once); --enable undoes it.
    Disable {
        name: String,
        #[arg(long)]
        enable: bool,
    },
    /// Set a new password (read from stdin); ends the user's sessions and lifts a lock-out.
    Passwd { name: String },
}

pub fn users_cmd(a: &UsersArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut store = Store::open(&a.db)?;
    let who = match std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        Some(u) => format!("cli:{u}"),
        None => "cli".to_string(),
    };
    match &a.command {
        UsersCommand::Add {
            name,
            role,
            agent_id,
        } => {
            let pw = auth::read_password(&mut std::io::stdin().lock())?;
            let hash = auth::hash_password(&pw)?;
            store.add_user(name, *role, agent_id.as_deref(), &hash)?;
            let after =
                serde_json::json!({ "name": name, "role": role, "agent_id": agent_id }).to_string();
            store.audit(&who, "user_add", None, None, Some(&after))?;
            writeln!(out, "added {name} ({})", role.as_str())?;
        }
        UsersCommand::List => {
            let now = super::now();
            for u in store.users()? {
                let state = if u.disabled {
                    "disabled"
                } else if u.locked_until > now {
                    "locked"
                } else {
                    "active"
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{state}",
                    u.name,
                    u.role.as_str(),
                    u.agent_id.as_deref().unwrap_or("-")
                )?;
            }
        }
        UsersCommand::Disable { name, enable } => {
            store.set_user_disabled(name, !enable)?;
            let after = serde_json::json!({ "name": name, "disabled": !enable }).to_string();
            store.audit(&who, "user_disable", None, None, Some(&after))?;
            writeln!(
                out,
                "{name} {}",
                if *enable { "enabled" } else { "disabled" }
            )?;
        }
        UsersCommand::Passwd { name } => {
            let pw = auth::read_password(&mut std::io::stdin().lock())?;
            store.set_user_password(name, &auth::hash_password(&pw)?)?;
            store.audit(
                &who,
                "user_passwd",
                None,
                None,
                Some(&format!("{{\"name\":{name:?}}}")),
            )?;
            writeln!(out, "password of {name} changed")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
