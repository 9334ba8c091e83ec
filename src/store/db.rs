//! One interface over the two places a store can live: an SQLite file (one machine, the
//! default) or a PostgreSQL database (many workers, [`crate::queue`]).
//!
//! The store's SQL is written once, in the dialect both accept: numbered `?N` placeholders
//! (rewritten to `$N` for PostgreSQL), `ON CONFLICT … DO UPDATE/NOTHING`, `RETURNING`, quoted
//! `"end"`/`"user"` columns, `CAST(? AS TEXT)` where PostgreSQL cannot infer a parameter's type.
//! Values cross as [`Value`]s, converted to whatever type the server expects, so integer
//! columns may be `INTEGER` in SQLite and `BIGINT` in PostgreSQL without the callers knowing.

use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A value going to or coming from the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg_message(.0))]
    Pg(#[from] postgres::Error),
    #[error("column {col}: {why}")]
    Type { col: usize, why: String },
    #[error("the query returned no row")]
    NoRow,
}

impl DbError {
    /// A unique or primary-key violation (the row is there already).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            DbError::Pg(e) => e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }

    /// The connection to the server is gone (a restart, a network cut): worth reconnecting.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            DbError::Pg(e) => {
                e.is_closed()
                    || e.code().is_some_and(|c| {
                        c.code().starts_with("08")
                            || *c == postgres::error::SqlState::ADMIN_SHUTDOWN
                            || *c == postgres::error::SqlState::CRASH_SHUTDOWN
                            || *c == postgres::error::SqlState::CANNOT_CONNECT_NOW
                    })
                    || e.to_string().contains("connection")
            }
            _ => false,
        }
    }
}

/// PostgreSQL's own message (the `Display` of `postgres::Error` hides it behind "db error").
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.severity(), d.message()),
        None => e.to_string(),
    }
}

pub type DbResult<T> = std::result::Result<T, DbError>;

/// Anything that can be a query parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u16, u8, usize);

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for f32 {
    fn to_value(&self) -> Value {
        Value::Real(*self as f64)
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for std::borrow::Cow<'_, str> {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
}

/// Query parameters: `args![a, b, c]`.
macro_rules! args {
    () => { &[] as &[&dyn $crate::store::db::ToValue] };
    ($($x:expr),+ $(,)?) => { &[$(&$x as &dyn $crate::store::db::ToValue),+] as &[&dyn $crate::store::db::ToValue] };
}
pub(crate) use args;

/// Anything a column can be read as.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            // SUM/AVG of integers are NUMERIC in PostgreSQL.
            Value::Real(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }
}
impl FromValue for usize {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).and_then(|i| usize::try_from(i).ok())
    }
}
impl FromValue for u32 {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).and_then(|i| u32::try_from(i).ok())
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i as f64),
            Value::Real(f) => Some(*f),
            _ => None,
        }
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i != 0)
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Blob(b) => Some(b.clone()),
            Value::Text(s) => Some(s.clone().into_bytes()),
            _ => None,
        }
    }
}
impl FromValue for Value {
    fn from_value(v: &Value) -> Option<Self> {
        Some(v.clone())
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One result row, owned.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    pub fn get<T: FromValue>(&self, col: usize) -> DbResult<T> {
        let v = self.0.get(col).ok_or_else(|| DbError::Type {
            col,
            why: format!("no such column (the row has {})", self.0.len()),
        })?;
        T::from_value(v).ok_or_else(|| DbError::Type {
            col,
            why: format!("cannot read {v:?} as {}", std::any::type_name::<T>()),
        })
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub struct PgConn {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

/// An open database.
pub enum Db {
    Sqlite(rusqlite::Connection, Cell<u32>),
    Pg(Box<RefCell<PgConn>>, Cell<u32>),
}

/// Whether `target` names a PostgreSQL database rather than an SQLite file.
pub fn is_postgres_url(target: &str) -> bool {
    target.starts_with("postgres://") || target.starts_with("postgresql://")
}

impl Db {
    pub fn sqlite(conn: rusqlite::Connection) -> Db {
        Db::Sqlite(conn, Cell::new(0))
    }

    /// Connect to PostgreSQL (`postgres://user@host:port/db`, no TLS: the database sits on the
    /// site's own network).
    pub fn connect_pg(url: &str) -> DbResult<Db> {
        let mut config: postgres::Config = url.parse()?;
        // The password from the environment (as libpq does), so it need not be in the URL
        // that `ps` and logs show.
        if config.get_password().is_none() {
            if let Ok(pw) = std::env::var("PGPASSWORD") {
                config.password(pw);
            }
        }
        config.connect_timeout(std::time::Duration::from_secs(10));
        let mut client = config.connect(postgres::NoTls)?;
        // Dates, sorting and text comparison the way the SQLite store does them.
        client.batch_execute("SET TIME ZONE 'UTC'; SET client_min_messages = warning")?;
        Ok(Db::Pg(
            Box::new(RefCell::new(PgConn {
                client,
                statements: HashMap::new(),
            })),
            Cell::new(0),
        ))
    }

    pub fn is_pg(&self) -> bool {
        matches!(self, Db::Pg(..))
    }

    /// The SQLite connection (for SQLite-only maintenance: migrations, backups, doctor).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Sqlite(c, _) => Some(c),
            Db::Pg(..) => None,
        }
    }

    pub fn execute(&self, sql: &str, args: &[&dyn ToValue]) -> DbResult<usize> {
        match self {
            Db::Sqlite(c, _) => {
                let mut st = c.prepare_cached(sql)?;
                Ok(st.execute(rusqlite::params_from_iter(lite_params(args)))?)
            }
            Db::Pg(p, _) => {
                let mut p = p.borrow_mut();
                let st = p.statement(sql)?;
                let vals = pg_params(args);
                Ok(p.client.execute(&st, &pg_refs(&vals))? as usize)
            }
        }
    }

    pub fn query(&self, sql: &str, args: &[&dyn ToValue]) -> DbResult<Vec<Row>> {
        match self {
            Db::Sqlite(c, _) => {
                let mut st = c.prepare_cached(sql)?;
                let n = st.column_count();
                let rows = st.query_map(rusqlite::params_from_iter(lite_params(args)), |r| {
                    (0..n)
                        .map(|i| r.get_ref(i).map(from_lite))
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map(Row)
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Db::Pg(p, _) => {
                let mut p = p.borrow_mut();
                let st = p.statement(sql)?;
                let vals = pg_params(args);
                let rows = p.client.query(&st, &pg_refs(&vals))?;
                rows.iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| r.try_get::<_, PgValue>(i).map(|v| v.0))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Row)
                            .map_err(DbError::from)
                    })
                    .collect()
            }
        }
    }

    pub fn query_opt(&self, sql: &str, args: &[&dyn ToValue]) -> DbResult<Option<Row>> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    pub fn query_one(&self, sql: &str, args: &[&dyn ToValue]) -> DbResult<Row> {
        self.query_opt(sql, args)?.ok_or(DbError::NoRow)
    }

    /// The first row read by `f`, if there is one.
    pub fn row<T>(
        &self,
        sql: &str,
        args: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<Option<T>> {
        self.query_opt(sql, args)?.as_ref().map(f).transpose()
    }

    /// The first row read by `f`; no row is an error.
    pub fn one<T>(
        &self,
        sql: &str,
        args: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<T> {
        f(&self.query_one(sql, args)?)
    }

    /// Every row, each read by `f`.
    pub fn rows<T>(
        &self,
        sql: &str,
        args: &[&dyn ToValue],
        f: impl FnMut(&Row) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        self.query(sql, args)?.iter().map(f).collect()
    }

    /// The first column of the first row.
    pub fn value<T: FromValue>(&self, sql: &str, args: &[&dyn ToValue]) -> DbResult<T> {
        self.query_one(sql, args)?.get(0)
    }

    /// Several statements without parameters (schema scripts).
    pub fn batch(&self, sql: &str) -> DbResult<()> {
        match self {
            Db::Sqlite(c, _) => Ok(c.execute_batch(sql)?),
            Db::Pg(p, _) => Ok(p.borrow_mut().client.batch_execute(sql)?),
        }
    }

    pub fn in_transaction(&self) -> bool {
        match self {
            Db::Sqlite(c, d) => !c.is_autocommit() || d.get() > 0,
            Db::Pg(_, d) => d.get() > 0,
        }
    }

    /// Run `f` in a transaction: committed when it returns Ok, rolled back otherwise. Nested
    /// calls join the outer transaction. `write` takes the write lock at the start (SQLite's
    /// `BEGIN IMMEDIATE`; one advisory lock in PostgreSQL), so a read-check-write sequence
    /// cannot interleave with another writer's.
    pub fn transaction<T, E: From<DbError>>(
        &self,
        write: bool,
        f: impl FnOnce(&Db) -> Result<T, E>,
    ) -> Result<T, E> {
        self.begin(write)?;
        let r = f(self);
        self.finish(r.is_ok())?;
        r
    }

    /// Start a transaction, or join the one already open ([`Db::transaction`]).
    pub fn begin(&self, write: bool) -> DbResult<()> {
        let depth = self.depth();
        if depth.get() == 0 {
            self.batch(match (self, write) {
                (Db::Sqlite(..), true) => "BEGIN IMMEDIATE",
                (Db::Sqlite(..), false) => "BEGIN",
                // 7_215_301: any fixed key; every writer of reviews takes the same one.
                (Db::Pg(..), true) => "BEGIN; SELECT pg_advisory_xact_lock(7215301)",
                (Db::Pg(..), false) => "BEGIN",
            })?;
        }
        depth.set(depth.get() + 1);
        Ok(())
    }

    /// End what [`Db::begin`] started: the outermost call commits (or rolls back).
    pub fn finish(&self, commit: bool) -> DbResult<()> {
        let depth = self.depth();
        depth.set(depth.get().saturating_sub(1));
        if depth.get() > 0 {
            return Ok(());
        }
        if commit {
            self.batch("COMMIT")
        } else {
            let _ = self.batch("ROLLBACK");
            Ok(())
        }
    }

    fn depth(&self) -> &Cell<u32> {
        match self {
            Db::Sqlite(_, d) | Db::Pg(_, d) => d,
        }
    }
}

impl PgConn {
    fn statement(&mut self, sql: &str) -> DbResult<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self.client.prepare(&to_pg_placeholders(sql))?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

/// `?1`, `?2`, … (and bare `?`) to `$1`, `$2`, …, outside quoted strings and identifiers.
pub fn to_pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            (None, c) => out.push(c),
        }
    }
    out
}

fn lite_params(args: &[&dyn ToValue]) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value as L;
    args.iter()
        .map(|a| match a.to_value() {
            Value::Null => L::Null,
            Value::Int(i) => L::Integer(i),
            Value::Real(f) => L::Real(f),
            Value::Text(s) => L::Text(s),
            Value::Blob(b) => L::Blob(b),
        })
        .collect()
}

fn from_lite(v: rusqlite::types::ValueRef) -> Value {
    use rusqlite::types::ValueRef as L;
    match v {
        L::Null => Value::Null,
        L::Integer(i) => Value::Int(i),
        L::Real(f) => Value::Real(f),
        L::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        L::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn pg_params(args: &[&dyn ToValue]) -> Vec<Value> {
    args.iter().map(|a| a.to_value()).collect()
}

fn pg_refs(vals: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    vals.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let wrong = || -> BoxError { format!("cannot send {self:?} as {ty}").into() };
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => i.to_string().to_sql(ty, out),
                _ => Err(wrong()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::INT8 if f.fract() == 0.0 => (*f as i64).to_sql(ty, out),
                Type::INT4 if f.fract() == 0.0 => (*f as i32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => f.to_string().to_sql(ty, out),
                _ => Err(wrong()),
            },
            Value::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    s.as_str().to_sql(&Type::TEXT, out)
                }
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                Type::FLOAT8 => s.parse::<f64>()?.to_sql(ty, out),
                _ => Err(wrong()),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(wrong()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A column read from PostgreSQL as a [`Value`].
struct PgValue(Value);

impl<'a> FromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let v = match *ty {
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)? as i64),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)? as i64),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)? as i64),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::OID => Value::Int(u32::from_sql(ty, raw)? as i64),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)? as f64),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::NUMERIC => Value::Real(numeric_to_f64(raw)?),
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::JSONB => Value::Text(String::from_utf8(raw.get(1..).unwrap_or(&[]).to_vec())?),
            // Microseconds since 2000-01-01: read as seconds since 1970.
            Type::TIMESTAMPTZ | Type::TIMESTAMP => {
                Value::Real(i64::from_sql(&Type::INT8, raw)? as f64 / 1e6 + 946_684_800.0)
            }
            _ => Value::Text(String::from_utf8(raw.to_vec())?),
        };
        Ok(PgValue(v))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's binary NUMERIC: digit count, weight, sign, scale, then base-10000 digits.
fn numeric_to_f64(raw: &[u8]) -> Result<f64, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or("short NUMERIC")?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    };
    let (ndigits, weight, sign) = (word(0)? as usize, word(1)? as i32, word(2)? as u16);
    if sign == 0xC000 {
        return Ok(f64::NAN);
    }
    let mut v = 0f64;
    for k in 0..ndigits {
        v += word(4 + k)? as f64 * 10000f64.powi(weight - k as i32);
    }
    Ok(if sign == 0x4000 { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            to_pg_placeholders("SELECT '?1', \"a?\" FROM t WHERE a = ?2 AND b = ? AND c = ?10"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $2 AND b = $1 AND c = $10"
        );
    }

    #[test]
    fn numeric_decodes_weight_and_sign() {
        // 12345.67 = [1, 2345, 6700] × 10000^(1, 0, -1)
        let mut raw = vec![];
        for w in [3i16, 1, 0x4000u16 as i16, 2, 1, 2345, 6700] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert!((numeric_to_f64(&raw).unwrap() + 12345.67).abs() < 1e-9);
    }

    #[test]
    fn sqlite_rows_read_back_as_values() {
        let db = Db::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        db.batch("CREATE TABLE t (a INTEGER, b REAL, c TEXT)")
            .unwrap();
        db.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3)",
            args![3i64, 1.5, Option::<String>::None],
        )
        .unwrap();
        let r = db.query_one("SELECT a, b, c FROM t", args![]).unwrap();
        assert_eq!(r.get::<i64>(0).unwrap(), 3);
        assert_eq!(r.get::<f64>(1).unwrap(), 1.5);
        assert_eq!(r.get::<Option<String>>(2).unwrap(), None);
        assert!(r.get::<String>(0).is_err());
        let n: Result<(), DbError> = db.transaction(true, |db| {
            db.execute("INSERT INTO t (a) VALUES (?1)", args![4])?;
            Err(DbError::NoRow)
        });
        assert!(n.is_err());
        assert_eq!(
            db.value::<i64>("SELECT COUNT(*) FROM t", args![]).unwrap(),
            1
        );
    }
}
