//! Call metadata from the switch/CRM export (`--meta calls.csv`): agent, queue, direction,
//! customer number, hang-up side. Columns are matched by header name (English or the usual
//! Chinese headers); unknown columns are kept in `extra` for rules and reports.

use crate::record::{CallMeta, Direction, Side};
use std::collections::HashMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MetaError {
    #[error("{path}: {source}")]
    Csv { path: String, source: csv::Error },
    #[error("{path}:{line}: {message}")]
    Row {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}: no `file` or `call_id` column (header: {header})")]
    NoKey { path: String, header: String },
}

/// Metadata rows indexed for lookup by file, in O(1) per file (a hash lookup per folder level
/// of the path). Precedence, first match wins:
/// 1. a `file` value equal to the path as given, or to its last folders and name (the longest
///    such suffix: `day2/0001.wav` beats `0001.wav`);
/// 2. a `file` value equal to the file name, when exactly one row has that name;
/// 3. a `call_id` equal to the file stem, when exactly one row has that id.
///
/// Rows that repeat a `file` value (the first is kept) and names or ids shared by several rows
/// (not used for matching by name/id) are listed in [`MetaTable::problems`] with file:line.
#[derive(Debug, Default)]
pub struct MetaTable {
    rows: Vec<CallMeta>,
    by_path: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
    by_id: HashMap<String, Vec<usize>>,
    lines: Vec<u64>,
    source: String,
    problems: Vec<String>,
}

impl MetaTable {
    pub fn load(path: &Path) -> Result<MetaTable, MetaError> {
        let p = path.display().to_string();
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|source| MetaError::Csv {
                path: p.clone(),
                source,
            })?;
        let header: Vec<String> = rdr
            .headers()
            .map_err(|source| MetaError::Csv {
                path: p.clone(),
                source,
            })?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_string())
            .collect();
        let cols: Vec<Option<&'static str>> = header.iter().map(|h| canonical(h)).collect();
        if !cols
            .iter()
            .any(|c| matches!(c, Some("file") | Some("call_id")))
        {
            return Err(MetaError::NoKey {
                path: p,
                header: header.join(","),
            });
        }
        let mut t = MetaTable {
            source: p.clone(),
            ..Default::default()
        };
        for rec in rdr.records() {
            let rec = rec.map_err(|source| MetaError::Csv {
                path: p.clone(),
                source,
            })?;
            let line = rec.position().map_or(0, |pos| pos.line());
            let mut m = CallMeta::default();
            for (i, val) in rec.iter().enumerate() {
                if val.is_empty() {
                    continue;
                }
                let v = Some(val.to_string());
                match cols.get(i).copied().flatten() {
                    Some("call_id") => m.call_id = v,
                    Some("file") => m.file = v,
                    Some("agent_id") => m.agent_id = v,
                    Some("agent_name") => m.agent_name = v,
                    Some("queue") => m.queue = v,
                    Some("start_time") => m.start_time = v,
                    Some("customer_number") => m.customer_number = v,
                    Some("agent_channel") => m.agent_channel = v,
                    Some("direction") => {
                        m.direction = Some(parse_direction(val).ok_or_else(|| MetaError::Row {
                            path: p.clone(),
                            line,
                            message: format!(
                                "direction `{val}` is not inbound/outbound (呼入/呼出)"
                            ),
                        })?)
                    }
                    Some("hangup_side") => {
                        m.hangup_side = Some(parse_side(val).ok_or_else(|| MetaError::Row {
                            path: p.clone(),
                            line,
                            message: format!(
                                "hangup_side `{val}` is not agent/customer (座席/客户)"
                            ),
                        })?)
                    }
                    _ => {
                        if let Some(h) = header.get(i) {
                            m.extra.insert(h.clone(), val.to_string());
                        }
                    }
                }
            }
            t.insert(m, line);
        }
        t.find_ambiguities();
        Ok(t)
    }

    /// Duplicate and ambiguous rows, each as `file:line: message`.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    fn find_ambiguities(&mut self) {
        let at = |rows: &[usize], lines: &[u64], src: &str| {
            rows.iter()
                .map(|&i| format!("{src}:{}", lines[i]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut found = Vec::new();
        for (kind, map) in [("file name", &self.by_name), ("call id", &self.by_id)] {
            for (k, rows) in map.iter().filter(|(_, r)| r.len() > 1) {
                found.push((
                    self.lines[rows[0]],
                    format!(
                        "{}: {kind} `{k}` is on {} rows ({}): files are matched to them only by path",
                        at(&rows[..1], &self.lines, &self.source),
                        rows.len(),
                        at(rows, &self.lines, &self.source)
                    ),
                ));
            }
        }
        found.sort();
        self.problems.extend(found.into_iter().map(|(_, m)| m));
    }

    fn insert(&mut self, m: CallMeta, line: u64) {
        let i = self.rows.len();
        if let Some(f) = &m.file {
            let norm = f.replace('\\', "/");
            let norm = norm.trim_start_matches("./").to_string();
            let name = norm.rsplit('/').next().unwrap_or(&norm).to_string();
            if let Some(&first) = self.by_path.get(&norm) {
                self.problems.push(format!(
                    "{}:{line}: duplicate row for file `{f}` (first at line {}); ignored",
                    self.source, self.lines[first]
                ));
                return;
            }
            self.by_path.insert(norm, i);
            self.by_name.entry(name).or_default().push(i);
        }
        if let Some(id) = &m.call_id {
            self.by_id.entry(id.clone()).or_default().push(i);
        }
        self.rows.push(m);
        self.lines.push(line);
    }

    /// The row for `path` (see the precedence on [`MetaTable`]).
    pub fn lookup(&self, path: &Path) -> Option<&CallMeta> {
        let s = path.to_string_lossy().replace('\\', "/");
        // The whole path, then ever shorter suffixes at folder boundaries: longest first.
        let mut rest = s.as_str();
        loop {
            if let Some(&i) = self.by_path.get(rest) {
                return Some(&self.rows[i]);
            }
            match rest.find('/') {
                Some(k) => rest = &rest[k + 1..],
                None => break,
            }
        }
        let name = path.file_name()?.to_string_lossy();
        if let Some([i]) = self.by_name.get(name.as_ref()).map(Vec::as_slice) {
            return Some(&self.rows[*i]);
        }
        let stem = path.file_stem()?.to_string_lossy();
        match self.by_id.get(stem.as_ref()).map(Vec::as_slice) {
            Some([i]) => Some(&self.rows[*i]),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn canonical(h: &str) -> Option<&'static str> {
    let k = h.trim().to_lowercase().replace([' ', '-'], "_");
    Some(match k.as_str() {
        "call_id" | "callid" | "id" | "通话id" | "通话编号" | "录音编号" => "call_id",
        "file" | "filename" | "file_name" | "path" | "recording" | "录音文件" | "文件" => {
            "file"
        }
        "agent_id" | "agentid" | "staff_id" | "工号" | "座席工号" | "坐席工号" => {
            "agent_id"
        }
        "agent_name" | "agent" | "姓名" | "座席姓名" | "坐席姓名" => "agent_name",
        "queue" | "skill_group" | "skill" | "技能组" | "队列" | "业务线" => "queue",
        "direction" | "呼叫方向" | "方向" => "direction",
        "start_time" | "start" | "time" | "开始时间" | "通话时间" => "start_time",
        "customer_number" | "caller" | "ani" | "phone" | "客户号码" | "主叫号码" => {
            "customer_number"
        }
        "hangup_side" | "hangup" | "挂机方" => "hangup_side",
        "agent_channel" | "座席声道" => "agent_channel",
        _ => return None,
    })
}

fn parse_direction(v: &str) -> Option<Direction> {
    match v.trim().to_lowercase().as_str() {
        "inbound" | "in" | "呼入" => Some(Direction::Inbound),
        "outbound" | "out" | "呼出" | "外呼" => Some(Direction::Outbound),
        _ => None,
    }
}

fn parse_side(v: &str) -> Option<Side> {
    match v.trim().to_lowercase().as_str() {
        "agent" | "座席" | "坐席" | "客服" => Some(Side::Agent),
        "customer" | "客户" | "用户" => Some(Side::Customer),
        "unknown" | "未知" => Some(Side::Unknown),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(csv: &str) -> Result<MetaTable, MetaError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("calls.csv");
        std::fs::write(&p, csv).unwrap();
        MetaTable::load(&p)
    }

    #[test]
    fn reads_columns_and_matches_by_name_path_and_stem() {
        let t = table(
            "call_id,file,agent_id,agent_name,queue,direction,start_time,customer_number,hangup_side,vip\n\
             C1,day1/a.wav,1086,张丽,inbound_service,inbound,2026-11-02T09:15:00+08:00,13800000000,agent,yes\n\
             C2,,2001,李强,outbound_sales,呼出,,,,\n",
        )
        .unwrap();
        let m = t.lookup(Path::new("/data/day1/a.wav")).unwrap();
        assert_eq!(m.agent_name.as_deref(), Some("张丽"));
        assert_eq!(m.direction, Some(Direction::Inbound));
        assert_eq!(m.hangup_side, Some(Side::Agent));
        assert_eq!(m.extra.get("vip").map(String::as_str), Some("yes"));
        assert_eq!(
            t.lookup(Path::new("other/a.wav"))
                .unwrap()
                .call_id
                .as_deref(),
            Some("C1")
        );
        let m2 = t.lookup(Path::new("x/C2.mp3")).unwrap();
        assert_eq!(m2.direction, Some(Direction::Outbound));
        assert!(t.lookup(Path::new("b.wav")).is_none());
    }

    #[test]
    fn bad_values_name_file_and_line() {
        let e = table("file,direction\na.wav,sideways\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("calls.csv:2: direction `sideways` is not inbound/outbound (呼入/呼出)"),
            "{e}"
        );
        let e = table("agent,queue\nx,y\n").unwrap_err().to_string();
        assert!(e.contains("no `file` or `call_id` column"), "{e}");
    }

    #[test]
    fn duplicate_and_ambiguous_rows_are_reported_with_lines() {
        let t = table(
            "call_id,file,agent_id\n\
             C1,day1/0001.wav,A1\n\
             C2,day2/0001.wav,A2\n\
             C3,day1/0001.wav,A3\n",
        )
        .unwrap();
        // The longest path suffix decides; the name alone is ambiguous.
        assert_eq!(
            t.lookup(Path::new("/mnt/day2/0001.wav"))
                .unwrap()
                .agent_id
                .as_deref(),
            Some("A2")
        );
        assert_eq!(
            t.lookup(Path::new("/mnt/day1/0001.wav"))
                .unwrap()
                .agent_id
                .as_deref(),
            Some("A1")
        );
        assert!(t.lookup(Path::new("/mnt/other/0001.wav")).is_none());
        let p = t.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].ends_with(
                "calls.csv:4: duplicate row for file `day1/0001.wav` (first at line 2); ignored"
            ),
            "{p:?}"
        );
        assert!(
            p[1].contains("calls.csv:2: file name `0001.wav` is on 2 rows (")
                && p[1].contains("calls.csv:3"),
            "{p:?}"
        );
    }
}
