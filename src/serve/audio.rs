//! The recording of a call, streamed with HTTP Range so the player can seek (click-to-play on
//! a flag jumps straight into a long call).

use super::{cookie_value, Shared, WebError, COOKIE};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The most bytes one response carries; the player asks for the rest as it needs it.
const MAX_CHUNK: u64 = 8 << 20;

pub async fn stream(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let a = app.clone();
    let r = tokio::task::spawn_blocking(move || serve_range(&a, &headers, &id)).await;
    match r {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => e.into_response_with(&app),
        Err(e) => WebError::Internal(anyhow::anyhow!("{e}")).into_response_with(&app),
    }
}

fn serve_range(app: &super::App, headers: &HeaderMap, id: &str) -> Result<Response, WebError> {
    let mut store = app.store()?;
    let token = cookie_value(headers, COOKIE).ok_or(WebError::Forbidden)?;
    let token_hash = super::auth::token_hash(&token);
    let now = super::now();
    let (user, csrf) = store
        .session(&token_hash, now, app.idle_secs)?
        .ok_or(WebError::Forbidden)?;
    // The same access rule as every page: agents only their own calls.
    let ctx = super::Ctx {
        app,
        store,
        user,
        csrf,
        token_hash,
        now,
    };
    ctx.can_see_call(id)?;
    let store = ctx.store;
    let (file, _) = store.call_file_and_record(id)?.ok_or(WebError::NotFound)?;
    app.give_back(store);
    let path =
        locate(&app.db, file.as_deref().ok_or(WebError::NotFound)?).ok_or(WebError::NotFound)?;
    let mut f = std::fs::File::open(&path).map_err(|_| WebError::NotFound)?;
    let len = f
        .metadata()
        .map_err(|e| WebError::Internal(e.into()))?
        .len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|r| parse_range(r, len));
    let (status, start, end) = match range {
        None => (
            StatusCode::OK,
            0,
            len.saturating_sub(1).min(MAX_CHUNK.saturating_sub(1)),
        ),
        Some(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e.min(s + MAX_CHUNK - 1)),
        Some(None) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response())
        }
    };
    // A whole small file answers 200; a large one without Range still starts playing.
    let status = if status == StatusCode::OK && end + 1 < len {
        StatusCode::PARTIAL_CONTENT
    } else {
        status
    };
    let mut buf = vec![
        0u8;
        if len == 0 {
            0
        } else {
            (end - start + 1) as usize
        }
    ];
    f.seek(SeekFrom::Start(start))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|e| WebError::Internal(anyhow::anyhow!("reading {}: {e}", path.display())))?;
    let mut resp = (status, buf).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        content_type(&path).parse().expect("static type"),
    );
    h.insert(header::ACCEPT_RANGES, "bytes".parse().expect("static"));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            format!("bytes {start}-{end}/{len}")
                .parse()
                .expect("numbers"),
        );
    }
    h.insert(
        header::CACHE_CONTROL,
        "private, no-store".parse().expect("static"),
    );
    Ok(resp)
}

/// The recording as stored: an absolute path, or one relative to where `inspect` ran —
/// tried from the current folder, then from the database's folder.
fn locate(db: &Path, file: &str) -> Option<PathBuf> {
    let p = PathBuf::from(file);
    if p.is_file() {
        return Some(p);
    }
    if crate::store::is_url(db) {
        return None;
    }
    let beside = db.parent()?.join(&p);
    beside.is_file().then_some(beside)
}

/// One `bytes=` range (the forms players send: `a-b`, `a-`, `-n`), clamped to the file.
/// None when it cannot be satisfied.
pub fn parse_range(h: &str, len: u64) -> Option<(u64, u64)> {
    let spec = h.trim().strip_prefix("bytes=")?;
    let first = spec.split(',').next()?.trim();
    let (a, b) = first.split_once('-')?;
    if len == 0 {
        return None;
    }
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            if n == 0 {
                return None;
            }
            (len.saturating_sub(n), len - 1)
        }
        (s, "") => (s.parse().ok()?, len - 1),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

fn content_type(p: &Path) -> &'static str {
    match p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("wav") => "audio/wav",
        Some("mp3") => "audio/mpeg",
        Some("flac") => "audio/flac",
        Some("ogg") | Some("oga") => "audio/ogg",
        Some("m4a") | Some("mp4") => "audio/mp4",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_players_send() {
        assert_eq!(parse_range("bytes=0-", 1000), Some((0, 999)));
        assert_eq!(parse_range("bytes=100-199", 1000), Some((100, 199)));
        assert_eq!(parse_range("bytes=900-5000", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-4", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
        assert_eq!(parse_range("bytes=0-", 0), None);
    }
}
